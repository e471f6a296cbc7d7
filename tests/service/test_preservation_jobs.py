"""The fixity audit and the reconciler, run as an administrator runs them."""

from __future__ import annotations

import hashlib
import io

from service.extensions import db
from service.models import AuditEvent, Document, JobCursor, Revision, Verification
from storage import new_object_key
from tests.helpers import MINUTES_PDF, upload


def test_fixity_check_all_intact(app, client, tokens):
    for _ in range(3):
        upload(client, tokens["officer"], MINUTES_PDF)

    result = app.test_cli_runner().invoke(args=["fixity", "check"])

    assert result.exit_code == 0, result.output
    assert "checked 3 revisions: 0 mismatched, 0 missing" in result.output
    assert db.session.query(AuditEvent).filter_by(action="fixity.check", outcome="ok").count() == 3


def test_fixity_check_reports_corruption(unlocked_app, tokens):
    app = unlocked_app
    client = app.test_client()
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    revision = db.session.get(Document, document_id).current_revision
    store = app.extensions["dolil"].store
    damaged = MINUTES_PDF.read_bytes()[:-10] + b"0123456789"
    store.client.put_object(store.bucket, revision.object_key, io.BytesIO(damaged), len(damaged))

    result = app.test_cli_runner().invoke(args=["fixity", "check"])

    assert result.exit_code == 1
    assert f"MISMATCH document {document_id} revision 1" in result.output
    failure = db.session.query(Verification).filter_by(document_id=document_id, fixity_ok=False).one()
    assert failure.actual_sha256 != revision.sha256


def test_fixity_check_reports_missing_object(app, client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    revision = db.session.get(Document, document_id).current_revision
    revision.version_id = "no-such-version"
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["fixity", "check"])

    assert result.exit_code == 1
    assert f"MISSING document {document_id} revision 1" in result.output


def test_fixity_check_resumes_after_limit(app, client, tokens):
    for _ in range(3):
        upload(client, tokens["officer"], MINUTES_PDF)
    runner = app.test_cli_runner()
    ordered = [revision.id for revision in db.session.query(Revision).order_by(Revision.id)]

    first = runner.invoke(args=["fixity", "check", "--limit", "2"])
    position = db.session.get(JobCursor, "fixity").position
    second = runner.invoke(args=["fixity", "check", "--limit", "2"])

    assert "checked 2 revisions" in first.output
    assert position == ordered[1]
    assert "checked 1 revisions" in second.output
    assert "next run starts from the first revision" in second.output
    assert db.session.get(JobCursor, "fixity").position == ""


def test_reconcile_finds_orphan(make_app, make_bucket_name, tokens):
    # A bucket of its own, because the session's shared bucket contains versions
    # of other tests whose rows are gone.
    app = make_app(s3_bucket=make_bucket_name())
    with app.app_context():
        upload(app.test_client(), tokens["officer"], MINUTES_PDF)
        store = app.extensions["dolil"].store
        data = b"%PDF-1.7\n% written by a process that died before its commit\n"
        orphan = store.put(new_object_key("00000000-0000-4000-8000-000000000001"), data,
                           sha256=hashlib.sha256(data).hexdigest())
        runner = app.test_cli_runner()

        listed = runner.invoke(args=["storage", "reconcile", "--min-age-minutes", "0"])
        discarded = runner.invoke(args=["storage", "reconcile", "--min-age-minutes", "0", "--discard"])
        again = runner.invoke(args=["storage", "reconcile", "--min-age-minutes", "0"])

    assert listed.exit_code == 1
    assert f"ORPHAN {orphan.key} version {orphan.version_id} (kept)" in listed.output
    assert discarded.exit_code == 0, discarded.output
    assert f"ORPHAN {orphan.key} version {orphan.version_id} (discarded)" in discarded.output
    assert orphan.key not in again.output
    assert again.exit_code == 0


def test_reconcile_skips_recent_versions(make_app, make_bucket_name, tokens):
    app = make_app(s3_bucket=make_bucket_name())
    with app.app_context():
        store = app.extensions["dolil"].store
        data = b"%PDF-1.7\n% an upload still committing\n"
        store.put(new_object_key("00000000-0000-4000-8000-000000000002"), data,
                  sha256=hashlib.sha256(data).hexdigest())

        result = app.test_cli_runner().invoke(args=["storage", "reconcile", "--discard"])

    assert result.exit_code == 0, result.output
    assert "1 recent versions skipped" in result.output


def test_fixity_check_reports_damaged_validation_data(unlocked_app, tokens):
    from service.models import ValidationData

    app = unlocked_app
    client = app.test_client()
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    signed = client.post(f"/api/v1/documents/{document_id}/signatures",
                         headers={"Authorization": f"Bearer {tokens['officer']}"}, json={})
    assert signed.status_code == 201, signed.get_json()
    bundle = db.session.execute(db.select(ValidationData)).scalar_one()
    store = app.extensions["dolil"].store
    store.client.put_object(store.bucket, bundle.object_key, io.BytesIO(b"{}"), 2)

    result = app.test_cli_runner().invoke(args=["fixity", "check"])

    assert result.exit_code == 1
    assert f"MISMATCH validation data of document {document_id} revision 2" in result.output
    assert "0 mismatched, 0 missing" in result.output
    event = db.session.query(AuditEvent).filter_by(action="fixity.check", outcome="mismatch").one()
    assert event.details["validation_data"]["outcome"] == "mismatch"
