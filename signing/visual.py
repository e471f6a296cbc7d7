"""Visual comparison of each signed revision with the revisions after it.

A structural review can miss a change that a viewer shows, and a viewer can
show a document other than the one signed (shadow attacks). The EU DSS
validation policy has a check for this, PdfVisualDifference. Here each signed
revision is rendered with PDFium, the prefix of the file up to that revision's
``%%EOF`` line, and compared page by page with each later revision and with
the complete file. The widget rectangles of signatures
added later are masked, so a later visible signature stamp does not count as a
change. Content that such a stamp covers up does count.

Rendering is bounded by :class:`VisualSettings`: a low resolution, a maximum
number of pages per revision and of revisions per document, and a pixel limit
per page. A report notes when a bound applies. Rendering errors become warnings.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from PIL import Image, ImageChops
from pyhanko.pdf_utils import generic

from signing.page_changes import deref, page_list
from signing.rendering import RenderedDocument, RenderedPage, render_document
from signing.revisions import DocumentFacts, shorten

__all__ = ["VisualComparison", "VisualOutcome", "VisualSettings"]

logger = logging.getLogger(__name__)

FILE_STATE = "file"
"""The complete file, when bytes follow the last revision that the structure parser used."""


@dataclass(frozen=True)
class VisualSettings:
    """Bounds and thresholds of the visual comparison."""

    enabled: bool = True
    dpi: float = 50.0
    max_pages: int = 50
    """Pages rendered per revision; later pages are not compared visually."""
    max_revisions: int = 10
    """Revisions rendered after a signed one; the ones in between are skipped beyond this."""
    max_pixels_per_page: int = 1_000_000
    """Larger pages are rendered at a lower resolution. An A2 page at 50 dpi has about 970,000 pixels."""
    max_cached_pixels: int = 30_000_000
    """Rendered pages kept for reuse, at 3 bytes a pixel about 90 MB. Beyond this, the least
    recently used revision is dropped and rendered again when needed."""
    channel_tolerance: int = 48
    """A pixel differs when one of its red, green or blue values differs by more than this (0-255)."""
    min_changed_pixels: int = 3
    """A page looks different when at least this many pixels differ outside masked widgets."""
    mask_margin_pixels: int = 2
    """Pixels added around a masked widget for the anti-aliasing of its border."""

    def __post_init__(self) -> None:
        if not 10 <= self.dpi <= 300:
            raise ValueError(f"dpi must be between 10 and 300, not {self.dpi}")
        for name in ("max_pages", "max_revisions", "max_pixels_per_page", "max_cached_pixels", "min_changed_pixels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if not 0 <= self.channel_tolerance < 255:
            raise ValueError(f"channel_tolerance must be between 0 and 254, not {self.channel_tolerance}")


@dataclass
class VisualOutcome:
    """Result of comparing one signed revision with what follows it."""

    check: dict
    """``status`` (disabled, not_needed, passed, differences, failed), ``dpi``,
    ``pages_compared``, ``revisions_compared`` and ``notes`` on the bounds applied."""
    differences: list[dict] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Widget:
    name: str
    page_index: int
    rect: tuple[float, float, float, float]
    revision: int


class VisualComparison:
    """Renders the revisions of one document once and compares them for each signature."""

    def __init__(self, document: DocumentFacts, settings: VisualSettings) -> None:
        self.document = document
        self.settings = settings
        self._renders: OrderedDict[object, RenderedDocument | Exception] = OrderedDict()
        self._widgets: list[_Widget] | None = None

    def compare(self, signed_revision: int) -> VisualOutcome:
        """Compare the signed revision with every later revision and the complete file. Never raises."""
        settings = self.settings
        check = {
            "status": "disabled",
            "dpi": settings.dpi,
            "pages_compared": 0,
            "revisions_compared": [],
            "notes": [],
        }
        if not settings.enabled:
            return VisualOutcome(check=check)
        states: list[object] = list(range(signed_revision + 1, self.document.last_revision + 1))
        if self.document.trailing_bytes:
            states.append(FILE_STATE)
        if not states:
            check["status"] = "not_needed"
            return VisualOutcome(check=check)
        try:
            return self._compare(signed_revision, states, check)
        except Exception as exc:  # rendering must never stop the validation
            logger.exception("visual comparison of revision %d failed", signed_revision)
            check["status"] = "failed"
            return VisualOutcome(
                check=check,
                warnings=[f"visual comparison failed: {type(exc).__name__}: {shorten(str(exc))}"],
            )

    def _compare(self, signed_revision: int, states: list[object], check: dict) -> VisualOutcome:
        settings = self.settings
        outcome = VisualOutcome(check=check)
        if len(states) > settings.max_revisions:
            # The final states matter most because a viewer shows them, so the skipped ones are in between.
            skipped = states[settings.max_revisions - 1 : -1]
            states = states[: settings.max_revisions - 1] + states[-1:]
            if len(skipped) == 1:
                not_rendered = f"revision {skipped[0]} was not rendered"
            else:
                not_rendered = f"revisions {skipped[0]} to {skipped[-1]} were not rendered"
            check["notes"].append(
                f"{not_rendered} (limit of {settings.max_revisions} revisions), so a difference "
                f"there is attributed to the next rendered revision"
            )

        base = self._render(signed_revision)
        if isinstance(base, Exception):
            check["status"] = "failed"
            outcome.warnings.append(f"visual comparison failed: the signed revision {signed_revision} "
                                    f"cannot be rendered: {shorten(str(base))}")
            return outcome
        if base.page_count > len(base.pages):
            check["notes"].append(f"only the first {len(base.pages)} of {base.page_count} pages were compared")

        pending = set(range(len(base.pages)))
        count_reported = False
        for state in states:
            later = self._render(state, keep=signed_revision)
            if isinstance(later, Exception):
                outcome.warnings.append(f"visual comparison of {_state_name(state)} failed: {shorten(str(later))}")
                continue
            check["revisions_compared"].append(state)
            if later.resolution_reduced or base.resolution_reduced:
                note = "large pages were rendered below the requested resolution"
                if note not in check["notes"]:
                    check["notes"].append(note)
            if later.page_count != base.page_count and not count_reported:
                count_reported = True
                self._record(outcome, signed_revision, state, None, "page_count",
                             f"{_capitalized(_state_name(state))} has {later.page_count} pages, "
                             f"the signed revision {signed_revision} has {base.page_count}")
            widgets = self._widgets_between(signed_revision, state)
            for index in sorted(pending):
                if index >= len(later.pages):
                    continue
                if self._compare_page(outcome, signed_revision, state, index, base.pages[index],
                                      later.pages[index], widgets):
                    pending.discard(index)
        check["pages_compared"] = len(base.pages)
        if outcome.differences:
            check["status"] = "differences"
        elif check["revisions_compared"]:
            check["status"] = "passed"
        else:
            check["status"] = "failed"
        return outcome

    def _compare_page(self, outcome: VisualOutcome, signed_revision: int, state: object, index: int,
                      base: RenderedPage, later: RenderedPage, widgets: list[_Widget]) -> bool:
        """Compare one page and record a difference; return True when one was found."""
        settings = self.settings
        page_number = index + 1
        if base.image.size != later.image.size:
            self._record(outcome, signed_revision, state, page_number, "page_size",
                         f"page {page_number} has another size in {_state_name(state)} "
                         f"than in the signed revision {signed_revision}")
            return True

        changed = _changed_pixels(base.image, later.image, settings.channel_tolerance)
        found = False
        for widget in widgets:
            if widget.page_index != index:
                continue
            box = later.pixel_box(widget.rect, settings.mask_margin_pixels)
            if box is None:
                continue
            # Pixels that were dark in the signed revision and differ now: the stamp covers signed content.
            covered = ImageChops.multiply(changed.crop(box), _ink(base.image.crop(box)))
            covered_count = covered.histogram()[255]
            if covered_count >= settings.min_changed_pixels:
                found = True
                self._record(outcome, signed_revision, state, page_number, "covered_by_signature",
                             f"the widget of signature {widget.name!r} added in revision {widget.revision} "
                             f"covers content of page {page_number} signed in revision {signed_revision}",
                             pixels=covered_count, region=later.user_space_box(box))
            changed.paste(0, box)

        count = changed.histogram()[255]
        if count >= settings.min_changed_pixels:
            found = True
            bbox = changed.getbbox()
            self._record(outcome, signed_revision, state, page_number, "content",
                         f"page {page_number} looks different in {_state_name(state)} "
                         f"than in the signed revision {signed_revision}",
                         pixels=count, region=later.user_space_box(bbox) if bbox else None)
        return found

    @staticmethod
    def _record(outcome: VisualOutcome, signed_revision: int, state: object, page: int | None, kind: str,
                description: str, *, pixels: int | None = None, region: list[float] | None = None) -> None:
        outcome.descriptions.append(description)
        outcome.differences.append(
            {
                "page": page,
                "revision": None if state == FILE_STATE else state,
                "signed_revision": signed_revision,
                "kind": kind,
                "changed_pixels": pixels,
                "region": region,
            }
        )

    def _render(self, state: object, keep: object = None) -> RenderedDocument | Exception:
        """Render a revision, or the complete file, once; ``keep`` names a render not to drop now."""
        if state in self._renders:
            self._renders.move_to_end(state)
            return self._renders[state]
        document = self.document
        data = document.data if state == FILE_STATE else document.data[: document.revision_ends[state]]
        settings = self.settings
        try:
            rendered: RenderedDocument | Exception = render_document(
                data,
                dpi=settings.dpi,
                max_pages=settings.max_pages,
                max_pixels=settings.max_pixels_per_page,
            )
        except Exception as exc:  # PDFium and PIL raise assorted errors on hostile input
            logger.warning("cannot render %s: %s", _state_name(state), exc)
            rendered = exc
        self._renders[state] = rendered
        self._drop_old_renders(protected={state, keep})
        return rendered

    def _drop_old_renders(self, protected: set) -> None:
        def cached_pixels() -> int:
            return sum(item.pixels for item in self._renders.values() if isinstance(item, RenderedDocument))

        for state in list(self._renders):
            if cached_pixels() <= self.settings.max_cached_pixels:
                return
            if state not in protected:
                del self._renders[state]

    def _widgets_between(self, signed_revision: int, state: object) -> list[_Widget]:
        """Return the widgets of the signatures added after ``signed_revision`` up to ``state``."""
        last = self.document.last_revision if state == FILE_STATE else state
        return [widget for widget in self._signature_widgets() if signed_revision < widget.revision <= last]

    def _signature_widgets(self) -> list[_Widget]:
        """Find the widget of every parsed signature and document time-stamp in the last revision."""
        if self._widgets is not None:
            return self._widgets
        document = self.document
        revisions = {
            entry.name.rsplit(".", 1)[-1]: entry.revision
            for entry in document.signatures + document.timestamps
            if entry.signature is not None
        }
        resolver = document.reader.get_historical_resolver(document.last_revision)
        widgets = []
        for index, state in enumerate(page_list(resolver)[: self.settings.max_pages]):
            annots = deref(resolver, state.page.raw_get("/Annots")) if "/Annots" in state.page else None
            if not isinstance(annots, generic.ArrayObject):
                continue
            for position in range(len(annots)):
                annotation = deref(resolver, annots.raw_get(position))
                widget = _widget(resolver, annotation, index, revisions)
                if widget is not None:
                    widgets.append(widget)
        self._widgets = widgets
        return widgets


def _widget(resolver, annotation, index: int, revisions: dict[str, int]) -> _Widget | None:
    """Return the widget of a signature field named in ``revisions``, or None for any other annotation."""
    if not isinstance(annotation, generic.DictionaryObject) or annotation.get("/Subtype") != "/Widget":
        return None
    name = deref(resolver, annotation.raw_get("/T")) if "/T" in annotation else None
    if name is None and "/Parent" in annotation:
        parent = deref(resolver, annotation.raw_get("/Parent"))
        if isinstance(parent, generic.DictionaryObject) and "/T" in parent:
            name = deref(resolver, parent.raw_get("/T"))
    if name is None or str(name) not in revisions:
        return None
    rect = deref(resolver, annotation.raw_get("/Rect")) if "/Rect" in annotation else None
    if not isinstance(rect, generic.ArrayObject) or len(rect) != 4:
        return None
    try:
        values = tuple(float(deref(resolver, rect.raw_get(i))) for i in range(4))
    except (TypeError, ValueError):
        return None
    x1, y1, x2, y2 = values
    return _Widget(str(name), index, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), revisions[str(name)])


def _changed_pixels(base: Image.Image, later: Image.Image, tolerance: int) -> Image.Image:
    """Return a mask (mode L, 255 = changed) of pixels whose largest channel difference exceeds ``tolerance``."""
    red, green, blue = ImageChops.difference(base, later).split()
    largest = ImageChops.lighter(red, ImageChops.lighter(green, blue))
    return largest.point(lambda value: 255 if value > tolerance else 0)


def _ink(image: Image.Image) -> Image.Image:
    """Return a mask (mode L, 255 = ink) of the pixels that are clearly darker than white paper."""
    return image.convert("L").point(lambda value: 255 if value < 200 else 0)


def _state_name(state: object) -> str:
    if state == FILE_STATE:
        return "the complete file (with the bytes after its last revision)"
    return f"revision {state}"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
