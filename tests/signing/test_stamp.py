"""Visible Bengali signature stamps from signing.stamp, signed with pyHanko's PdfSigner.

The text layer is read back with poppler's pdftotext and the pages are
rendered with pdftoppm (Debian package poppler-utils), so the checks do not
rely on PDFium, which signing.stamp uses to find free space.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageChops
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner

from service.bengali import format_dual_date_bn
from signing.stamp import (
    BOLD_FONT,
    REGULAR_FONT,
    StampPlacement,
    StampPlacementError,
    StampTextError,
    VisibleStamp,
    find_stamp_box,
    reserved_field_specs,
    stamp_lines,
    stamp_size,
    stamp_style,
    visible_field_spec,
)
from signing.validation import ValidationPolicy, load_certificates, validate_pdf
from tests.helpers import tools_required

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"
LAST_PAGE = 2

NAME = "মোহাম্মদ আব্দুল্লাহ আল মামুন"
DESIGNATION = "উপ-নিয়ন্ত্রক (সাইবার অপরাধ ও নিরাপত্তা)"
OFFICE = "ইলেক্ট্রনিক স্বাক্ষর সার্টিফিকেট প্রদানকারী কর্তৃপক্ষের নিয়ন্ত্রকের কার্যালয়"
DATE_LINE = "১১ আশ্বিন ১৪২৮ / ২৬ সেপ্টেম্বর ২০২১"
EXPECTED_LINES = (NAME, DESIGNATION, OFFICE, DATE_LINE)

needs_poppler = pytest.mark.skipif(
    (shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None) and not tools_required(),
    reason="pdftotext and pdftoppm not found: install the Debian package poppler-utils",
)


@pytest.fixture(scope="module")
def sample() -> bytes:
    return SAMPLE_PDF.read_bytes()


@pytest.fixture(scope="module")
def style():
    lines = stamp_lines(NAME, DESIGNATION, OFFICE, format_dual_date_bn(date(2021, 9, 26)))
    return stamp_style(lines)


def sign_visibly(data: bytes, signer, style, field_name: str, placement: StampPlacement | None = None):
    """Sign ``data`` with a visible stamp through pyHanko's PdfSigner and return the output and the field spec."""
    spec = visible_field_spec(data, field_name, style, placement)
    metadata = PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    pdf_signer = PdfSigner(metadata, signer=signer, stamp_style=style, new_field_spec=spec)
    output = io.BytesIO()
    pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), output=output)
    return output.getvalue(), spec


@pytest.fixture(scope="module")
def stamped(sample, officer_signer, style):
    return sign_visibly(sample, officer_signer, style, "Signature1")


@pytest.fixture(scope="module")
def soft_fail(dev_pki) -> ValidationPolicy:
    return ValidationPolicy(
        trust_roots=load_certificates(dev_pki.trust_dir),
        intermediates=load_certificates(dev_pki.intermediates_dir),
        revocation_mode="soft-fail",
        name="test-soft-fail",
    )


def page_height(data: bytes, page_index: int) -> float:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return float(pdf.pages[page_index].mediabox[3])


def extract_text(path: Path, page_index: int, box, height: float) -> str:
    """Run pdftotext on one page, cropped to ``box`` (PDF points, origin bottom left)."""
    x1, y1, x2, y2 = box
    result = subprocess.run(
        ["pdftotext", "-f", str(page_index + 1), "-l", str(page_index + 1), "-r", "72",
         "-x", str(int(x1)), "-y", str(int(height - y2)),
         "-W", str(int(x2 - x1) + 1), "-H", str(int(y2 - y1) + 1),
         "-enc", "UTF-8", str(path), "-"],
        check=True, capture_output=True,
    )
    return result.stdout.decode("utf-8")


def word_boxes(path: Path, page_index: int, height: float) -> list[tuple[float, float, float, float]]:
    """Word boxes from pdftotext -bbox, converted to PDF points with the origin at the bottom left."""
    result = subprocess.run(
        ["pdftotext", "-f", str(page_index + 1), "-l", str(page_index + 1), "-bbox", str(path), "-"],
        check=True, capture_output=True,
    )
    pattern = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">')
    boxes = []
    for match in pattern.finditer(result.stdout.decode("utf-8")):
        x_min, y_min, x_max, y_max = (float(value) for value in match.groups())
        boxes.append((x_min, height - y_max, x_max, height - y_min))
    return boxes


