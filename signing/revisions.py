"""Document structure of a signed PDF: its revisions and what each update changes.

:func:`open_pdf` opens the file and retries up to an earlier ``%%EOF`` line when
appended bytes break parsing. :class:`DocumentFacts` contains the trailing byte
count, the signature and document time-stamp fields and the revisions that change
the document security store (DSS). It also describes the /Info, XMP metadata and
page content changes of each revision. :func:`review_integrity` checks a
signature's byte range coverage and runs pyHanko's difference analysis on every
revision after the signed one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from xml.etree import ElementTree

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from signing.errors import InvalidDocument

__all__ = ["DocumentFacts", "FieldEntry", "open_pdf", "review_integrity", "shorten"]

logger = logging.getLogger(__name__)

# /Info entries that signing software rewrites on every update. A change limited to
# these in a later revision does not make an earlier signature questionable.
HOUSEKEEPING_INFO_KEYS = frozenset({"/ModDate", "/Producer"})
# The same for XMP metadata (ElementTree names), plus the XMP toolkit name.
HOUSEKEEPING_XMP_PROPERTIES = frozenset(
    {
        "{http://ns.adobe.com/xap/1.0/}ModifyDate",
        "{http://ns.adobe.com/xap/1.0/}MetadataDate",
        "{http://ns.adobe.com/pdf/1.3/}Producer",
        "{http://ns.adobe.com/xap/1.0/mm/}InstanceID",
        "{adobe:ns:meta/}xmptk",
    }
)

_EOF_LINE = re.compile(rb"startxref\s+(\d+)\s*%%EOF(?:\r\n|\r|\n)?")


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


@dataclass
class DocumentFacts:
    """Facts about the whole file shared by the reports of all its signatures."""

    reader: PdfFileReader
    trailing_bytes: int
    signatures: list[FieldEntry]
    timestamps: list[FieldEntry]
    signed_field_names: frozenset[str]
    """Names of the fields that hold a signature or a document time-stamp."""
    dss_revisions: frozenset[int]
    revision_notes: dict[int, tuple[list[str], list[str]]] = field(default_factory=dict)

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

        return cls(
            reader=reader,
            trailing_bytes=_trailing_byte_count(reader, data),
            signatures=signatures,
            timestamps=timestamps,
            signed_field_names=frozenset(entry.name for entry in signatures + timestamps),
            dss_revisions=_dss_revisions(reader),
        )

    @property
    def last_revision(self) -> int:
        return self.reader.xrefs.total_revisions - 1

    def notes_for_revision(self, revision: int) -> tuple[list[str], list[str]]:
        """Return (benign, questionable) change descriptions for one revision."""
        if revision not in self.revision_notes:
            self.revision_notes[revision] = _describe_revision(self, revision)
        return self.revision_notes[revision]


def _parse_field(reader: PdfFileReader, name: str, value, sig_field) -> FieldEntry:
    try:
        revision = reader.xrefs.get_last_change(value.reference)
    except Exception:  # a direct /V object has no reference of its own
        revision = reader.xrefs.total_revisions - 1
    try:
        signature = EmbeddedPdfSignature(reader, sig_field, name)
    except Exception as exc:  # unparseable /ByteRange, /Contents or CMS structure
        logger.warning("cannot parse signature field %r: %s", name, exc)
        return FieldEntry(name=name, revision=revision, signature=None, error=exc)
    return FieldEntry(name=name, revision=signature.signed_revision, signature=signature)


def _is_document_timestamp(entry: FieldEntry, value) -> bool:
    if entry.signature is not None:
        return entry.signature.sig_object_type == "/DocTimeStamp"
    try:
        return value.get_object().get("/Type") == "/DocTimeStamp"
    except Exception:  # an unreadable value is reported as an unparseable signature
        return False


def _trailing_byte_count(reader: PdfFileReader, data: bytes) -> int:
    """Count the bytes after the ``startxref``/``%%EOF`` lines of the last revision."""
    xrefs = reader.xrefs
    last = xrefs.total_revisions - 1
    startxref = xrefs.get_startxref_for_revision(last)
    search_from = xrefs.get_xref_container_info(last).end_location
    for match in _EOF_LINE.finditer(data, search_from):
        if int(match.group(1)) == startxref:
            return len(data) - match.end()
    # The reader accepted the file, but no end-of-file lines follow the last xref
    # section, so the last %%EOF marker in the file marks the end instead.
    position = data.rfind(b"%%EOF")
    if position < 0:
        return 0
    return len(data) - _end_of_eof_line(data, position)


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
        root = reader.get_historical_resolver(revision).root
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


def _describe_revision(document: DocumentFacts, revision: int) -> tuple[list[str], list[str]]:
    """Describe what an incremental update changes, split into benign and questionable."""
    reader = document.reader
    benign: list[str] = []
    questionable: list[str] = []

    for entry in document.signatures:
        if entry.revision == revision:
            benign.append(f"revision {revision} adds signature {entry.name!r}")
    for entry in document.timestamps:
        if entry.revision == revision:
            benign.append(f"revision {revision} adds document time-stamp {entry.name!r}")
    if revision in document.dss_revisions:
        benign.append(f"revision {revision} adds or updates the document security store (DSS)")

    old = reader.get_historical_resolver(revision - 1)
    new = reader.get_historical_resolver(revision)
    changed_refs = reader.xrefs.explicit_refs_in_revision(revision)

    info_keys = _info_changes(old, new)
    if info_keys:
        description = (
            f"document information dictionary changed in revision {revision}: "
            f"{', '.join(info_keys)}"
        )
        housekeeping = set(info_keys) <= HOUSEKEEPING_INFO_KEYS
        (benign if housekeeping else questionable).append(description)

    old_xmp = _xmp_bytes(old)
    new_xmp = _xmp_bytes(new)
    if old_xmp != new_xmp:
        description = f"XMP metadata stream changed in revision {revision}"
        if _xmp_content(old_xmp) == _xmp_content(new_xmp):
            benign.append(f"{description}: modification date, producer or instance ID only")
        else:
            questionable.append(description)

    questionable.extend(_page_changes(old, new, changed_refs, revision))
    return benign, questionable


def _deref(resolver, obj):
    """Resolve a reference in the given revision.

    References taken from ``trailer_view`` would otherwise resolve in the latest revision.
    """
    if isinstance(obj, generic.IndirectObject):
        return resolver.get_object(obj.reference)
    return obj


def _info_changes(old, new) -> list[str]:
    """Return the /Info keys added, removed or changed between two revisions."""
    old_info = _info_dict(old)
    new_info = _info_dict(new)
    keys = sorted(set(old_info) | set(new_info))
    return [
        key
        for key in keys
        if _info_value(old, old_info.raw_get(key) if key in old_info else None)
        != _info_value(new, new_info.raw_get(key) if key in new_info else None)
    ]


def _info_dict(resolver) -> generic.DictionaryObject:
    trailer = resolver.trailer_view
    info = _deref(resolver, trailer.raw_get("/Info")) if "/Info" in trailer else None
    return info if isinstance(info, generic.DictionaryObject) else generic.DictionaryObject()


def _info_value(resolver, obj) -> str | None:
    return None if obj is None else repr(_deref(resolver, obj))


def _xmp_bytes(resolver) -> bytes | None:
    root = resolver.root
    stream = _deref(resolver, root.raw_get("/Metadata")) if "/Metadata" in root else None
    if not isinstance(stream, generic.StreamObject):
        return None
    try:
        return stream.read_data(DecodePurpose.XMP_METADATA)
    except misc.PdfError:
        # Undecodable metadata is compared as raw bytes.
        return stream.encoded_data


def _xmp_content(encoded: bytes | None) -> object:
    """Return a comparable form of XMP metadata without housekeeping properties.

    Unparseable metadata is returned as is, so any byte change counts as a change.
    """
    if encoded is None:
        return None
    try:
        root = ElementTree.fromstring(encoded)
    except ElementTree.ParseError:
        return encoded
    content = []
    for element in root.iter():
        if element.tag in HOUSEKEEPING_XMP_PROPERTIES:
            continue
        attributes = sorted(
            (name, value)
            for name, value in element.attrib.items()
            if name not in HOUSEKEEPING_XMP_PROPERTIES
        )
        content.append((element.tag, tuple(attributes), (element.text or "").strip()))
    return content


def _page_changes(old, new, changed_refs: set, revision: int) -> list[str]:
    old_pages = _page_list(old)
    new_pages = _page_list(new)
    changes = []
    if len(old_pages) != len(new_pages):
        changes.append(
            f"revision {revision} changes the number of pages from {len(old_pages)} "
            f"to {len(new_pages)}"
        )
    for index, ((old_ref, old_page), (new_ref, new_page)) in enumerate(
        zip(old_pages, new_pages), start=1
    ):
        # Only pages whose dictionary or content streams were rewritten can differ.
        touched = {new_ref} | set(_content_refs(new_page))
        if new_ref == old_ref and not touched & changed_refs:
            continue
        if _page_content(old, old_page) != _page_content(new, new_page):
            changes.append(f"content of page {index} changed in revision {revision}")
    return changes


def _page_list(resolver) -> list[tuple[generic.Reference | None, generic.DictionaryObject]]:
    """Return the pages of one revision in order, as (reference, page dictionary)."""
    pages: list[tuple[generic.Reference | None, generic.DictionaryObject]] = []
    seen: set[generic.Reference] = set()

    def visit(raw, depth: int) -> None:
        ref = raw.reference if isinstance(raw, generic.IndirectObject) else None
        node = _deref(resolver, raw)
        if depth > 64 or not isinstance(node, generic.DictionaryObject) or ref in seen:
            return
        if ref is not None:
            seen.add(ref)
        if "/Kids" in node:
            kids = _deref(resolver, node.raw_get("/Kids"))
            if isinstance(kids, generic.ArrayObject):
                for index in range(len(kids)):
                    visit(kids.raw_get(index), depth + 1)
        else:
            pages.append((ref, node))

    root = resolver.root
    if "/Pages" in root:
        visit(root.raw_get("/Pages"), 0)
    return pages


def _content_refs(page: generic.DictionaryObject) -> list[generic.Reference]:
    if "/Contents" not in page:
        return []
    raw = page.raw_get("/Contents")
    items = [raw.raw_get(i) for i in range(len(raw))] if isinstance(raw, generic.ArrayObject) else [raw]
    return [item.reference for item in items if isinstance(item, generic.IndirectObject)]


def _page_content(resolver, page: generic.DictionaryObject) -> list[bytes]:
    """Return the encoded bytes of a page's content streams."""
    if "/Contents" not in page:
        return []
    contents = _deref(resolver, page.raw_get("/Contents"))
    if isinstance(contents, generic.ArrayObject):
        items = [_deref(resolver, contents.raw_get(i)) for i in range(len(contents))]
    else:
        items = [contents]
    return [item.encoded_data for item in items if isinstance(item, generic.StreamObject)]


