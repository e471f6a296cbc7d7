"""Signing through the API: timestamps, credential problems and refused certificates."""

from __future__ import annotations

from service.extensions import db
from service.models import Document, SigningCredential, User
from signing.devpki import issue_certificate
from tests.helpers import MINUTES_PDF, bearer, upload


def _officer_with_credential(tmp_path, p12: bytes, passphrase: bytes) -> str:
    from service.auth import issue_token

    p12_path = tmp_path / "signer.p12"
    passphrase_path = tmp_path / "signer.pass"
    p12_path.write_bytes(p12)
    passphrase_path.write_bytes(passphrase)
    user = User(username="second-officer", role="officer", display_name="Second officer")
    db.session.add(user)
    db.session.add(SigningCredential(user=user, kind="pkcs12", location=str(p12_path), secret_file=str(passphrase_path)))
    token = issue_token(user)
    db.session.commit()
    return token


def test_sign_bt_with_timestamp_service(make_app, tokens, tsa_url):
    app = make_app(tsa_url=tsa_url)
    with app.app_context():
        client = app.test_client()
        document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

        response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))

        assert response.status_code == 201, response.get_json()
        validation = response.get_json()["validation"]
        # With a timestamp service the default level is B-LTA.
        assert validation["level"] == "B-LTA"
        assert validation["timestamp_time"]
        assert validation["indication"] == "TOTAL_PASSED"


def test_sign_with_unreachable_tsa_stores_nothing(make_app, tokens, unused_port):
    app = make_app(tsa_url=f"http://127.0.0.1:{unused_port}/tsa")
    with app.app_context():
        client = app.test_client()
        document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

        response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))

        assert response.status_code == 503
        assert response.get_json()["code"] == "timestamp_unavailable"
        assert db.session.get(Document, document_id).current_revision.number == 1


def test_certificate_without_non_repudiation_refused(client, tokens, dev_pki, tmp_path):
    issued = issue_certificate(dev_pki, "Officer Without Non-Repudiation", key_usage=("digital_signature",))
    token = _officer_with_credential(tmp_path, issued.to_pkcs12(b"secret"), b"secret")
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token, "en"))

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "signer_certificate_rejected"
    assert body["reason"] == "key_usage"
    assert "non-repudiation" in body["detail"]
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_wrong_passphrase_reported(client, tokens, dev_pki, tmp_path):
    issued = issue_certificate(dev_pki, "Officer With Wrong Passphrase")
    token = _officer_with_credential(tmp_path, issued.to_pkcs12(b"right"), b"wrong")
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token))

    assert response.status_code == 500
    assert response.get_json()["code"] == "signing_credential_unavailable"
    assert "wrong" not in response.get_data(as_text=True)
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_sign_rejects_non_json_body(client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]),
                           data="level=B-B", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 422
    assert response.get_json()["field"] == "request"


def test_sign_unknown_document(client, tokens):
    response = client.post("/api/v1/documents/00000000-0000-4000-8000-000000000000/signatures",
                           headers=bearer(tokens["officer"]))

    assert response.status_code == 404
