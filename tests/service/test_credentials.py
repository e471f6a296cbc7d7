"""Credential checks at registration (flask credentials add...) and at use, against the live test PKI.

The application validates under a hard-fail policy that trusts the test PKI's
root and fetches OCSP responses and CRLs from it on 127.0.0.1. A credential
"registered while valid" is bound with the services' clock and the check's
moment set to a time when the certificate was good. Signing now then meets the
revocation, expiry or change that happened since.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import pem
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from service.auth import issue_token
from service.credentials import bind_certificate, new_credential
from service.extensions import db
from service.models import Document, SigningCredential, User
from tests.helpers import MINUTES_PDF, bearer, upload

PASSPHRASE = b"test-passphrase"
# Common names of the test PKI's certificates, by label (tests/fixtures/testpki.yml).
COMMON_NAMES = {
    "valid": "Valid Signer",
    "revoked-before": "Signer Revoked Before Signing",
    "revoked-after": "Signer Revoked After Signing",
    "expired": "Expired Signer",
    "not-yet-valid": "Not Yet Valid Signer",
    "wrong-key-usage": "Signer Without Non-Repudiation",
    "untrusted": "Signer Under Untrusted Root",
}


def _write_pem(directory: Path, certificates) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for index, certificate in enumerate(certificates):
        (directory / f"{index}.pem").write_bytes(pem.armor("CERTIFICATE", certificate.dump()))
    return directory


@pytest.fixture
def live_app(make_app, live_pki, tmp_path):
    """An application whose validation policy is the live test PKI's, hard-fail with fetching on 127.0.0.1."""
    base = tmp_path / "live-policy"
    _write_pem(base / "anchors", [live_pki.root])
    _write_pem(base / "intermediates", live_pki.intermediates)
    policy_path = base / "policy.toml"
    policy_path.write_text(
        'name = "live-test-pki"\n'
        '[trust]\nanchors_dir = "anchors"\nintermediates_dir = "intermediates"\n'
        '[revocation]\nmode = "hard-fail"\n'
        f'[fetching]\nenabled = true\nallowed_hosts = ["{live_pki.host}"]\n'
    )
    app = make_app(validation_policy=str(policy_path))
    with app.app_context():
        yield app


def _pkcs12(live_pki, label: str, directory: Path) -> tuple[Path, Path]:
    signer = live_pki.signer(label)
    key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    certificate = x509.load_der_x509_certificate(signer.signing_cert.dump())
    chain = [x509.load_der_x509_certificate(cert.dump()) for cert in signer.cert_registry]
    p12_path = directory / f"{label}.p12"
    passphrase_path = directory / f"{label}.pass"
    p12_path.write_bytes(pkcs12.serialize_key_and_certificates(
        label.encode(), key, certificate, chain, serialization.BestAvailableEncryption(PASSPHRASE)))
    passphrase_path.write_bytes(PASSPHRASE)
    return p12_path, passphrase_path


def _user(username: str, display_name: str) -> User:
    user = User(username=username, role="officer", display_name=display_name)
    db.session.add(user)
    db.session.commit()
    return user


def _add(app, username: str, p12_path: Path, passphrase_path: Path, *extra: str):
    return app.test_cli_runner().invoke(args=["credentials", "add", username, "--pkcs12", str(p12_path),
                                              "--passphrase-file", str(passphrase_path), *extra])


# --- registration ------------------------------------------------------------------


def test_matching_name_registers(live_app, live_pki, tmp_path):
    _user("valid", "Valid  SIGNER")
    p12_path, passphrase_path = _pkcs12(live_pki, "valid", tmp_path)

    result = _add(live_app, "valid", p12_path, passphrase_path)

    assert result.exit_code == 0, result.output
    credential = db.session.execute(db.select(SigningCredential)).scalar_one()
    assert credential.binding == "name"
    assert credential.certificate_sha256 is not None


