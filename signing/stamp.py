"""Visible signature stamps with Bengali text, and their place on the page.

A stamp is a pyHanko :class:`~pyhanko.stamp.TextStampStyle` whose text is shaped
with HarfBuzz (:class:`~pyhanko.pdf_utils.font.opentype.GlyphAccumulatorFactory`),
so conjuncts, vowel signs and Bengali digits come out right both on screen and
in the text layer. The bundled font is Noto Sans Bengali (SIL Open Font License,
see ``signing/fonts/OFL.txt``); it has Bengali letters and digits, ASCII
punctuation and ASCII digits, but no Latin letters.

The stamp text is given as ready lines. Formatting the date, for example with
``service.bengali.format_dual_date_bn``, is left to the caller, so this package
does not depend on the web service.

A visible signature is made with pyHanko's own signer::

    style = stamp_style(stamp_lines(name, designation, office, date_line))
    spec = visible_field_spec(data, "Signature1", style)
    PdfSigner(metadata, signer=signer, stamp_style=style, new_field_spec=spec)

:class:`VisibleStamp` holds the same inputs in one frozen object.

By default :func:`visible_field_spec` puts the stamp on the last page, below
the last content and aligned with its right edge, or, when there is no room
there, at the lowest free place. A place is free when the rendered page has no
non-white pixel in the stamp's box widened by a clearance. Existing signature
stamps count as content.
"""

from __future__ import annotations

import io
import logging
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pypdfium2
from fontTools.ttLib import TTFont, TTLibError
from PIL import Image, ImageDraw
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.text import TextBox, TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter, PdfFileWriter
from pyhanko.sign.fields import SigFieldSpec
from pyhanko.stamp import TextStampStyle

from signing.errors import InvalidDocument, SigningError

__all__ = [
    "BOLD_FONT",
    "REGULAR_FONT",
    "Box",
    "StampPlacement",
    "StampPlacementError",
    "StampTextError",
    "VisibleStamp",
    "RESERVED_FIELD_SIZE",
    "find_stamp_box",
    "reserved_field_specs",
    "stamp_lines",
    "stamp_size",
    "stamp_style",
    "visible_field_spec",
]

logger = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR_FONT = FONTS_DIR / "NotoSansBengali-Regular.ttf"
BOLD_FONT = FONTS_DIR / "NotoSansBengali-Bold.ttf"

Box = tuple[float, float, float, float]
"""A rectangle in PDF user space (points, origin at the bottom left): (x1, y1, x2, y2)."""

# HarfBuzz handles these joiners even when the font's cmap has no entry for
# them. Bengali uses ZWNJ and ZWJ to choose between conjunct and visible hasanta.
_DEFAULT_IGNORABLES = frozenset({0x200C, 0x200D})

# A rendered pixel darker than this grey level (0 black, 255 white) counts as content.
_INK_LEVEL = 250
# Render at 2 pixels per point, but never more than this many pixels on the
# longer side, so a poster-sized page does not allocate gigabytes.
_RENDER_SCALE = 2.0
_MAX_RENDER_SIDE = 4000
# Step of the search for free space, in points.
_SEARCH_STEP = 4.0
# A stamp wider than the free width is shrunk, pyHanko scaling its text with
# it, but not below this factor, where 9 pt text would be smaller than 6 pt.
_MIN_SHRINK = 0.66

# PDFium is not thread-safe, so every use in this module holds this lock.
_pdfium_lock = threading.Lock()


class StampTextError(SigningError, ValueError):
    """The stamp text is empty, has a line break inside a line, or has characters the font lacks.

    ``characters`` lists the characters the font has no glyph for, if that is the problem.
    """

    def __init__(self, detail: str, characters: Sequence[str] = ()) -> None:
        super().__init__(f"invalid stamp text: {detail}")
        self.detail = detail
        self.characters = tuple(characters)


class StampPlacementError(SigningError):
    """The stamp cannot be placed as requested.

    ``reason`` is ``"page_out_of_range"``, ``"invalid_box"``, ``"rotated_page"``
    or ``"no_free_space"``. ``page`` is the zero-based page index, if known.
    """

    def __init__(self, reason: str, detail: str, page: int | None = None) -> None:
        super().__init__(f"cannot place the signature stamp ({reason}): {detail}")
        self.reason = reason
        self.detail = detail
        self.page = page


