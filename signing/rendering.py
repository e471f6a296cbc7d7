"""Rendering of PDF pages with PDFium for the visual comparison of revisions.

:func:`render_document` renders the first pages of a PDF, form widgets and
other annotations included, and records for each page how PDF user space maps
to its pixels, so rectangles such as a widget's /Rect can be located.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

import pypdfium2
import pypdfium2.raw as pdfium_c
from PIL import Image

# PDFium is not thread-safe, so this module holds the same lock as the stamp
# placement code, which renders pages as well.
from signing.stamp import _pdfium_lock

__all__ = ["RenderedDocument", "RenderedPage", "render_document"]

Transform = tuple[float, float, float, float, float, float]
"""Affine map from PDF user space to pixels: x' = a*x + c*y + e, y' = b*x + d*y + f."""

# Distance in points between the reference points used to measure the page-to-pixel
# map. PDFium returns whole pixels, so a long distance keeps the error below 0.1 %.
_PROBE = 1000.0


@dataclass
class RenderedPage:
    """One page rendered as an RGB image."""

    image: Image.Image
    transform: Transform

    def pixel_box(self, rect: tuple[float, float, float, float], margin: int = 0) -> tuple[int, int, int, int] | None:
        """Return the pixel box (left, top, right, bottom) that covers a PDF rectangle, clipped to the image."""
        a, b, c, d, e, f = self.transform
        x1, y1, x2, y2 = rect
        corners = [(a * x + c * y + e, b * x + d * y + f) for x in (x1, x2) for y in (y1, y2)]
        left = max(0, math.floor(min(x for x, _ in corners)) - margin)
        top = max(0, math.floor(min(y for _, y in corners)) - margin)
        right = min(self.image.width, math.ceil(max(x for x, _ in corners)) + margin)
        bottom = min(self.image.height, math.ceil(max(y for _, y in corners)) + margin)
        if right <= left or bottom <= top:
            return None
        return left, top, right, bottom

    def user_space_box(self, box: tuple[int, int, int, int]) -> list[float]:
        """Return the PDF rectangle [x1 y1 x2 y2] that a pixel box covers, rounded to points."""
        a, b, c, d, e, f = self.transform
        determinant = a * d - b * c
        left, top, right, bottom = box
        points = []
        for px, py in ((left, top), (right, bottom), (left, bottom), (right, top)):
            dx, dy = px - e, py - f
            points.append(((d * dx - c * dy) / determinant, (a * dy - b * dx) / determinant))
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        return [round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))]


@dataclass
class RenderedDocument:
    """The first pages of a PDF as images."""

    page_count: int
    pages: list[RenderedPage]
    resolution_reduced: bool
    """True when a page was rendered below the requested resolution to stay under the pixel limit."""

    @property
    def pixels(self) -> int:
        return sum(page.image.width * page.image.height for page in self.pages)


def render_document(data: bytes, *, dpi: float, max_pages: int, max_pixels: int) -> RenderedDocument:
    """Render up to ``max_pages`` pages of ``data`` at ``dpi``.

    A page larger than ``max_pixels`` at that resolution is rendered at a
    lower one. Raises :class:`pypdfium2.PdfiumError` when PDFium cannot open
    the file or a page.

    NOTE: the time PDFium spends on one page is not bounded, so a page with a
    huge content stream or pattern can make validation slow.
    """
    with _pdfium_lock:
        document = pypdfium2.PdfDocument(data)
        try:
            # Widgets are drawn only with the form environment, which must be set
            # up before a page is loaded.
            document.init_forms()
            page_count = len(document)
            pages = []
            reduced = False
            for index in range(min(page_count, max_pages)):
                page, page_reduced = _render_page(document, index, dpi, max_pixels)
                pages.append(page)
                reduced = reduced or page_reduced
        finally:
            document.close()
    return RenderedDocument(page_count=page_count, pages=pages, resolution_reduced=reduced)


def _render_page(document: pypdfium2.PdfDocument, index: int, dpi: float, max_pixels: int) -> tuple[RenderedPage, bool]:
    page = document[index]
    try:
        width, height = page.get_size()
        scale = dpi / 72
        reduced = False
        if width * height * scale * scale > max_pixels:
            scale = math.sqrt(max_pixels / (width * height))
            reduced = True
        bitmap = page.render(scale=scale, may_draw_forms=True, draw_annots=True)
        try:
            image = bitmap.to_pil().convert("RGB")
        finally:
            bitmap.close()
        transform = _page_transform(page, image.width, image.height)
    finally:
        page.close()
    return RenderedPage(image=image, transform=transform), reduced


def _page_transform(page: pypdfium2.PdfPage, width: int, height: int) -> Transform:
    """Measure the map from PDF user space to the pixels of a rendering of ``width`` x ``height``.

    PDFium's own conversion takes the crop box and the page's /Rotate into account.
    """

    def to_device(x: float, y: float) -> tuple[int, int]:
        device_x, device_y = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(
            page.raw, 0, 0, width, height, 0, x, y, ctypes.byref(device_x), ctypes.byref(device_y)
        )
        return device_x.value, device_y.value

    origin_x, origin_y = to_device(0.0, 0.0)
    x_axis = to_device(_PROBE, 0.0)
    y_axis = to_device(0.0, _PROBE)
    return (
        (x_axis[0] - origin_x) / _PROBE,
        (x_axis[1] - origin_y) / _PROBE,
        (y_axis[0] - origin_x) / _PROBE,
        (y_axis[1] - origin_y) / _PROBE,
        float(origin_x),
        float(origin_y),
    )
