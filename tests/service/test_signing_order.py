"""The signing order of each document kind: who signs, in what role and order."""

from __future__ import annotations

from tests.helpers import EVIDENCE_JPEG, MINUTES_PDF, bearer, upload


def _sign(client, token, document_id, **body):
    return client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token, "en"), json=body)


def test_minutes_signed_by_secretary_then_chair(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    first = _sign(client, tokens["officer"], document_id)
    second = _sign(client, chair_token, document_id, role="chair")

    assert first.status_code == 201
    assert first.get_json()["signature"]["role"] == "member_secretary"
    assert first.get_json()["document"]["signing"] == {
        "required": ["member_secretary", "chair"], "signed": ["member_secretary"], "next": "chair", "complete": False}
    assert second.status_code == 201
    assert second.get_json()["document"]["signing"]["complete"] is True


def test_chair_before_secretary_refused(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = _sign(client, chair_token, document_id, role="chair")

    assert response.status_code == 409
    assert response.get_json()["code"] == "signature_out_of_order"
    assert response.get_json()["expected"] == "member_secretary"


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


def test_signature_invalidating_earlier_refused(app, client, tokens, dev_pki, tmp_path):
    """A visible stamp after the secretary's certification would break it, so it is refused."""
    from service.auth import issue_token
    from service.extensions import db
    from service.models import Document, SigningCredential, User
    from signing.devpki import issue_certificate

    issued = issue_certificate(dev_pki, "Stamping Chair")
    (tmp_path / "chair.p12").write_bytes(issued.to_pkcs12(b"secret"))
    (tmp_path / "chair.pass").write_bytes(b"secret")
    chair = User(username="stamping-chair", role="officer", display_name="সভাপতি")
    db.session.add(chair)
    db.session.add(SigningCredential(user=chair, kind="pkcs12", location=str(tmp_path / "chair.p12"),
                                     secret_file=str(tmp_path / "chair.pass")))
    chair_token = issue_token(chair)
    db.session.commit()
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    _sign(client, tokens["officer"], document_id)

    response = _sign(client, chair_token, document_id, visible=True)

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "signature_breaks_earlier"
    assert db.session.get(Document, document_id).current_revision.number == 2
