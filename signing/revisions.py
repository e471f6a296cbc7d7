"""Document structure of a signed PDF: its revisions and signature fields.

:func:`open_pdf` opens the file and retries up to an earlier ``%%EOF`` line when
appended bytes break parsing. :class:`DocumentFacts` contains the trailing byte
count, where each revision ends, the signature and document time-stamp fields
and the revisions that change the document security store (DSS).
:mod:`signing.changes` describes what each revision changes, and
:mod:`signing.integrity` decides what those changes mean for a signature.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from signing.errors import InvalidDocument

__all__ = ["DocumentFacts", "FieldEntry", "open_pdf", "pdf_header_offset", "shorten", "strict_reading_error"]

logger = logging.getLogger(__name__)

_EOF_LINE = re.compile(rb"startxref\s+(\d+)\s*%%EOF(?:\r\n|\r|\n)?")
_PDF_MAGIC = b"%PDF-"
# Acrobat accepts the header anywhere in the first 1024 bytes (PDF Reference
# 1.4, Appendix H.3, note on 3.4.1); ISO 32000-1, 7.5.2, and pyHanko require
# it at offset 0.
_HEADER_SEARCH_BYTES = 1024


def pdf_header_offset(data: bytes) -> int | None:
    """Return where ``%PDF-`` starts when bytes precede it within the first 1024, else None."""
    offset = data.find(_PDF_MAGIC, 0, _HEADER_SEARCH_BYTES)
    return offset if offset > 0 else None


def open_pdf(data: bytes) -> PdfFileReader:
    """Open a PDF, retrying on a prefix when bytes appended after ``%%EOF`` break parsing.

    pyHanko looks for the ``startxref`` and ``%%EOF`` lines near the end of the
    file, so a long or ``%%EOF``-containing tail makes it fail. The retry parses
    the data up to an earlier ``%%EOF`` line; the bytes after it are reported as
    trailing bytes.
    """
    if not data:
        raise InvalidDocument("empty", "the PDF is empty")
    try:
        reader = _read_pdf(data)
    except Exception as exc:  # pyHanko raises many types on malformed input
        reader = _read_pdf_prefix(data)
        if reader is None:
            raise InvalidDocument("malformed_pdf", f"cannot parse PDF: {exc}") from exc
        logger.warning("PDF parsed only up to an earlier %%EOF marker after: %s", exc)
    if reader.encrypted:
        try:
            opened = reader.decrypt(b"").status != AuthStatus.FAILED
        except Exception:  # public-key and unknown security handlers raise instead
            opened = False
        if not opened:
            raise InvalidDocument("encrypted_pdf", "the PDF is encrypted and needs a password or key")
    return reader


def strict_reading_error(data: bytes) -> str | None:
    """Return why pyHanko's strict reader rejects the file structure, or None when it accepts it.

    Validation always reads with ``strict=False``, which repairs what many
    writers get wrong: a ``startxref`` a few bytes off, a cross-reference
    table larger than the trailer's /Size, an object stream entry at the
    wrong index. The strict reader reports those, so a report can state that
    the file was only readable after such repairs. Only the cross-reference
    data and the catalog are read here; objects read later can still hold
    damage that the non-strict reader passes over.
    """
    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
        reader.root
    except Exception as exc:  # pyHanko raises many types on malformed input
        return f"{type(exc).__name__}: {shorten(str(exc))}"
    return None


def _read_pdf(data: bytes) -> PdfFileReader:
    reader = PdfFileReader(BytesIO(data), strict=False)
    reader.root  # forces the catalog to be read
    return reader


def _read_pdf_prefix(data: bytes, attempts: int = 8) -> PdfFileReader | None:
    end = len(data)
    for _ in range(attempts):
        position = data.rfind(b"%%EOF", 0, end)
        if position < 0:
            return None
        try:
            return _read_pdf(data[: _end_of_eof_line(data, position)])
        except Exception:  # as in open_pdf: try the next marker further back
            end = position
    return None


def _end_of_eof_line(data: bytes, position: int) -> int:
    """Return the offset after a ``%%EOF`` marker at ``position`` and its end-of-line."""
    end = position + len(b"%%EOF")
    for eol in (b"\r\n", b"\r", b"\n"):
        if data.startswith(eol, end):
            return end + len(eol)
    return end


# --- document structure ---------------------------------------------------------------


@dataclass
class FieldEntry:
    """A filled signature field, parsed or with the error that prevented parsing."""

    name: str
    revision: int
    signature: EmbeddedPdfSignature | None
    error: Exception | None = None
    sig_object: generic.PdfObject | None = None
    """The field's /V value as found, resolved when it is a reference."""
    sig_reference: generic.Reference | None = None
    """Reference of the signature dictionary, None when /V is a direct object."""


