"""Tampering below the service is caught: changed bytes, a newer version under
the same key, and a change appended to a signed PDF."""

from __future__ import annotations

import hashlib
import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from service import archive
from service.extensions import db
from service.models import AuditEvent, Document, Verification
from tests.helpers import MINUTES_PDF, bearer, upload


def _sign(client, token, document_id):
    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_changed_bytes_refused(unlocked_app, tokens):
    """Bytes overwritten in a bucket without lock or versioning are never served."""
    app = unlocked_app
    unlocked = app.extensions["dolil"].store
    client = app.test_client()
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    revision = db.session.get(Document, document_id).current_revision
    tampered = bytearray(MINUTES_PDF.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    tampered = bytes(tampered)
    unlocked.client.put_object(unlocked.bucket, revision.object_key, io.BytesIO(tampered), len(tampered))

    response = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    report = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"]))

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "fixity_mismatch"
    assert tampered not in response.data
    failures = db.session.query(Verification).filter_by(document_id=document_id, fixity_ok=False).all()
    assert failures
    assert failures[0].actual_sha256 == hashlib.sha256(tampered).hexdigest()
    events = db.session.query(AuditEvent).filter_by(document_id=document_id, action="document.fixity").all()
    assert events and events[0].outcome == "failure"
    assert report.status_code == 200
    assert report.get_json()["fixity"]["ok"] is False
    assert report.get_json()["indication"] == "TOTAL_FAILED"


def test_changed_bytes_refused_for_signing(unlocked_app, tokens):
    app = unlocked_app
    unlocked = app.extensions["dolil"].store
    client = app.test_client()
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    revision = db.session.get(Document, document_id).current_revision
    tampered = MINUTES_PDF.read_bytes() + b"\n% appended\n"
    unlocked.client.put_object(unlocked.bucket, revision.object_key, io.BytesIO(tampered), len(tampered))

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))

    assert response.status_code == 500
    assert response.get_json()["code"] == "fixity_mismatch"
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_newer_version_under_same_key_never_served(app, client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    _sign(client, tokens["officer"], document_id)
    revision = db.session.get(Document, document_id).current_revision
    store = app.extensions["dolil"].store
    forged = b"%PDF-1.7\n% forged by someone with bucket access\n"
    store.client.put_object(store.bucket, revision.object_key, io.BytesIO(forged), len(forged))
    assert len(store.object_versions(revision.object_key)) == 2

    response = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))

    assert response.status_code == 200
    assert response.data != forged
    assert hashlib.sha256(response.data).hexdigest() == revision.sha256
    assert response.headers["Dolil-Validation"] == "TOTAL_PASSED"


def _append_page_change(signed: bytes) -> bytes:
    """Append an incremental update that replaces the content of page 1."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (Altered after signing) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def test_page_changed_after_signing_not_passed(app, client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    _sign(client, tokens["officer"], document_id)
    revision = db.session.get(Document, document_id).current_revision
    signed = app.extensions["dolil"].store.get(revision.object_key, revision.version_id)
    altered = _append_page_change(signed)

    altered_id = upload(client, tokens["officer"], data=altered, filename="altered.pdf").get_json()["id"]
    content = client.get(f"/api/v1/documents/{altered_id}/content", headers=bearer(tokens["auditor"]))
    report = client.get(f"/api/v1/documents/{altered_id}/verification", headers=bearer(tokens["auditor"])).get_json()

    assert content.status_code == 200
    assert content.headers["Dolil-Validation"] != "TOTAL_PASSED"
    assert report["indication"] != "TOTAL_PASSED"
    (signature,) = report["signatures"]
    assert signature["indication"] != "TOTAL_PASSED"
    assert signature["modified_after_signing"] is True
    assert signature["revisions_after"] == 1
    assert signature["changes"]


def test_overlong_object_spooled_and_refused(unlocked_app, tokens, monkeypatch):
    """Bytes appended below the service are hashed from a spool file, not memory, and never served."""
    app = unlocked_app
    unlocked = app.extensions["dolil"].store
    client = app.test_client()
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    revision = db.session.get(Document, document_id).current_revision
    tampered = MINUTES_PDF.read_bytes() + b"%" * (2 * 1024 * 1024)
    unlocked.client.put_object(unlocked.bucket, revision.object_key, io.BytesIO(tampered), len(tampered))
    spooled: list[str] = []
    original = archive.new_spool_file
    monkeypatch.setattr(archive, "new_spool_file",
                        lambda settings, prefix: spooled.append(prefix) or original(settings, prefix))

    response = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))

    assert response.status_code == 500
    assert response.get_json()["code"] == "fixity_mismatch"
    assert spooled == ["object-"]
    failure = db.session.query(Verification).filter_by(document_id=document_id, fixity_ok=False).one()
    assert failure.actual_sha256 == hashlib.sha256(tampered).hexdigest()