def test_other_persons_certificate_refused(live_app, live_pki, tmp_path):
    _user("karim", "করিম হোসেন")
    p12_path, passphrase_path = _pkcs12(live_pki, "valid", tmp_path)

    result = _add(live_app, "karim", p12_path, passphrase_path)
    wrong_confirmation = _add(live_app, "karim", p12_path, passphrase_path, "--confirm-holder", "Karim Hossain")

    assert result.exit_code != 0
    assert "certificate rejected (not_owned)" in result.output
    assert "--confirm-holder 'Valid Signer'" in result.output
    assert wrong_confirmation.exit_code != 0
    assert "not_owned" in wrong_confirmation.output
    assert db.session.execute(db.select(SigningCredential)).first() is None


def test_confirmed_holder_registers(live_app, live_pki, tmp_path):
    _user("karim", "করিম হোসেন")
    p12_path, passphrase_path = _pkcs12(live_pki, "valid", tmp_path)

    result = _add(live_app, "karim", p12_path, passphrase_path, "--confirm-holder", "Valid Signer")

    assert result.exit_code == 0, result.output
    assert db.session.execute(db.select(SigningCredential)).scalar_one().binding == "confirmed"


def test_certificate_of_other_user_refused(live_app, live_pki, tmp_path):
    _user("valid", "Valid Signer")
    _user("karim", "করিম হোসেন")
    p12_path, passphrase_path = _pkcs12(live_pki, "valid", tmp_path)
    assert _add(live_app, "valid", p12_path, passphrase_path).exit_code == 0

    result = _add(live_app, "karim", p12_path, passphrase_path, "--confirm-holder", "Valid Signer")

    assert result.exit_code != 0
    assert "certificate rejected (registered_to_other_user)" in result.output
    assert "'valid'" in result.output
    assert db.session.execute(db.select(SigningCredential)).scalar_one().user.username == "valid"


@pytest.mark.parametrize("label, reason", [
    ("expired", "expired"),
    ("not-yet-valid", "not_yet_valid"),
    ("revoked-before", "revoked"),
    ("revoked-after", "revoked"),
    ("wrong-key-usage", "key_usage"),
    ("untrusted", "untrusted"),
])
def test_unusable_certificate_refused(live_app, live_pki, tmp_path, label, reason):
    _user(label, COMMON_NAMES[label])
    p12_path, passphrase_path = _pkcs12(live_pki, label, tmp_path)

    result = _add(live_app, label, p12_path, passphrase_path)

    assert result.exit_code != 0
    assert f"certificate rejected ({reason})" in result.output
    assert db.session.execute(db.select(SigningCredential)).first() is None


@pytest.mark.parametrize("label, reason", [("expired", "expired"), ("revoked-before", "revoked"),
                                           ("valid", "not_owned")])
def test_external_certificate_refused(live_app, live_pki, tmp_path, label, reason):
    _user("holder", COMMON_NAMES[label] if reason != "not_owned" else "অন্য কেউ")
    certificate_path = tmp_path / "holder.pem"
    certificate_path.write_bytes(pem.armor("CERTIFICATE", live_pki.signer(label).signing_cert.dump()))

    result = live_app.test_cli_runner().invoke(args=["credentials", "add-external", "holder",
                                                     "--certificate", str(certificate_path)])

    assert result.exit_code != 0
    assert f"certificate rejected ({reason})" in result.output
    assert db.session.execute(db.select(SigningCredential)).first() is None


def test_pkcs11_other_persons_certificate_refused(app, softhsm_token):
    import urllib.parse

    uri = (f"pkcs11:token={urllib.parse.quote(softhsm_token.token_label)};"
           f"object={urllib.parse.quote(softhsm_token.key_label)}?module-path={softhsm_token.library_path}")
    _user("seal", "দপ্তরের সিল")

    result = app.test_cli_runner().invoke(args=["credentials", "add-pkcs11", "seal", "--uri", uri])

    assert result.exit_code != 0
    assert "certificate rejected (not_owned)" in result.output
    assert db.session.execute(db.select(SigningCredential)).first() is None


# --- use ---------------------------------------------------------------------------


