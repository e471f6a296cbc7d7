"""Add a PAdES signature to a PDF as an incremental update.

The signature is invisible unless the profile has a stamp, uses SHA-256 and the
``ETSI.CAdES.detached`` subfilter, and is appended after the existing bytes, so the input is a prefix
of the output and signatures already in the document stay valid.

Levels (ETSI EN 319 142-1): B-B is the CMS signature alone. B-T adds a signature
time-stamp. B-LT also stores the certificates, CRLs and OCSP responses of the
signer's path and of the time-stamping authority in the document security store
(DSS). B-LTA then adds a document time-stamp over everything, which later
validators use as proof of existence of the signature and of that data.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime
from typing import BinaryIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.fields import MDPPerm, SigFieldSpec
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation import read_certification_data
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.context import ValidationContext
from pyhanko_certvalidator.errors import PathError, ValidationError

from signing.errors import (
    DocumentLocked,
    InvalidDocument,
    SignatureCreationFailed,
    SignatureFieldInUse,
    SignerCertificateRejected,
    SigningProfileError,
    TimestampFailed,
)
from signing.fetching import open_fetcher_backend
from signing.policy import ValidationPolicy
from signing.signer_check import check_signer_certificate, check_signer_chain
from signing.stamp import StampPlacement, StampPlacementError, VisibleStamp, reserved_field_specs

__all__ = ["LEVELS", "SigningProfile", "check_signer_certificate", "sign_pdf", "sign_pdf_file"]

logger = logging.getLogger(__name__)

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
"""PAdES baseline levels (ETSI EN 319 142-1) that a profile may name."""

# Levels whose validation data comes from a validation context built from the policy.
_LONG_TERM_LEVELS = ("B-LT", "B-LTA")

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
    """PAdES baseline level, one of :data:`LEVELS`."""
    reason: str | None = None
    location: str | None = None
    field_name: str | None = None
    """Name of the signature field. None creates a new field named ``Signature<N>``."""
    certify: bool = False
    """Make a certification signature whose DocMDP permissions allow form filling
    and further signatures, as the first signature of co-signed minutes."""
    stamp: VisibleStamp | None = None
    """A visible stamp; None signs invisibly."""
    reserved_fields: tuple[str, ...] = ()
    """Names of empty signature fields to create in the same revision, for later signers.

    A certification with DocMDP permissions that allow form filling lets later
    signers fill existing signature fields, appearance included, but a new
    field with an appearance is a change the certification does not permit.
    So a certifying signature reserves the later signers' fields, each with
    its own box chosen like a stamp's, and later signers fill them."""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise SigningProfileError("level", self.level, f"expected one of {', '.join(LEVELS)}")
        for name in (self.field_name, *self.reserved_fields):
            if name is not None and (not name or "." in name):
                raise SigningProfileError("field_name", name, "must be non-empty and must not contain '.'")
        if self.field_name is not None and self.field_name in self.reserved_fields:
            raise SigningProfileError("reserved_fields", self.field_name, "must differ from the signature's own field")


def sign_pdf(
    data: bytes,
    signer: Signer,
    profile: SigningProfile,
    *,
    timestamper: TimeStamper | None = None,
    policy: ValidationPolicy | None = None,
    at: datetime | None = None,
) -> bytes:
    """Sign ``data`` and return the signed PDF as new bytes; see :func:`sign_pdf_file`."""
    output = io.BytesIO()
    sign_pdf_file(io.BytesIO(data), output, signer, profile, timestamper=timestamper, policy=policy, at=at)
    return output.getvalue()


