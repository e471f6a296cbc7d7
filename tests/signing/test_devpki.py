from __future__ import annotations

import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtensionOID, NameOID

from signing.devpki import DevPki, ensure_dev_pki, issue_certificate
from signing.errors import DevPkiError


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _load_officer(dev_pki: DevPki) -> pkcs12.PKCS12KeyAndCertificates:
    return pkcs12.load_pkcs12(dev_pki.officer_p12_path.read_bytes(), dev_pki.read_officer_passphrase())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _name_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    attributes = name.get_attributes_for_oid(oid)
    assert len(attributes) == 1
    return str(attributes[0].value)


def _lifetime(certificate: x509.Certificate) -> timedelta:
    return certificate.not_valid_after_utc - certificate.not_valid_before_utc


def test_ensure_dev_pki_idempotent(dev_pki: DevPki) -> None:
    files = [path for path in dev_pki.directory.rglob("*") if path.is_file() and path.name != ".lock"]
    before = {path: path.read_bytes() for path in files}

    again = ensure_dev_pki(dev_pki.directory, officer_name="Someone Else")

    assert again == dev_pki
    assert len(before) == 6
    for path, content in before.items():
        assert path.read_bytes() == content, path


def test_dev_pki_passphrase_random(dev_pki: DevPki, tmp_path: Path) -> None:
    other = ensure_dev_pki(tmp_path / "other")

    assert len(dev_pki.read_officer_passphrase()) >= 32
    assert other.read_officer_passphrase() != dev_pki.read_officer_passphrase()


def test_root_certificate_properties(dev_pki: DevPki) -> None:
    root = _load(dev_pki.root_cert_path)

    assert root.subject == root.issuer
    root.verify_directly_issued_by(root)
    assert isinstance(root.public_key(), rsa.RSAPublicKey)
    assert root.public_key().key_size == 3072
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    key_usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert key_usage.key_cert_sign is True
    assert key_usage.crl_sign is True
    assert timedelta(days=3650) <= _lifetime(root) <= timedelta(days=3660)
    assert _name_value(root.subject, NameOID.COUNTRY_NAME) == "BD"


def test_intermediate_certificate_properties(dev_pki: DevPki) -> None:
    root = _load(dev_pki.root_cert_path)
    intermediate = _load(dev_pki.intermediate_cert_path)

    intermediate.verify_directly_issued_by(root)
    assert intermediate.public_key().key_size == 3072
    basic_constraints = intermediate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic_constraints.critical is True
    assert basic_constraints.value.ca is True
    assert basic_constraints.value.path_length == 0
    assert timedelta(days=1824) <= _lifetime(intermediate) <= timedelta(days=1830)
    assert intermediate.not_valid_after_utc <= root.not_valid_after_utc


def test_officer_certificate_properties(dev_pki: DevPki) -> None:
    officer = _load_officer(dev_pki)
    certificate = officer.cert.certificate
    intermediate = _load(dev_pki.intermediate_cert_path)

    certificate.verify_directly_issued_by(intermediate)
    assert certificate.public_key().key_size == 2048
    assert _name_value(certificate.subject, NameOID.COMMON_NAME) == "Dolil Development Officer"
    assert _name_value(certificate.subject, NameOID.ORGANIZATION_NAME) == "Dolil Development"
    assert _name_value(certificate.subject, NameOID.COUNTRY_NAME) == "BD"
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False

    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical is True
    assert key_usage.value.digital_signature is True
    assert key_usage.value.content_commitment is True
    assert key_usage.value.key_encipherment is False
    assert key_usage.value.key_cert_sign is False

    assert timedelta(days=729) <= _lifetime(certificate) <= timedelta(days=731)
    assert certificate.not_valid_before_utc <= datetime.now(timezone.utc)


def test_no_revocation_urls_in_certificates(dev_pki: DevPki) -> None:
    certificates = [
        _load(dev_pki.root_cert_path),
        _load(dev_pki.intermediate_cert_path),
        _load_officer(dev_pki).cert.certificate,
    ]
    for certificate in certificates:
        present = {extension.oid for extension in certificate.extensions}
        assert ExtensionOID.CRL_DISTRIBUTION_POINTS not in present
        assert ExtensionOID.AUTHORITY_INFORMATION_ACCESS not in present