def _registered_officer(live_pki, tmp_path, label: str, *, at=None, policy=None) -> str:
    """An officer whose credential for ``label`` was registered at ``at`` under ``policy``; returns a token."""
    from service.components import components

    user = _user(f"officer-{label}", COMMON_NAMES[label])
    p12_path, passphrase_path = _pkcs12(live_pki, label, tmp_path)
    signer = live_pki.signer(label)
    moment = at or live_pki.base_time
    with live_pki.services_at(moment):
        binding = bind_certificate(user, signer.signing_cert, list(signer.cert_registry),
                                   policy or components().policy, at=moment)
    db.session.add(new_credential(user, "pkcs12", str(p12_path), binding, secret_file=str(passphrase_path)))
    token = issue_token(user)
    db.session.commit()
    return token


def _sign(client, token, document_id):
    return client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token, "bn"), json={})


def _refused(client, token, document_id, reason: str) -> None:
    response = _sign(client, token, document_id)

    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "signer_certificate_rejected"
    assert body["reason"] == reason
    assert body["title"] == "স্বাক্ষরকারীর সার্টিফিকেট গ্রহণযোগ্য নয়"
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_valid_credential_signs(live_app, live_pki, tmp_path):
    client = live_app.test_client()
    token = _registered_officer(live_pki, tmp_path, "valid")
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    response = _sign(client, token, document_id)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["validation"]["indication"] == "TOTAL_PASSED"


def test_revoked_since_registration_refused(live_app, live_pki, tmp_path):
    client = live_app.test_client()
    token = _registered_officer(live_pki, tmp_path, "revoked-after", at=live_pki.base_time - timedelta(days=2))
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    _refused(client, token, document_id, "revoked")


def test_expired_since_registration_refused(live_app, live_pki, tmp_path):
    client = live_app.test_client()
    token = _registered_officer(live_pki, tmp_path, "expired", at=live_pki.base_time - timedelta(days=12))
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    _refused(client, token, document_id, "expired")


def test_not_yet_valid_at_use_refused(live_app, live_pki, tmp_path):
    client = live_app.test_client()
    token = _registered_officer(live_pki, tmp_path, "not-yet-valid", at=live_pki.base_time + timedelta(days=15))
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    _refused(client, token, document_id, "not_yet_valid")


def test_trust_anchor_removed_since_registration_refused(live_app, live_pki, tmp_path):
    client = live_app.test_client()
    policy = live_pki.policy(trust_roots=(live_pki.root, live_pki.untrusted_root))
    token = _registered_officer(live_pki, tmp_path, "untrusted", policy=policy)
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    _refused(client, token, document_id, "untrusted")


def test_key_usage_checked_at_use(live_app, live_pki, tmp_path):
    """A credential stored without the registration checks still cannot sign without nonRepudiation."""
    from service.credentials import CertificateBinding, certificate_sha256

    client = live_app.test_client()
    user = _user("officer-key-usage", COMMON_NAMES["wrong-key-usage"])
    p12_path, passphrase_path = _pkcs12(live_pki, "wrong-key-usage", tmp_path)
    certificate = live_pki.signer("wrong-key-usage").signing_cert
    binding = CertificateBinding(certificate_sha256(certificate), certificate.subject.human_friendly, "name")
    db.session.add(new_credential(user, "pkcs12", str(p12_path), binding, secret_file=str(passphrase_path)))
    token = issue_token(user)
    db.session.commit()
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    _refused(client, token, document_id, "key_usage")


def test_replaced_certificate_refused(live_app, live_pki, tmp_path):
    client = live_app.test_client()
    token = _registered_officer(live_pki, tmp_path, "valid")
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]
    # Another person's PKCS#12 file now sits at the registered path.
    other_directory = tmp_path / "other"
    other_directory.mkdir()
    other_p12, _ = _pkcs12(live_pki, "untrusted", other_directory)
    (tmp_path / "valid.p12").write_bytes(other_p12.read_bytes())

    _refused(client, token, document_id, "not_bound")


def test_unbound_credential_refused(live_app, live_pki, tmp_path):
    client = live_app.test_client()
    user = _user("officer-unbound", COMMON_NAMES["valid"])
    p12_path, passphrase_path = _pkcs12(live_pki, "valid", tmp_path)
    db.session.add(SigningCredential(user=user, kind="pkcs12", location=str(p12_path),
                                     secret_file=str(passphrase_path)))
    token = issue_token(user)
    db.session.commit()
    document_id = upload(client, token, MINUTES_PDF).get_json()["id"]

    _refused(client, token, document_id, "not_bound")
