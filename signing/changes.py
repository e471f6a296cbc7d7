"""Changes made by one incremental update of a PDF, sorted by their meaning for earlier signatures.

:func:`revision_changes` compares a revision with the one before it and sorts
each change into one of three lists:

- benign: an added signature, document time-stamp or DSS, housekeeping
  metadata (modification date, producer), an invisible empty signature field;
- questionable: changed /Info or XMP metadata, page content, page resources
  (fonts, XObjects, ...), page boxes, annotations, catalog entries such as
  /OpenAction or /OCProperties, form settings such as /NeedAppearances, or a
  replaced document catalog;
- forbidden: cross-reference entries that point objects back to bytes written
  before the update. This is how the hide-and-replace shadow attack activates a
  document prepared before signing, and no incremental writer does it.

Each description names its revision, so a report shows what changed where.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from xml.etree import ElementTree

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.xref import ObjStreamRef

from signing.page_changes import ObjectDigester, TooComplexToCompare, compare_pages, deref
from signing.revisions import DocumentFacts, shorten

__all__ = ["RevisionChanges", "revision_changes"]

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
# Catalog entries compared elsewhere (/Pages, /Metadata), or that signing and
# long-term validation data legitimately add: /AcroForm for the signature field,
# /DSS, /Extensions for the ESIC developer extension of PAdES, and /Version when
# a writer raises the PDF version.
_CATALOG_KEYS_NOT_COMPARED = frozenset(
    {"/Type", "/Pages", "/Metadata", "/AcroForm", "/DSS", "/Extensions", "/Version"}
)
# Form entries that signing changes: the field list, signature flags, default resources and appearance.
_ACROFORM_KEYS_NOT_COMPARED = frozenset({"/Fields", "/SigFlags", "/DR", "/DA"})


@dataclass
class RevisionChanges:
    """Descriptions of what one revision changes, by severity."""

    benign: list[str] = field(default_factory=list)
    questionable: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)


def revision_changes(document: DocumentFacts, revision: int) -> RevisionChanges:
    """Describe what ``revision`` changes compared with ``revision - 1``; cached per document.

    Never raises: a part that cannot be compared is reported as questionable.
    """
    key = ("revision_changes", revision)
    if key not in document.cache:
        try:
            document.cache[key] = _describe(document, revision)
        except Exception as exc:  # a revision that cannot be read at all
            logger.warning("cannot compare revision %d: %s", revision, exc)
            reason = f"revision {revision} cannot be compared: {type(exc).__name__}: {shorten(str(exc))}"
            document.cache[key] = RevisionChanges(questionable=[reason])
    return document.cache[key]


def _describe(document: DocumentFacts, revision: int) -> RevisionChanges:
    changes = RevisionChanges()
    signed_here = [entry for entry in document.signatures + document.timestamps if entry.revision == revision]
    for entry in document.signatures:
        if entry.revision == revision:
            changes.benign.append(f"revision {revision} adds signature {entry.name!r}")
    for entry in document.timestamps:
        if entry.revision == revision:
            changes.benign.append(f"revision {revision} adds document time-stamp {entry.name!r}")
    if revision in document.dss_revisions:
        changes.benign.append(f"revision {revision} adds or updates the document security store (DSS)")

    reader = document.reader
    old = reader.get_historical_resolver(revision - 1)
    new = reader.get_historical_resolver(revision)
    old_digester = _digester(document, revision - 1, old)
    new_digester = _digester(document, revision, new)
    partial_names = frozenset(entry.name.rsplit(".", 1)[-1] for entry in signed_here)

    steps = (
        ("cross-reference section", lambda: changes.forbidden.extend(_xref_redirections(document, revision))),
        ("document information dictionary", lambda: _info_changes(old, new, revision, changes)),
        ("XMP metadata", lambda: _xmp_changes(old, new, revision, changes)),
        ("document catalog", lambda: _catalog_changes(old, new, old_digester, new_digester, revision, changes)),
        ("pages", lambda: _page_changes(old, new, old_digester, new_digester, revision, partial_names, changes)),
    )
    for part, step in steps:
        try:
            step()
        except TooComplexToCompare as exc:
            changes.questionable.append(f"the {part} of revision {revision} is too large to compare: {exc}")
        except Exception as exc:  # malformed objects raise assorted pyHanko errors
            logger.warning("cannot compare the %s of revision %d: %s", part, revision, exc)
            changes.questionable.append(
                f"the {part} of revision {revision} cannot be compared: {type(exc).__name__}: {shorten(str(exc))}"
            )
    return changes


def _digester(document: DocumentFacts, revision: int, resolver) -> ObjectDigester:
    key = ("digester", revision)
    if key not in document.cache:
        document.cache[key] = ObjectDigester(resolver)
    return document.cache[key]


def _xref_redirections(document: DocumentFacts, revision: int) -> list[str]:
    """Find xref entries of ``revision`` that point objects to bytes written before it.

    An entry that lists an object where the previous revision had it already is
    a harmless repetition. Any other entry into earlier bytes, or into an object
    stream written earlier, activates an object that was prepared but unused.
    """
    xrefs = document.reader.xrefs
    start = document.revision_ends[revision - 1]
    data = xrefs.get_xref_data(revision)
    sections = [data] + ([data.hybrid.xref_data] if data.hybrid is not None else [])
    found = []
    for section in sections:
        for idnum, (generation, offset) in section.standard_xrefs.items():
            ref = generic.Reference(idnum, generation)
            if offset < start and xrefs.get_historical_ref(ref, revision - 1) != offset:
                found.append(
                    f"revision {revision} points object {idnum} {generation} R to offset {offset} "
                    f"in revision {document.revision_of_offset(offset)}, bytes written before the "
                    f"update and not used by the previous revision"
                )
        for idnum, location in section.xrefs_in_objstm.items():
            stream_ref = generic.Reference(location.obj_stream_id, 0)
            stream_offset = xrefs.get_historical_ref(stream_ref, revision)
            previous = xrefs.get_historical_ref(generic.Reference(idnum, 0), revision - 1)
            unchanged = isinstance(previous, ObjStreamRef) and previous == location
            if isinstance(stream_offset, int) and stream_offset < start and not unchanged:
                found.append(
                    f"revision {revision} takes object {idnum} 0 R from object stream "
                    f"{location.obj_stream_id} written in revision {document.revision_of_offset(stream_offset)}, "
                    f"before the update"
                )
    return found


def _info_changes(old, new, revision: int, changes: RevisionChanges) -> None:
    old_info = _info_dict(old)
    new_info = _info_dict(new)
    keys = [
        key
        for key in sorted(set(old_info) | set(new_info))
        if _info_value(old, old_info.raw_get(key) if key in old_info else None)
        != _info_value(new, new_info.raw_get(key) if key in new_info else None)
    ]
    if not keys:
        return
    description = f"document information dictionary changed in revision {revision}: {', '.join(keys)}"
    housekeeping = set(keys) <= HOUSEKEEPING_INFO_KEYS
    (changes.benign if housekeeping else changes.questionable).append(description)


def _info_dict(resolver) -> generic.DictionaryObject:
    trailer = resolver.trailer_view
    info = deref(resolver, trailer.raw_get("/Info")) if "/Info" in trailer else None
    return info if isinstance(info, generic.DictionaryObject) else generic.DictionaryObject()


def _info_value(resolver, obj) -> str | None:
    return None if obj is None else repr(deref(resolver, obj))


def _xmp_changes(old, new, revision: int, changes: RevisionChanges) -> None:
    old_xmp = _xmp_bytes(old)
    new_xmp = _xmp_bytes(new)
    if old_xmp == new_xmp:
        return
    description = f"XMP metadata stream changed in revision {revision}"
    if _xmp_content(old_xmp) == _xmp_content(new_xmp):
        changes.benign.append(f"{description}: modification date, producer or instance ID only")
    else:
        changes.questionable.append(description)


def _xmp_bytes(resolver) -> bytes | None:
    root = resolver.root
    stream = deref(resolver, root.raw_get("/Metadata")) if "/Metadata" in root else None
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


def _catalog_changes(old, new, old_digester, new_digester, revision: int, changes: RevisionChanges) -> None:
    old_root = old.trailer_view.raw_get("/Root")
    new_root = new.trailer_view.raw_get("/Root")
    old_ref = old_root.reference if isinstance(old_root, generic.IndirectObject) else None
    new_ref = new_root.reference if isinstance(new_root, generic.IndirectObject) else None
    if old_ref != new_ref:
        changes.questionable.append(
            f"revision {revision} replaces the document catalog: /Root {_format_ref(old_ref)} "
            f"became {_format_ref(new_ref)}"
        )

    old_catalog, new_catalog = old.root, new.root
    keys = _changed_keys(old_catalog, new_catalog, old_digester, new_digester, _CATALOG_KEYS_NOT_COMPARED)
    if keys:
        changes.questionable.append(f"revision {revision} changes catalog entries {', '.join(keys)}")

    old_form = _form(old, old_catalog)
    new_form = _form(new, new_catalog)
    keys = _changed_keys(old_form, new_form, old_digester, new_digester, _ACROFORM_KEYS_NOT_COMPARED)
    if keys:
        changes.questionable.append(f"revision {revision} changes form entries {', '.join(keys)} in /AcroForm")


def _format_ref(ref: generic.Reference | None) -> str:
    return "a direct object" if ref is None else f"{ref.idnum} {ref.generation} R"


def _form(resolver, catalog: generic.DictionaryObject) -> generic.DictionaryObject:
    form = deref(resolver, catalog.raw_get("/AcroForm")) if "/AcroForm" in catalog else None
    return form if isinstance(form, generic.DictionaryObject) else generic.DictionaryObject()


def _changed_keys(old_dict, new_dict, old_digester, new_digester, ignored: frozenset[str]) -> list[str]:
    changed = []
    for key in sorted(set(old_dict) | set(new_dict)):
        if key in ignored:
            continue
        if key not in old_dict or key not in new_dict:
            changed.append(key)
        elif old_digester.digest(old_dict.raw_get(key)) != new_digester.digest(new_dict.raw_get(key)):
            changed.append(key)
    return changed


def _page_changes(old, new, old_digester, new_digester, revision, partial_names, changes: RevisionChanges) -> None:
    pages = compare_pages(old, new, old_digester, new_digester, revision, partial_names)
    changes.benign.extend(pages.benign)
    changes.questionable.extend(pages.questionable)