@dataclass
class DocumentFacts:
    """Facts about the whole file shared by the reports of all its signatures."""

    reader: PdfFileReader
    data: bytes
    trailing_bytes: int
    signatures: list[FieldEntry]
    timestamps: list[FieldEntry]
    signed_field_names: frozenset[str]
    """Names of the fields that hold a signature or a document time-stamp."""
    dss_revisions: frozenset[int]
    revision_ends: tuple[int, ...]
    """Offset after the ``%%EOF`` line of each revision, oldest first."""
    cache: dict = field(default_factory=dict)
    """Results computed once per document and shared by the reports of its signatures."""

    @classmethod
    def read(cls, reader: PdfFileReader, data: bytes) -> DocumentFacts:
        try:
            all_fields = list(enumerate_sig_fields(reader))
        except Exception as exc:  # malformed AcroForm trees raise assorted errors
            raise InvalidDocument("malformed_pdf", f"cannot read signature fields: {exc}") from exc

        signatures: list[FieldEntry] = []
        timestamps: list[FieldEntry] = []
        for name, value, sig_field in all_fields:
            if value is None:
                continue
            entry = _parse_field(reader, name, value, sig_field)
            (timestamps if _is_document_timestamp(entry, value) else signatures).append(entry)
        signatures.sort(key=lambda entry: entry.revision)
        timestamps.sort(key=lambda entry: entry.revision)

        revision_ends = _revision_ends(reader, data)
        return cls(
            reader=reader,
            data=data,
            trailing_bytes=len(data) - revision_ends[-1],
            signatures=signatures,
            timestamps=timestamps,
            signed_field_names=frozenset(entry.name for entry in signatures + timestamps),
            dss_revisions=_dss_revisions(reader),
            revision_ends=revision_ends,
        )

    @property
    def last_revision(self) -> int:
        return self.reader.xrefs.total_revisions - 1

    def revision_of_offset(self, offset: int) -> int:
        """Return the revision whose bytes contain ``offset``; past the last one, the last one."""
        for revision, end in enumerate(self.revision_ends):
            if offset < end:
                return revision
        return self.last_revision


def _parse_field(reader: PdfFileReader, name: str, value, sig_field) -> FieldEntry:
    # pyHanko's field names are TextStringObjects that refer to their reader,
    # and through it to the whole PDF; a report that kept one would keep the file.
    name = str(name)
    reference = value.reference if isinstance(value, generic.IndirectObject) else None
    try:
        revision = reader.xrefs.get_last_change(reference)
    except Exception:  # a direct /V object has no reference of its own
        revision = reader.xrefs.total_revisions - 1
    try:
        sig_object = value.get_object()
    except Exception:  # a dangling reference is reported as an unparseable signature
        sig_object = None
    try:
        signature = EmbeddedPdfSignature(reader, sig_field, name)
    except Exception as exc:  # unparseable /ByteRange, /Contents or CMS structure
        logger.warning("cannot parse signature field %r: %s", name, exc)
        return FieldEntry(
            name=name,
            revision=revision,
            signature=None,
            error=exc,
            sig_object=sig_object,
            sig_reference=reference,
        )
    return FieldEntry(
        name=name,
        revision=signature.signed_revision,
        signature=signature,
        sig_object=sig_object,
        sig_reference=reference,
    )


def _is_document_timestamp(entry: FieldEntry, value) -> bool:
    if entry.signature is not None:
        return entry.signature.sig_object_type == "/DocTimeStamp"
    try:
        return value.get_object().get("/Type") == "/DocTimeStamp"
    except Exception:  # an unreadable value is reported as an unparseable signature
        return False


def _revision_ends(reader: PdfFileReader, data: bytes) -> tuple[int, ...]:
    """Find the end of each revision: the end of the ``%%EOF`` line after its xref section."""
    xrefs = reader.xrefs
    ends = []
    for revision in range(xrefs.total_revisions):
        startxref = xrefs.get_startxref_for_revision(revision)
        search_from = xrefs.get_xref_container_info(revision).end_location
        end = None
        for match in _EOF_LINE.finditer(data, search_from):
            if int(match.group(1)) == startxref:
                end = match.end()
                break
        if end is None:
            end = _fallback_end(data, search_from, last=revision == xrefs.total_revisions - 1)
        ends.append(end)
    return tuple(ends)


def _fallback_end(data: bytes, search_from: int, *, last: bool) -> int:
    """End a revision whose xref section has no matching ``startxref``/``%%EOF`` lines."""
    # For the last revision, the last %%EOF marker in the file marks the end, so
    # bytes after it count as trailing bytes.
    position = data.rfind(b"%%EOF") if last else data.find(b"%%EOF", search_from)
    if position < search_from:
        return len(data) if last else search_from
    return _end_of_eof_line(data, position)


def _dss_revisions(reader: PdfFileReader) -> frozenset[int]:
    """Return the revisions that add or change the document security store."""
    try:
        return _find_dss_revisions(reader)
    except Exception as exc:  # a malformed DSS must not stop the validation
        logger.warning("cannot read the document security store: %s", exc)
        return frozenset()


def _find_dss_revisions(reader: PdfFileReader) -> frozenset[int]:
    revisions = set()
    previous = None
    for revision in range(reader.xrefs.total_revisions):
        try:
            root = reader.get_historical_resolver(revision).root
        except KeyError:
            # A linearized file's first-page cross-reference section counts as a
            # revision of its own but has no /Root (pyHanko 0.38); it has no DSS.
            previous = None
            continue
        dss = root.raw_get("/DSS") if "/DSS" in root else None
        if dss is None:
            previous = None
            continue
        refs = set(_refs_reachable(dss))
        changed = reader.xrefs.explicit_refs_in_revision(revision)
        if previous is None or refs != previous or refs & changed:
            revisions.add(revision)
        previous = refs
    return frozenset(revisions)


def _refs_reachable(obj, depth: int = 4) -> Iterator[generic.Reference]:
    """Yield references reachable from a DSS entry (dictionaries, arrays, streams)."""
    if isinstance(obj, generic.IndirectObject):
        yield obj.reference
        obj = obj.get_object()
    if depth == 0:
        return
    if isinstance(obj, generic.DictionaryObject):
        for key in obj:
            yield from _refs_reachable(obj.raw_get(key), depth - 1)
    elif isinstance(obj, generic.ArrayObject):
        for index in range(len(obj)):
            yield from _refs_reachable(obj.raw_get(index), depth - 1)


def shorten(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
