"""Registration of signing credentials and the checks that bind a certificate to its user.

A certificate is registered for a user only when it can sign now under the
validation policy (validity period, nonRepudiation key usage, a path to the
trust anchors, revocation status) and it belongs to the user. It belongs to
the user when its subject common name equals the user's name (``name``
binding: Unicode NFC, case and runs of whitespace ignored), or when the
administrator confirms the holder by repeating the certificate's common name
exactly (``confirmed`` binding). Government certificates carry the holder's
name in Latin letters while users' names are in Bengali, so most bindings are
confirmed ones.

The credential stores the SHA-256 of the certificate. Every signature checks
that the credential still presents that certificate, and the signer check
before signing repeats the policy checks, so a certificate revoked or expired
after registration cannot sign.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509 as asn1_x509

from signing.errors import SignerCertificateRejected
from signing.fetching import open_fetcher_backend
from signing.policy import ValidationPolicy
from signing.signer_check import check_signer_certificate, check_signer_chain

from .models import SigningCredential, User

log = logging.getLogger(__name__)

BINDINGS = ("name", "confirmed")


class CredentialRejected(Exception):
    """A certificate cannot be registered for the user; ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class CertificateBinding:
    sha256: str
    subject: str
    binding: str


def certificate_sha256(certificate: asn1_x509.Certificate) -> str:
    return hashlib.sha256(certificate.dump()).hexdigest()


def _normalised(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def common_name(certificate: asn1_x509.Certificate) -> str | None:
    value = certificate.subject.native.get("common_name")
    if isinstance(value, list):
        value = value[-1] if value else None
    return value


def holder_binding(user: User, certificate: asn1_x509.Certificate, confirmed_holder: str | None) -> str:
    """Return how the certificate belongs to the user, or raise :class:`CredentialRejected` (``not_owned``)."""
    name = common_name(certificate)
    if name is None:
        raise CredentialRejected("not_owned", f"the certificate subject {certificate.subject.human_friendly!r} "
                                              "has no common name, so its holder cannot be identified")
    if confirmed_holder is not None:
        if confirmed_holder != name:
            raise CredentialRejected(
                "not_owned",
                f"the confirmed holder {confirmed_holder!r} differs from the certificate's common name {name!r}",
            )
        return "confirmed"
    if _normalised(name) in {_normalised(user.display_name), _normalised(user.username)}:
        return "name"
    raise CredentialRejected(
        "not_owned",
        f"the certificate's common name {name!r} is not the name of user {user.username!r} "
        f"({user.display_name!r}). If the certificate is theirs, confirm it with --confirm-holder {name!r}",
    )


def check_certificate(certificate: asn1_x509.Certificate, chain: Sequence[asn1_x509.Certificate],
                      policy: ValidationPolicy, *, at: datetime | None = None) -> None:
    """Check that the certificate can sign at ``at`` (default now) under ``policy``.

    Raises :class:`~signing.errors.SignerCertificateRejected` with the reasons
    of :func:`~signing.signer_check.check_signer_chain`. Runs its own event
    loop, so it must not be called from a coroutine.
    """
    check_signer_certificate(certificate, at=at)

    async def check_chain() -> None:
        async with open_fetcher_backend(policy) as (backend, record):
            await check_signer_chain(certificate, chain, policy, backend if record is not None else None, at=at)

    asyncio.run(check_chain())


def bind_certificate(user: User, certificate: asn1_x509.Certificate, chain: Sequence[asn1_x509.Certificate],
                     policy: ValidationPolicy, *, confirmed_holder: str | None = None,
                     at: datetime | None = None) -> CertificateBinding:
    """Check a certificate for registration to ``user`` and return its binding.

    Raises :class:`CredentialRejected` with the reason ``not_owned``,
    ``registered_to_other_user`` or the reason of the certificate check (``expired``, ``not_yet_valid``,
    ``key_usage``, ``untrusted``, ``revoked``, ``revocation_unknown``,
    ``weak_key`` or ``weak_algorithm``).
    """
    binding = holder_binding(user, certificate, confirmed_holder)
    _check_not_registered_elsewhere(user, certificate)
    try:
        check_certificate(certificate, chain, policy, at=at)
    except SignerCertificateRejected as error:
        raise CredentialRejected(error.reason, str(error)) from None
    return CertificateBinding(certificate_sha256(certificate), certificate.subject.human_friendly, binding)


def _check_not_registered_elsewhere(user: User, certificate: asn1_x509.Certificate) -> None:
    """Reject a certificate that an active credential of another user already holds.

    A signing certificate identifies one person, so two accounts with it would
    make the audit log name the wrong signer.
    """
    from .extensions import db

    sha256 = certificate_sha256(certificate)
    other = db.session.execute(
        db.select(User.username).join(SigningCredential, SigningCredential.user_id == User.id)
        .where(SigningCredential.certificate_sha256 == sha256, SigningCredential.active.is_(True),
               User.id != user.id)
    ).scalars().first()
    if other is not None:
        raise CredentialRejected("registered_to_other_user",
                                 f"the certificate is already registered to user {other!r}; "
                                 f"deactivate that credential first")


def new_credential(user: User, kind: str, location: str, binding: CertificateBinding,
                   secret_file: str | None = None) -> SigningCredential:
    log.info("signing credential registered: user=%s kind=%s certificate_sha256=%s binding=%s",
             user.username, kind, binding.sha256, binding.binding)
    return SigningCredential(user=user, kind=kind, location=location, secret_file=secret_file,
                             certificate_sha256=binding.sha256, certificate_subject=binding.subject,
                             binding=binding.binding)


def check_credential_certificate(credential: SigningCredential, certificate: asn1_x509.Certificate) -> None:
    """Raise :class:`~signing.errors.SignerCertificateRejected` (``not_bound``) unless the
    credential presents the certificate bound to it at registration."""
    if credential.certificate_sha256 is None or credential.binding not in BINDINGS:
        raise SignerCertificateRejected(
            "not_bound",
            f"credential {credential.id} has no registered certificate binding; register it again",
            certificate.serial_number,
        )
    if certificate_sha256(certificate) != credential.certificate_sha256:
        raise SignerCertificateRejected(
            "not_bound",
            f"credential {credential.id} presents certificate {certificate.subject.human_friendly!r} "
            f"(serial {certificate.serial_number:x}), not the one registered to its user",
            certificate.serial_number,
        )


def development_credential(user: User, pki, p12_path=None, passphrase_path=None) -> SigningCredential:
    """Build a PKCS#12 credential of the development PKI, bound to ``user`` as one of the setup's own officers.

    ``pki`` is a :class:`signing.devpki.DevPki`; the file is the PKI's officer
    file unless ``p12_path`` and ``passphrase_path`` name another that it
    issued. The setup issued the certificate for this user, so the binding
    counts as ``confirmed``.
    """
    from pathlib import Path

    from signing.credentials import load_pkcs12_signer

    p12_path = Path(p12_path or pki.officer_p12_path)
    passphrase_path = Path(passphrase_path or pki.officer_passphrase_path)
    certificate = load_pkcs12_signer(p12_path, passphrase_path.read_bytes().strip()).signing_cert
    binding = CertificateBinding(certificate_sha256(certificate), certificate.subject.human_friendly, "confirmed")
    return new_credential(user, "pkcs12", str(p12_path), binding, secret_file=str(passphrase_path))