@dataclass(frozen=True)
class StampPlacement:
    """Page and position of a stamp: an explicit box, or None for automatic placement."""

    page: int = -1
    """Zero-based page index. Negative values count from the end, so -1 is the last page."""
    box: Box | None = None
    """Explicit rectangle in PDF user space (points). None finds free space automatically."""
    margin: float = 36.0
    """Distance in points from the edges of the crop box that automatic placement keeps free."""
    clearance: float = 12.0
    """Distance in points from any page content that automatic placement keeps free."""

    def __post_init__(self) -> None:
        if self.margin < 0 or self.clearance < 0:
            raise ValueError("StampPlacement.margin and clearance must not be negative")
        if self.box is not None:
            x1, y1, x2, y2 = (float(value) for value in self.box)
            if x2 <= x1 or y2 <= y1:
                raise StampPlacementError(
                    "invalid_box", f"box {self.box} must be (x1, y1, x2, y2) with x1 < x2 and y1 < y2"
                )
            object.__setattr__(self, "box", (x1, y1, x2, y2))


@dataclass(frozen=True)
class VisibleStamp:
    """Text, font and placement of one visible signature stamp, as a signing profile can carry it."""

    lines: tuple[str, ...]
    placement: StampPlacement = StampPlacement()
    font_path: Path = REGULAR_FONT
    font_size: int = 9

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "font_path", Path(self.font_path))
        _check_lines(self.lines, self.font_path)

    def style(self) -> TextStampStyle:
        """Return the pyHanko stamp style, for ``PdfSigner(stamp_style=...)``."""
        return stamp_style(self.lines, self.font_path, font_size=self.font_size)

    def field_spec(self, data: bytes | Path, field_name: str) -> SigFieldSpec:
        """Return the new signature field for ``data``, for ``PdfSigner(new_field_spec=...)``."""
        return visible_field_spec(data, field_name, self.style(), self.placement)


@dataclass(frozen=True)
class _InMemoryFontFactory(GlyphAccumulatorFactory):
    """A GlyphAccumulatorFactory that reads the font file once and shapes from memory.

    pyHanko 0.38's factory opens the font file for every font engine and never
    closes it, so each stamp left an open file until garbage collection.
    """

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream=None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(_font_bytes(self.font_file)),
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )


def stamp_lines(name: str, designation: str, office: str, date_line: str) -> tuple[str, ...]:
    """Return the lines of a signature block: name, designation, office and the signing date.

    ``date_line`` is already formatted, for example "১১ আশ্বিন ১৪২৮ / ২৬ সেপ্টেম্বর ২০২১".
    Surrounding whitespace is removed, and every part must be non-empty.
    """
    parts = {"name": name, "designation": designation, "office": office, "date_line": date_line}
    lines = []
    for label, value in parts.items():
        value = value.strip()
        if not value:
            raise StampTextError(f"{label} is empty")
        lines.append(value)
    return tuple(lines)


def stamp_style(
    lines: Sequence[str],
    font_path: Path = REGULAR_FONT,
    *,
    font_size: int = 9,
    leading: int | None = None,
    border_width: int = 1,
) -> TextStampStyle:
    """Build a text stamp style that shows ``lines`` in the given OpenType font.

    ``font_size`` and ``leading`` are in points (pyHanko writes them as
    integers). The default leading is 1.5 times the font size, because Bengali
    vowel signs reach far above and below the baseline. Raises
    :class:`StampTextError` for an empty text, a line containing a line break or
    a control character, or a character the font has no glyph for.
    """
    lines = tuple(lines)
    _check_lines(lines, Path(font_path))
    if leading is None:
        leading = round(font_size * 1.5)

    text_box_style = TextBoxStyle(
        font=_InMemoryFontFactory(str(font_path), font_size=font_size, bcp47_lang_code="bn"),
        font_size=font_size,
        leading=leading,
        box_layout_rule=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(round(font_size * 0.8)),
        ),
    )
    # The stamp text is a %-format template for pyHanko's parameters (signer,
    # ts), so a literal percent sign has to be doubled.
    template = "\n".join(line.replace("%", "%%") for line in lines)
    return TextStampStyle(stamp_text=template, text_box_style=text_box_style, border_width=border_width)