def sign_pdf_file(
    source: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    profile: SigningProfile,
    *,
    timestamper: TimeStamper | None = None,
    policy: ValidationPolicy | None = None,
    at: datetime | None = None,
) -> None:
    """Sign the PDF in ``source`` and write the signed PDF to ``output``.

    Both are seekable binary files, for example spool files on disk. pyHanko
    reads the input's objects as it needs them, copies the input to the
    output in chunks and hashes the signed byte ranges from the output, so
    neither file is loaded into memory. A visible stamp is the exception,
    because its placement is computed from the input's bytes. ``output`` is
    truncated first and contains only the signed PDF afterwards.

    Before signing, the signer's certificate is checked at ``at`` (an aware
    datetime, default now). Its validity period and nonRepudiation key usage
    are always checked. With a ``policy``, the path to the policy's trust
    anchors, the policy's algorithm rules and key usages, and revocation under
    the policy's revocation mode and fetching rules are checked as well (see
    :func:`signing.signer_check.check_signer_chain`). ``at`` also sets the time
    for which the embedded validation data is collected. pyHanko still writes the
    current time as the claimed signing time.

    With a ``timestamper`` the signature gets a signature time-stamp, which
    makes it PAdES B-T even when ``profile.level`` is B-B. Levels B-T, B-LT and
    B-LTA need a timestamper, and B-LT and B-LTA need a ``policy``; otherwise
    :class:`~signing.errors.SigningProfileError` is raised.

    Runs its own event loop with ``asyncio.run``, so it must not be called
    from a coroutine. Raises only :class:`~signing.errors.SigningError`
    subclasses: :class:`~signing.errors.SignerCertificateRejected` when the
    certificate fails a check, and nothing is signed then.
    """
    if at is not None and at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware datetime")
    if signer.signing_cert is None:
        raise SignerCertificateRejected("missing", "the signer has no certificate")
    if profile.level != "B-B" and timestamper is None:
        raise SigningProfileError("level", profile.level, "a timestamper is required")
    if profile.level in _LONG_TERM_LEVELS and policy is None:
        raise SigningProfileError(
            "level", profile.level, "a validation policy is required to collect the validation data"
        )
    check_signer_certificate(signer.signing_cert, at=at)
    if policy is None:
        # NOTE: without a policy the path to a trust anchor and revocation are not
        # checked, so a revoked certificate can still sign at B-B and B-T.
        logger.warning(
            "signing without a validation policy: the signer certificate's path and "
            "revocation status are not checked"
        )

    # The coroutine returns only the field name: on the main thread asyncio.run
    # formats the finished task's repr, result included, when it restores the
    # SIGINT handler (CPython 3.11), which would cost seconds for a 100 MB result.
    field_name = asyncio.run(_sign(source, output, signer, profile, timestamper, policy, at))

    # Callers that need the output's SHA-256 compute it; hashing here only for
    # the log would add two passes over the file.
    logger.info(
        "signed PDF: field %s, level %s, signer serial %x, %d bytes in, %d bytes out",
        field_name,
        _produced_level(profile, timestamper),
        signer.signing_cert.serial_number,
        source.seek(0, io.SEEK_END),
        output.seek(0, io.SEEK_END),
    )
    output.seek(0)


def _produced_level(profile: SigningProfile, timestamper: TimeStamper | None) -> str:
    if profile.level == "B-B" and timestamper is not None:
        return "B-T"
    return profile.level


async def _sign(
    source: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    profile: SigningProfile,
    timestamper: TimeStamper | None,
    policy: ValidationPolicy | None,
    at: datetime | None,
) -> str:
    """Check the signer's path when a policy is given, then sign; return the field name."""
    if policy is None:
        return await _sign_with_fallback(source, output, signer, profile, timestamper, None)

    async with open_fetcher_backend(policy) as (backend, record):
        context = await check_signer_chain(
            signer.signing_cert,
            signer.cert_registry,
            policy,
            backend if record is not None else None,
            at=at,
        )
        long_term = context if profile.level in _LONG_TERM_LEVELS else None
        return await _sign_with_fallback(source, output, signer, profile, timestamper, long_term, policy)


async def _sign_with_fallback(
    source: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    profile: SigningProfile,
    timestamper: TimeStamper | None,
    context: ValidationContext | None,
    policy: ValidationPolicy | None = None,
) -> str:
    bytes_reserved = _estimate_bytes_reserved(signer, with_timestamp=timestamper is not None)
    try:
        return await _sign_once(source, output, signer, profile, timestamper, bytes_reserved, context, policy)
    except _ReservationTooSmall as exc:
        logger.warning(
            "%d hex digits reserved for the signature were not enough, signing again with pyHanko's estimate: %s",
            bytes_reserved,
            exc,
        )
        return await _sign_once(source, output, signer, profile, timestamper, None, context, policy)


class _ReservationTooSmall(Exception):
    """The CMS object did not fit into the space reserved with bytes_reserved."""


