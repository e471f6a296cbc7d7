"""An fpdf2 document for bilingual reports: fonts, shaped text with an exact text layer, rows.

Text is shaped with HarfBuzz (fpdf2's ``set_text_shaping``), so Bengali
conjuncts and vowel signs are drawn correctly. Shaping reorders glyphs, for
example the vowel sign ি before its consonant, and fpdf2 maps each glyph
cluster to its characters only through the font's ToUnicode map, which text
extraction then reads out of order or with spurious spaces. Every drawn line is
therefore wrapped in a marked-content span whose ``/ActualText`` is the line's
text (ISO 32000-1, 14.9.4), which PDF readers and poppler's pdftotext use
instead of the glyphs.

Noto Sans Bengali has no Latin letters and Noto Sans has no Bengali ones, so
each is the other's fallback font. Both are SIL OFL fonts in ``signing/fonts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

from signing.stamp import BOLD_FONT, FONTS_DIR, REGULAR_FONT

BENGALI = "bengali"
LATIN = "latin"
LATIN_REGULAR_FONT = FONTS_DIR / "NotoSans-Regular.ttf"
LATIN_BOLD_FONT = FONTS_DIR / "NotoSans-Bold.ttf"

# A4 page, in millimetres.
MARGIN = 16.0
LABEL_WIDTH = 58.0
LINE_HEIGHT_FACTOR = 1.45
POINTS_PER_MM = 72 / 25.4

TEXT_COLOUR = (20, 20, 20)
MUTED_COLOUR = (95, 95, 95)
RULE_COLOUR = (210, 210, 210)
HEADING_FILL = (232, 238, 246)

_BENGALI_BLOCK = range(0x0980, 0x0A00)


def has_bengali(text: str) -> bool:
    return any(ord(character) in _BENGALI_BLOCK for character in text)


@dataclass(frozen=True)
class Line:
    """One paragraph of a cell: its text and how it is set.

    ``style`` is ``text`` (regular, the font chosen by the script), ``muted``
    (smaller and grey, for the English beside Bengali) or ``strong`` (bold).
    """

    text: str
    style: str = "text"


def _pdf_text_string(text: str) -> str:
    """Encode a PDF text string as UTF-16BE with a byte order mark, in hexadecimal."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