def stamp_size(style: TextStampStyle) -> tuple[float, float]:
    """Return the natural width and height of a stamp from :func:`stamp_style`, in points.

    The text is shaped once with the style's font to measure it, text box margins included.
    """
    text = style.stamp_text.replace("%%", "%")
    text_box = TextBox(style.text_box_style, writer=PdfFileWriter())
    text_box.content = text
    text_box.render()
    return float(text_box.box.width), float(text_box.box.height)


def visible_field_spec(
    data: bytes | Path,
    field_name: str,
    style: TextStampStyle,
    placement: StampPlacement | None = None,
) -> SigFieldSpec:
    """Return the spec of a new visible signature field for the stamp ``style`` in the PDF ``data``.

    With ``placement.box`` the field takes that box on ``placement.page``.
    Otherwise :func:`find_stamp_box` chooses a free box on that page. Raises
    :class:`StampPlacementError` and, for unreadable PDFs,
    :class:`~signing.errors.InvalidDocument`.
    """
    placement = placement or StampPlacement()
    if placement.box is not None:
        page_index, box = _check_explicit_box(data, placement)
    else:
        page_index, box = find_stamp_box(
            data, stamp_size(style), page=placement.page, margin=placement.margin, clearance=placement.clearance
        )
    logger.info("signature stamp for field %s on page %d at %s", field_name, page_index + 1, _format_box(box))
    return SigFieldSpec(sig_field_name=field_name, on_page=page_index, box=box)


def find_stamp_box(
    data: bytes | Path,
    size: tuple[float, float],
    *,
    page: int = -1,
    margin: float = 36.0,
    clearance: float = 12.0,
    occupied: Sequence[Box] = (),
) -> tuple[int, Box]:
    """Find a free box of ``size`` (width, height in points) on a page and return (page index, box).

    The page is rendered, with form fields and annotations, and the box must
    stay ``margin`` points inside the crop box and ``clearance`` points away
    from every non-white pixel and from every box in ``occupied`` (boxes that
    the same update fills, which the rendering cannot show yet). Candidates in
    order of preference:

    1. below the lowest content, right-aligned with the content's right edge,
       then with the right margin, then left-aligned;
    2. from the bottom margin upwards, with the same horizontal positions.

    A stamp wider than the free width is narrowed, keeping its proportions,
    down to two thirds of its size. Raises :class:`StampPlacementError` with
    reason ``"no_free_space"`` when no box fits, ``"rotated_page"`` for a page
    with /Rotate, and ``"page_out_of_range"``.
    """
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"stamp size must be positive, not {size}")

    with _pdfium_lock:
        page_index, crop_box, ink = _render_ink(data, page)
    left, bottom, right, top = crop_box
    scale = ink.width / (right - left)
    if occupied:
        draw = ImageDraw.Draw(ink)
        for x1, y1, x2, y2 in occupied:
            draw.rectangle(((x1 - left) * scale, (top - y2) * scale, (x2 - left) * scale, (top - y1) * scale), fill=255)

    usable = (left + margin, bottom + margin, right - margin, top - margin)
    usable_width = usable[2] - usable[0]
    if width > usable_width:
        shrink = usable_width / width
        if shrink < _MIN_SHRINK:
            raise StampPlacementError(
                "no_free_space",
                f"the stamp is {width:.0f} pt wide but page {page_index + 1} has {usable_width:.0f} pt "
                "between its margins. Use shorter lines or a smaller font",
                page_index,
            )
        width, height = width * shrink, height * shrink

    content = ink.getbbox()
    if content is not None:
        content_left = left + content[0] / scale
        content_right = left + content[2] / scale
        content_bottom = top - content[3] / scale
    else:
        # A blank page: the first candidate is then the top right corner of the usable area.
        content_left, content_right, content_bottom = usable[0], usable[2], usable[3] + clearance + 1.0

    x_candidates = []
    for x in (min(content_right, usable[2]) - width, usable[2] - width, max(content_left, usable[0]), usable[0]):
        if usable[0] <= x <= usable[2] - width and x not in x_candidates:
            x_candidates.append(x)

    # One extra point below the content absorbs the rounding of point to pixel
    # coordinates, which could otherwise catch the content's last pixel row.
    y_candidates = [content_bottom - clearance - 1.0 - height]
    y = usable[1]
    while y + height <= usable[3]:
        y_candidates.append(y)
        y += _SEARCH_STEP

    for y in y_candidates:
        if y < usable[1] or y + height > usable[3]:
            continue
        for x in x_candidates:
            box = (x, y, x + width, y + height)
            if _is_free(ink, crop_box, scale, box, clearance):
                return page_index, box

    raise StampPlacementError(
        "no_free_space",
        f"page {page_index + 1} has no free area of {width:.0f} x {height:.0f} pt "
        f"with {clearance:g} pt clearance. Give the stamp an explicit page and box",
        page_index,
    )