# --- integrity of the signed revision and of the updates after it ----------------------


@dataclass
class _IntegrityFindings:
    coverage: str
    revisions_after: int
    modified_after_signing: bool
    modification_level: str | None
    changes: list[str]
    failures: list[str]
    """Reasons for TOTAL_FAILED/FORMAT_FAILURE."""
    doubts: list[str]
    """Reasons for INDETERMINATE/FORMAT_FAILURE."""


def review_integrity(signature: EmbeddedPdfSignature, document: DocumentFacts) -> _IntegrityFindings:
    # Digest and coverage only: the difference analysis runs below, one revision at a
    # time, so that a rejected update can be attributed to its revision.
    signature.compute_integrity_info(skip_diff=True)
    coverage = signature.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE and document.trailing_bytes:
        # The reader saw only the data up to the end of the last revision.
        coverage = SignatureCoverageLevel.ENTIRE_REVISION
    signed_revision = signature.signed_revision
    revisions_after = document.last_revision - signed_revision
    findings = _IntegrityFindings(
        coverage=coverage.name,
        revisions_after=revisions_after,
        modified_after_signing=revisions_after > 0 or coverage != SignatureCoverageLevel.ENTIRE_FILE,
        modification_level=None,
        changes=[],
        failures=[],
        doubts=[],
    )

    if coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        reason = "the signature's byte range does not cover a complete revision of the file"
        findings.changes.append(reason)
        findings.failures.append(reason)
    else:
        for revision in range(signed_revision + 1, document.last_revision + 1):
            benign, questionable = document.notes_for_revision(revision)
            findings.changes.extend(benign + questionable)
            findings.doubts.extend(questionable)
        _review_updates(signature, document, findings)

    if document.trailing_bytes:
        reason = (
            f"{document.trailing_bytes} bytes after the end of the last revision "
            f"(after %%EOF) are not part of any revision"
        )
        findings.changes.append(reason)
        findings.doubts.append(reason)
    return findings


