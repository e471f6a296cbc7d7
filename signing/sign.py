"""Add a PAdES signature to a PDF as an incremental update.

The signature is invisible, uses SHA-256 and the ``ETSI.CAdES.detached``
subfilter, and is appended after the existing bytes, so the input is a prefix
of the output and signatures already in the document stay valid.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from signing.errors import (
    InvalidDocument,
    SignatureCreationFailed,
    SignatureFieldInUse,
    SignerCertificateRejected,
    SigningProfileError,
    TimestampFailed,
)

__all__ = ["LEVELS", "SigningProfile", "check_signer_certificate", "sign_pdf"]

logger = logging.getLogger(__name__)

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
"""PAdES baseline levels (ETSI EN 319 142-1) that a profile may name."""

_SUPPORTED_LEVELS = ("B-B", "B-T")

# Space reserved for the CMS SignedData, in DER bytes. The signed attributes,
# algorithm identifiers and ASN.1 framing of a PAdES B-B signature took 471
# bytes with pyHanko 0.38 and an RSA-2048 key; 1 KiB leaves room for longer
# names and algorithm parameters. A time-stamp token carries the TSA's own signature
# and usually its certificate chain, so its size depends on the TSA. If the
# reservation turns out too small, sign_pdf falls back to pyHanko's estimate.
_CMS_OVERHEAD_BYTES = 1024
_TIMESTAMP_TOKEN_BYTES = 12288
_RESERVATION_TOO_SMALL = "Final ByteRange payload larger than expected"


@dataclass(frozen=True)
class SigningProfile:
    """Options for one signature."""

    level: str = "B-B"
    """PAdES baseline level, one of :data:`LEVELS`. Only B-B and B-T can be produced so far."""
    reason: str | None = None
    location: str | None = None
    field_name: str | None = None
    """Name of the signature field. None creates a new field named ``Signature<N>``."""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise SigningProfileError("level", self.level, f"expected one of {', '.join(LEVELS)}")
        if self.field_name is not None and (not self.field_name or "." in self.field_name):
            raise SigningProfileError(
                "field_name", self.field_name, "must be non-empty and must not contain '.'"
            )


def check_signer_certificate(cert: asn1_x509.Certificate, *, at: datetime | None = None) -> None:
    """Check that a certificate may create a signature at the aware datetime ``at`` (default: now).

    The certificate must be within its validity period and its key usage
    extension must include nonRepudiation (contentCommitment). Raises
    :class:`~signing.errors.SignerCertificateRejected` with ``reason``
    ``"not_yet_valid"``, ``"expired"`` or ``"key_usage"``.
    """
    # TODO: check the chain to a trust anchor and the revocation status too.
    # pyHanko 0.38 signs with a revoked certificate without complaint.
    if at is None:
        at = datetime.now(timezone.utc)
    elif at.tzinfo is None:
        raise ValueError("at must be a timezone-aware datetime")
    serial_number = cert.serial_number
    subject = cert.subject.human_friendly
    validity = cert["tbs_certificate"]["validity"]
    not_before = validity["not_before"].native
    not_after = validity["not_after"].native

    if at < not_before:
        raise SignerCertificateRejected(
            "not_yet_valid",
            f"certificate of {subject} is valid from {not_before.isoformat()}",
            serial_number,
        )
    if at > not_after:
        raise SignerCertificateRejected(
            "expired",
            f"certificate of {subject} expired on {not_after.isoformat()}",
            serial_number,
        )

    key_usage = cert.key_usage_value
    if key_usage is None or "non_repudiation" not in key_usage.native:
        present = "none" if key_usage is None else ", ".join(sorted(key_usage.native))
        raise SignerCertificateRejected(
            "key_usage",
            f"certificate of {subject} lacks the nonRepudiation key usage (present: {present})",
            serial_number,
        )


def sign_pdf(
    data: bytes,
    signer: Signer,
    profile: SigningProfile,
    *,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """Sign ``data`` and return the signed PDF as new bytes.

    With a ``timestamper`` the signature gets a signature time-stamp, which
    makes it PAdES B-T even when ``profile.level`` is B-B. Level B-T without a
    timestamper, and levels B-LT and B-LTA, raise
    :class:`~signing.errors.SigningProfileError`.

    Runs pyHanko's event loop with ``asyncio.run``, so it must not be called
    from a coroutine. Raises only :class:`~signing.errors.SigningError`
    subclasses.
    """
    if signer.signing_cert is None:
        raise SignerCertificateRejected("missing", "the signer has no certificate")
    check_signer_certificate(signer.signing_cert)

    # TODO: B-LT and B-LTA need a validation context with revocation sources
    # and a document time-stamp.
    if profile.level not in _SUPPORTED_LEVELS:
        raise SigningProfileError("level", profile.level, "not supported yet (supported: B-B, B-T)")
    if profile.level == "B-T" and timestamper is None:
        raise SigningProfileError("level", profile.level, "a timestamper is required")

    bytes_reserved = _estimate_bytes_reserved(signer, with_timestamp=timestamper is not None)
    try:
        signed, field_name = _sign_once(data, signer, profile, timestamper, bytes_reserved)
    except _ReservationTooSmall as exc:
        logger.warning(
            "%d hex digits reserved for the signature were not enough, signing again with pyHanko's estimate: %s",
            bytes_reserved,
            exc,
        )
        signed, field_name = _sign_once(data, signer, profile, timestamper, None)

    logger.info(
        "signed PDF: field %s, level %s, signer serial %x, input sha256 %s, output sha256 %s",
        field_name,
        "B-T" if timestamper is not None else "B-B",
        signer.signing_cert.serial_number,
        hashlib.sha256(data).hexdigest(),
        hashlib.sha256(signed).hexdigest(),
    )
    return signed


class _ReservationTooSmall(Exception):
    """The CMS object did not fit into the space reserved with bytes_reserved."""


def _sign_once(
    data: bytes,
    signer: Signer,
    profile: SigningProfile,
    timestamper: TimeStamper | None,
    bytes_reserved: int | None,
) -> tuple[bytes, str]:
    """Sign once and return the output and the field name used."""
    writer = _open_writer(data)
    field_name = profile.field_name or _fresh_field_name(writer.prev)
    if profile.field_name is not None:
        _check_requested_field(writer.prev, profile.field_name)

    metadata = PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=profile.reason,
        location=profile.location,
    )
    # A new field gets pyHanko's default SigFieldSpec, which has no box and
    # so no appearance: the signature is invisible.
    pdf_signer = PdfSigner(metadata, signer=signer, timestamper=timestamper)
    output = io.BytesIO()
    try:
        pdf_signer.sign_pdf(writer, bytes_reserved=bytes_reserved, output=output)
    except PyHankoSigningError as exc:
        # pyHanko 0.38 reports an overflowing reservation only through this message.
        if bytes_reserved is not None and str(exc).startswith(_RESERVATION_TOO_SMALL):
            raise _ReservationTooSmall(str(exc)) from exc
        raise SignatureCreationFailed(str(exc)) from exc
    except TimestampRequestError as exc:
        raise TimestampFailed(str(exc)) from exc
    except OSError as exc:
        # The input and output are in memory, so an OSError comes from the
        # time-stamping client's HTTP request.
        if timestamper is None:
            raise SignatureCreationFailed(repr(exc)) from exc
        raise TimestampFailed(repr(exc)) from exc
    except PdfError as exc:
        raise InvalidDocument("malformed_pdf", f"pyHanko cannot update the PDF: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureCreationFailed(repr(exc)) from exc
    return output.getvalue(), field_name


def _open_writer(data: bytes) -> IncrementalPdfFileWriter:
    """Open ``data`` for an incremental update, strictly unless it has hybrid cross-references.

    pyHanko raises SigningError for a strictly read file that combines a
    classic xref table with an /XRefStm stream. Such hybrid-reference files are
    valid PDF (ISO 32000-1, 7.5.8.4) and some writers still produce them for
    PDF 1.4 readers, so they are read again in non-strict mode. Other damage
    still raises, because the strict reader sees it first.
    """
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True)
        if reader.encrypted:
            raise InvalidDocument("encrypted_pdf", "the PDF has an /Encrypt dictionary")
        if reader.xrefs.hybrid_xrefs_present:
            # NOTE: a validator that reads the result strictly rejects it for
            # the same reason, so validation of these files needs strict=False.
            logger.info("PDF has hybrid cross-reference sections, signing it in non-strict mode")
            reader = PdfFileReader(io.BytesIO(data), strict=False)
        return IncrementalPdfFileWriter(io.BytesIO(data), prev=reader)
    except InvalidDocument:
        raise
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise InvalidDocument("malformed_pdf", f"pyHanko cannot read the PDF: {exc!r}") from exc


@dataclass(frozen=True)
class _FormField:
    field_type: str | None
    """/FT, inherited from the parent field when the field itself has none."""
    signed: bool


def _form_fields(reader: PdfFileReader) -> dict[str, _FormField]:
    """Map each fully qualified form field name in the document to its type and value state."""
    try:
        top_level = reader.root["/AcroForm"]["/Fields"]
    except KeyError:
        return {}

    found: dict[str, _FormField] = {}
    seen: set[generic.Reference] = set()
    pending: list[tuple[generic.PdfObject, str, str | None]] = [(entry, "", None) for entry in top_level]
    while pending:
        entry, parent_name, inherited_type = pending.pop()
        if isinstance(entry, generic.IndirectObject):
            if entry.reference in seen:
                continue
            seen.add(entry.reference)
        field = entry.get_object()
        if not isinstance(field, generic.DictionaryObject):
            continue

        # A dictionary without /T is a widget annotation, not a field.
        partial_name = field.get("/T")
        if partial_name is None:
            continue
        name = f"{parent_name}.{partial_name}" if parent_name else str(partial_name)
        field_type = field.get("/FT")
        field_type = str(field_type) if field_type is not None else inherited_type
        found[name] = _FormField(field_type=field_type, signed=field.get("/V") is not None)
        for kid in field.get("/Kids", ()):
            pending.append((kid, name, field_type))
    return found


def _fresh_field_name(reader: PdfFileReader) -> str:
    existing = _form_fields(reader)
    number = 1
    while f"Signature{number}" in existing:
        number += 1
    return f"Signature{number}"


def _check_requested_field(reader: PdfFileReader, field_name: str) -> None:
    """Allow an existing field only if it is an empty signature field, which pyHanko then fills."""
    field = _form_fields(reader).get(field_name)
    if field is None:
        return
    if field.field_type != "/Sig":
        raise SignatureFieldInUse(field_name, "a form field with this name exists and is not a signature field")
    if field.signed:
        raise SignatureFieldInUse(field_name, "the signature field is already signed")


def _estimate_bytes_reserved(signer: Signer, *, with_timestamp: bool) -> int:
    """Return the space for the CMS object in hex digits, as pyHanko's bytes_reserved expects.

    Setting it skips pyHanko's size-estimation pass, which builds and signs a
    dummy signature first and, with a timestamper, requests a dummy time-stamp.
    """
    signing_cert = signer.signing_cert
    assert signing_cert is not None
    key_bytes = (signing_cert.public_key.bit_size + 7) // 8
    # An ECDSA signature contains two integers of the key size, an RSA signature one.
    der_bytes = 2 * key_bytes + _CMS_OVERHEAD_BYTES
    der_bytes += len(signing_cert.dump())
    der_bytes += sum(
        len(cert.dump()) for cert in signer.cert_registry if signer.embed_roots or cert.self_signed == "no"
    )
    if with_timestamp:
        der_bytes += _TIMESTAMP_TOKEN_BYTES
    return 2 * der_bytes
