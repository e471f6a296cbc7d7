"""The signing order of each document kind: who signs, in what role and order."""

from __future__ import annotations

from tests.helpers import EVIDENCE_JPEG, MINUTES_PDF, bearer, bound_credential, upload


def _sign(client, token, document_id, **body):
    return client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token, "en"), json=body)


def test_minutes_signed_by_secretary_then_chair(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers={"chair": "test-chair"}).get_json()["id"]

    first = _sign(client, tokens["officer"], document_id)
    second = _sign(client, chair_token, document_id, role="chair")

    assert first.status_code == 201
    assert first.get_json()["signature"]["role"] == "member_secretary"
    assert first.get_json()["document"]["signing"] == {
        "required": ["member_secretary", "chair"], "signed": ["member_secretary"], "next": "chair", "valid": True,
        "complete": False, "roles": [{"role": "member_secretary", "holder": "test-officer", "signed": True},
                                     {"role": "chair", "holder": "test-chair", "signed": False}]}
    assert second.status_code == 201
    assert second.get_json()["document"]["signing"]["complete"] is True


def test_chair_before_secretary_refused(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = _sign(client, chair_token, document_id, role="chair")

    assert response.status_code == 409
    assert response.get_json()["code"] == "signature_out_of_order"
    assert response.get_json()["expected"] == "member_secretary"


def test_out_of_order_names_roles_in_bengali(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(chair_token, "bn"),
                           json={"role": "chair"})

    assert response.get_json()["detail"] == (
        "সদস্য সচিব এখনো স্বাক্ষর করেননি; ক্রম অনুযায়ী সভাপতি স্বাক্ষর করবেন তাঁর পরে।")
    assert "role_bn" not in response.get_json()


def test_same_officer_twice_refused(client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    _sign(client, tokens["officer"], document_id)

    response = _sign(client, tokens["officer"], document_id)

    assert response.status_code == 409
    assert response.get_json()["code"] == "duplicate_signer"


def test_role_signed_twice_refused(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    _sign(client, tokens["officer"], document_id)

    response = _sign(client, chair_token, document_id, role="member_secretary")

    assert response.status_code == 409
    assert response.get_json()["code"] == "signature_role_taken"


def test_complete_document_takes_no_more(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], EVIDENCE_JPEG, kind="evidence", title="প্রমাণক").get_json()["id"]
    _sign(client, tokens["officer"], document_id)

    response = _sign(client, chair_token, document_id)

    assert response.status_code == 409
    assert response.get_json()["code"] == "signing_complete"


def test_unknown_role_rejected(client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = _sign(client, tokens["officer"], document_id, role="president")

    assert response.status_code == 422
    assert response.get_json()["field"] == "role"


def test_secretary_certifies_minutes(app, client, tokens, chair_token):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    _sign(client, tokens["officer"], document_id)
    _sign(client, chair_token, document_id)

    content = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    secretary, chair = PdfFileReader(io.BytesIO(content.data)).embedded_signatures

    assert content.headers["Dolil-Validation"] == "TOTAL_PASSED"
    assert secretary.docmdp_level.name == "FILL_FORMS"
    assert chair.docmdp_level is None


def test_evidence_signature_not_certifying(app, client, tokens):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    document_id = upload(client, tokens["officer"], EVIDENCE_JPEG, kind="evidence", title="প্রমাণক").get_json()["id"]
    _sign(client, tokens["officer"], document_id)

    content = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    (signature,) = PdfFileReader(io.BytesIO(content.data)).embedded_signatures

    assert signature.docmdp_level is None


def test_signature_invalidating_earlier_refused(app, client, tokens, officer_signer, dev_pki, tmp_path):
    """A visible stamp in a new field after a certification without reserved fields would break it."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields
    from pyhanko.sign.fields import MDPPerm
    from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner

    from service.auth import issue_token
    from service.extensions import db
    from service.models import Document, User
    from signing.devpki import issue_certificate

    issued = issue_certificate(dev_pki, "Stamping Officer")
    (tmp_path / "stamping.p12").write_bytes(issued.to_pkcs12(b"secret"))
    (tmp_path / "stamping.pass").write_bytes(b"secret")
    officer = User(username="stamping-officer", role="officer", display_name="দাখিলকারী কর্মকর্তা")
    db.session.add(officer)
    db.session.add(bound_credential(user=officer, kind="pkcs12", location=str(tmp_path / "stamping.p12"),
                                    secret_file=str(tmp_path / "stamping.pass")))
    token = issue_token(officer)
    db.session.commit()
    metadata = PdfSignatureMetadata(field_name="Certification", md_algorithm="sha256", certify=True,
                                    docmdp_permissions=MDPPerm.FILL_FORMS, subfilter=fields.SigSeedSubFilter.PADES)
    certified = io.BytesIO()
    PdfSigner(metadata, signer=officer_signer).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(MINUTES_PDF.read_bytes())), output=certified)
    uploaded = upload(client, tokens["officer"], data=certified.getvalue(), filename="certified.pdf",
                      kind="evidence", title="প্রত্যয়িত প্রমাণক", signers={"submitter": "stamping-officer"})
    assert uploaded.status_code == 201, uploaded.get_json()
    document_id = uploaded.get_json()["id"]

    response = _sign(client, token, document_id, visible=True)

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "signature_breaks_earlier"
    assert db.session.get(Document, document_id).current_revision.number == 1


def _signed_outside(signer, *, certify: bool, permission=None) -> bytes:
    """Sign the sample minutes with pyHanko directly, as another tool would."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields
    from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner

    metadata = PdfSignatureMetadata(field_name="Outside", md_algorithm="sha256", certify=certify,
                                    docmdp_permissions=permission, subfilter=fields.SigSeedSubFilter.PADES)
    output = io.BytesIO()
    PdfSigner(metadata, signer=signer).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(MINUTES_PDF.read_bytes())),
                                                output=output)
    return output.getvalue()


def test_certified_without_changes_refused(app, client, tokens, officer_signer):
    from pyhanko.sign.fields import MDPPerm

    from service.extensions import db
    from service.models import Document

    locked = _signed_outside(officer_signer, certify=True, permission=MDPPerm.NO_CHANGES)
    document_id = upload(client, tokens["officer"], data=locked, filename="locked.pdf",
                         kind="evidence", title="প্রত্যয়িত প্রমাণক").get_json()["id"]

    response = _sign(client, tokens["officer"], document_id)

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "document_not_signable"
    assert "permits no changes" in response.get_json()["detail"]
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_certification_after_signature_refused(app, client, tokens, officer_signer):
    from service.extensions import db
    from service.models import Document

    signed = _signed_outside(officer_signer, certify=False)
    document_id = upload(client, tokens["officer"], data=signed, filename="signed.pdf").get_json()["id"]

    # The member secretary's signature on minutes is a certification.
    response = _sign(client, tokens["officer"], document_id)

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "document_not_signable"
    assert "must be the first signature" in response.get_json()["detail"]
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_refused_signature_recorded(app, client, tokens, chair_token):
    from service.extensions import db
    from service.models import AuditEvent

    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    _sign(client, chair_token, document_id, role="chair")

    event = db.session.query(AuditEvent).filter_by(action="document.sign").one()
    assert (event.outcome, event.document_id) == ("refused", document_id)
    assert event.details["code"] == "signature_out_of_order"
