"""Open pyHanko signers on PKCS#11 tokens (smart cards, USB tokens, HSMs, SoftHSM2).

A signer is open only inside a ``with`` block: :func:`open_pkcs11_signer` logs in,
finds the key and the certificate, yields a :class:`PKCS11Signer` and logs out
and closes the session when the block ends::

    with open_pkcs11_signer(settings, pin) as signer:
        signed = sign_pdf(data, signer, profile)

The PIN is passed by the caller for each block. It is handed to the PKCS#11
module once, at login, and is neither stored, logged nor put into exception
messages.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pkcs11
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11 import exceptions as p11_errors
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.pkcs11 import PKCS11Signer

from signing.errors import CredentialError

__all__ = ["Pkcs11CredentialError", "Pkcs11Settings", "TokenSigner", "open_pkcs11_signer", "read_token_certificate"]

logger = logging.getLogger(__name__)

# python-pkcs11 keeps one initialised library object per path string and calls
# C_Initialize when it creates one. Two threads creating it at the same time
# would both call C_Initialize, and the second call fails. The lock also guards
# _module_locks.
_library_lock = threading.Lock()

# python-pkcs11 0.9.5 calls C_Initialize with no arguments, which under PKCS#11
# declares that the application does not call the module from several threads
# at once. So each module gets a lock, held from login to the end of the block.
_module_locks: dict[str, threading.RLock] = {}


@dataclass(frozen=True)
class Pkcs11Settings:
    """Location of the signing key on a PKCS#11 token. The PIN is not part of the settings."""

    library_path: Path
    """PKCS#11 module (shared library), e.g. ``/usr/lib/softhsm/libsofthsm2.so``."""
    token_label: str
    """Label of the token (CKA_LABEL of the token info), exactly as the token reports it."""
    key_label: str
    """CKA_LABEL of the private key object."""
    cert_label: str | None = None
    """CKA_LABEL of the signer's certificate object. None means the same label as ``key_label``."""
    chain_cert_labels: tuple[str, ...] = ()
    """Labels of CA certificates on the token to embed in signatures (intermediates, not the root)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "library_path", Path(self.library_path))
        object.__setattr__(self, "chain_cert_labels", tuple(self.chain_cert_labels))
        for name in ("token_label", "key_label"):
            if not getattr(self, name):
                raise ValueError(f"Pkcs11Settings.{name} must not be empty")
        if self.cert_label == "":
            raise ValueError("Pkcs11Settings.cert_label must not be empty. Use None to mean the key label")

    @property
    def effective_cert_label(self) -> str:
        return self.cert_label if self.cert_label is not None else self.key_label


def parse_pkcs11_uri(uri: str) -> Pkcs11Settings:
    """Parse an RFC 7512 PKCS#11 URI naming a signing key.

    Example: ``pkcs11:token=Dolil%20Seal;object=seal?module-path=/usr/lib/softhsm/libsofthsm2.so``.
    ``token``, ``object`` (the key's label, also used for the certificate) and
    the ``module-path`` query attribute are required; other attributes are
    ignored. A PIN in the URI (``pin-value``) is rejected, because URIs are
    stored and logged; the PIN comes from a secret file or the request.
    Raises ValueError naming what is missing.
    """
    if not uri.startswith("pkcs11:"):
        raise ValueError("a PKCS#11 URI starts with 'pkcs11:'")
    path, _, query = uri[len("pkcs11:"):].partition("?")
    attributes: dict[str, str] = {}
    for part, separator in ((path, ";"), (query, "&")):
        for item in filter(None, part.split(separator)):
            name, equals, value = item.partition("=")
            if not equals:
                raise ValueError(f"attribute {name!r} of the PKCS#11 URI has no value")
            attributes[name.strip()] = urllib.parse.unquote(value)
    if "pin-value" in attributes:
        raise ValueError("the PKCS#11 URI must not contain pin-value: give the PIN in a secret file")
    for name in ("token", "object", "module-path"):
        if not attributes.get(name):
            raise ValueError(f"the PKCS#11 URI needs a {name!r} attribute")
    return Pkcs11Settings(library_path=Path(attributes["module-path"]), token_label=attributes["token"],
                          key_label=attributes["object"])


class Pkcs11CredentialError(CredentialError):
    """A PKCS#11 token, key or certificate cannot be used to sign.

    ``path`` is the PKCS#11 module and ``reason`` one of :attr:`REASONS`.
    """

    REASONS = frozenset(
        {
            "library_missing",
            "library_invalid",
            "token_not_found",
            "token_ambiguous",
            "pin_incorrect",
            "pin_locked",
            "key_not_found",
            "key_ambiguous",
            "certificate_not_found",
            "certificate_ambiguous",
            "key_mismatch",
            "token_error",
        }
    )

    def __init__(self, path: Path, reason: str, detail: str, token_label: str | None = None) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown Pkcs11CredentialError reason {reason!r}")
        super().__init__(path, detail)
        self.reason = reason
        self.token_label = token_label


class TokenSigner(PKCS11Signer):
    """A PKCS11Signer whose signing errors are pyHanko SigningErrors.

    python-pkcs11 raises its own exceptions (RuntimeError subclasses) when the
    token fails during signing, for example when the session was closed or the
    token was removed. :func:`signing.sign.sign_pdf` translates pyHanko's
    SigningError into :class:`~signing.errors.SignatureCreationFailed`, so this
    class converts to it.
    """

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        try:
            return await super().async_sign_raw(data, digest_algorithm, dry_run=dry_run)
        except p11_errors.PKCS11Error as exc:
            raise PyHankoSigningError(f"PKCS#11 signing failed: {_describe(exc)}") from exc


@contextmanager
def open_pkcs11_signer(
    settings: Pkcs11Settings,
    pin: str | bytes,
    *,
    ca_certificates: Sequence[asn1_x509.Certificate] = (),
) -> Iterator[TokenSigner]:
    """Log in to the token, yield a signer for the configured key and close the session afterwards.

    The key, the certificate and the chain certificates are looked up before the
    signer is yielded, so a wrong label fails here and not during signing. For
    RSA keys the key's modulus and exponent must match the certificate's public key.
    ``ca_certificates`` are embedded in signatures in addition to
    ``settings.chain_cert_labels``, except a self-signed root.

    The signer is valid only inside the block: afterwards its session is
    closed, and signing fails with :class:`~signing.errors.SignatureCreationFailed`.
    Blocks on the same PKCS#11 module are serialised, so another thread waits
    until the block ends: keep it to the signing itself.

    Raises :class:`Pkcs11CredentialError`, a :class:`~signing.errors.CredentialError`,
    with ``reason`` naming the condition: library missing or not loadable, token
    not found, wrong or locked PIN, key or certificate not found, key and
    certificate not matching.
    """
    if isinstance(pin, bytes):
        try:
            pin = pin.decode("utf-8")
        except UnicodeDecodeError:
            raise Pkcs11CredentialError(
                settings.library_path, "pin_incorrect", "the PIN is not valid UTF-8", settings.token_label
            ) from None

    library, module_lock = _load_library(settings.library_path)
    with module_lock:
        token = _find_token(library, settings)
        session = _log_in(token, pin, settings)
        try:
            signer = _build_signer(session, settings, ca_certificates)
            signing_cert = signer.signing_cert
            logger.info(
                "opened PKCS#11 token %r (module %s): key %r, certificate serial %x, subject %s",
                settings.token_label,
                settings.library_path,
                settings.key_label,
                signing_cert.serial_number,
                signing_cert.subject.human_friendly,
            )
            yield signer
        finally:
            try:
                session.close()
            except p11_errors.PKCS11Error as exc:
                logger.warning(
                    "closing the PKCS#11 session on token %r failed: %s", settings.token_label, _describe(exc)
                )


def read_token_certificate(settings: Pkcs11Settings) -> asn1_x509.Certificate:
    """Read the key's certificate from the token in a public session, without a PIN.

    Certificate objects are public on tokens that follow PKCS#11's defaults.
    Raises :class:`Pkcs11CredentialError` as :func:`open_pkcs11_signer` does,
    for example ``certificate_not_found`` on a token that hides certificates
    until login.
    """
    library, module_lock = _load_library(settings.library_path)
    with module_lock:
        token = _find_token(library, settings)
        try:
            session = token.open()
        except p11_errors.PKCS11Error as exc:
            raise Pkcs11CredentialError(
                settings.library_path,
                "token_error",
                f"opening a public session on token {settings.token_label!r} failed: {_describe(exc)}",
                settings.token_label,
            ) from exc
        try:
            cert_object = _find_single_object(session, settings, ObjectClass.CERTIFICATE, settings.effective_cert_label)
            return asn1_x509.Certificate.load(cert_object[Attribute.VALUE])
        finally:
            session.close()


def _load_library(library_path: Path) -> tuple[object, threading.RLock]:
    """Return the initialised python-pkcs11 library object for the module and the module's lock."""
    try:
        resolved = library_path.resolve(strict=True)
    except OSError as exc:
        raise Pkcs11CredentialError(
            library_path, "library_missing", f"the PKCS#11 module does not exist ({exc.strerror})"
        ) from exc
    if not resolved.is_file():
        raise Pkcs11CredentialError(library_path, "library_missing", "the PKCS#11 module is not a file")

    # The resolved path is the cache key, so a symlink and its target share one
    # initialised library instead of initialising the module twice.
    key = str(resolved)
    try:
        with _library_lock:
            library = pkcs11.lib(key)
            module_lock = _module_locks.setdefault(key, threading.RLock())
        return library, module_lock
    except p11_errors.PKCS11Error as exc:
        raise Pkcs11CredentialError(
            library_path, "library_invalid", f"the PKCS#11 module cannot be loaded: {_describe(exc)}"
        ) from exc


def _find_token(library, settings: Pkcs11Settings):
    try:
        return library.get_token(token_label=settings.token_label)
    except p11_errors.NoSuchToken:
        present = _token_labels(library)
        raise Pkcs11CredentialError(
            settings.library_path,
            "token_not_found",
            f"no token labelled {settings.token_label!r} (tokens present: {', '.join(map(repr, present)) or 'none'})",
            settings.token_label,
        ) from None
    except p11_errors.MultipleTokensReturned:
        raise Pkcs11CredentialError(
            settings.library_path,
            "token_ambiguous",
            f"several tokens are labelled {settings.token_label!r}. Give each token a distinct label",
            settings.token_label,
        ) from None
    except p11_errors.PKCS11Error as exc:
        raise Pkcs11CredentialError(
            settings.library_path, "token_error", f"listing the tokens failed: {_describe(exc)}", settings.token_label
        ) from exc


def _token_labels(library) -> list[str]:
    labels = []
    try:
        for slot in library.get_slots(token_present=True):
            try:
                labels.append(slot.get_token().label)
            except p11_errors.PKCS11Error:
                continue
    except p11_errors.PKCS11Error:
        pass
    return labels


def _log_in(token, pin: str, settings: Pkcs11Settings):
    # The exceptions below come from python-pkcs11 and carry only the return
    # value of C_Login, never the PIN, so chaining them is safe.
    try:
        return token.open(user_pin=pin)
    except (p11_errors.PinIncorrect, p11_errors.PinInvalid, p11_errors.PinLenRange) as exc:
        raise Pkcs11CredentialError(
            settings.library_path,
            "pin_incorrect",
            f"the token {settings.token_label!r} rejected the PIN ({type(exc).__name__})",
            settings.token_label,
        ) from exc
    except (p11_errors.PinLocked, p11_errors.PinExpired) as exc:
        raise Pkcs11CredentialError(
            settings.library_path,
            "pin_locked",
            f"the user PIN of token {settings.token_label!r} is locked or expired ({type(exc).__name__}). "
            "The security officer has to reset it",
            settings.token_label,
        ) from exc
    except p11_errors.PKCS11Error as exc:
        raise Pkcs11CredentialError(
            settings.library_path,
            "token_error",
            f"login to token {settings.token_label!r} failed: {_describe(exc)}",
            settings.token_label,
        ) from exc


def _build_signer(
    session, settings: Pkcs11Settings, ca_certificates: Sequence[asn1_x509.Certificate]
) -> TokenSigner:
    key = _find_single_object(session, settings, ObjectClass.PRIVATE_KEY, settings.key_label)
    cert_object = _find_single_object(session, settings, ObjectClass.CERTIFICATE, settings.effective_cert_label)
    certificate = asn1_x509.Certificate.load(cert_object[Attribute.VALUE])
    _check_key_matches_certificate(key, certificate, settings)
    for label in settings.chain_cert_labels:
        _find_single_object(session, settings, ObjectClass.CERTIFICATE, label)

    signer = TokenSigner(
        session,
        signing_cert=certificate,
        key_label=settings.key_label,
        ca_chain=list(ca_certificates),
        other_certs_to_pull=settings.chain_cert_labels,
        embed_roots=False,
        # EC keys sign a digest computed here with plain CKM_ECDSA, because
        # many tokens lack the hash-and-sign CKM_ECDSA_SHA256 (SoftHSM 2.6.1
        # rejects it as MechanismInvalid). RSA keys keep CKM_SHA256_RSA_PKCS.
        use_raw_mechanism=certificate.public_key.algorithm == "ec",
    )
    # Reading signing_cert makes pyHanko pull the chain certificates and the
    # key handle now, while errors can still be reported as credential errors.
    try:
        signer.signing_cert
    except p11_errors.PKCS11Error as exc:
        raise Pkcs11CredentialError(
            settings.library_path,
            "token_error",
            f"reading objects from token {settings.token_label!r} failed: {_describe(exc)}",
            settings.token_label,
        ) from exc
    return signer


def _find_single_object(session, settings: Pkcs11Settings, object_class: ObjectClass, label: str):
    kind = "private key" if object_class == ObjectClass.PRIVATE_KEY else "certificate"
    reason_prefix = "key" if object_class == ObjectClass.PRIVATE_KEY else "certificate"
    try:
        found = list(session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: label}))
    except p11_errors.PKCS11Error as exc:
        raise Pkcs11CredentialError(
            settings.library_path,
            "token_error",
            f"searching token {settings.token_label!r} for {kind} {label!r} failed: {_describe(exc)}",
            settings.token_label,
        ) from exc
    if not found:
        raise Pkcs11CredentialError(
            settings.library_path,
            f"{reason_prefix}_not_found",
            f"no {kind} labelled {label!r} on token {settings.token_label!r}",
            settings.token_label,
        )
    if len(found) > 1:
        raise Pkcs11CredentialError(
            settings.library_path,
            f"{reason_prefix}_ambiguous",
            f"{len(found)} objects of class {kind} are labelled {label!r} on token {settings.token_label!r}",
            settings.token_label,
        )
    return found[0]


