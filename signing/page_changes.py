"""Changes that an incremental update makes to the pages of a PDF.

Pages are compared by position between two revisions. The comparison covers
their content streams and each named resource (fonts, XObjects, ExtGState,
ColorSpace, Pattern, Shading, Properties) with everything it references. It
also covers the page boxes and rotation, other page entries such as page
actions, and every annotation. Objects are compared by a SHA-256 digest of
their resolved value in each revision, so a font program or an XObject
rewritten under the same object number counts as changed, and an object
rewritten unchanged does not.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from pyhanko.pdf_utils import generic

__all__ = [
    "ObjectDigester",
    "PageChanges",
    "PageState",
    "TooComplexToCompare",
    "compare_pages",
    "deref",
    "page_list",
]

# Page attributes that a page inherits from its ancestors in the page tree (ISO 32000-1, 7.7.3.4).
_INHERITABLE = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
# Page entries compared on their own below, or that point back up the tree.
_PAGE_KEYS_COMPARED_APART = frozenset({"/Parent", "/Annots", "/Contents", "/Resources", "/Type"})
_GEOMETRY_KEYS = ("/MediaBox", "/CropBox", "/Rotate", "/UserUnit")
# Back links to the page or the parent field. They would make every annotation
# digest depend on the whole page.
_BACK_LINK_KEYS = frozenset({"/Parent", "/P"})
_RESOURCE_LABELS = {
    "/Font": "font",
    "/XObject": "XObject",
    "/ExtGState": "ExtGState",
    "/ColorSpace": "ColorSpace",
    "/Pattern": "Pattern",
    "/Shading": "Shading",
    "/Properties": "Properties",
}
# Objects resolved per revision before a comparison gives up. Large enough for
# documents of hundreds of pages with shared fonts, small enough to bound the time.
MAX_OBJECTS_PER_REVISION = 200_000
# Signature widget annotation flags: Hidden (bit 2) and NoView (bit 6), ISO 32000-1, 12.5.3.
_INVISIBLE_FLAGS = 2 | 32


class TooComplexToCompare(Exception):
    """A revision references more objects than a comparison resolves."""


def deref(resolver, obj):
    """Resolve a reference in the given revision.

    References taken from ``trailer_view`` or from resolved dictionaries would
    otherwise resolve in the latest revision.
    """
    if isinstance(obj, generic.IndirectObject):
        return resolver.get_object(obj.reference)
    return obj


class ObjectDigester:
    """SHA-256 digests of PDF objects with every reference resolved in one revision."""

    def __init__(self, resolver, limit: int = MAX_OBJECTS_PER_REVISION) -> None:
        self.resolver = resolver
        self.limit = limit
        self._resolved = 0
        self._memo: dict[generic.Reference, bytes] = {}
        self._in_progress: set[generic.Reference] = set()

    def digest(self, obj) -> bytes:
        """Return the digest of ``obj``; raises :class:`TooComplexToCompare` past the limit."""
        if isinstance(obj, generic.IndirectObject):
            return self._reference_digest(obj.reference)
        hasher = hashlib.sha256()
        self._feed(obj, hasher)
        return hasher.digest()

    def _reference_digest(self, ref: generic.Reference) -> bytes:
        if ref in self._memo:
            return self._memo[ref]
        if ref in self._in_progress:
            # A cycle: the object is identified by its number instead of its value.
            return hashlib.sha256(b"cycle %d %d" % (ref.idnum, ref.generation)).digest()
        self._resolved += 1
        if self._resolved > self.limit:
            raise TooComplexToCompare(f"more than {self.limit} objects")
        self._in_progress.add(ref)
        try:
            target = self.resolver.get_object(ref)
            hasher = hashlib.sha256()
            self._feed(target, hasher)
            result = hasher.digest()
        finally:
            self._in_progress.discard(ref)
        self._memo[ref] = result
        return result

    def _feed(self, obj, hasher) -> None:
        if isinstance(obj, generic.IndirectObject):
            hasher.update(b"R" + self._reference_digest(obj.reference))
        elif isinstance(obj, generic.DictionaryObject):
            hasher.update(b"<<")
            for key in sorted(obj):
                if key in _BACK_LINK_KEYS:
                    continue
                hasher.update(key.encode("latin-1") + b" ")
                self._feed(obj.raw_get(key), hasher)
            hasher.update(b">>")
            if isinstance(obj, generic.StreamObject):
                hasher.update(b"stream" + hashlib.sha256(obj.encoded_data).digest())
        elif isinstance(obj, generic.ArrayObject):
            hasher.update(b"[")
            for index in range(len(obj)):
                self._feed(obj.raw_get(index), hasher)
            hasher.update(b"]")
        else:
            hasher.update(type(obj).__name__.encode() + b":" + repr(obj).encode() + b";")


@dataclass
class PageState:
    """A page of one revision with the attributes it inherits from the page tree."""

    reference: generic.Reference | None
    page: generic.DictionaryObject
    inherited: dict[str, generic.PdfObject]

    def attribute(self, key: str):
        """Return the raw value of a page attribute, inherited if the page has none."""
        if key in self.page:
            return self.page.raw_get(key)
        return self.inherited.get(key)


def page_list(resolver) -> list[PageState]:
    """Return the pages of one revision in order, with their inherited attributes."""
    pages: list[PageState] = []
    seen: set[generic.Reference] = set()

    def visit(raw, depth: int, inherited: dict) -> None:
        ref = raw.reference if isinstance(raw, generic.IndirectObject) else None
        node = deref(resolver, raw)
        if depth > 64 or not isinstance(node, generic.DictionaryObject) or ref in seen:
            return
        if ref is not None:
            seen.add(ref)
        if "/Kids" in node:
            passed_on = dict(inherited)
            for key in _INHERITABLE:
                if key in node:
                    passed_on[key] = node.raw_get(key)
            kids = deref(resolver, node.raw_get("/Kids"))
            if isinstance(kids, generic.ArrayObject):
                for index in range(len(kids)):
                    visit(kids.raw_get(index), depth + 1, passed_on)
        else:
            pages.append(PageState(ref, node, inherited))

    root = resolver.root
    if "/Pages" in root:
        visit(root.raw_get("/Pages"), 0, {})
    return pages


@dataclass
class PageChanges:
    benign: list[str]
    questionable: list[str]


def compare_pages(
    old_resolver,
    new_resolver,
    old_digester: ObjectDigester,
    new_digester: ObjectDigester,
    revision: int,
    signed_in_revision: frozenset[str],
) -> PageChanges:
    """Describe how the pages of revision ``revision`` differ from those of the one before.

    ``signed_in_revision`` contains the partial names of the signature and
    document time-stamp fields that this revision fills. Their widgets are the
    expected visible part of a signature and are not reported.
    """
    old_pages = page_list(old_resolver)
    new_pages = page_list(new_resolver)
    changes = PageChanges(benign=[], questionable=[])
    if len(old_pages) != len(new_pages):
        changes.questionable.append(
            f"revision {revision} changes the number of pages from {len(old_pages)} to {len(new_pages)}"
        )

    changed_resources: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for index, (old, new) in enumerate(zip(old_pages, new_pages), start=1):
        if _content_bytes(old_resolver, old) != _content_bytes(new_resolver, new):
            changes.questionable.append(f"content of page {index} changed in revision {revision}")
        for key, verb in _resource_changes(old, new, old_digester, new_digester):
            changed_resources[(key[0], key[1], verb)].append(index)
        geometry = [key for key in _GEOMETRY_KEYS if _differs(old, new, key, old_digester, new_digester)]
        if geometry:
            changes.questionable.append(
                f"{', '.join(geometry)} of page {index} changed in revision {revision}"
            )
        other_keys = sorted(
            key
            for key in set(old.page) | set(new.page)
            if key not in _PAGE_KEYS_COMPARED_APART and key not in _GEOMETRY_KEYS
            and _differs(old, new, key, old_digester, new_digester)
        )
        if other_keys:
            changes.questionable.append(
                f"page {index} entries {', '.join(other_keys)} changed in revision {revision}"
            )
        _annotation_changes(old, new, old_digester, new_digester, index, revision, signed_in_revision, changes)

    for (category, name, verb), indexes in changed_resources.items():
        changes.questionable.append(
            f"{_RESOURCE_LABELS.get(category, category)} {name} of {_page_numbers(indexes)} {verb} "
            f"in revision {revision}"
        )
    return changes


def _page_numbers(indexes: list[int], listed: int = 10) -> str:
    if len(indexes) == 1:
        return f"page {indexes[0]}"
    text = "pages " + ", ".join(str(index) for index in indexes[:listed])
    if len(indexes) > listed:
        text += f" and {len(indexes) - listed} more"
    return text


def _page_value(state: PageState, key: str):
    if key in _INHERITABLE:
        return state.attribute(key)
    if key in state.page:
        return state.page.raw_get(key)
    return None


def _differs(old: PageState, new: PageState, key: str, old_digester, new_digester) -> bool:
    old_value = _page_value(old, key)
    new_value = _page_value(new, key)
    if old_value is None or new_value is None:
        return (old_value is None) != (new_value is None)
    return old_digester.digest(old_value) != new_digester.digest(new_value)


def _content_bytes(resolver, state: PageState) -> list[bytes]:
    """Return the encoded bytes of a page's content streams."""
    page = state.page
    if "/Contents" not in page:
        return []
    contents = deref(resolver, page.raw_get("/Contents"))
    if isinstance(contents, generic.ArrayObject):
        items = [deref(resolver, contents.raw_get(i)) for i in range(len(contents))]
    else:
        items = [contents]
    return [item.encoded_data for item in items if isinstance(item, generic.StreamObject)]


