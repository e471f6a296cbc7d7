"""The main job on the sample inputs: upload, sign, fetch verified, read the report."""

from __future__ import annotations

import hashlib

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from service.extensions import db
from service.models import AuditEvent, Document, Verification
from tests.helpers import EVIDENCE_JPEG, MINUTES_PDF, bearer, upload


def _upload_and_sign(client, tokens, path, **fields) -> dict:
    created = upload(client, tokens["officer"], path, **fields)
    assert created.status_code == 201, created.get_json()
    document_id = created.get_json()["id"]
    signed = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]),
                         json={"reason": "কার্যবিবরণী অনুমোদন", "location": "ঢাকা"})
    assert signed.status_code == 201, signed.get_json()
    return signed.get_json()


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (MINUTES_PDF, {"kind": "minutes", "memo_number": "৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.১৫৮", "meeting_date": "২০/০৯/২০২১"}),
        (EVIDENCE_JPEG, {"kind": "evidence", "title": "শাখাভিত্তিক ই-নথি ও হার্ডনথি নিষ্পত্তির বিবরণী"}),
    ],
    ids=["minutes", "evidence"],
)
def test_sample_signed_and_fetched_verified(app, client, tokens, dev_pki, path, fields):
    signed = _upload_and_sign(client, tokens, path, **fields)
    document_id = signed["document"]["id"]

    response = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Dolil-Fixity"] == "passed"
    assert response.headers["Dolil-Validation"] == "TOTAL_PASSED"
    assert response.headers["Dolil-Signature-Count"] == "1"
    assert response.headers["Dolil-Revision"] == "2"
    assert response.headers["Dolil-Content-SHA256"] == hashlib.sha256(response.data).hexdigest()
    assert response.headers["Dolil-Content-SHA256"] == signed["document"]["sha256"]
    reader = PdfFileReader(__import__("io").BytesIO(response.data))
    assert len(reader.embedded_signatures) == 1


def test_signing_adds_revision_and_keeps_original(app, client, tokens):
    signed = _upload_and_sign(client, tokens, MINUTES_PDF)
    document = db.session.get(Document, signed["document"]["id"])
    store = app.extensions["dolil"].store

    original, current = document.revisions

    assert [revision.reason for revision in document.revisions] == ["uploaded", "signed"]
    assert store.get(original.object_key, original.version_id) == MINUTES_PDF.read_bytes()
    signed_bytes = store.get(current.object_key, current.version_id)
    # The signature is an incremental update: the upload is an exact prefix.
    assert signed_bytes.startswith(MINUTES_PDF.read_bytes())
    assert original.object_key != current.object_key


def test_sign_response_describes_signature(client, tokens, dev_pki):
    signed = _upload_and_sign(client, tokens, MINUTES_PDF)

    validation = signed["validation"]
    assert validation["indication"] == "TOTAL_PASSED"
    assert validation["level"] == "B-B"
    assert validation["coverage"] == "ENTIRE_FILE"
    assert validation["modified_after_signing"] is False
    assert "Dolil Development Officer" in validation["signer_subject"]
    assert signed["signature"]["signed_by"] == "test-officer"
    assert signed["document"]["signatures"][0]["signer_serial"] == validation["signer_serial"]


def test_verification_report(client, tokens):
    signed = _upload_and_sign(client, tokens, MINUTES_PDF)
    document_id = signed["document"]["id"]

    response = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"]))

    assert response.status_code == 200
    report = response.get_json()
    assert report["fixity"]["ok"] is True
    assert report["indication"] == "TOTAL_PASSED"
    (signature,) = report["signatures"]
    assert signature["indication"] == "TOTAL_PASSED"
    assert signature["sub_indication"] is None
    assert signature["signer_serial"]
    assert signature["signing_time"]
    assert signature["coverage"] == "ENTIRE_FILE"
    assert signature["modified_after_signing"] is False
    # The development PKI publishes no revocation data, and the report states it.
    assert signature["revocation"]["checked"] is False
    assert signature["revocation"]["mode"] == "soft-fail"


def test_document_detail_lists_last_verification(client, tokens):
    signed = _upload_and_sign(client, tokens, MINUTES_PDF)
    document_id = signed["document"]["id"]
    client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"]))

    detail = client.get(f"/api/v1/documents/{document_id}", headers=bearer(tokens["service"])).get_json()

    assert [revision["number"] for revision in detail["revisions"]] == [1, 2]
    assert len(detail["signatures"]) == 1
    assert detail["last_verification"]["indication"] == "TOTAL_PASSED"
    assert detail["last_verification"]["revision"] == 2


def test_co_signature_keeps_both_valid(client, tokens, chair_token):
    first = _upload_and_sign(client, tokens, MINUTES_PDF)
    document_id = first["document"]["id"]

    second = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(chair_token))
    report = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"])).get_json()

    assert second.status_code == 201, second.get_json()
    assert second.get_json()["document"]["revision"] == 3
    assert second.get_json()["document"]["signing"]["complete"] is True
    assert [signature["role"] for signature in second.get_json()["document"]["signatures"]] == [
        "member_secretary", "chair"]
    assert [signature["indication"] for signature in report["signatures"]] == ["TOTAL_PASSED", "TOTAL_PASSED"]
    # PDF revisions count from 0 within the file; the archive's record names
    # the revision each signature created, its role and its signer.
    assert [signature["signed_revision"] for signature in report["signatures"]] == [1, 2]
    assert [signature["archive"] for signature in report["signatures"]] == [
        {"revision": 2, "role": "member_secretary", "signed_by": "test-officer"},
        {"revision": 3, "role": "chair", "signed_by": "test-chair"},
    ]


def test_unsigned_document_reports_no_signature(client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))

    assert response.status_code == 200
    assert response.headers["Dolil-Validation"] == "NO_SIGNATURE"
    assert response.headers["Dolil-Signature-Count"] == "0"
    assert response.data == MINUTES_PDF.read_bytes()


def test_reads_are_audited_and_chained(app, client, tokens):
    signed = _upload_and_sign(client, tokens, MINUTES_PDF)
    document_id = signed["document"]["id"]
    client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))

    actions = [event.action for event in db.session.query(AuditEvent).filter_by(document_id=document_id).order_by(AuditEvent.id)]
    result = app.test_cli_runner().invoke(args=["audit", "verify"])

    assert actions == ["document.upload", "document.sign", "document.read"]
    assert result.exit_code == 0, result.output


def test_repeat_read_reuses_validation(client, tokens):
    signed = _upload_and_sign(client, tokens, MINUTES_PDF)
    document_id = signed["document"]["id"]
    before = db.session.query(Verification).filter_by(document_id=document_id).count()

    for _ in range(3):
        response = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
        assert response.headers["Dolil-Validation"] == "TOTAL_PASSED"

    # Signing validated the new revision already; reads hash the bytes and reuse that report.
    assert db.session.query(Verification).filter_by(document_id=document_id).count() == before


def test_user_without_credential_cannot_sign(app, client, tokens):
    from service.auth import issue_token
    from service.models import User

    user = User(username="no-credential", role="officer", display_name="No credential")
    db.session.add(user)
    token = issue_token(user)
    db.session.commit()
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "no-credential"}).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token))

    assert response.status_code == 409
    assert response.get_json()["code"] == "signing_credential_missing"


def test_sign_level_bt_without_tsa_rejected(client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]),
                           json={"level": "B-T"})

    assert response.status_code == 422
    assert response.get_json()["field"] == "level"