RESERVED_FIELD_SIZE = (180.0, 70.0)
"""Size in points of a field reserved for a later signer whose stamp is not known yet.

A four-line stamp at 9 pt with the designation "উপ-নিয়ন্ত্রক (সাইবার অপরাধ ও নিরাপত্তা)"
measured 165 x 70 pt. A longer stamp is scaled down by pyHanko to fit the field.
"""


def reserved_field_specs(
    data: bytes | Path,
    names: Sequence[str],
    size: tuple[float, float] = RESERVED_FIELD_SIZE,
    *,
    page: int = -1,
    occupied: Sequence[Box] = (),
) -> list[SigFieldSpec]:
    """Return empty signature fields named ``names``, each placed by :func:`find_stamp_box`.

    The fields go on ``page`` in free space that neither overlaps ``occupied``
    nor each other, in the order of ``names``. A field that does not fit
    (``no_free_space`` or ``rotated_page``) gets no box and so stays
    invisible: a certification must not fail only because its page is full,
    and the later signer can still sign, without a stamp. Other placement
    errors raise :class:`StampPlacementError`.
    """
    taken = list(occupied)
    specs = []
    for name in names:
        try:
            page_index, box = find_stamp_box(data, size, page=page, occupied=taken)
        except StampPlacementError as exc:
            if exc.reason not in ("no_free_space", "rotated_page"):
                raise
            logger.warning("signature field %s reserved without a box, so it stays invisible: %s", name, exc.detail)
            specs.append(SigFieldSpec(sig_field_name=name))
            continue
        taken.append(box)
        logger.info("reserved signature field %s on page %d at %s", name, page_index + 1, _format_box(box))
        specs.append(SigFieldSpec(sig_field_name=name, on_page=page_index, box=box))
    return specs


@contextmanager
def _open_page(data: bytes | Path, page: int) -> Iterator[tuple[pypdfium2.PdfDocument, pypdfium2.PdfPage, int]]:
    """Open ``data`` with PDFium and yield the document, the page and its zero-based index.

    ``data`` is the PDF's bytes or the path of a PDF file, which PDFium reads
    as it needs it instead of loading the whole file.

    The caller must hold ``_pdfium_lock``.
    """
    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise InvalidDocument("malformed_pdf", f"PDFium cannot open the PDF: {exc}") from exc
    try:
        page_count = len(document)
        page_index = page + page_count if page < 0 else page
        if not 0 <= page_index < page_count:
            raise StampPlacementError(
                "page_out_of_range", f"page index {page} is outside a document of {page_count} pages"
            )
        # Widgets of existing signature fields are drawn only with the form environment,
        # which must be set up before a page is loaded.
        document.init_forms()
        pdf_page = document[page_index]
        try:
            yield document, pdf_page, page_index
        finally:
            pdf_page.close()
    except pypdfium2.PdfiumError as exc:
        raise InvalidDocument("malformed_pdf", f"PDFium cannot read page {page} of the PDF: {exc}") from exc
    finally:
        document.close()


