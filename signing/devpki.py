"""Development PKI: a root CA, an intermediate CA and an officer signing credential.

For development and tests only. The keys are generated locally with
``cryptography``, the private keys of the CAs are stored unencrypted (mode
0600), and the certificates carry no CRL distribution point or OCSP URL
because nothing publishes revocation information for them.

Layout of the directory passed to :func:`ensure_dev_pki`::

    trust/root-ca.pem                      root CA certificate (the trust anchor)
    intermediates/intermediate-ca.pem      intermediate CA certificate
    private/root-ca.key.pem                root CA key (0600)
    private/intermediate-ca.key.pem        intermediate CA key (0600)
    private/officer.p12                    officer key, certificate and chain (0600)
    private/officer-passphrase.txt         passphrase of officer.p12 (0600)
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from signing.errors import DevPkiError

__all__ = ["DevPki", "IssuedCertificate", "ensure_dev_pki", "issue_certificate"]

logger = logging.getLogger(__name__)

ROOT_VALIDITY = timedelta(days=3653)
INTERMEDIATE_VALIDITY = timedelta(days=1826)
END_ENTITY_VALIDITY = timedelta(days=730)
# Certificates start slightly in the past so that a verifier whose clock is a
# little behind does not see them as not yet valid.
BACKDATE = timedelta(minutes=5)

# Keyword arguments of cryptography.x509.KeyUsage. "content_commitment" is the
# nonRepudiation bit, renamed in recent X.509 editions (RFC 5280, 4.2.1.3).
KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)

_PKCS12_KDF_ROUNDS = 100_000


@dataclass(frozen=True)
class DevPki:
    """Paths of a development PKI created by :func:`ensure_dev_pki`."""

    directory: Path
    root_cert_path: Path
    intermediate_cert_path: Path
    officer_p12_path: Path
    officer_passphrase_path: Path
    trust_dir: Path
    """Directory holding only the root CA certificate (PEM)."""
    intermediates_dir: Path
    """Directory holding the intermediate CA certificate (PEM)."""

    def read_officer_passphrase(self) -> bytes:
        """Read the passphrase of the officer PKCS#12 file."""
        return self.officer_passphrase_path.read_bytes().strip()


@dataclass(frozen=True)
class IssuedCertificate:
    """An end-entity certificate issued by the development intermediate CA, with its key."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...]
    """Issuing CA certificates, intermediate first, then root."""

    @property
    def asn1_certificate(self) -> asn1_x509.Certificate:
        """The certificate as an asn1crypto object, the form pyHanko uses."""
        return asn1_x509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))

    def to_pkcs12(self, passphrase: bytes, friendly_name: bytes = b"signer") -> bytes:
        """Serialise key, certificate and chain as a PKCS#12 file encrypted with ``passphrase``."""
        return _serialise_pkcs12(friendly_name, self.private_key, self.certificate, self.chain, passphrase)


def _layout(directory: Path) -> DevPki:
    trust_dir = directory / "trust"
    intermediates_dir = directory / "intermediates"
    private_dir = directory / "private"
    return DevPki(
        directory=directory,
        root_cert_path=trust_dir / "root-ca.pem",
        intermediate_cert_path=intermediates_dir / "intermediate-ca.pem",
        officer_p12_path=private_dir / "officer.p12",
        officer_passphrase_path=private_dir / "officer-passphrase.txt",
        trust_dir=trust_dir,
        intermediates_dir=intermediates_dir,
    )


def _root_key_path(pki: DevPki) -> Path:
    return pki.directory / "private" / "root-ca.key.pem"


def _intermediate_key_path(pki: DevPki) -> Path:
    return pki.directory / "private" / "intermediate-ca.key.pem"


def _required_files(pki: DevPki) -> list[Path]:
    return [
        pki.root_cert_path,
        pki.intermediate_cert_path,
        _root_key_path(pki),
        _intermediate_key_path(pki),
        pki.officer_p12_path,
        pki.officer_passphrase_path,
    ]


