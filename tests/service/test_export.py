"""Export of a document as a BagIt package, from the API and the CLI."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import bagit
import pytest

from service.audit import check_chain
from service.extensions import db
from service.models import AuditEvent, Revision
from tests.helpers import MINUTES_PDF, bearer, upload


@pytest.fixture
def signed_document(client, tokens) -> str:
    """A document with two revisions (upload and signature) and a stored verification."""
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    signed = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))
    assert signed.status_code == 201, signed.get_json()
    verified = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"]))
    assert verified.status_code == 200
    return document_id


def _check_bag(bag_dir: Path, document_id: str) -> bagit.Bag:
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert set(bag.algorithms) == {"sha256"}
    assert bag.info["External-Identifier"] == document_id
    assert bag.info["Source-Organization"].startswith("Office of the Controller of Certifying Authorities")
    assert bag.info["Bagging-Date"]

    revisions = db.session.query(Revision).filter_by(document_id=document_id).order_by(Revision.number).all()
    exported = sorted((bag_dir / "data" / "revisions").iterdir())
    assert [path.name for path in exported] == ["r001-uploaded.pdf", "r002-signed.pdf"]
    for revision, path in zip(revisions, exported, strict=True):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == revision.sha256
        assert bag.entries[f"data/revisions/{path.name}"]["sha256"] == revision.sha256

    verifications = json.loads((bag_dir / "data" / "verifications.json").read_text(encoding="utf-8"))
    assert [item["revision"] for item in verifications] == [2, 2]
    assert verifications[-1]["report"]["indication"] == verifications[-1]["indication"]
    events = json.loads((bag_dir / "data" / "audit-events.json").read_text(encoding="utf-8"))["events"]
    assert [event["action"] for event in events][:3] == ["document.upload", "document.sign", "document.verify"]
    document = json.loads((bag_dir / "data" / "document.json").read_text(encoding="utf-8"))
    assert document["id"] == document_id
    assert document["current_revision"] == 2
    return bag


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_api_export_is_a_valid_bag(client, tokens, signed_document, tmp_path, role):
    response = client.get(f"/api/v1/documents/{signed_document}/export", headers=bearer(tokens[role]))

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert f"dolil-{signed_document}.zip" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as zipped:
        assert {name.split("/")[0] for name in zipped.namelist()} == {f"dolil-{signed_document}"}
        zipped.extractall(tmp_path / "unzipped")
    _check_bag(tmp_path / "unzipped" / f"dolil-{signed_document}", signed_document)

    event = db.session.query(AuditEvent).filter_by(action="document.export").one()
    assert event.document_id == signed_document
    assert event.details["via"] == "api"
    manifest = (tmp_path / "unzipped" / f"dolil-{signed_document}" / "manifest-sha256.txt").read_bytes()
    assert event.details["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert check_chain().problems == []


@pytest.mark.parametrize("role", ["officer", "service"])
def test_api_export_refused_for_role(client, tokens, signed_document, role):
    response = client.get(f"/api/v1/documents/{signed_document}/export", headers=bearer(tokens[role]))

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert db.session.query(AuditEvent).filter_by(action="document.export").count() == 0


def test_api_export_of_unknown_document(client, tokens):
    response = client.get("/api/v1/documents/00000000-0000-4000-8000-000000000000/export",
                          headers=bearer(tokens["auditor"], "bn"))

    assert response.status_code == 404
    assert response.get_json()["code"] == "document_not_found"


def test_cli_export_is_a_valid_bag(app, signed_document, tmp_path):
    target = tmp_path / "bag"

    result = app.test_cli_runner().invoke(args=["export", "document", signed_document, str(target)])

    assert result.exit_code == 0, result.output
    _check_bag(target, signed_document)
    event = db.session.query(AuditEvent).filter_by(action="document.export").one()
    assert event.actor_id is None
    assert event.details["via"] == "cli"


def test_cli_export_refuses_existing_directory_and_unknown_document(app, tokens, tmp_path):
    existing = tmp_path / "existing"
    existing.mkdir()
    runner = app.test_cli_runner()

    taken = runner.invoke(args=["export", "document", "whatever", str(existing)])
    unknown = runner.invoke(args=["export", "document", "00000000-0000-4000-8000-000000000000",
                                  str(tmp_path / "new")])

    assert taken.exit_code == 1
    assert "exists already" in taken.output
    assert unknown.exit_code == 1
    assert "document_not_found" in unknown.output
    assert not (tmp_path / "new").exists()


def test_export_of_changed_bytes_is_refused(unlocked_app, tokens, tmp_path):
    app = unlocked_app
    client = app.test_client()
    store = app.extensions["dolil"].store
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    revision = db.session.query(Revision).filter_by(document_id=document_id).one()
    tampered = bytearray(MINUTES_PDF.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    store.client.put_object(store.bucket, revision.object_key, io.BytesIO(bytes(tampered)), len(tampered))

    response = client.get(f"/api/v1/documents/{document_id}/export", headers=bearer(tokens["auditor"]))
    result = app.test_cli_runner().invoke(args=["export", "document", document_id, str(tmp_path / "bag")])

    assert response.status_code == 500
    assert response.get_json()["code"] == "fixity_mismatch"
    assert result.exit_code == 1
    assert "fixity_mismatch" in result.output
    assert not (tmp_path / "bag").exists()
    assert db.session.query(AuditEvent).filter_by(action="document.export").count() == 0
    fixity = db.session.query(AuditEvent).filter_by(document_id=document_id, action="document.fixity").all()
    assert [event.outcome for event in fixity] == ["failure", "failure"]
