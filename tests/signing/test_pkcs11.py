"""Signing with a key on a SoftHSM2 token through signing.pkcs11."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from signing.errors import CredentialError, SignatureCreationFailed
from signing.pkcs11 import Pkcs11CredentialError, Pkcs11Settings, open_pkcs11_signer
from signing.sign import SigningProfile, sign_pdf
from signing.validation import ValidationPolicy, load_certificates, validate_pdf

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"


@pytest.fixture(scope="module")
def sample() -> bytes:
    return SAMPLE_PDF.read_bytes()


@pytest.fixture(scope="module")
def soft_fail(dev_pki) -> ValidationPolicy:
    return ValidationPolicy(
        trust_roots=load_certificates(dev_pki.trust_dir),
        revocation_mode="soft-fail",
        name="test-soft-fail",
    )


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_token_signature_validates(softhsm_token, sample, soft_fail):
    with open_pkcs11_signer(softhsm_token.settings(), softhsm_token.user_pin) as signer:
        signed = sign_pdf(sample, signer, SigningProfile(level="B-B"))

    assert signed.startswith(sample)
    # The policy has no intermediates, so the path can only be built with the
    # intermediate CA pulled from the token and embedded in the signature.
    report = validate_pdf(signed, soft_fail)
    assert report.indication == "TOTAL_PASSED"
    (signature,) = report.signatures
    assert signature.indication == "TOTAL_PASSED"
    assert "Dolil Token Officer" in signature.signer_subject
    assert signature.signer_serial == f"{softhsm_token.officer.certificate.serial_number:x}"
    assert len(signature.chain) == 3


def test_ec_token_signature_validates(softhsm_keys, live_pki, sample):
    """An EC key signs through plain CKM_ECDSA, which SoftHSM2 supports, with the digest computed outside the token."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    signer = live_pki.signer("valid")
    key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    softhsm_keys.add("ec-signer", key, x509.load_der_x509_certificate(signer.signing_cert.dump()))
    settings = Pkcs11Settings(library_path=softhsm_keys.token.library_path,
                              token_label=softhsm_keys.token.token_label, key_label="ec-signer")

    with open_pkcs11_signer(settings, softhsm_keys.token.user_pin, ca_certificates=live_pki.intermediates) as token:
        signed = sign_pdf(sample, token, SigningProfile(level="B-B"), policy=live_pki.policy())

    report = validate_pdf(signed, live_pki.policy())
    assert report.indication == "TOTAL_PASSED"
    (signature,) = report.signatures
    assert "Valid Signer" in signature.signer_subject


def test_concurrent_token_signatures_validate(softhsm_token, sample, soft_fail):
    def sign_once(reason: str) -> bytes:
        with open_pkcs11_signer(softhsm_token.settings(), softhsm_token.user_pin) as signer:
            return sign_pdf(sample, signer, SigningProfile(level="B-B", reason=reason))

    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(sign_once, [f"thread {number}" for number in range(8)]))

    for signed in outputs:
        assert validate_pdf(signed, soft_fail).indication == "TOTAL_PASSED"


def test_pin_as_bytes_accepted(softhsm_token, sample):
    with open_pkcs11_signer(softhsm_token.settings(), softhsm_token.user_pin.encode("utf-8")) as signer:
        assert signer.signing_cert.serial_number == softhsm_token.officer.certificate.serial_number


def test_wrong_pin_raises_credential_error(softhsm_token):
    with pytest.raises(CredentialError) as caught:
        with open_pkcs11_signer(softhsm_token.settings(), "wrong-" + softhsm_token.user_pin):
            pass

    assert isinstance(caught.value, Pkcs11CredentialError)
    assert caught.value.reason == "pin_incorrect"
    assert caught.value.token_label == softhsm_token.token_label
    assert "rejected the PIN" in caught.value.detail


def test_unknown_key_label_raises(softhsm_token):
    settings = softhsm_token.settings(key_label="no-such-key", cert_label=softhsm_token.key_label)

    with pytest.raises(Pkcs11CredentialError) as caught:
        with open_pkcs11_signer(settings, softhsm_token.user_pin):
            pass

    assert caught.value.reason == "key_not_found"
    assert "'no-such-key'" in caught.value.detail


