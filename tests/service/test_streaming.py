"""Large files pass through spool files: multipart uploads to the store, the
upload limit while reading, and no content sent on a fixity mismatch."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import pytest
from flask import Flask

from bench.pdfs import generate_pdf
from service import archive
from service.extensions import db
from service.models import AuditEvent, Document, Revision
from service.problems import ApiProblem
from service.spool import UploadSpool, spool_dir
from storage import ObjectStore
from tests.helpers import bearer, upload

# The smallest part S3 and SeaweedFS accept; a file of a few parts stays fast.
PART_SIZE = 5 * 1024 * 1024


@pytest.fixture
def streaming_app(app, make_app) -> Iterator[Flask]:
    """An app that uploads objects above 5 MiB in parts and accepts files up to 16 MiB."""
    streaming = make_app(s3_part_size=PART_SIZE, max_upload_bytes=16 * 1024 * 1024)
    with streaming.app_context():
        yield streaming


def spool_files(app: Flask) -> list[str]:
    return sorted(entry.name for entry in spool_dir(app.config["DOLIL_SETTINGS"]).iterdir())


def test_large_upload_goes_in_parts_and_reads_back(streaming_app, tokens):
    app = streaming_app
    client = app.test_client()
    data = generate_pdf(2 * PART_SIZE + 1024 * 1024)
    digest = hashlib.sha256(data).hexdigest()

    response = upload(client, tokens["officer"], data=data, filename="large.pdf")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["sha256"], body["size"]) == (digest, len(data))
    revision = db.session.get(Document, body["id"]).current_revision
    store = app.extensions["dolil"].store
    stat = store.client.stat_object(store.bucket, revision.object_key, version_id=revision.version_id)
    # S3 gives a multipart object the ETag "<hash>-<number of parts>".
    assert stat.etag.endswith("-3")
    assert store.retention_of(revision.object_key, revision.version_id).mode == "GOVERNANCE"
    assert spool_files(app) == []

    read = client.get(f"/api/v1/documents/{body['id']}/content", headers=bearer(tokens["auditor"]))
    content = read.get_data()
    read.close()

    assert read.status_code == 200
    assert read.headers["Dolil-Fixity"] == "passed"
    assert read.headers["Dolil-Content-SHA256"] == digest
    assert int(read.headers["Content-Length"]) == len(data)
    assert hashlib.sha256(content).hexdigest() == digest
    assert read.headers["Dolil-Validation"] == "NO_SIGNATURE"
    assert spool_files(app) == []


def test_over_limit_upload_refused_while_reading(streaming_app, tokens):
    app = streaming_app
    client = app.test_client()
    store = app.extensions["dolil"].store
    before = (sum(1 for _ in store.all_versions()), db.session.query(Document).count(),
              db.session.query(Revision).count())
    limit = app.config["DOLIL_SETTINGS"].max_upload_bytes
    # No Content-Length for the file part: the parser finds the size only by reading.
    data = b"%PDF-1.7\n" + b"0" * limit

    response = upload(client, tokens["officer"], data=data, filename="too-large.pdf")

    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "file_too_large"
    assert response.get_json()["max_bytes"] == limit
    after = (sum(1 for _ in store.all_versions()), db.session.query(Document).count(),
             db.session.query(Revision).count())
    assert after == before
    assert spool_files(app) == []


def test_fixity_mismatch_on_streamed_read_sends_no_content(streaming_app, make_bucket_name, tokens):
    app = streaming_app
    parts = app.extensions["dolil"]
    unlocked = ObjectStore(parts.store.client, make_bucket_name(), object_lock=False, versioning=False,
                           part_size=PART_SIZE)
    unlocked.ensure_bucket()
    parts.__dict__["store"] = unlocked
    client = app.test_client()
    data = generate_pdf(PART_SIZE + 1024 * 1024)
    document_id = upload(client, tokens["officer"], data=data, filename="large.pdf").get_json()["id"]
    revision = db.session.get(Document, document_id).current_revision
    tampered = bytearray(data)
    tampered[-4096] ^= 0x01
    unlocked.client.put_object(unlocked.bucket, revision.object_key, io.BytesIO(bytes(tampered)), len(tampered))

    response = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "fixity_mismatch"
    assert b"%PDF" not in response.get_data()
    assert len(response.get_data()) < 4096
    assert "Dolil-Fixity" not in response.headers
    event = db.session.query(AuditEvent).filter_by(document_id=document_id, action="document.fixity").one()
    assert event.outcome == "failure"
    assert spool_files(app) == []


def test_large_document_signed_from_and_to_files(streaming_app, tokens, monkeypatch):
    app = streaming_app
    client = app.test_client()
    # Files above this are validated by a worker process that reads the spool file.
    monkeypatch.setattr(archive, "IN_PROCESS_VALIDATION_BYTES", 1024 * 1024)
    data = generate_pdf(PART_SIZE + 1024 * 1024)
    document_id = upload(client, tokens["officer"], data=data, filename="large.pdf").get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["validation"]["indication"] == "TOTAL_PASSED"
    revision = db.session.get(Document, document_id).current_revision
    assert revision.number == 2
    store = app.extensions["dolil"].store
    stat = store.client.stat_object(store.bucket, revision.object_key, version_id=revision.version_id)
    assert stat.etag.endswith("-2")
    read = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    signed = read.get_data()
    read.close()
    assert read.headers["Dolil-Validation"] == "TOTAL_PASSED"
    # An incremental update: the uploaded bytes are a prefix of the signed PDF.
    assert signed.startswith(data)
    assert hashlib.sha256(signed).hexdigest() == revision.sha256 == read.headers["Dolil-Content-SHA256"]
    assert spool_files(app) == []


def test_upload_spool_deleted_when_limit_passed(app):
    settings = app.config["DOLIL_SETTINGS"]
    spool = UploadSpool(settings, max_bytes=10)
    path = spool.path
    spool.write(b"%PDF-1.7\n")

    with pytest.raises(ApiProblem) as caught:
        spool.write(b"too much")

    assert caught.value.code == "file_too_large"
    assert caught.value.status == 413
    assert spool.closed
    assert not path.exists()


def test_upload_spool_hashes_what_it_writes(app):
    spool = UploadSpool(app.config["DOLIL_SETTINGS"], max_bytes=100)
    spool.write(b"%PDF-1.7\n")
    spool.write(b"%%EOF\n")
    spool.flush()

    assert spool.sha256 == hashlib.sha256(b"%PDF-1.7\n%%EOF\n").hexdigest()
    assert spool.size == 15
    assert spool.path.read_bytes() == b"%PDF-1.7\n%%EOF\n"
    spool.close()
    assert not spool.path.exists()


@pytest.mark.parametrize("part_size", [5 * 1024 * 1024 - 1, 5 * 1024 ** 3 + 1])
def test_part_size_setting_within_s3_limits(part_size):
    from config import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="DOLIL_S3_PART_SIZE"):
        Settings(s3_part_size=part_size).validate()


def test_small_revision_read_in_memory(app, tokens, monkeypatch):
    client = app.test_client()
    data = generate_pdf(2 * 1024 * 1024)
    document_id = upload(client, tokens["officer"], data=data, filename="medium.pdf").get_json()["id"]
    spooled: list[str] = []
    original = archive.new_spool_file
    monkeypatch.setattr(archive, "new_spool_file",
                        lambda settings, prefix: spooled.append(prefix) or original(settings, prefix))

    small = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    small_body = small.get_data()
    small.close()
    assert spooled == []
    monkeypatch.setattr(archive, "IN_MEMORY_BYTES", 1024 * 1024)
    large = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    large_body = large.get_data()
    large.close()

    assert spooled == ["object-"]
    assert small.status_code == large.status_code == 200
    assert small_body == large_body == data
    assert small.headers["Content-Length"] == large.headers["Content-Length"] == str(len(data))
    assert small.headers["Dolil-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    assert spool_files(app) == []