def ensure_dev_pki(
    directory: Path,
    *,
    officer_name: str = "Dolil Development Officer",
    organisation: str = "Dolil Development",
) -> DevPki:
    """Create the development PKI in ``directory``, or return the one already there.

    The first call generates a root CA (RSA 3072, 10 years), an intermediate CA
    (RSA 3072, 5 years, path length 0) and an officer certificate (RSA 2048,
    2 years, key usage digitalSignature and nonRepudiation, subject CN, O and
    C=BD). The officer key, certificate and chain are stored in a PKCS#12 file
    encrypted with a random passphrase. Later calls return the existing files
    and ignore ``officer_name`` and ``organisation``.

    Concurrent calls, for example from several worker processes, are
    serialised with a lock file. Raises :class:`~signing.errors.DevPkiError`
    when only some of the files exist.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pki = _layout(directory)

    with open(directory / ".lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            missing = [path for path in _required_files(pki) if not path.exists()]
            if not missing:
                return pki

            present = [path for path in (pki.trust_dir, pki.intermediates_dir, directory / "private") if path.exists()]
            if present:
                raise DevPkiError(directory, missing)

            _generate(pki, officer_name=officer_name, organisation=organisation)
            return pki
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _generate(pki: DevPki, *, officer_name: str, organisation: str) -> None:
    """Write a new PKI into a staging directory, then move it into place."""
    staging_dir = pki.directory / f".staging-{secrets.token_hex(8)}"
    staging_dir.mkdir(mode=0o700)
    try:
        staged = _layout(staging_dir)
        for path in (staged.trust_dir, staged.intermediates_dir):
            path.mkdir()
        (staging_dir / "private").mkdir(mode=0o700)

        now = datetime.now(timezone.utc)
        not_before = now - BACKDATE

        root_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        root_name = _name(f"{organisation} Root CA", organisation)
        root_cert = _build_certificate(
            subject=root_name,
            public_key=root_key.public_key(),
            issuer=root_name,
            issuer_key=root_key,
            issuer_public_key=root_key.public_key(),
            not_before=not_before,
            not_after=now + ROOT_VALIDITY,
            ca_path_length=None,
            is_ca=True,
            key_usage=("key_cert_sign", "crl_sign"),
        )

        intermediate_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        intermediate_cert = _build_certificate(
            subject=_name(f"{organisation} Intermediate CA", organisation),
            public_key=intermediate_key.public_key(),
            issuer=root_cert.subject,
            issuer_key=root_key,
            issuer_public_key=root_key.public_key(),
            not_before=not_before,
            not_after=now + INTERMEDIATE_VALIDITY,
            ca_path_length=0,
            is_ca=True,
            key_usage=("key_cert_sign", "crl_sign"),
        )

        officer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        officer_cert = _build_certificate(
            subject=_name(officer_name, organisation),
            public_key=officer_key.public_key(),
            issuer=intermediate_cert.subject,
            issuer_key=intermediate_key,
            issuer_public_key=intermediate_key.public_key(),
            not_before=not_before,
            not_after=now + END_ENTITY_VALIDITY,
            ca_path_length=None,
            is_ca=False,
            key_usage=("digital_signature", "content_commitment"),
        )

        passphrase = secrets.token_urlsafe(32).encode("ascii")
        officer_p12 = _serialise_pkcs12(
            b"officer", officer_key, officer_cert, (intermediate_cert, root_cert), passphrase
        )

        _write_file(staged.root_cert_path, _pem(root_cert), 0o644)
        _write_file(staged.intermediate_cert_path, _pem(intermediate_cert), 0o644)
        _write_file(_root_key_path(staged), _key_pem(root_key), 0o600)
        _write_file(_intermediate_key_path(staged), _key_pem(intermediate_key), 0o600)
        _write_file(staged.officer_p12_path, officer_p12, 0o600)
        _write_file(staged.officer_passphrase_path, passphrase, 0o600)

        # The private directory moves last because the completeness check in
        # ensure_dev_pki looks for its files.
        os.rename(staged.trust_dir, pki.trust_dir)
        os.rename(staged.intermediates_dir, pki.intermediates_dir)
        os.rename(staging_dir / "private", pki.directory / "private")
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)

    logger.info(
        "generated development PKI in %s (officer certificate serial %x, valid until %s)",
        pki.directory,
        officer_cert.serial_number,
        officer_cert.not_valid_after_utc.isoformat(),
    )


def issue_certificate(
    pki: DevPki,
    common_name: str,
    *,
    key_usage: Iterable[str] = ("digital_signature", "content_commitment"),
    extended_key_usage: Iterable[x509.ObjectIdentifier] = (),
    extended_key_usage_critical: bool = False,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key_size: int = 2048,
) -> IssuedCertificate:
    """Issue an extra end-entity certificate from the development intermediate CA.

    Meant for tests that need certificates the officer's does not cover: one
    without nonRepudiation (``key_usage=("digital_signature",)``), an expired
    one (``not_after`` in the past), or a time-stamping authority
    (``extended_key_usage=[ExtendedKeyUsageOID.TIME_STAMPING]`` with
    ``extended_key_usage_critical=True``, as RFC 3161 requires).

    ``key_usage`` takes the keyword names of :class:`cryptography.x509.KeyUsage`
    (``"content_commitment"`` is nonRepudiation); an empty value leaves out the
    key usage extension. The validity defaults to two years from now and is
    not checked against the intermediate's own validity. The subject has the
    given CN and the intermediate's O, and C=BD.
    """
    key_usage = tuple(key_usage)
    unknown = sorted(set(key_usage) - set(KEY_USAGE_NAMES))
    if unknown:
        raise ValueError(f"unknown key usage names {unknown}; expected names from {KEY_USAGE_NAMES}")

    intermediate_cert = x509.load_pem_x509_certificate(pki.intermediate_cert_path.read_bytes())
    root_cert = x509.load_pem_x509_certificate(pki.root_cert_path.read_bytes())
    intermediate_key = serialization.load_pem_private_key(_intermediate_key_path(pki).read_bytes(), password=None)
    if not isinstance(intermediate_key, rsa.RSAPrivateKey):
        raise TypeError(f"intermediate CA key in {pki.directory} is not an RSA key")

    organisation_attributes = intermediate_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    organisation = str(organisation_attributes[0].value) if organisation_attributes else "Dolil Development"

    now = datetime.now(timezone.utc)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    certificate = _build_certificate(
        subject=_name(common_name, organisation),
        public_key=private_key.public_key(),
        issuer=intermediate_cert.subject,
        issuer_key=intermediate_key,
        issuer_public_key=intermediate_key.public_key(),
        not_before=not_before or now - BACKDATE,
        not_after=not_after or now + END_ENTITY_VALIDITY,
        ca_path_length=None,
        is_ca=False,
        key_usage=key_usage,
        extended_key_usage=tuple(extended_key_usage),
        extended_key_usage_critical=extended_key_usage_critical,
    )
    return IssuedCertificate(certificate=certificate, private_key=private_key, chain=(intermediate_cert, root_cert))


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BD"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _build_certificate(
    *,
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    issuer_public_key: rsa.RSAPublicKey,
    not_before: datetime,
    not_after: datetime,
    ca_path_length: int | None,
    is_ca: bool,
    key_usage: tuple[str, ...],
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] = (),
    extended_key_usage_critical: bool = False,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=ca_path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), critical=False)
    )
    if key_usage:
        flags = {name: name in key_usage for name in KEY_USAGE_NAMES}
        builder = builder.add_extension(
            x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=True
        )
    if extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(extended_key_usage)), critical=extended_key_usage_critical
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _serialise_pkcs12(
    friendly_name: bytes,
    key: rsa.RSAPrivateKey,
    certificate: x509.Certificate,
    chain: Iterable[x509.Certificate],
    passphrase: bytes,
) -> bytes:
    # PBES2 with AES-256-CBC and a SHA-256 MAC, instead of the RC2 and 3DES
    # encryption that OpenSSL 1.1 used by default.
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(_PKCS12_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(passphrase)
    )
    return pkcs12.serialize_key_and_certificates(friendly_name, key, certificate, list(chain), encryption)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_file(path: Path, content: bytes, mode: int) -> None:
    # The mode is set when the file is created, so a key is never readable by
    # others, not even briefly. fchmod then removes the effect of the umask.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), mode)
        file.write(content)