def _review_updates(
    signature: EmbeddedPdfSignature, document: DocumentFacts, findings: _IntegrityFindings
) -> None:
    """Run pyHanko's difference analysis on each revision after the signed one."""
    reader = document.reader
    base = reader.get_historical_resolver(signature.signed_revision)
    level = ModificationLevel.NONE
    changed_fields: set[str] = set()

    for revision in range(signature.signed_revision + 1, document.last_revision + 1):
        try:
            result = DEFAULT_DIFF_POLICY.apply(
                old=base,
                new=reader.get_historical_resolver(revision),
                field_mdp_spec=signature.fieldmdp,
                doc_mdp=signature.docmdp_level,
            )
        except SuspiciousModification as exc:
            reason = (
                f"revision {revision} contains changes that are not permitted after "
                f"signing: {shorten(str(exc))}"
            )
            findings.modification_level = ModificationLevel.OTHER.name
            findings.changes.append(reason)
            findings.failures.append(reason)
            return
        level = max(level, result.modification_level)
        changed_fields |= result.changed_form_fields

    findings.modification_level = level.name
    docmdp = signature.docmdp_level
    if docmdp is not None and level.value > docmdp.value:
        reason = (
            f"changes after signing ({level.name}) exceed the DocMDP permissions "
            f"({docmdp.name}) of this certification signature"
        )
        findings.changes.append(reason)
        findings.failures.append(reason)
    if level == ModificationLevel.ANNOTATIONS:
        reason = "annotations were added, changed or removed after signing"
        findings.changes.append(reason)
        findings.doubts.append(reason)
    for name in sorted(changed_fields - document.signed_field_names):
        reason = f"form field {name!r} was filled or changed after signing"
        findings.changes.append(reason)
        findings.doubts.append(reason)


def shorten(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
