"""Signing through the API with a key on a PKCS#11 token (SoftHSM2)."""

from __future__ import annotations

import urllib.parse

from service.auth import issue_token
from service.extensions import db
from service.models import Document, SigningCredential, User
from signing.pkcs11 import parse_pkcs11_uri
from tests.fixtures.softhsm import OFFICER_NAME
from tests.helpers import MINUTES_PDF, bearer, bound_credential, upload


# The test officer uploads; the token officer signs as member secretary.
SIGNERS = {"member_secretary": "token-officer"}


def _uri(token) -> str:
    return (f"pkcs11:token={urllib.parse.quote(token.token_label)};object={urllib.parse.quote(token.key_label)}"
            f"?module-path={token.library_path}")


def _token_officer(softhsm_token, pin_file=None) -> str:
    user = User(username="token-officer", role="officer", display_name="টোকেন কর্মকর্তা")
    db.session.add(user)
    db.session.add(bound_credential(user=user, kind="pkcs11", location=_uri(softhsm_token),
                                     secret_file=str(pin_file) if pin_file else None))
    token = issue_token(user)
    db.session.commit()
    return token


def test_parse_uri():
    settings = parse_pkcs11_uri("pkcs11:token=Dolil%20Seal;object=seal?module-path=/usr/lib/softhsm/libsofthsm2.so")

    assert settings.token_label == "Dolil Seal"
    assert settings.key_label == "seal"
    assert str(settings.library_path) == "/usr/lib/softhsm/libsofthsm2.so"


def test_parse_uri_rejects_pin_value():
    import pytest

    with pytest.raises(ValueError, match="pin-value"):
        parse_pkcs11_uri("pkcs11:token=t;object=k;pin-value=1234?module-path=/x.so")


def test_sign_with_pin_from_request(app, client, tokens, softhsm_token):
    token = _token_officer(softhsm_token)
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token),
                           json={"pin": softhsm_token.user_pin})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["validation"]["indication"] == "TOTAL_PASSED"
    assert softhsm_token.user_pin not in response.get_data(as_text=True)


def test_role_of_other_officer_refused(app, client, tokens, softhsm_token):
    token = _token_officer(softhsm_token)
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token),
                           json={"pin": softhsm_token.user_pin})

    assert response.status_code == 403, response.get_json()
    assert response.get_json()["code"] == "signature_role_not_assigned"
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_sign_with_pin_file(app, client, tokens, softhsm_token, tmp_path):
    pin_file = tmp_path / "pin"
    pin_file.write_text(softhsm_token.user_pin)
    token = _token_officer(softhsm_token, pin_file)
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token))

    assert response.status_code == 201, response.get_json()


def test_missing_pin_rejected(app, client, tokens, softhsm_token):
    token = _token_officer(softhsm_token)
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token))

    assert response.status_code == 422
    assert response.get_json()["code"] == "pin_required"


def test_wrong_pin_rejected(app, client, tokens, softhsm_token, caplog):
    token = _token_officer(softhsm_token)
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token),
                           json={"pin": "000000"})

    assert response.status_code == 422
    assert response.get_json()["code"] == "pin_incorrect"
    assert db.session.get(Document, document_id).current_revision.number == 1
    assert all("000000" not in record.getMessage() for record in caplog.records)


def test_cli_registers_pkcs11_credential(app, softhsm_token, tmp_path):
    pin_file = tmp_path / "pin"
    pin_file.write_text(softhsm_token.user_pin)
    runner = app.test_cli_runner()
    runner.invoke(args=["users", "create", "seal", "--role", "officer"])

    result = runner.invoke(args=["credentials", "add-pkcs11", "seal", "--uri", _uri(softhsm_token),
                                 "--pin-file", str(pin_file), "--confirm-holder", OFFICER_NAME])

    assert result.exit_code == 0, result.output
    assert "registered pkcs11 credential for seal" in result.output