def test_officer_pkcs12_contains_key_and_chain(dev_pki: DevPki) -> None:
    officer = _load_officer(dev_pki)
    root = _load(dev_pki.root_cert_path)
    intermediate = _load(dev_pki.intermediate_cert_path)

    assert officer.key is not None
    assert officer.key.public_key().public_numbers() == officer.cert.certificate.public_key().public_numbers()
    chain = {item.certificate for item in officer.additional_certs}
    assert chain == {intermediate, root}


def test_officer_pkcs12_wrong_passphrase_fails(dev_pki: DevPki) -> None:
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(dev_pki.officer_p12_path.read_bytes(), b"not-the-passphrase")


def test_dev_pki_file_modes(dev_pki: DevPki) -> None:
    private_dir = dev_pki.officer_p12_path.parent
    secret_files = [
        dev_pki.officer_p12_path,
        dev_pki.officer_passphrase_path,
        private_dir / "root-ca.key.pem",
        private_dir / "intermediate-ca.key.pem",
    ]

    assert _mode(private_dir) == 0o700
    for path in secret_files:
        assert _mode(path) == 0o600, path
    assert _mode(dev_pki.root_cert_path) == 0o644


def test_trust_and_intermediate_directories(dev_pki: DevPki) -> None:
    assert sorted(path.name for path in dev_pki.trust_dir.iterdir()) == [dev_pki.root_cert_path.name]
    assert sorted(path.name for path in dev_pki.intermediates_dir.iterdir()) == [
        dev_pki.intermediate_cert_path.name
    ]
    assert dev_pki.root_cert_path.parent == dev_pki.trust_dir
    assert dev_pki.intermediate_cert_path.parent == dev_pki.intermediates_dir


def test_incomplete_dev_pki_rejected(tmp_path: Path) -> None:
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "root-ca.pem").write_bytes(b"left over")

    with pytest.raises(DevPkiError) as caught:
        ensure_dev_pki(tmp_path)

    assert tmp_path / "private" / "officer.p12" in caught.value.missing
    assert (tmp_path / "trust" / "root-ca.pem").read_bytes() == b"left over"


def test_issue_certificate_without_non_repudiation(dev_pki: DevPki) -> None:
    issued = issue_certificate(dev_pki, "Clerk Without Non-Repudiation", key_usage=("digital_signature",))

    issued.certificate.verify_directly_issued_by(_load(dev_pki.intermediate_cert_path))
    key_usage = issued.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert key_usage.digital_signature is True
    assert key_usage.content_commitment is False
    assert issued.asn1_certificate.key_usage_value.native == {"digital_signature"}
    assert _name_value(issued.certificate.subject, NameOID.ORGANIZATION_NAME) == "Dolil Development"


def test_issue_certificate_expired(dev_pki: DevPki) -> None:
    now = datetime.now(timezone.utc)

    issued = issue_certificate(
        dev_pki, "Expired Officer", not_before=now - timedelta(days=400), not_after=now - timedelta(days=35)
    )

    assert issued.certificate.not_valid_after_utc < now
    assert issued.chain == (_load(dev_pki.intermediate_cert_path), _load(dev_pki.root_cert_path))


def test_issued_certificate_pkcs12_round_trip(dev_pki: DevPki) -> None:
    issued = issue_certificate(dev_pki, "Second Officer")

    loaded = pkcs12.load_pkcs12(issued.to_pkcs12(b"round-trip"), b"round-trip")

    assert loaded.cert.certificate == issued.certificate
    assert len(loaded.additional_certs) == 2


def test_issue_certificate_unknown_key_usage(dev_pki: DevPki) -> None:
    with pytest.raises(ValueError, match="non_repudiation"):
        issue_certificate(dev_pki, "Typo", key_usage=("non_repudiation",))
