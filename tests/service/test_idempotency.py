"""Uploads retried with an Idempotency-Key store one document."""

from __future__ import annotations

from service.extensions import db
from service.models import Document
from tests.helpers import EVIDENCE_JPEG, MINUTES_PDF, upload
from tests.service.test_upload import archive_state


def _upload_with_key(client, token, key, path=MINUTES_PDF, **fields):
    client.environ_base["HTTP_IDEMPOTENCY_KEY"] = key
    try:
        return upload(client, token, path, **fields)
    finally:
        del client.environ_base["HTTP_IDEMPOTENCY_KEY"]


def test_retry_returns_first_document(app, client, tokens):
    first = _upload_with_key(client, tokens["officer"], "minutes-2021-09-20-upload")
    state = archive_state(app)

    retry = _upload_with_key(client, tokens["officer"], "minutes-2021-09-20-upload")

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert archive_state(app) == state


def test_same_key_different_request_rejected(app, client, tokens):
    _upload_with_key(client, tokens["officer"], "key-1")
    state = archive_state(app)

    response = _upload_with_key(client, tokens["officer"], "key-1", EVIDENCE_JPEG, kind="evidence")

    assert response.status_code == 422
    assert response.get_json()["code"] == "idempotency_key_reused"
    assert archive_state(app) == state


def test_same_key_other_signers_rejected(app, client, tokens, chair_token):
    first = _upload_with_key(client, tokens["officer"], "key-signers", signers={"chair": "test-chair"})
    state = archive_state(app)

    retry = _upload_with_key(client, tokens["officer"], "key-signers", signers={"chair": "test-chair"})
    other = _upload_with_key(client, tokens["officer"], "key-signers")

    assert first.status_code == 201, first.get_json()
    assert retry.status_code == 201
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert other.status_code == 422
    assert other.get_json()["code"] == "idempotency_key_reused"
    assert archive_state(app) == state


def test_keys_scoped_per_user(app, client, tokens):
    from service.auth import issue_token
    from service.models import User

    other = User(username="other-officer", role="officer", display_name="Other")
    db.session.add(other)
    other_token = issue_token(other)
    db.session.commit()

    first = _upload_with_key(client, tokens["officer"], "shared-key")
    second = _upload_with_key(client, other_token, "shared-key")

    assert second.status_code == 201
    assert second.get_json()["id"] != first.get_json()["id"]
    assert db.session.query(Document).count() == 2


def test_invalid_key_rejected(client, tokens):
    response = _upload_with_key(client, tokens["officer"], "x" * 201)

    assert response.status_code == 422
    assert response.get_json()["field"] == "Idempotency-Key"
