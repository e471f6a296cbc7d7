"""Retention per document kind and legal holds, enforced by the object store itself."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from service.extensions import db
from service.models import AuditEvent, Document
from storage import StorageError, StoredObject
from tests.helpers import EVIDENCE_JPEG, MINUTES_PDF, bearer, upload


def _hold(client, token, document_id, hold: bool):
    return client.put(f"/api/v1/documents/{document_id}/legal-hold", headers=bearer(token),
                      json={"hold": hold, "reason": "নিরীক্ষা চলমান"})


def test_retention_period_per_kind(make_app, tokens):
    app = make_app(retention_days=1, retention_days_minutes=3)
    with app.app_context():
        client = app.test_client()
        minutes_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
        evidence_id = upload(client, tokens["officer"], EVIDENCE_JPEG, kind="evidence", title="প্রমাণক").get_json()["id"]
        store = app.extensions["dolil"].store
        now = datetime.now(timezone.utc)

        minutes = db.session.get(Document, minutes_id).current_revision
        evidence = db.session.get(Document, evidence_id).current_revision
        minutes_retention = store.retention_of(minutes.object_key, minutes.version_id)
        evidence_retention = store.retention_of(evidence.object_key, evidence.version_id)

        assert minutes_retention.mode == "GOVERNANCE"
        assert now + timedelta(days=2) < minutes_retention.retain_until_date < now + timedelta(days=4)
        assert now < evidence_retention.retain_until_date < now + timedelta(days=2)


def test_compliance_retention_not_deletable(make_app, tokens):
    app = make_app(retention_mode="COMPLIANCE", retention_days=1)
    with app.app_context():
        client = app.test_client()
        document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
        revision = db.session.get(Document, document_id).current_revision
        store = app.extensions["dolil"].store

        assert store.retention_of(revision.object_key, revision.version_id).mode == "COMPLIANCE"
        with pytest.raises(StorageError):
            store.discard(StoredObject(revision.object_key, revision.version_id, revision.sha256, revision.size))
        assert store.get(revision.object_key, revision.version_id) == MINUTES_PDF.read_bytes()


def test_legal_hold_covers_every_version(app, client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))
    store = app.extensions["dolil"].store

    response = _hold(client, tokens["auditor"], document_id, True)
    client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(chair_token))
    revisions = db.session.get(Document, document_id).revisions

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["legal_hold"] is True
    assert len(revisions) == 3
    for revision in revisions:
        assert store.legal_hold(revision.object_key, revision.version_id) is True
    # Even a GOVERNANCE version with the bypass permission cannot be deleted while held.
    first = revisions[0]
    with pytest.raises(StorageError):
        store.discard(StoredObject(first.object_key, first.version_id, first.sha256, first.size))


def test_legal_hold_released(app, client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    _hold(client, tokens["auditor"], document_id, True)

    response = _hold(client, tokens["auditor"], document_id, False)

    revision = db.session.get(Document, document_id).current_revision
    assert response.get_json()["legal_hold"] is False
    assert app.extensions["dolil"].store.legal_hold(revision.object_key, revision.version_id) is False
    outcomes = [event.outcome for event in db.session.query(AuditEvent).filter_by(action="document.legal_hold")]
    assert outcomes == ["placed", "released"]


def test_legal_hold_invalid_body(client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.put(f"/api/v1/documents/{document_id}/legal-hold", headers=bearer(tokens["auditor"]),
                          json={"hold": "yes"})

    assert response.status_code == 422
    assert response.get_json()["field"] == "hold"
