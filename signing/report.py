"""Validation report data classes for PDF signatures.

Indications and sub-indications use the names of ETSI EN 319 102-1, clause 5.1.3.
:func:`signing.validation.validate_pdf` builds these objects, and this module
only defines and serialises them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signing.validation_data import ValidationMaterial

__all__ = [
    "INDETERMINATE",
    "NON_STRICT",
    "NO_SIGNATURE",
    "STRICT",
    "TOTAL_FAILED",
    "TOTAL_PASSED",
    "SignatureReport",
    "ValidationReport",
    "worst_indication",
]

TOTAL_PASSED = "TOTAL_PASSED"
TOTAL_FAILED = "TOTAL_FAILED"
INDETERMINATE = "INDETERMINATE"
NO_SIGNATURE = "NO_SIGNATURE"

# Values of ValidationReport.reading.
STRICT = "strict"
NON_STRICT = "non-strict"

# Higher ranks are worse. The overall indication of a document is the worst one.
_INDICATION_RANK = {TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2}


def worst_indication(indications: list[str] | tuple[str, ...]) -> str:
    """Return the worst of ETSI indications, or ``NO_SIGNATURE`` for none."""
    if not indications:
        return NO_SIGNATURE
    return max(indications, key=lambda indication: _INDICATION_RANK[indication])


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, (tuple, list)):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class SignatureReport:
    """Validation result for one signature field of a PDF."""

    field_name: str
    indication: str
    sub_indication: str | None
    signer_subject: str | None
    signer_issuer: str | None
    signer_serial: str | None
    """Serial number of the signer's certificate as lowercase hexadecimal."""
    signing_time: datetime | None
    """Signing time claimed by the signer (signed attribute or ``/M``), not proven."""
    timestamp_time: datetime | None
    """``genTime`` of the signature time-stamp token, if the signature has one."""
    level: str | None
    """PAdES baseline level found in the file structure: B-B, B-T, B-LT or B-LTA."""
    coverage: str
    """pyHanko coverage level: ENTIRE_FILE, ENTIRE_REVISION, CONTIGUOUS_BLOCK_FROM_START or UNCLEAR."""
    signed_revision: int
    revisions_after: int
    modified_after_signing: bool
    modification_level: str | None
    changes: tuple[str, ...]
    chain: tuple[str, ...]
    revocation: dict = field(default_factory=dict)
    """Keys ``mode``, ``checked``, ``status`` (good, revoked, unknown, not_checked), ``note``,
    ``revoked_at`` and ``reason`` (None unless revoked), and ``evidence``: the CRLs and OCSP
    responses about the signer's certificate, each with ``source`` (embedded or fetched),
    ``type`` (OCSP or CRL), ``issued_at`` and ``status``."""
    warnings: tuple[str, ...] = ()
    poe_time: datetime | None = None
    """Earliest time at which a validated time-stamp proves that the signature existed.

    None when no time-stamp proves anything earlier than the validation time. For a
    B-LTA signature this may come from a document time-stamp."""
    timestamps: tuple[dict, ...] = ()
    """Signature time-stamp and later document time-stamps: ``type`` (signature or
    document), ``time`` (genTime), ``tsa``, and for document time-stamps ``field_name``
    and ``revision``."""
    byte_range: tuple[int, ...] | None = None
    """The signature dictionary's /ByteRange as found, or None when it is missing or
    not an array of integers."""
    visual_check: dict = field(default_factory=dict)
    """The comparison of the signed revision with the later ones as rendered pages.

    ``status`` is disabled, not_needed (nothing follows the signed revision),
    passed, differences, or failed. Failed means that the signed revision, or
    every later one, could not be rendered, and ``warnings`` gives the reasons. ``revisions_compared`` lists
    revision numbers, and ``"file"`` for the complete file when bytes follow its
    last revision. ``dpi`` and ``pages_compared`` give the rendering used, and
    ``notes`` the limits that applied. Empty when the signature could not be
    processed."""
    visual_differences: tuple[dict, ...] = ()
    """Pages that look different after signing, one entry per finding.

    ``page`` is 1-based, or None for a change of the page count. ``revision`` is
    the first later revision that shows the difference, or None for the complete
    file. ``kind`` is content, page_size, page_count or covered_by_signature (a
    later signature's widget covers signed content). ``changed_pixels`` counts
    the differing pixels, and ``region`` ([x1, y1, x2, y2] in PDF points)
    surrounds them. ``signed_revision`` repeats the revision compared against."""
    docmdp_permissions: str | None = None
    """DocMDP permissions of a certification signature as pyHanko names them
    (NO_CHANGES, FILL_FORMS or ANNOTATE); None for an approval signature."""
    certificates: tuple[dict, ...] = ()
    """The certificates of ``chain``, the signer's first, each with its validity, its
    revocation status and the CRLs and OCSP responses about it (see
    :func:`signing.evidence.certificate_entries`). Only the signer's certificate
    when no chain was found, and empty when the signature could not be processed."""

    def to_dict(self) -> dict:
        """Return a JSON-ready dictionary with datetimes as ISO 8601 in UTC."""
        return {item.name: _json_value(getattr(self, item.name)) for item in fields(self)}


@dataclass(frozen=True)
class ValidationReport:
    """Validation result for a whole PDF document."""

    indication: str
    """Worst indication of all signatures, or ``NO_SIGNATURE`` for a PDF without any."""
    signatures: tuple[SignatureReport, ...]
    policy: str
    policy_fingerprint: str
    validated_at: datetime
    trailing_bytes: int
    """Bytes after the end of the last revision (its ``%%EOF`` line) that no revision contains."""
    material: ValidationMaterial | None = field(default=None, compare=False, repr=False)
    """The certificates, CRLs and OCSP responses the validation used; not part of :meth:`to_dict`."""
    leading_bytes: int = 0
    """Bytes before the ``%PDF-`` header. Offsets, byte ranges included, then count from the header."""
    reading: str = STRICT
    """``strict`` when pyHanko's strict reader accepts the file's cross-reference data and
    catalog, ``non-strict`` when only its non-strict reader could, after repairs."""
    strict_reading_error: str | None = None
    """The strict reader's error for the file, when ``reading`` is ``non-strict``."""
    warnings: tuple[str, ...] = ()
    """Findings about the whole file; each signature has its own ``warnings``."""

    def to_dict(self) -> dict:
        """Return a JSON-ready dictionary with datetimes as ISO 8601 in UTC."""
        return {
            "indication": self.indication,
            "signatures": [signature.to_dict() for signature in self.signatures],
            "policy": self.policy,
            "policy_fingerprint": self.policy_fingerprint,
            "validated_at": _json_value(self.validated_at),
            "trailing_bytes": self.trailing_bytes,
            "leading_bytes": self.leading_bytes,
            "reading": self.reading,
            "strict_reading_error": self.strict_reading_error,
            "warnings": list(self.warnings),
        }
