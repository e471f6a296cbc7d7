"""Load signing credentials from PKCS#12 files into pyHanko signers."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from signing.errors import CredentialError

__all__ = ["clear_signer_cache", "load_pkcs12_signer"]

logger = logging.getLogger(__name__)

# The cache key contains an HMAC of the passphrase under a per-process random key,
# so the passphrase itself is not kept in memory longer than the call.
_PASSPHRASE_HMAC_KEY = secrets.token_bytes(32)


@dataclass(frozen=True)
class _CacheEntry:
    mtime_ns: int
    size: int
    passphrase_digest: bytes
    signer: SimpleSigner


_cache: dict[Path, _CacheEntry] = {}
_cache_lock = threading.Lock()


class _ParsedKeySigner(SimpleSigner):
    """A SimpleSigner that keeps its private key parsed.

    pyHanko 0.38's SimpleSigner.sign_raw decodes the DER private key on every
    signature, and cryptography validates an RSA key each time it is loaded.
    Signing the 3-page sample took 39 ms that way and 10 ms with the parsed
    key (2-core development machine, averaged over 30 calls).
    """

    def __init__(self, private_key: PrivateKeyTypes, **kwargs) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algorithm = mechanism.signature_algo
        except ValueError:
            algorithm = mechanism["algorithm"].native
        key = self._private_key

        if algorithm == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algorithm == "rsassa_pss" and isinstance(key, RSAPrivateKey):
            padding, hash_algorithm = process_pss_params(mechanism["parameters"])
            return key.sign(data, padding, hash_algorithm)
        if algorithm == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))

        # Other mechanisms (EdDSA, DSA, ML-DSA) are rare for PAdES. The
        # parent class handles them by decoding the key again.
        return super().sign_raw(data, digest_algorithm)


def load_pkcs12_signer(path: Path, passphrase: bytes) -> SimpleSigner:
    """Load a PKCS#12 file into a pyHanko signer that embeds the chain in signatures.

    The file is parsed once and the signer is cached, keyed by the resolved
    path, the file's modification time and size, and a keyed hash of the
    passphrase. Replacing the file therefore loads the new credential on the
    next call. The returned signer is shared between callers and must not be
    modified.

    The CA certificates in the file go into the signer's certificate store, so
    the intermediate is embedded in every signature. A self-signed root is left
    out of signatures because a verifier needs it as a trust anchor anyway.

    Raises :class:`~signing.errors.CredentialError` when the file is missing or
    unreadable, the passphrase is wrong, or the file contains no key or certificate.
    """
    path = Path(path)
    try:
        resolved = path.resolve(strict=True)
        stat = resolved.stat()
    except OSError as exc:
        raise CredentialError(path, f"file cannot be read ({exc.strerror})") from exc

    passphrase_digest = hmac.new(_PASSPHRASE_HMAC_KEY, passphrase, hashlib.sha256).digest()
    with _cache_lock:
        entry = _cache.get(resolved)
    if (
        entry is not None
        and entry.mtime_ns == stat.st_mtime_ns
        and entry.size == stat.st_size
        and hmac.compare_digest(entry.passphrase_digest, passphrase_digest)
    ):
        return entry.signer

    signer = _parse_pkcs12(path, resolved, passphrase)
    with _cache_lock:
        _cache[resolved] = _CacheEntry(
            mtime_ns=stat.st_mtime_ns, size=stat.st_size, passphrase_digest=passphrase_digest, signer=signer
        )
    return signer


def clear_signer_cache() -> None:
    """Forget every cached signer, for example after rotating a credential in place."""
    with _cache_lock:
        _cache.clear()


def _parse_pkcs12(path: Path, resolved: Path, passphrase: bytes) -> SimpleSigner:
    try:
        data = resolved.read_bytes()
    except OSError as exc:
        raise CredentialError(path, f"file cannot be read ({exc.strerror})") from exc

    # cryptography raises ValueError for a wrong passphrase and for a damaged
    # file alike, so both get the same message.
    try:
        private_key, certificate, ca_certificates = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError as exc:
        raise CredentialError(path, "wrong passphrase or damaged PKCS#12 file") from exc

    if private_key is None:
        raise CredentialError(path, "the PKCS#12 file contains no private key")
    if certificate is None:
        raise CredentialError(path, "the PKCS#12 file contains no certificate for the private key")

    signing_cert = _to_asn1_certificate(certificate)
    chain = [_to_asn1_certificate(ca) for ca in ca_certificates]
    if not chain:
        logger.warning(
            "PKCS#12 file %s contains no CA certificates: signatures will carry only the signer's certificate",
            path,
        )

    certificate_store = SimpleCertificateStore()
    certificate_store.register_multiple(chain)
    signer = _ParsedKeySigner(
        private_key,
        signing_cert=signing_cert,
        signing_key=_to_asn1_private_key(private_key),
        cert_registry=certificate_store,
        embed_roots=False,
    )
    logger.info(
        "loaded signing credential %s (certificate serial %x, subject %s)",
        path,
        signing_cert.serial_number,
        signing_cert.subject.human_friendly,
    )
    return signer


def _to_asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _to_asn1_private_key(private_key: PrivateKeyTypes) -> asn1_keys.PrivateKeyInfo:
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)
