"""The archival time-stamp renewal job, run as an administrator runs it.

The archive here trusts the live test PKI and time-stamps with its one-year
TSA. The documents are B-LTA files whose time-stamps come from ``tsa-short``,
whose certificate expires five days after the session start.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from service.extensions import db
from service.models import AuditEvent, Document, JobCursor, Revision, User, ValidationData
from signing.renewal import inspect_newest_timestamp
from signing.sign import SigningProfile, sign_pdf
from signing.validation import validate_pdf
from tests.helpers import MINUTES_PDF, bearer, upload


@pytest.fixture(scope="module")
def short_lta(live_pki) -> bytes:
    return sign_pdf(
        MINUTES_PDF.read_bytes(),
        live_pki.signer("valid"),
        SigningProfile(level="B-LTA"),
        timestamper=live_pki.timestamper(short_lived=True),
        policy=live_pki.policy(),
    )


@pytest.fixture
def ltv_app(app, make_app, live_pki, tokens):
    """An app that trusts the live test PKI and time-stamps with its long-lived TSA, with a renewal user."""
    ltv_app = make_app(tsa_url=live_pki.tsa_url)
    with ltv_app.app_context():
        ltv_app.extensions["dolil"].__dict__["policy"] = live_pki.policy()
        db.session.add(User(username="ltv-renewal", role="service", display_name="LTV renewal"))
        db.session.commit()
        yield ltv_app


def _upload_signed(ltv_app, tokens, data: bytes) -> str:
    response = upload(ltv_app.test_client(), tokens["officer"], data=data, filename="signed.pdf")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _renew(ltv_app, *args: str):
    return ltv_app.test_cli_runner().invoke(args=["ltv", "renew", *args])


def _current(document_id: str) -> Revision:
    db.session.expire_all()
    return db.session.get(Document, document_id).current_revision


def test_dry_run_lists_due_stores_nothing(ltv_app, tokens, short_lta):
    document_id = _upload_signed(ltv_app, tokens, short_lta)

    result = _renew(ltv_app, "--dry-run")

    assert result.exit_code == 0, result.output
    assert f"DUE document {document_id} revision 1: expiring" in result.output
    assert "1 due, 0 renewed, 0 failed (dry run, nothing stored)" in result.output
    assert _current(document_id).number == 1
    assert db.session.get(JobCursor, "ltv-renew") is None
    assert db.session.query(AuditEvent).filter_by(action="document.ltv_renew").count() == 0


def test_renew_stores_locked_revision(ltv_app, tokens, short_lta, live_pki):
    document_id = _upload_signed(ltv_app, tokens, short_lta)

    result = _renew(ltv_app)

    assert result.exit_code == 0, result.output
    assert f"RENEWED document {document_id} revision 1: expiring" in result.output
    assert "-> revision 2" in result.output
    revision = _current(document_id)
    assert revision.number == 2
    assert revision.reason == "renewed"
    assert revision.created_by.username == "ltv-renewal"
    store = ltv_app.extensions["dolil"].store
    renewed = store.get(revision.object_key, revision.version_id)
    assert renewed.startswith(short_lta)
    newest = inspect_newest_timestamp(renewed)
    assert newest.tsa_not_after > live_pki.tsa_short_expires_at
    retention = store.client.get_object_retention(store.bucket, revision.object_key, version_id=revision.version_id)
    assert retention is not None
    event = db.session.query(AuditEvent).filter_by(action="document.ltv_renew", document_id=document_id).one()
    assert event.outcome == "success"
    assert event.details["reasons"] == ["expiring"]
    assert event.details["revision"] == 2


def test_renewed_passes_after_tsa_expiry(ltv_app, tokens, short_lta, live_pki):
    document_id = _upload_signed(ltv_app, tokens, short_lta)
    assert _renew(ltv_app).exit_code == 0
    revision = _current(document_id)
    renewed = ltv_app.extensions["dolil"].store.get(revision.object_key, revision.version_id)
    later = live_pki.tsa_short_expires_at + timedelta(days=5)

    with live_pki.services_at(later):
        renewed_report = validate_pdf(renewed, live_pki.policy(), present=later)
        original_report = validate_pdf(short_lta, live_pki.policy(), present=later)

    (signature,) = renewed_report.signatures
    assert renewed_report.indication == "TOTAL_PASSED"
    assert signature.level == "B-LTA"
    (original,) = original_report.signatures
    assert original_report.indication != "TOTAL_PASSED"
    assert original.sub_indication == "NO_POE"


def test_renewed_revision_keeps_validation_data(ltv_app, tokens, short_lta):
    document_id = _upload_signed(ltv_app, tokens, short_lta)
    assert _renew(ltv_app).exit_code == 0

    response = ltv_app.test_client().get(f"/api/v1/documents/{document_id}/revisions/2/validation-data",
                                         headers=bearer(tokens["auditor"]))

    assert response.status_code == 200
    bundle = json.loads(response.data)
    assert bundle["revision"] == 2
    assert bundle["indication"] == "TOTAL_PASSED"
    assert bundle["ocsp_responses"]
    assert bundle["crls"]
    subjects = [entry["subject"] for entry in bundle["certificates"]]
    assert any("Short-Lived Time-Stamping Authority" in subject for subject in subjects)
    assert any(subject.startswith("Common Name: Dolil Test Time-Stamping Authority") for subject in subjects)
    assert db.session.query(ValidationData).filter_by(document_id=document_id).count() == 1


def test_second_run_renews_nothing(ltv_app, tokens, short_lta):
    document_id = _upload_signed(ltv_app, tokens, short_lta)
    first = _renew(ltv_app)

    second = _renew(ltv_app)

    assert first.exit_code == 0, first.output
    assert "1 due, 1 renewed" in first.output
    assert second.exit_code == 0, second.output
    assert "0 due, 0 renewed, 0 failed" in second.output
    assert _current(document_id).number == 2


def test_unsigned_document_not_due(ltv_app, tokens):
    document_id = _upload_signed(ltv_app, tokens, MINUTES_PDF.read_bytes())

    result = _renew(ltv_app)

    assert result.exit_code == 0, result.output
    assert "examined 1 documents: 0 due" in result.output
    assert _current(document_id).number == 1


def test_margin_smaller_than_expiry_not_due(ltv_app, tokens, short_lta):
    _upload_signed(ltv_app, tokens, short_lta)

    result = _renew(ltv_app, "--margin-days", "1")

    assert result.exit_code == 0, result.output
    assert "0 due" in result.output


def test_weakening_digest_due(ltv_app, tokens, short_lta, live_pki):
    ltv_app.extensions["dolil"].__dict__["policy"] = live_pki.policy(renewal_digest_algorithms=("sha256",))
    document_id = _upload_signed(ltv_app, tokens, short_lta)

    first = _renew(ltv_app, "--margin-days", "0")
    second = _renew(ltv_app, "--margin-days", "0")

    assert first.exit_code == 0, first.output
    assert f"RENEWED document {document_id} revision 1: weakening" in first.output
    assert "0 due" in second.output
    revision = _current(document_id)
    renewed = ltv_app.extensions["dolil"].store.get(revision.object_key, revision.version_id)
    assert inspect_newest_timestamp(renewed).digest_algorithm == "sha384"


def test_limit_resumes_next_run(ltv_app, tokens, short_lta):
    document_ids = sorted(_upload_signed(ltv_app, tokens, short_lta) for _ in range(2))

    first = _renew(ltv_app, "--limit", "1")
    cursor = db.session.get(JobCursor, "ltv-renew").position
    second = _renew(ltv_app, "--limit", "1")

    assert first.exit_code == 0, first.output
    assert f"RENEWED document {document_ids[0]}" in first.output
    assert document_ids[1] not in first.output
    assert cursor == document_ids[0]
    assert second.exit_code == 0, second.output
    assert f"RENEWED document {document_ids[1]}" in second.output
    assert [_current(document_id).number for document_id in document_ids] == [2, 2]


def test_missing_renewal_user_rejected(ltv_app, tokens, short_lta):
    db.session.query(User).filter_by(username="ltv-renewal").update({"active": False})
    db.session.commit()
    document_id = _upload_signed(ltv_app, tokens, short_lta)

    result = _renew(ltv_app)

    assert result.exit_code != 0
    assert "renewal user 'ltv-renewal' not found or inactive" in result.output
    assert _current(document_id).number == 1