class ReportDocument(FPDF):
    """An A4 document with both fonts loaded, shaping on and an exact text layer."""

    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.add_font(BENGALI, "", str(REGULAR_FONT))
        self.add_font(BENGALI, "B", str(BOLD_FONT))
        self.add_font(LATIN, "", str(LATIN_REGULAR_FONT))
        self.add_font(LATIN, "B", str(LATIN_BOLD_FONT))
        self.set_fallback_fonts([LATIN, BENGALI], exact_match=False)
        self.set_text_shaping(True)
        self.set_margins(MARGIN, MARGIN + 6, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 6)
        self.set_lang("bn")
        self.set_text_color(*TEXT_COLOUR)
        self.set_draw_color(*RULE_COLOUR)

    # --- text layer ---------------------------------------------------------------

    def _render_styled_text_line(self, text_line, h=None, *args, **kwargs):  # noqa: ANN001, ANN201
        # NOTE: this overrides a private method of fpdf2 (checked with 2.8.9, the pinned
        # version), through which cell() and multi_cell() draw every line.
        text = "".join("".join(fragment.characters) for fragment in text_line.fragments).rstrip()
        if not text:
            return super()._render_styled_text_line(text_line, h, *args, **kwargs)
        # Break the page before opening the span, so that it never spans two pages.
        if h is not None:
            self._perform_page_break_if_need_be(h)
        self._out(f"/Span <</ActualText {_pdf_text_string(text)}>> BDC")
        page_break = super()._render_styled_text_line(text_line, h, *args, **kwargs)
        self._out("EMC")
        return page_break

    # --- fonts --------------------------------------------------------------------

    def use_font(self, text: str, style: str = "text", size: float = 9.0) -> float:
        """Select the font for ``text`` in a line style and return the line height in mm."""
        family = BENGALI if has_bengali(text) else LATIN
        if style == "muted":
            self.set_font(family, "", size - 1.0)
            self.set_text_color(*MUTED_COLOUR)
        else:
            self.set_font(family, "B" if style == "strong" else "", size)
            self.set_text_color(*TEXT_COLOUR)
        return self.font_size_pt / POINTS_PER_MM * LINE_HEIGHT_FACTOR

    # --- blocks -------------------------------------------------------------------

    def lines_height(self, lines: list[Line], width: float, size: float = 9.0) -> float:
        height = 0.0
        for line in lines:
            line_height = self.use_font(line.text, line.style, size)
            height += self.multi_cell(
                width, line_height, line.text, align="L", dry_run=True, output=MethodReturnValue.HEIGHT
            )
        return height

    def draw_lines(self, x: float, lines: list[Line], width: float, size: float = 9.0) -> None:
        for line in lines:
            line_height = self.use_font(line.text, line.style, size)
            self.set_x(x)
            self.multi_cell(width, line_height, line.text, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)

    def keep_together(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fit on this one."""
        if self.will_page_break(height):
            self.add_page()

    def heading(self, bengali: str, english: str, size: float = 12.0) -> None:
        """Draw a shaded section heading with its Bengali and English titles."""
        self.keep_together(24)
        self.ln(3)
        top = self.get_y()
        width = self.epw
        self.set_fill_color(*HEADING_FILL)
        self.set_text_color(*TEXT_COLOUR)
        self.set_font(BENGALI, "B", size)
        height = self.font_size_pt / POINTS_PER_MM * 1.6
        self.rect(self.l_margin, top, width, height, style="F")
        self.set_xy(self.l_margin + 2, top)
        self.cell(text=bengali, h=height, new_x=XPos.END, new_y=YPos.TOP)
        self.set_font(LATIN, "", size - 2)
        self.set_text_color(*MUTED_COLOUR)
        self.cell(text="  " + english, h=height, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*TEXT_COLOUR)
        self.ln(1)

    def row(self, label: tuple[str, str], values: list[Line], indent: float = 0.0) -> None:
        """Draw a label (Bengali, English below it) beside its value lines, then a rule."""
        label_lines = [Line(label[0], "strong"), Line(label[1], "muted")]
        label_width = LABEL_WIDTH - indent
        value_width = self.epw - LABEL_WIDTH
        padding = 1.2
        if self._near_page_end():
            height = max(self.lines_height(label_lines, label_width, 8.5),
                         self.lines_height(values, value_width)) + 2 * padding
            self.keep_together(min(height, self.eph / 2))

        top = self.get_y() + padding
        start_page = self.page
        self.set_y(top)
        self.draw_lines(self.l_margin + indent, label_lines, label_width, 8.5)
        label_bottom = self.get_y()
        self.set_y(top)
        self.draw_lines(self.l_margin + LABEL_WIDTH, values, value_width)
        # A value longer than half a page may continue on the next one; the rule
        # then goes below the value alone.
        bottom = max(self.get_y(), label_bottom) if self.page == start_page else self.get_y()
        self.set_y(bottom + padding)
        self.line(self.l_margin + indent, self.get_y(), self.l_margin + self.epw, self.get_y())

    def _near_page_end(self) -> bool:
        """Return whether less than half a page is left.

        Blocks are kept together only up to half a page, so with more room left
        any block fits, and measuring it (a second shaping pass) can be skipped.
        """
        return self.will_page_break(self.eph / 2)

    def paragraph(self, lines: list[Line], size: float = 9.0) -> None:
        if self._near_page_end():
            self.keep_together(min(self.lines_height(lines, self.epw, size) + 2, self.eph / 2))
        self.draw_lines(self.l_margin, lines, self.epw, size)
        self.ln(1)

    def badge(self, text: str, fill: tuple[int, int, int], size: float = 11.0) -> None:
        """Draw ``text`` in bold white on a coloured band across the page."""
        self.use_font(text, "strong", size)
        height = self.font_size_pt / POINTS_PER_MM * 1.8
        self.keep_together(height + 2)
        self.set_fill_color(*fill)
        self.set_text_color(255, 255, 255)
        self.multi_cell(self.epw, height, text, fill=True, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT,
                        padding=(0, 3, 0, 3))
        self.set_text_color(*TEXT_COLOUR)
        self.ln(1.5)

    def page_furniture(self, running_title: str, footer_left: str, page_label) -> None:  # noqa: ANN001
        """Draw the running header (from page 2) and the footer on every finished page.

        ``page_label(number, total)`` returns the footer's page text. It runs after
        the content, so the total number of pages is known.
        """
        total = self.pages_count
        self.set_auto_page_break(False)
        for number in range(1, total + 1):
            self.page = number
            # fpdf2 tracks the font selected in the content stream of the page it
            # wrote last. An earlier page needs the font selected again.
            self.current_font_is_set_on_page = False
            if number > 1:
                self.set_xy(self.l_margin, MARGIN - 4)
                self.use_font(running_title, "muted", 8.5)
                self.cell(self.epw, 5, running_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                self.line(self.l_margin, MARGIN + 2, self.l_margin + self.epw, MARGIN + 2)
            footer_top = self.h - MARGIN - 2
            self.line(self.l_margin, footer_top, self.l_margin + self.epw, footer_top)
            self.set_xy(self.l_margin, footer_top + 1)
            self.use_font(footer_left, "muted", 8.5)
            self.cell(self.epw * 0.62, 5, footer_left)
            label = page_label(number, total)
            self.use_font(label, "muted", 8.5)
            self.set_xy(self.l_margin + self.epw * 0.62, footer_top + 1)
            self.cell(self.epw * 0.38, 5, label, align="R")
        self.page = total