def _resource_changes(old: PageState, new: PageState, old_digester, new_digester):
    """Yield ((category, name), verb) for each named resource added, removed or changed."""
    old_resources = _as_dict(old_digester.resolver, old.attribute("/Resources"))
    new_resources = _as_dict(new_digester.resolver, new.attribute("/Resources"))
    for category in sorted(set(old_resources) | set(new_resources)):
        # /ProcSet is an array of obsolete procedure set names that no viewer draws with.
        if category == "/ProcSet":
            continue
        old_entries = _as_dict(old_digester.resolver, old_resources.raw_get(category) if category in old_resources else None)
        new_entries = _as_dict(new_digester.resolver, new_resources.raw_get(category) if category in new_resources else None)
        for name in sorted(set(old_entries) | set(new_entries)):
            if name not in old_entries:
                yield (category, name), "added"
            elif name not in new_entries:
                yield (category, name), "removed"
            elif old_digester.digest(old_entries.raw_get(name)) != new_digester.digest(new_entries.raw_get(name)):
                yield (category, name), "changed"


def _as_dict(resolver, raw) -> generic.DictionaryObject:
    value = deref(resolver, raw) if raw is not None else None
    return value if isinstance(value, generic.DictionaryObject) else generic.DictionaryObject()


def _annotations(resolver, state: PageState) -> list[tuple[object, generic.PdfObject, generic.DictionaryObject]]:
    """Return (identity, raw value, dictionary) for each annotation of a page.

    An annotation is identified by its reference, or by its position when it is a direct object.
    """
    raw = state.page.raw_get("/Annots") if "/Annots" in state.page else None
    annots = deref(resolver, raw) if raw is not None else None
    if not isinstance(annots, generic.ArrayObject):
        return []
    found = []
    for position in range(len(annots)):
        item = annots.raw_get(position)
        annotation = deref(resolver, item)
        if not isinstance(annotation, generic.DictionaryObject):
            continue
        identity = item.reference if isinstance(item, generic.IndirectObject) else ("direct", position)
        found.append((identity, item, annotation))
    return found


