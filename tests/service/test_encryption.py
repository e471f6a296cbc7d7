"""Server-side encryption of stored documents (DOLIL_S3_SSE, on by default)."""

from __future__ import annotations

from config import Settings
from service.components import components
from service.extensions import db
from service.models import Revision
from tests.helpers import MINUTES_PDF, upload


def test_encryption_is_on_by_default():
    assert Settings().s3_sse is True


def test_uploaded_revision_is_encrypted_at_rest(client, tokens):
    response = upload(client, tokens["officer"], MINUTES_PDF)
    assert response.status_code == 201, response.get_json()
    revision = db.session.query(Revision).filter_by(document_id=response.get_json()["id"]).one()

    store = components().store
    head = store.client.stat_object(store.bucket, revision.object_key, version_id=revision.version_id)

    assert head.metadata.get("x-amz-server-side-encryption") == "AES256"


def test_storage_init_reports_encryption(app):
    result = app.test_cli_runner().invoke(args=["storage", "init"])

    assert result.exit_code == 0, result.output
    assert "server-side encryption (SSE-S3, AES256) is on" in result.output


def test_storage_init_without_encryption(make_app):
    app = make_app(s3_sse=False)

    result = app.test_cli_runner().invoke(args=["storage", "init"])

    assert result.exit_code == 0, result.output
    assert "server-side encryption is off" in result.output
