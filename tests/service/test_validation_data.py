"""Validation data kept with signed revisions and served to auditors."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import timedelta

import pytest
from asn1crypto import x509

from service import archive
from service.extensions import db
from service.models import AuditEvent, Document, Revision, ValidationData
from service.preservation import reconcile
from tests.helpers import MINUTES_PDF, bearer, upload


def _signed_document(client, tokens) -> str:
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))
    assert response.status_code == 201, response.get_json()
    return document_id


def _url(document_id: str, number: int) -> str:
    return f"/api/v1/documents/{document_id}/revisions/{number}/validation-data"


def test_signing_stores_validation_data(app, client, tokens):
    document_id = _signed_document(client, tokens)

    row = db.session.execute(db.select(ValidationData).where(ValidationData.document_id == document_id)).scalar_one()
    revision = db.session.get(Document, document_id).current_revision
    stored = app.extensions["dolil"].store.get(row.object_key, row.version_id)

    assert row.revision_id == revision.id
    assert row.object_key.startswith(f"documents/{document_id}/")
    assert row.object_key.endswith(".json")
    assert hashlib.sha256(stored).hexdigest() == row.sha256
    assert row.size == len(stored)


def test_auditor_reads_validation_data(client, tokens):
    document_id = _signed_document(client, tokens)

    response = client.get(_url(document_id, 2), headers=bearer(tokens["auditor"]))

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Dolil-Fixity"] == "passed"
    assert response.headers["Dolil-Content-SHA256"] == hashlib.sha256(response.data).hexdigest()
    assert response.headers["Dolil-Revision"] == "2"
    bundle = json.loads(response.data)
    assert bundle["format"] == "dolil-validation-data"
    assert bundle["version"] == 1
    assert bundle["document_id"] == document_id
    assert bundle["revision"] == 2
    revision = db.session.get(Document, document_id).current_revision
    assert bundle["revision_sha256"] == revision.sha256
    subjects = [x509.Certificate.load(base64.b64decode(entry["der"])).subject.human_friendly
                for entry in bundle["certificates"]]
    assert subjects
    assert all(isinstance(bundle[kind], list) for kind in ("crls", "ocsp_responses"))
    events = db.session.query(AuditEvent).filter_by(document_id=document_id, action="validation_data.read").all()
    assert len(events) == 1


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_validation_data_allowed_roles(client, tokens, role):
    document_id = _signed_document(client, tokens)

    response = client.get(_url(document_id, 2), headers=bearer(tokens[role]))

    assert response.status_code == 200


@pytest.mark.parametrize("role", ["officer", "service"])
def test_validation_data_refused_roles(client, tokens, role):
    document_id = _signed_document(client, tokens)

    response = client.get(_url(document_id, 2), headers=bearer(tokens[role], "en"))

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_validation_data_needs_token(client, tokens):
    document_id = _signed_document(client, tokens)

    response = client.get(_url(document_id, 2))

    assert response.status_code == 401


def test_uploaded_revision_has_none(client, tokens):
    document_id = _signed_document(client, tokens)

    response = client.get(_url(document_id, 1), headers=bearer(tokens["auditor"], "en"))

    assert response.status_code == 404
    assert response.get_json()["code"] == "validation_data_not_found"


def test_unknown_revision_not_found(client, tokens):
    document_id = _signed_document(client, tokens)

    english = client.get(_url(document_id, 9), headers=bearer(tokens["auditor"], "en"))
    bengali = client.get(_url(document_id, 9), headers=bearer(tokens["auditor"], "bn"))

    assert english.status_code == 404
    assert english.get_json()["code"] == "revision_not_found"
    assert english.get_json()["title"] == "Revision not found"
    assert bengali.get_json()["title"] == "সংস্করণ পাওয়া যায়নি"


def test_unknown_document_not_found(client, tokens):
    response = client.get(_url("00000000-0000-4000-8000-000000000000", 1), headers=bearer(tokens["auditor"]))

    assert response.status_code == 404
    assert response.get_json()["code"] == "document_not_found"


def test_changed_validation_data_refused(unlocked_app, tokens):
    app = unlocked_app
    unlocked = app.extensions["dolil"].store
    client = app.test_client()
    document_id = _signed_document(client, tokens)
    row = db.session.execute(db.select(ValidationData).where(ValidationData.document_id == document_id)).scalar_one()
    forged = json.dumps({"format": "dolil-validation-data", "certificates": []}).encode()
    unlocked.client.put_object(unlocked.bucket, row.object_key, io.BytesIO(forged), len(forged))

    response = client.get(_url(document_id, 2), headers=bearer(tokens["auditor"]))

    assert response.status_code == 500
    assert response.get_json()["code"] == "fixity_mismatch"
    assert forged not in response.data
    events = db.session.query(AuditEvent).filter_by(document_id=document_id, action="validation_data.fixity").all()
    assert [event.outcome for event in events] == ["failure"]


def test_failed_commit_leaves_no_object(app, client, tokens, monkeypatch):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    store = app.extensions["dolil"].store
    before = {version.key for version in store.all_versions(f"documents/{document_id}/")}

    def fail(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    # The audit event is written inside the transaction that commits the new rows.
    monkeypatch.setattr(archive, "record_event", fail)
    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))

    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    after = {version.key for version in store.all_versions(f"documents/{document_id}/")}
    assert after == before
    assert db.session.query(ValidationData).filter_by(document_id=document_id).count() == 0
    assert db.session.query(Revision).filter_by(document_id=document_id).count() == 1


def test_legal_hold_covers_validation_data(app, client, tokens):
    document_id = _signed_document(client, tokens)
    row = db.session.execute(db.select(ValidationData).where(ValidationData.document_id == document_id)).scalar_one()
    store = app.extensions["dolil"].store

    response = client.put(f"/api/v1/documents/{document_id}/legal-hold", headers=bearer(tokens["auditor"]),
                          json={"hold": True, "reason": "audit"})

    assert response.status_code == 200
    assert store.client.is_object_legal_hold_enabled(store.bucket, row.object_key, version_id=row.version_id)


def test_reconcile_knows_validation_data(app, client, tokens):
    document_id = _signed_document(client, tokens)

    result = reconcile(min_age=timedelta(0))

    orphan_keys = {orphan.key for orphan in result.orphans}
    assert not any(key.startswith(f"documents/{document_id}/") for key in orphan_keys)
    assert result.missing_validation_data == []