def _annotation_changes(
    old: PageState,
    new: PageState,
    old_digester: ObjectDigester,
    new_digester: ObjectDigester,
    index: int,
    revision: int,
    signed_in_revision: frozenset[str],
    changes: PageChanges,
) -> None:
    old_annotations = {identity: raw for identity, raw, _ in _annotations(old_digester.resolver, old)}
    for identity, raw, annotation in _annotations(new_digester.resolver, new):
        widget = _signature_widget(new_digester.resolver, annotation)
        if widget is not None and widget in signed_in_revision:
            old_annotations.pop(identity, None)
            continue
        description = _describe_annotation(new_digester.resolver, annotation)
        if identity not in old_annotations:
            if widget is not None and not _is_visible(new_digester.resolver, annotation):
                changes.benign.append(f"revision {revision} adds the empty signature field {widget!r}")
                continue
            changes.questionable.append(f"revision {revision} adds {description} to page {index}")
            continue
        old_raw = old_annotations.pop(identity)
        if old_digester.digest(old_raw) != new_digester.digest(raw):
            changes.questionable.append(f"revision {revision} changes {description} on page {index}")
    for raw in old_annotations.values():
        annotation = deref(old_digester.resolver, raw)
        if isinstance(annotation, generic.DictionaryObject):
            description = _describe_annotation(old_digester.resolver, annotation)
            changes.questionable.append(f"revision {revision} removes {description} from page {index}")


