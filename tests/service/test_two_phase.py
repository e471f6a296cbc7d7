"""Two-phase signing through the API: the officer's key never reaches the service."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from service.auth import issue_token
from service.extensions import db
from service.models import Document, User
from signing.devpki import issue_certificate
from tests.helpers import MINUTES_PDF, bearer, upload


# The test officer uploads; the token officer signs as member secretary.
SIGNERS = {"member_secretary": "token-officer"}


def _der(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def token_officer(app, dev_pki, tmp_path):
    """An officer whose key is held outside the service, with the certificate registered by the CLI."""
    issued = issue_certificate(dev_pki, "Token Officer")
    certificate_path = tmp_path / "token-officer.pem"
    certificate_path.write_bytes(issued.certificate.public_bytes(serialization.Encoding.PEM))
    user = User(username="token-officer", role="officer", display_name="টোকেন কর্মকর্তা")
    db.session.add(user)
    token = issue_token(user)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["credentials", "add-external", "token-officer",
                                                "--certificate", str(certificate_path),
                                                "--confirm-holder", "Token Officer"])
    assert result.exit_code == 0, result.output
    certificates = [base64.b64encode(_der(issued.certificate)).decode(),
                    base64.b64encode(_der(issued.chain[0])).decode()]
    return token, issued, certificates


def _prepare(client, token, document_id, certificates, **body):
    return client.post(f"/api/v1/documents/{document_id}/signatures/prepare", headers=bearer(token, "en"),
                       json={"certificates": certificates, **body})


def _sign_attributes(issued, signed_attributes_b64: str) -> str:
    value = issued.private_key.sign(base64.b64decode(signed_attributes_b64), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(value).decode()


def _complete(client, token, document_id, handle, signature_value, certificates):
    return client.post(f"/api/v1/documents/{document_id}/signatures/complete", headers=bearer(token, "en"),
                       json={"handle": handle, "signature_value": signature_value, "certificates": certificates})


def test_prepare_sign_complete(client, tokens, token_officer):
    token, issued, certificates = token_officer
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]

    prepared = _prepare(client, token, document_id, certificates)
    body = prepared.get_json()
    completed = _complete(client, token, document_id, body["handle"], _sign_attributes(issued, body["signed_attributes"]),
                          certificates)

    assert prepared.status_code == 201, body
    assert body["digest_algorithm"] == "sha256"
    assert completed.status_code == 201, completed.get_json()
    assert completed.get_json()["validation"]["indication"] == "TOTAL_PASSED"
    assert completed.get_json()["signature"]["role"] == "member_secretary"
    assert completed.get_json()["document"]["revision"] == 2


def test_handle_completes_once(client, tokens, token_officer):
    token, issued, certificates = token_officer
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]
    body = _prepare(client, token, document_id, certificates).get_json()
    value = _sign_attributes(issued, body["signed_attributes"])
    _complete(client, token, document_id, body["handle"], value, certificates)

    again = _complete(client, token, document_id, body["handle"], value, certificates)

    assert again.status_code == 404
    assert again.get_json()["code"] == "pending_signature_not_found"


def test_wrong_signature_value_rejected(client, tokens, token_officer, dev_pki):
    token, _, certificates = token_officer
    other = issue_certificate(dev_pki, "Someone Else")
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]
    body = _prepare(client, token, document_id, certificates).get_json()

    response = _complete(client, token, document_id, body["handle"], _sign_attributes(other, body["signed_attributes"]),
                         certificates)

    assert response.status_code == 422
    assert response.get_json()["code"] == "signature_value_invalid"
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_unregistered_certificate_rejected(client, tokens, token_officer, dev_pki):
    token, _, _ = token_officer
    unregistered = issue_certificate(dev_pki, "Unregistered")
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]

    response = _prepare(client, token, document_id, [base64.b64encode(_der(unregistered.certificate)).decode()])

    assert response.status_code == 422
    assert response.get_json()["code"] == "certificate_not_registered"


def test_other_users_handle_not_found(client, tokens, token_officer):
    token, issued, certificates = token_officer
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]
    body = _prepare(client, token, document_id, certificates).get_json()

    response = _complete(client, tokens["officer"], document_id, body["handle"],
                         _sign_attributes(issued, body["signed_attributes"]), certificates)

    assert response.status_code == 404


def test_stale_preparation_refused(client, tokens, token_officer, chair_token):
    token, issued, certificates = token_officer
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))
    # The chair's role has no holder, so both officers may take it.
    body = _prepare(client, token, document_id, certificates).get_json()
    # Meanwhile another officer signs in the same role.
    client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(chair_token))

    response = _complete(client, token, document_id, body["handle"], _sign_attributes(issued, body["signed_attributes"]),
                         certificates)

    assert response.status_code == 409
    assert db.session.get(Document, document_id).current_revision.number == 3


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA", "B-X"])
def test_level_without_timestamp_service_rejected(client, tokens, token_officer, level):
    token, _, certificates = token_officer
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]

    response = _prepare(client, token, document_id, certificates, level=level)

    assert response.status_code == 422
    assert response.get_json()["code"] == "field_invalid"
    assert response.get_json()["field"] == "level"
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_two_phase_secretary_certifies_and_chair_fills_field(client, tokens, token_officer, chair_token):
    """A two-phase certification reserves the chair's field like a server-side one."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    token, issued, certificates = token_officer
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]
    body = _prepare(client, token, document_id, certificates).get_json()
    certified = _complete(client, token, document_id, body["handle"],
                          _sign_attributes(issued, body["signed_attributes"]), certificates)

    chair = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(chair_token, "en"), json={})

    assert certified.status_code == 201, certified.get_json()
    assert chair.status_code == 201, chair.get_json()
    assert chair.get_json()["signature"]["field_name"] == "chair"
    content = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    secretary_signature, chair_signature = PdfFileReader(io.BytesIO(content.data)).embedded_signatures
    assert secretary_signature.docmdp_level.name == "FILL_FORMS"
    assert chair_signature.field_name == "chair"
    assert content.headers["Dolil-Validation"] == "TOTAL_PASSED"
    assert chair.get_json()["document"]["signing"]["complete"] is True