async def _sign_once(
    source: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    profile: SigningProfile,
    timestamper: TimeStamper | None,
    bytes_reserved: int | None,
    context: ValidationContext | None,
    policy: ValidationPolicy | None,
) -> str:
    """Sign once into ``output`` and return the field name used.

    With a validation ``context`` (levels B-LT and B-LTA), pyHanko validates the
    signer's and the time-stamping authority's certificates with it and stores
    the certificates, CRLs and OCSP responses it used in the DSS.
    """
    output.seek(0)
    output.truncate()
    writer = _open_writer(source)
    field_name, stamp_style, new_field_spec = prepare_fields(writer, source, profile)

    metadata = PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=profile.reason,
        location=profile.location,
        validation_context=context,
        embed_validation_info=context is not None,
        use_pades_lta=profile.level == "B-LTA",
        signer_key_usage=set(policy.signer_key_usage) if policy is not None else {"non_repudiation"},
        certify=profile.certify,
        docmdp_permissions=MDPPerm.FILL_FORMS,
    )
    pdf_signer = PdfSigner(metadata, signer=signer, timestamper=timestamper,
                           stamp_style=stamp_style, new_field_spec=new_field_spec)
    try:
        await pdf_signer.async_sign_pdf(writer, bytes_reserved=bytes_reserved, output=output)
    except PyHankoSigningError as exc:
        # pyHanko 0.38 reports an overflowing reservation only through this message.
        if bytes_reserved is not None and str(exc).startswith(_RESERVATION_TOO_SMALL):
            raise _ReservationTooSmall(str(exc)) from exc
        raise SignatureCreationFailed(str(exc)) from exc
    except TimestampRequestError as exc:
        raise TimestampFailed(str(exc)) from exc
    except (PathError, ValidationError) as exc:
        # pyHanko validates the time-stamping authority's certificate with the
        # validation context of B-LT and B-LTA. The signer's passed check_signer_chain.
        raise SignatureCreationFailed(
            f"a certificate could not be validated under the policy: {exc}"
        ) from exc
    except OSError as exc:
        # With a timestamper, an OSError is almost always the time-stamping
        # client's HTTP request; a read or write error of the files is far rarer.
        if timestamper is None:
            raise SignatureCreationFailed(repr(exc)) from exc
        raise TimestampFailed(repr(exc)) from exc
    except PdfError as exc:
        raise InvalidDocument("malformed_pdf", f"pyHanko cannot update the PDF: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureCreationFailed(repr(exc)) from exc
    return field_name


# The appearance of a signature that fills an existing field with a box but
# has no stamp: pyHanko would otherwise draw its default Latin-script stamp.
_BLANK_APPEARANCE = TextStampStyle(stamp_text="", border_width=0)

# Largest difference, in points, between a requested box and an existing field's box that counts as the same box.
_BOX_TOLERANCE = 0.5


def prepare_fields(
    writer: IncrementalPdfFileWriter, source: BinaryIO, profile: SigningProfile
) -> tuple[str, TextStampStyle | None, SigFieldSpec | None]:
    """Choose the signature field, add the profile's reserved fields to ``writer``, and return the stamp setup.

    Returns the field name, the stamp style for ``PdfSigner(stamp_style=...)``
    and the spec of a new visible field, or None where pyHanko's defaults apply.
    A new field without a stamp gets pyHanko's default spec, which has no box
    and so no appearance: the signature is invisible. An existing empty field
    keeps its widget and box. A stamp placement that names another page or box
    for it raises :class:`~signing.stamp.StampPlacementError` with reason
    ``"field_position_fixed"``, because moving the widget of a field in a
    certified revision breaks the certification.
    """
    _check_certification_allows(writer.prev, profile)
    field_name = profile.field_name or _fresh_field_name(writer.prev)
    existing = False
    if profile.field_name is not None:
        existing = _check_requested_field(writer.prev, profile.field_name)
    for name in profile.reserved_fields:
        if name in _form_fields(writer.prev):
            raise SignatureFieldInUse(name, "a form field with this name exists, so it cannot be reserved")

    data: bytes | Path = b""
    if (profile.stamp is not None and not existing) or profile.reserved_fields:
        data = _placement_input(source)
    stamp_style = new_field_spec = None
    if profile.stamp is not None:
        stamp_style = profile.stamp.style()
        if existing:
            _check_fixed_placement(writer.prev, field_name, profile.stamp.placement)
        else:
            new_field_spec = profile.stamp.field_spec(data, field_name)
    elif existing:
        stamp_style = _BLANK_APPEARANCE

    if profile.reserved_fields:
        if new_field_spec is not None and new_field_spec.box is not None:
            size = (new_field_spec.box[2] - new_field_spec.box[0], new_field_spec.box[3] - new_field_spec.box[1])
            specs = reserved_field_specs(data, profile.reserved_fields, size,
                                         page=new_field_spec.on_page, occupied=[new_field_spec.box])
        else:
            specs = reserved_field_specs(data, profile.reserved_fields)
        for spec in specs:
            fields.append_signature_field(writer, spec)
    return field_name, stamp_style, new_field_spec


def _placement_input(source: BinaryIO) -> bytes | Path:
    """Return what stamp placement renders: the path of a file on disk, else the bytes.

    PDFium reads a file by path as it needs it, so a large spooled PDF is
    not loaded into memory to place a stamp.
    """
    name = getattr(source, "name", None)
    if isinstance(name, str) and Path(name).is_file():
        source.flush()
        return Path(name)
    source.seek(0)
    return source.read()


def _check_certification_allows(reader: PdfFileReader, profile: SigningProfile) -> None:
    """Raise :class:`DocumentLocked` where pyHanko would refuse to sign with a generic error."""
    if profile.certify and reader.embedded_signatures:
        raise DocumentLocked("already_signed", "a certification signature must be the first signature")
    certification = read_certification_data(reader)
    if certification is not None and certification.permission == MDPPerm.NO_CHANGES:
        raise DocumentLocked("no_changes", "the certification signature permits no changes (DocMDP P=1)")


def _check_fixed_placement(reader: PdfFileReader, field_name: str, placement: StampPlacement) -> None:
    """Reject a stamp for an existing field without a box, and a placement other than the field's.

    A field without a box (reserved on a full page) raises reason
    ``"field_invisible"``, because pyHanko would sign it without drawing the stamp.
    """
    page_index, box = _field_widget_position(reader, field_name)
    if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
        raise StampPlacementError(
            "field_invisible",
            f"the signature field {field_name} has no box, so it cannot show a stamp. Sign without a stamp",
            page_index,
        )
    if placement.box is None and placement.page == -1:
        return
    page_count = reader.root["/Pages"]["/Count"]
    requested_page = placement.page + page_count if placement.page < 0 else placement.page
    same_box = placement.box is None or all(
        abs(requested - actual) <= _BOX_TOLERANCE for requested, actual in zip(placement.box, box)
    )
    if requested_page != page_index or not same_box:
        raise StampPlacementError(
            "field_position_fixed",
            f"the signature field {field_name} is fixed on page {page_index + 1} at "
            f"({', '.join(f'{value:.1f}' for value in box)}). Sign without a page and box",
            page_index,
        )


def _field_widget_position(reader: PdfFileReader, field_name: str) -> tuple[int, tuple[float, float, float, float]]:
    """Return the zero-based page index and the /Rect of a top-level signature field's widget."""
    for entry in reader.root["/AcroForm"]["/Fields"]:
        field = entry.get_object()
        if str(field.get("/T")) != field_name:
            continue
        widget = field if "/Rect" in field else field["/Kids"][0].get_object()
        x1, y1, x2, y2 = (float(value) for value in widget["/Rect"])
        page_ref = widget.get_value_as_reference("/P", optional=True)
        for index in range(reader.root["/Pages"]["/Count"]):
            if page_ref is not None and reader.find_page_for_modification(index)[0].reference == page_ref:
                return index, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        # pyHanko 0.38 puts an invisible field's widget on a page too, so only a
        # malformed field lacks /P. Its box is then reported as empty.
        return 0, (0.0, 0.0, 0.0, 0.0)
    raise SignatureFieldInUse(field_name, "the field has no widget on a page")


def _open_writer(source: BinaryIO) -> IncrementalPdfFileWriter:
    """Open ``source`` for an incremental update, strictly unless it has hybrid cross-references.

    pyHanko raises SigningError for a strictly read file that combines a
    classic xref table with an /XRefStm stream. Such hybrid-reference files are
    valid PDF (ISO 32000-1, 7.5.8.4) and some writers still produce them for
    PDF 1.4 readers, so they are read again in non-strict mode. Other damage
    still raises, because the strict reader sees it first.
    """
    try:
        source.seek(0)
        reader = PdfFileReader(source, strict=True)
        if reader.encrypted:
            raise InvalidDocument("encrypted_pdf", "the PDF has an /Encrypt dictionary")
        if reader.xrefs.hybrid_xrefs_present:
            # NOTE: a validator that reads the result strictly rejects it for
            # the same reason, so validation of these files needs strict=False.
            logger.info("PDF has hybrid cross-reference sections, signing it in non-strict mode")
            reader = PdfFileReader(source, strict=False)
        # The reader and the writer share the input stream, as pyHanko's
        # writer does when it opens its own reader.
        return IncrementalPdfFileWriter(source, prev=reader)
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


def _check_requested_field(reader: PdfFileReader, field_name: str) -> bool:
    """Allow an existing field only if it is an empty signature field, which pyHanko then fills.

    Returns whether the field exists.
    """
    field = _form_fields(reader).get(field_name)
    if field is None:
        return False
    if field.field_type != "/Sig":
        raise SignatureFieldInUse(field_name, "a form field with this name exists and is not a signature field")
    if field.signed:
        raise SignatureFieldInUse(field_name, "the signature field is already signed")
    return True


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