def _describe_annotation(resolver, annotation: generic.DictionaryObject) -> str:
    subtype = str(annotation.get("/Subtype", "/Unknown")).lstrip("/")
    text = f"a {subtype} annotation"
    name = _field_name(resolver, annotation)
    if name:
        text += f" of field {name!r}"
    rect = _rect(resolver, annotation)
    if rect is not None:
        text += " at [" + " ".join(f"{value:g}" for value in rect) + "]"
    return text


def _field_name(resolver, annotation: generic.DictionaryObject) -> str | None:
    node = annotation
    for _ in range(8):
        if "/T" in node:
            return str(deref(resolver, node.raw_get("/T")))
        parent = deref(resolver, node.raw_get("/Parent")) if "/Parent" in node else None
        if not isinstance(parent, generic.DictionaryObject):
            return None
        node = parent
    return None


def _signature_widget(resolver, annotation: generic.DictionaryObject) -> str | None:
    """Return the partial field name when the annotation is the widget of a signature field."""
    if annotation.get("/Subtype") != "/Widget":
        return None
    node = annotation
    for _ in range(8):
        if "/FT" in node:
            return _field_name(resolver, annotation) if node.get("/FT") == "/Sig" else None
        parent = deref(resolver, node.raw_get("/Parent")) if "/Parent" in node else None
        if not isinstance(parent, generic.DictionaryObject):
            return None
        node = parent
    return None


def _rect(resolver, annotation: generic.DictionaryObject) -> tuple[float, ...] | None:
    raw = deref(resolver, annotation.raw_get("/Rect")) if "/Rect" in annotation else None
    if not isinstance(raw, generic.ArrayObject) or len(raw) != 4:
        return None
    try:
        return tuple(round(float(deref(resolver, raw.raw_get(i))), 1) for i in range(4))
    except (TypeError, ValueError):
        return None


def _is_visible(resolver, annotation: generic.DictionaryObject) -> bool:
    flags = deref(resolver, annotation.raw_get("/F")) if "/F" in annotation else 0
    if isinstance(flags, int) and flags & _INVISIBLE_FLAGS:
        return False
    rect = _rect(resolver, annotation)
    return rect is not None and abs(rect[2] - rect[0]) > 0 and abs(rect[3] - rect[1]) > 0