def render(path: Path, page_index: int, output_stem: Path) -> Image.Image:
    """Render one page at 72 dpi (1 pixel per point) with pdftoppm and return it in grey."""
    subprocess.run(
        ["pdftoppm", "-f", str(page_index + 1), "-l", str(page_index + 1), "-r", "72", "-gray",
         "-singlefile", "-png", str(path), str(output_stem)],
        check=True, capture_output=True,
    )
    return Image.open(output_stem.with_suffix(".png")).convert("L")


def intersects(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_fonts_shipped_with_license():
    assert REGULAR_FONT.is_file()
    assert BOLD_FONT.is_file()
    license_text = (REGULAR_FONT.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in license_text


def test_date_line_from_service_formatter():
    assert format_dual_date_bn(date(2021, 9, 26)) == DATE_LINE


def test_stamp_lines_strip_and_require_text():
    assert stamp_lines(f" {NAME} ", DESIGNATION, OFFICE, DATE_LINE) == EXPECTED_LINES
    with pytest.raises(StampTextError):
        stamp_lines(NAME, "  ", OFFICE, DATE_LINE)


def test_latin_letters_rejected_by_bengali_font():
    with pytest.raises(StampTextError) as caught:
        stamp_style([NAME, "CCA Bangladesh"])
    assert "C" in caught.value.characters
    assert "U+0043" in caught.value.detail


def test_line_break_inside_line_rejected():
    with pytest.raises(StampTextError):
        stamp_style([f"{NAME}\n{DESIGNATION}"])


def test_percent_sign_survives_template():
    style = stamp_style(["১০০% সম্পন্ন"])
    assert style.stamp_text % {} == "১০০% সম্পন্ন"


def test_stamp_size_grows_with_lines(style):
    width, height = stamp_size(style)
    short_width, short_height = stamp_size(stamp_style([NAME]))

    assert 150 < width < 400
    # Three more lines at the default leading of 14 pt (1.5 x 9 pt, rounded).
    assert height - short_height == 3 * 14
    assert short_width < width


@needs_poppler
def test_default_box_avoids_sample_text(sample, style, tmp_path):
    spec = visible_field_spec(sample, "Signature1", style)
    path = tmp_path / "sample.pdf"
    path.write_bytes(sample)
    height = page_height(sample, LAST_PAGE)
    words = word_boxes(path, LAST_PAGE, height)

    assert spec.on_page == LAST_PAGE
    assert len(words) > 50
    overlapping = [word for word in words if intersects(word, spec.box)]
    assert overlapping == []
    lowest_word = min(word[1] for word in words)
    assert spec.box[3] < lowest_word
    assert spec.box[1] >= 36


@needs_poppler
def test_stamp_text_extracts_exactly(stamped, tmp_path):
    signed, spec = stamped
    path = tmp_path / "stamped.pdf"
    path.write_bytes(signed)

    text = extract_text(path, spec.on_page, spec.box, page_height(signed, spec.on_page))
    lines = text.rstrip("\f\n").split("\n")

    assert lines == list(EXPECTED_LINES)
    assert "স্বা" in lines[2]
    assert "ক্ষ" in lines[2]
    assert "ন্ত্র" in lines[1]


@needs_poppler
def test_stamp_drawn_only_inside_box(sample, stamped, tmp_path):
    signed, spec = stamped
    (tmp_path / "sample.pdf").write_bytes(sample)
    (tmp_path / "stamped.pdf").write_bytes(signed)
    before = render(tmp_path / "sample.pdf", spec.on_page, tmp_path / "unsigned")
    after = render(tmp_path / "stamped.pdf", spec.on_page, tmp_path / "signed")
    height = page_height(signed, spec.on_page)

    x1, y1, x2, y2 = spec.box
    # One pixel per point; one more pixel on each side for anti-aliasing of the border.
    box_pixels = (int(x1) - 1, int(height - y2) - 1, int(x2) + 2, int(height - y1) + 2)
    changed = ImageChops.difference(before, after).getbbox()
    assert changed is not None
    assert changed[0] >= box_pixels[0]
    assert changed[1] >= box_pixels[1]
    assert changed[2] <= box_pixels[2]
    assert changed[3] <= box_pixels[3]

    # Text pixels inside the border, not only the border itself.
    inner = after.crop((int(x1) + 4, int(height - y2) + 4, int(x2) - 4, int(height - y1) - 4))
    dark_pixels = sum(inner.histogram()[:128])
    assert dark_pixels > 500


def test_stamped_signature_validates(stamped, soft_fail):
    signed, _ = stamped
    report = validate_pdf(signed, soft_fail)

    assert report.indication == "TOTAL_PASSED"
    (signature,) = report.signatures
    assert signature.field_name == "Signature1"


def test_second_stamp_avoids_first(stamped, officer_signer, soft_fail):
    signed, first = stamped
    second_style = stamp_style(["বেগম নাজনীন আক্তার", "সহকারী প্রকৌশলী", OFFICE, DATE_LINE])

    twice, second = sign_visibly(signed, officer_signer, second_style, "Signature2")

    assert second.on_page == first.on_page
    assert not intersects(first.box, second.box)
    report = validate_pdf(twice, soft_fail)
    assert [signature.indication for signature in report.signatures] == ["TOTAL_PASSED", "TOTAL_PASSED"]


def test_visible_stamp_matches_functions(sample, style):
    stamp = VisibleStamp(lines=EXPECTED_LINES)

    assert stamp.style() == style
    assert stamp.field_spec(sample, "Signature1") == visible_field_spec(sample, "Signature1", style)
    with pytest.raises(StampTextError):
        VisibleStamp(lines=("Md. Abdullah",))


def test_explicit_box_used(sample, style):
    spec = visible_field_spec(sample, "Signature1", style, StampPlacement(page=0, box=(300, 40, 560, 110)))

    assert spec.on_page == 0
    assert spec.box == (300.0, 40.0, 560.0, 110.0)


def test_explicit_box_outside_page_rejected(sample, style):
    with pytest.raises(StampPlacementError) as caught:
        visible_field_spec(sample, "Signature1", style, StampPlacement(box=(400, 40, 700, 110)))
    assert caught.value.reason == "invalid_box"


def test_page_out_of_range_rejected(sample, style):
    with pytest.raises(StampPlacementError) as caught:
        visible_field_spec(sample, "Signature1", style, StampPlacement(page=3))
    assert caught.value.reason == "page_out_of_range"


def test_full_page_has_no_free_space(sample, style):
    with pytest.raises(StampPlacementError) as caught:
        find_stamp_box(sample, stamp_size(style), page=0)
    assert caught.value.reason == "no_free_space"
    assert caught.value.page == 0


def test_blank_page_stamp_at_top_right():
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    buffer = io.BytesIO()
    pdf.save(buffer)

    page_index, box = find_stamp_box(buffer.getvalue(), (200, 60))

    assert page_index == 0
    assert box == (595 - 36 - 200, 842 - 36 - 60, 595 - 36, 842 - 36)


def test_rotated_page_rejected(sample, style):
    with pikepdf.open(io.BytesIO(sample)) as pdf:
        pdf.pages[-1].Rotate = 90
        buffer = io.BytesIO()
        pdf.save(buffer)

    with pytest.raises(StampPlacementError) as caught:
        visible_field_spec(buffer.getvalue(), "Signature1", style)
    assert caught.value.reason == "rotated_page"


@needs_poppler
def test_reserved_fields_avoid_text_and_each_other(sample, style, tmp_path):
    own = visible_field_spec(sample, "Signature1", style)
    path = tmp_path / "sample.pdf"
    path.write_bytes(sample)
    words = word_boxes(path, LAST_PAGE, page_height(sample, LAST_PAGE))

    specs = reserved_field_specs(sample, ["chair", "witness"], stamp_size(style), page=own.on_page,
                                 occupied=[own.box])

    assert [spec.sig_field_name for spec in specs] == ["chair", "witness"]
    boxes = [own.box] + [spec.box for spec in specs]
    for index, box in enumerate(boxes):
        assert [word for word in words if intersects(word, box)] == []
        assert not any(intersects(box, other) for other in boxes[index + 1:])
    assert all(spec.on_page == LAST_PAGE for spec in specs)