def _check_key_matches_certificate(key, certificate: asn1_x509.Certificate, settings: Pkcs11Settings) -> None:
    """Compare an RSA key's public components with the certificate, so a wrong pairing fails before signing."""
    # NOTE: only RSA is compared. An EC private key object has no CKA_EC_POINT,
    # so a mismatched EC pair shows up only when the signature is validated.
    try:
        if key[Attribute.KEY_TYPE] != KeyType.RSA:
            return
        modulus = int.from_bytes(key[Attribute.MODULUS], "big")
        exponent = int.from_bytes(key[Attribute.PUBLIC_EXPONENT], "big")
    except p11_errors.PKCS11Error:
        # Some tokens do not expose these attributes on the private key object.
        logger.info(
            "token %r does not expose the public components of key %r, so key and certificate were not compared",
            settings.token_label,
            settings.key_label,
        )
        return

    public_key = certificate.public_key
    if public_key.algorithm != "rsa":
        mismatch = f"the key is RSA but the certificate's key is {public_key.algorithm}"
    else:
        parsed = public_key["public_key"].parsed
        if isinstance(parsed, asn1_keys.RSAPublicKey) and (
            parsed["modulus"].native == modulus and parsed["public_exponent"].native == exponent
        ):
            return
        mismatch = "the key's modulus or exponent differs from the certificate's public key"
    raise Pkcs11CredentialError(
        settings.library_path,
        "key_mismatch",
        f"private key {settings.key_label!r} does not belong to certificate {settings.effective_cert_label!r} "
        f"(serial {certificate.serial_number:x}): {mismatch}",
        settings.token_label,
    )


def _describe(exc: p11_errors.PKCS11Error) -> str:
    """Return the class name and message of a python-pkcs11 exception, most of which have no message."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