def _render_ink(data: bytes | Path, page: int) -> tuple[int, Box, Image.Image]:
    """Render a page in grey and return its index, its crop box and a mask of non-white pixels."""
    with _open_page(data, page) as (_, pdf_page, page_index):
        # NOTE: pyHanko draws the stamp in the page's unrotated user space, so on
        # a page with /Rotate it would appear turned. Automatic placement rejects
        # such pages, and an explicit box is accepted but shows the same turn.
        rotation = pdf_page.get_rotation() % 360
        if rotation:
            raise StampPlacementError(
                "rotated_page",
                f"page {page_index + 1} is rotated by {rotation} degrees; "
                "automatic placement supports unrotated pages only",
                page_index,
            )
        crop_box = _crop_box(pdf_page)
        longer_side = max(crop_box[2] - crop_box[0], crop_box[3] - crop_box[1])
        scale = min(_RENDER_SCALE, _MAX_RENDER_SIDE / longer_side)
        bitmap = pdf_page.render(scale=scale, grayscale=True, may_draw_forms=True, draw_annots=True)
        grey = bitmap.to_pil().convert("L")

    ink = grey.point(lambda level: 255 if level < _INK_LEVEL else 0)
    return page_index, crop_box, ink


def _crop_box(pdf_page: pypdfium2.PdfPage) -> Box:
    left, bottom, right, top = (float(value) for value in pdf_page.get_cropbox())
    return left, bottom, right, top


def _is_free(ink: Image.Image, crop_box: Box, scale: float, box: Box, clearance: float) -> bool:
    left, _, _, top = crop_box
    x1, y1, x2, y2 = box
    # Pixel rows count downwards from the top of the crop box.
    region = (
        max(0, int((x1 - clearance - left) * scale)),
        max(0, int((top - y2 - clearance) * scale)),
        min(ink.width, int((x2 + clearance - left) * scale) + 1),
        min(ink.height, int((top - y1 + clearance) * scale) + 1),
    )
    return ink.crop(region).getbbox() is None


def _check_explicit_box(data: bytes | Path, placement: StampPlacement) -> tuple[int, Box]:
    assert placement.box is not None
    with _pdfium_lock, _open_page(data, placement.page) as (_, pdf_page, page_index):
        crop_box = _crop_box(pdf_page)

    x1, y1, x2, y2 = placement.box
    if x1 < crop_box[0] or y1 < crop_box[1] or x2 > crop_box[2] or y2 > crop_box[3]:
        raise StampPlacementError(
            "invalid_box",
            f"box {_format_box(placement.box)} is not inside the visible area {_format_box(crop_box)} "
            f"of page {page_index + 1}",
            page_index,
        )
    return page_index, placement.box


def _check_lines(lines: tuple[str, ...], font_path: Path) -> None:
    if not lines or not any(line.strip() for line in lines):
        raise StampTextError("the stamp has no text")
    for number, line in enumerate(lines, start=1):
        if "\n" in line or "\r" in line:
            raise StampTextError(f"line {number} contains a line break. Pass each line separately")
        controls = [char for char in line if unicodedata.category(char) == "Cc"]
        if controls:
            raise StampTextError(f"line {number} contains control characters", controls)

    supported = _font_code_points(str(font_path))
    missing = sorted(
        {char for line in lines for char in line if ord(char) not in supported and ord(char) not in _DEFAULT_IGNORABLES}
    )
    if missing:
        listed = ", ".join(f"{char!r} (U+{ord(char):04X})" for char in missing)
        raise StampTextError(f"the font {font_path.name} has no glyph for {listed}", missing)


@lru_cache(maxsize=8)
def _font_bytes(font_path: str) -> bytes:
    try:
        return Path(font_path).read_bytes()
    except OSError as exc:
        raise StampTextError(f"the font file {font_path} cannot be read ({exc.strerror})") from exc


@lru_cache(maxsize=8)
def _font_code_points(font_path: str) -> frozenset[int]:
    try:
        with TTFont(io.BytesIO(_font_bytes(font_path)), lazy=True) as font:
            return frozenset(font.getBestCmap())
    except TTLibError as exc:
        raise StampTextError(f"the font file {font_path} is not a TrueType or OpenType font ({exc})") from exc


def _format_box(box: Sequence[float]) -> str:
    return "(" + ", ".join(f"{value:.1f}" for value in box) + ")"
