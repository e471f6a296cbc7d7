"""Refusals of PKCS#11 and two-phase (external) credentials, at registration and at use.

The keys of the PKCS#11 credentials are imported into the session's SoftHSM2
token for each test. The application validates under the live test PKI's
hard-fail policy (see tests/service/test_credentials.py). A certificate is
revoked after its registration with :meth:`LivePki.revoke`, and one expires
after registration when it was registered at a moment when it was valid, or,
for a prepared two-phase signature, when its validity ends between prepare
and complete. Each refusal must return its problem code, be audited with
outcome ``refused`` and store no revision and no prepared signature.
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import pem
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from service.auth import issue_token
from service.credentials import CertificateBinding, bind_certificate, certificate_sha256, new_credential
from service.extensions import db
from service.models import AuditEvent, Document, PendingSignature, SigningCredential, User
from tests.helpers import MINUTES_PDF, bearer, upload
from tests.service.test_credentials import COMMON_NAMES, live_app  # noqa: F401 (fixture)

COMMON_NAMES = {
    **COMMON_NAMES,
    "revocable-token": "Token Signer Revoked During The Tests",
    "revocable-external": "External Signer Revoked During The Tests",
}


def _user(username: str, display_name: str) -> User:
    user = User(username=username, role="officer", display_name=display_name)
    db.session.add(user)
    db.session.commit()
    return user


def _token(user: User) -> str:
    token = issue_token(user)
    db.session.commit()
    return token


def _key_and_certificate(live_pki, label: str):
    signer = live_pki.signer(label)
    key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    return key, x509.load_der_x509_certificate(signer.signing_cert.dump())


def _refusal_event(action: str, document_id: str) -> AuditEvent:
    return db.session.execute(
        db.select(AuditEvent).filter_by(action=action, outcome="refused", document_id=document_id)
    ).scalar_one()


def _assert_certificate_refused(response, document_id: str, reason: str, action: str) -> None:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "signer_certificate_rejected"
    assert body["reason"] == reason
    event = _refusal_event(action, document_id)
    assert event.details["code"] == "signer_certificate_rejected"
    assert event.details["reason"] == reason
    assert db.session.get(Document, document_id).current_revision.number == 1


# --- PKCS#11 -----------------------------------------------------------------------


def _add_pkcs11(app, username: str, uri: str, pin_file, *extra: str):
    return app.test_cli_runner().invoke(args=["credentials", "add-pkcs11", username, "--uri", uri,
                                              "--pin-file", str(pin_file), *extra])


@pytest.fixture
def pin_file(softhsm_token, tmp_path):
    path = tmp_path / "token.pin"
    path.write_text(softhsm_token.user_pin)
    return path


def _sign(client, token: str, document_id: str):
    return client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token, "en"), json={})


@pytest.mark.parametrize("label, reason", [
    ("revoked-before", "revoked"),
    ("expired", "expired"),
    ("wrong-key-usage", "key_usage"),
])
def test_pkcs11_unusable_certificate_not_registered(live_app, live_pki, softhsm_keys, pin_file, label, reason):
    _user(label, COMMON_NAMES[label])
    uri = softhsm_keys.add(f"live-{label}", *_key_and_certificate(live_pki, label))

    result = _add_pkcs11(live_app, label, uri, pin_file)

    assert result.exit_code != 0
    assert f"certificate rejected ({reason})" in result.output
    assert db.session.execute(db.select(SigningCredential)).first() is None


def test_pkcs11_other_persons_key_not_registered(live_app, live_pki, softhsm_keys, pin_file):
    _user("karim", "করিম হোসেন")
    uri = softhsm_keys.add("live-valid", *_key_and_certificate(live_pki, "valid"))

    result = _add_pkcs11(live_app, "karim", uri, pin_file)

    assert result.exit_code != 0
    assert "certificate rejected (not_owned)" in result.output
    assert db.session.execute(db.select(SigningCredential)).first() is None


def test_pkcs11_revoked_after_registration_refused(live_app, live_pki, softhsm_keys, pin_file):
    client = live_app.test_client()
    user = _user("revocable-token", COMMON_NAMES["revocable-token"])
    uri = softhsm_keys.add("live-revocable-token", *_key_and_certificate(live_pki, "revocable-token"))
    registered = _add_pkcs11(live_app, "revocable-token", uri, pin_file)
    assert registered.exit_code == 0, registered.output
    token = _token(user)
    first, second = (upload(client, token, MINUTES_PDF).get_json()["id"] for _ in range(2))
    before = _sign(client, token, first)
    assert before.status_code == 201, before.get_json()

    live_pki.revoke("revocable-token", datetime.now(timezone.utc) - timedelta(seconds=5))
    response = _sign(client, token, second)

    _assert_certificate_refused(response, second, "revoked", "document.sign")


def test_pkcs11_expired_after_registration_refused(live_app, live_pki, softhsm_keys, pin_file):
    client = live_app.test_client()
    user = _user("expired", COMMON_NAMES["expired"])
    key, certificate = _key_and_certificate(live_pki, "expired")
    uri = softhsm_keys.add("live-expired", key, certificate)
    signer = live_pki.signer("expired")
    # Registered twelve days ago, two days before the certificate expired.
    moment = live_pki.base_time - timedelta(days=12)
    with live_pki.services_at(moment):
        binding = bind_certificate(user, signer.signing_cert, list(signer.cert_registry),
                                   live_pki.policy(), at=moment)
    db.session.add(new_credential(user, "pkcs11", uri, binding, secret_file=str(pin_file)))
    token = _token(user)
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    response = _sign(client, token, document_id)

    _assert_certificate_refused(response, document_id, "expired", "document.sign")


def test_pkcs11_key_usage_checked_at_use(live_app, live_pki, softhsm_keys, pin_file):
    """A credential stored without the registration checks still cannot sign without nonRepudiation."""
    client = live_app.test_client()
    user = _user("wrong-key-usage", COMMON_NAMES["wrong-key-usage"])
    key, certificate = _key_and_certificate(live_pki, "wrong-key-usage")
    uri = softhsm_keys.add("live-wrong-key-usage", key, certificate)
    asn1_certificate = live_pki.signer("wrong-key-usage").signing_cert
    binding = CertificateBinding(certificate_sha256(asn1_certificate), asn1_certificate.subject.human_friendly, "name")
    db.session.add(new_credential(user, "pkcs11", uri, binding, secret_file=str(pin_file)))
    token = _token(user)
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    response = _sign(client, token, document_id)

    _assert_certificate_refused(response, document_id, "key_usage", "document.sign")


def test_pkcs11_replaced_by_other_persons_key_refused(live_app, live_pki, softhsm_keys, pin_file):
    client = live_app.test_client()
    user = _user("valid", COMMON_NAMES["valid"])
    uri = softhsm_keys.add("live-valid", *_key_and_certificate(live_pki, "valid"))
    registered = _add_pkcs11(live_app, "valid", uri, pin_file)
    assert registered.exit_code == 0, registered.output
    token = _token(user)
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]
    # Another person's key and certificate now sit under the registered label.
    softhsm_keys.replace("live-valid", *_key_and_certificate(live_pki, "revoked-after"))

    response = _sign(client, token, document_id)

    _assert_certificate_refused(response, document_id, "not_bound", "document.sign")


# --- two-phase (external) ----------------------------------------------------------


def _add_external(app, username: str, certificate, tmp_path, *extra: str):
    path = tmp_path / f"{username}.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return app.test_cli_runner().invoke(args=["credentials", "add-external", username, "--certificate", str(path),
                                              *extra])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _certificates(certificate, *chain) -> list[str]:
    return [_b64(item.public_bytes(serialization.Encoding.DER)) for item in (certificate, *chain)]


def _prepare(client, token: str, document_id: str, certificates: list[str]):
    return client.post(f"/api/v1/documents/{document_id}/signatures/prepare", headers=bearer(token, "en"),
                       json={"certificates": certificates})


def _complete(client, token: str, document_id: str, prepared: dict, signature_value: bytes,
              certificates: list[str]):
    return client.post(f"/api/v1/documents/{document_id}/signatures/complete", headers=bearer(token, "en"),
                       json={"handle": prepared["handle"], "signature_value": _b64(signature_value),
                             "certificates": certificates})


def _sign_attributes(key, prepared: dict) -> bytes:
    data = base64.b64decode(prepared["signed_attributes"])
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _live_chain(live_pki) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(live_pki.intermediates[0].dump())]


def _pending_count(document_id: str) -> int:
    return len(db.session.execute(db.select(PendingSignature).filter_by(document_id=document_id)).all())


def test_external_key_usage_not_registered(live_app, live_pki, tmp_path):
    _user("wrong-key-usage", COMMON_NAMES["wrong-key-usage"])
    _, certificate = _key_and_certificate(live_pki, "wrong-key-usage")

    result = _add_external(live_app, "wrong-key-usage", certificate, tmp_path)

    assert result.exit_code != 0
    assert "certificate rejected (key_usage)" in result.output
    assert db.session.execute(db.select(SigningCredential)).first() is None


def test_external_revoked_after_registration_refused(live_app, live_pki, tmp_path):
    """A revocation between prepare and complete stops the completion, and later preparations too."""
    client = live_app.test_client()
    user = _user("revocable-external", COMMON_NAMES["revocable-external"])
    key, certificate = _key_and_certificate(live_pki, "revocable-external")
    registered = _add_external(live_app, "revocable-external", certificate, tmp_path)
    assert registered.exit_code == 0, registered.output
    token = _token(user)
    certificates = _certificates(certificate, *_live_chain(live_pki))
    first, second = (upload(client, token, MINUTES_PDF).get_json()["id"] for _ in range(2))
    prepared = _prepare(client, token, first, certificates)
    assert prepared.status_code == 201, prepared.get_json()
    signature_value = _sign_attributes(key, prepared.get_json())

    live_pki.revoke("revocable-external", datetime.now(timezone.utc) - timedelta(seconds=5))
    completed = _complete(client, token, first, prepared.get_json(), signature_value, certificates)
    prepared_again = _prepare(client, token, second, certificates)

    _assert_certificate_refused(completed, first, "revoked", "document.sign")
    pending = db.session.execute(db.select(PendingSignature).filter_by(document_id=first)).scalar_one()
    assert pending.completed_at is None
    _assert_certificate_refused(prepared_again, second, "revoked", "document.sign_prepare")
    assert _pending_count(second) == 0


def test_external_expired_after_registration_refused(live_app, live_pki, tmp_path):
    client = live_app.test_client()
    user = _user("expired", COMMON_NAMES["expired"])
    _, certificate = _key_and_certificate(live_pki, "expired")
    signer = live_pki.signer("expired")
    moment = live_pki.base_time - timedelta(days=12)
    with live_pki.services_at(moment):
        binding = bind_certificate(user, signer.signing_cert, [], live_pki.policy(), at=moment)
    db.session.add(new_credential(user, "external", f"sha256:{binding.sha256}", binding))
    token = _token(user)
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    response = _prepare(client, token, document_id, _certificates(certificate, *_live_chain(live_pki)))

    _assert_certificate_refused(response, document_id, "expired", "document.sign_prepare")
    assert _pending_count(document_id) == 0


def test_external_expired_before_completion_refused(app, client, dev_pki, tmp_path):
    """A certificate whose validity ends between prepare and complete, under the development PKI."""
    from signing.devpki import issue_certificate

    user = _user("short-lived", "স্বল্পমেয়াদি কর্মকর্তা")
    not_after = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=6)
    issued = issue_certificate(dev_pki, "Short Lived Officer", not_after=not_after)
    registered = _add_external(app, "short-lived", issued.certificate, tmp_path,
                               "--confirm-holder", "Short Lived Officer")
    assert registered.exit_code == 0, registered.output
    token = _token(user)
    certificates = _certificates(issued.certificate, *issued.chain)
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]
    prepared = _prepare(client, token, document_id, certificates)
    assert prepared.status_code == 201, prepared.get_json()
    signature_value = _sign_attributes(issued.private_key, prepared.get_json())

    # Wait until the certificate has expired: a certificate's validity ends on a whole second.
    time.sleep(max(0.0, (not_after - datetime.now(timezone.utc)).total_seconds()) + 1.5)
    response = _complete(client, token, document_id, prepared.get_json(), signature_value, certificates)

    _assert_certificate_refused(response, document_id, "expired", "document.sign")


def test_external_key_usage_checked_at_prepare(live_app, live_pki):
    """A credential stored without the registration checks still cannot prepare without nonRepudiation."""
    client = live_app.test_client()
    user = _user("wrong-key-usage", COMMON_NAMES["wrong-key-usage"])
    _, certificate = _key_and_certificate(live_pki, "wrong-key-usage")
    asn1_certificate = live_pki.signer("wrong-key-usage").signing_cert
    binding = CertificateBinding(certificate_sha256(asn1_certificate), asn1_certificate.subject.human_friendly, "name")
    db.session.add(new_credential(user, "external", f"sha256:{binding.sha256}", binding))
    token = _token(user)
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    response = _prepare(client, token, document_id, _certificates(certificate, *_live_chain(live_pki)))

    _assert_certificate_refused(response, document_id, "key_usage", "document.sign_prepare")
    assert _pending_count(document_id) == 0


def test_external_other_persons_certificate_refused(live_app, live_pki, tmp_path):
    """A certificate registered to another user cannot prepare a signature."""
    client = live_app.test_client()
    _user("valid", COMMON_NAMES["valid"])
    _, certificate = _key_and_certificate(live_pki, "valid")
    assert _add_external(live_app, "valid", certificate, tmp_path).exit_code == 0
    karim = _token(_user("karim", "করিম হোসেন"))
    document_id = upload(client, karim, MINUTES_PDF).get_json()["id"]

    response = _prepare(client, karim, document_id, _certificates(certificate, *_live_chain(live_pki)))

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == "certificate_not_registered"
    assert _refusal_event("document.sign_prepare", document_id).details["code"] == "certificate_not_registered"
    assert _pending_count(document_id) == 0
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_external_other_persons_certificate_at_completion_refused(live_app, live_pki, tmp_path):
    """The key holder presents another person's certificate with the signature value."""
    client = live_app.test_client()
    user = _user("valid", COMMON_NAMES["valid"])
    key, certificate = _key_and_certificate(live_pki, "valid")
    assert _add_external(live_app, "valid", certificate, tmp_path).exit_code == 0
    token = _token(user)
    chain = _live_chain(live_pki)
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]
    prepared = _prepare(client, token, document_id, _certificates(certificate, *chain))
    assert prepared.status_code == 201, prepared.get_json()
    _, other = _key_and_certificate(live_pki, "revoked-after")

    response = _complete(client, token, document_id, prepared.get_json(),
                         _sign_attributes(key, prepared.get_json()), _certificates(other, *chain))

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == "signature_value_invalid"
    assert response.get_json()["reason"] == "certificate_mismatch"
    assert _refusal_event("document.sign", document_id).details["code"] == "signature_value_invalid"
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_external_credential_deactivated_before_completion_refused(live_app, live_pki, tmp_path):
    client = live_app.test_client()
    user = _user("valid", COMMON_NAMES["valid"])
    key, certificate = _key_and_certificate(live_pki, "valid")
    assert _add_external(live_app, "valid", certificate, tmp_path).exit_code == 0
    token = _token(user)
    certificates = _certificates(certificate, *_live_chain(live_pki))
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]
    prepared = _prepare(client, token, document_id, certificates)
    assert prepared.status_code == 201, prepared.get_json()
    credential = db.session.execute(db.select(SigningCredential).filter_by(user_id=user.id)).scalar_one()
    credential.active = False
    db.session.commit()

    response = _complete(client, token, document_id, prepared.get_json(),
                         _sign_attributes(key, prepared.get_json()), certificates)

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == "certificate_not_registered"
    assert _refusal_event("document.sign", document_id).details["code"] == "certificate_not_registered"
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_external_valid_certificate_completes(live_app, live_pki, tmp_path):
    """The refusals above come from the certificates: a valid one prepares and completes under the same policy."""
    client = live_app.test_client()
    user = _user("valid", COMMON_NAMES["valid"])
    key, certificate = _key_and_certificate(live_pki, "valid")
    assert _add_external(live_app, "valid", certificate, tmp_path).exit_code == 0
    token = _token(user)
    certificates = _certificates(certificate, *_live_chain(live_pki))
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]
    prepared = _prepare(client, token, document_id, certificates)

    response = _complete(client, token, document_id, prepared.get_json(),
                         _sign_attributes(key, prepared.get_json()), certificates)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["validation"]["indication"] == "TOTAL_PASSED"
