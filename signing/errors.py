"""Exceptions raised by the signing package.

Every exception derives from :class:`SigningError`. pyHanko, pikepdf, img2pdf
and cryptography errors are translated into these classes at the package
boundary, so callers never need to import those libraries to handle failures.
Conditions are carried as attributes; ``detail`` is an English sentence meant
for logs, not for end users.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "CredentialError",
    "DevPkiError",
    "DocumentLocked",
    "InvalidDocument",
    "SignatureCreationFailed",
    "SignatureFieldInUse",
    "SignerCertificateRejected",
    "SigningError",
    "SigningProfileError",
    "TimestampFailed",
]


class SigningError(Exception):
    """Root of all errors raised by the signing package."""


class InvalidDocument(SigningError):
    """An uploaded or supplied document cannot be accepted or signed.

    ``reason`` is one of :attr:`REASONS`. The reasons from ``too_many_pages``
    on mean that the file exceeds a limit of :class:`signing.limits.InputLimits`.
    """

    REASONS = frozenset(
        {
            "empty",
            "unsupported_type",
            "pdf_header_offset",
            "malformed_pdf",
            "encrypted_pdf",
            "image_invalid",
            "too_many_pages",
            "too_many_objects",
            "too_many_revisions",
            "nesting_too_deep",
            "decompression_limit",
            "image_too_large",
            "memory_limit",
            "processing_timeout",
        }
    )

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown InvalidDocument reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class CredentialError(SigningError):
    """A signing credential (PKCS#12 file and passphrase) cannot be loaded."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"cannot load signing credential {path}: {detail}")
        self.path = path
        self.detail = detail


class SignerCertificateRejected(SigningError):
    """The signer's certificate must not be used to sign.

    ``reason`` is ``"missing"`` (the signer has no certificate), ``"expired"``,
    ``"not_yet_valid"``, ``"key_usage"`` (no non-repudiation key usage), one of
    the path and revocation reasons of
    :func:`signing.signer_check.check_signer_chain`, or ``"not_bound"`` (the
    service refused a certificate other than the one registered to the user).
    """

    def __init__(self, reason: str, detail: str, serial_number: int | None = None) -> None:
        super().__init__(f"signer certificate rejected ({reason}): {detail}")
        self.reason = reason
        self.detail = detail
        self.serial_number = serial_number


class SigningProfileError(SigningError, ValueError):
    """A signing profile is invalid or requests a level that cannot be produced.

    ``field`` names the profile attribute (``"level"``, ``"field_name"``) and
    ``value`` is its rejected value.
    """

    def __init__(self, field: str, value: object, detail: str) -> None:
        super().__init__(f"signing profile {field} {value!r}: {detail}")
        self.field = field
        self.value = value
        self.detail = detail


class SignatureFieldInUse(SigningError):
    """The requested signature field exists and is already signed, or is not a signature field."""

    def __init__(self, field_name: str, detail: str) -> None:
        super().__init__(f"signature field {field_name!r}: {detail}")
        self.field_name = field_name
        self.detail = detail


class DocumentLocked(SigningError):
    """The document's existing signatures do not permit the requested signature.

    ``reason`` is ``"no_changes"`` when a certification signature with DocMDP
    permission 1 forbids every change, or ``"already_signed"`` when a
    certification signature is requested for a document that is already
    signed: a certification must be the first signature (ISO 32000-1, 12.8.2.2).
    """

    REASONS = frozenset({"no_changes", "already_signed"})

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown DocumentLocked reason {reason!r}")
        super().__init__(f"document cannot be signed: {detail}")
        self.reason = reason
        self.detail = detail


class TimestampFailed(SigningError):
    """The time-stamping authority did not return a usable time-stamp token."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"signature time-stamp failed: {detail}")
        self.detail = detail


class SignatureCreationFailed(SigningError):
    """pyHanko failed to produce the signature for a reason not covered above."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"signature creation failed: {detail}")
        self.detail = detail


class DevPkiError(SigningError):
    """The development PKI directory is incomplete and cannot be reused."""

    def __init__(self, directory: Path, missing: Sequence[Path]) -> None:
        names = ", ".join(str(path) for path in missing)
        super().__init__(
            f"development PKI in {directory} is incomplete (missing: {names}); "
            "delete the directory to generate a new one"
        )
        self.directory = directory
        self.missing = tuple(missing)