def test_unknown_certificate_label_raises(softhsm_token):
    settings = softhsm_token.settings(cert_label="no-such-certificate")

    with pytest.raises(Pkcs11CredentialError) as caught:
        with open_pkcs11_signer(settings, softhsm_token.user_pin):
            pass

    assert caught.value.reason == "certificate_not_found"


def test_unknown_chain_label_raises(softhsm_token):
    settings = softhsm_token.settings(chain_cert_labels=("no-such-ca",))

    with pytest.raises(Pkcs11CredentialError) as caught:
        with open_pkcs11_signer(settings, softhsm_token.user_pin):
            pass

    assert caught.value.reason == "certificate_not_found"
    assert "'no-such-ca'" in caught.value.detail


def test_unknown_token_label_lists_tokens(softhsm_token):
    settings = softhsm_token.settings(token_label="no-such-token")

    with pytest.raises(Pkcs11CredentialError) as caught:
        with open_pkcs11_signer(settings, softhsm_token.user_pin):
            pass

    assert caught.value.reason == "token_not_found"
    assert repr(softhsm_token.token_label) in caught.value.detail


def test_key_of_other_certificate_rejected(softhsm_token):
    # The intermediate CA certificate is on the token too, but its public key
    # is not the officer's.
    settings = softhsm_token.settings(cert_label=softhsm_token.intermediate_label)

    with pytest.raises(Pkcs11CredentialError) as caught:
        with open_pkcs11_signer(settings, softhsm_token.user_pin):
            pass

    assert caught.value.reason == "key_mismatch"


def test_missing_library_raises(softhsm_token, tmp_path):
    settings = softhsm_token.settings(library_path=tmp_path / "libmissing.so")

    with pytest.raises(Pkcs11CredentialError) as caught:
        with open_pkcs11_signer(settings, softhsm_token.user_pin):
            pass

    assert caught.value.reason == "library_missing"
    assert caught.value.path == tmp_path / "libmissing.so"


def test_non_module_library_raises(tmp_path):
    not_a_module = tmp_path / "libnot-pkcs11.so"
    not_a_module.write_bytes(b"not an ELF file")
    settings = Pkcs11Settings(library_path=not_a_module, token_label="any", key_label="any")

    with pytest.raises(Pkcs11CredentialError) as caught:
        with open_pkcs11_signer(settings, "1234"):
            pass

    assert caught.value.reason == "library_invalid"


def test_signer_unusable_after_block(softhsm_token, sample):
    with open_pkcs11_signer(softhsm_token.settings(), softhsm_token.user_pin) as signer:
        pass

    with pytest.raises(SignatureCreationFailed) as caught:
        sign_pdf(sample, signer, SigningProfile(level="B-B"))
    assert "PKCS#11 signing failed" in caught.value.detail


def test_pin_never_logged(softhsm_token, sample, caplog):
    caplog.set_level(logging.DEBUG)
    wrong_pin = "wrong-" + softhsm_token.user_pin

    with open_pkcs11_signer(softhsm_token.settings(), softhsm_token.user_pin) as signer:
        sign_pdf(sample, signer, SigningProfile(level="B-B"))
    errors = []
    for settings, pin in (
        (softhsm_token.settings(), wrong_pin),
        (softhsm_token.settings(key_label="no-such-key"), softhsm_token.user_pin),
    ):
        with pytest.raises(Pkcs11CredentialError) as caught:
            with open_pkcs11_signer(settings, pin):
                pass
        errors.append(caught.value)

    messages = _messages(caplog)
    assert any("opened PKCS#11 token" in message for message in messages)
    for message in messages:
        assert softhsm_token.user_pin not in message
    for error in errors:
        assert softhsm_token.user_pin not in str(error)
        assert softhsm_token.user_pin not in repr(error.__cause__)


def test_settings_reject_empty_labels(tmp_path):
    with pytest.raises(ValueError):
        Pkcs11Settings(library_path=tmp_path / "lib.so", token_label="", key_label="officer")
    with pytest.raises(ValueError):
        Pkcs11Settings(library_path=tmp_path / "lib.so", token_label="token", key_label="officer", cert_label="")
