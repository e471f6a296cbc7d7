from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from signing.errors import InvalidDocument
from signing.intake import prepare_upload, sniff_type

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_PDF = SAMPLES / "minutes-2021-09-20.pdf"
SAMPLE_JPEG = SAMPLES / "evidence-enothi-statement-2021-09-28.jpg"


def _test_image(mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> Image.Image:
    """An image whose pixels differ from each other, so a lossy conversion would show."""
    image = Image.new(mode, size)
    for x in range(size[0]):
        for y in range(size[1]):
            if mode == "RGBA":
                image.putpixel((x, y), (x * 4 % 256, y * 5 % 256, (x * y) % 256, (x + y) * 3 % 256))
            else:
                image.putpixel((x, y), (x * 4 % 256, y * 5 % 256, (x * y) % 256))
    return image


def _encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _only_page_image(pdf_data: bytes) -> Image.Image:
    with pikepdf.open(io.BytesIO(pdf_data)) as pdf:
        images = list(pdf.pages[0].get_images().values())
        assert len(images) == 1
        return pikepdf.PdfImage(images[0]).as_pil_image()


def _docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "word/document.xml",
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>Minutes</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def _encrypted_pdf(user_password: str) -> bytes:
    buffer = io.BytesIO()
    with pikepdf.open(SAMPLE_PDF) as pdf:
        pdf.save(buffer, encryption=pikepdf.Encryption(owner="owner-secret", user=user_password, R=6))
    return buffer.getvalue()


def _assert_rejected(data: bytes, reason: str) -> InvalidDocument:
    with pytest.raises(InvalidDocument) as caught:
        prepare_upload(data)
    assert caught.value.reason == reason, caught.value.detail
    return caught.value


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n", "pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "png"),
        (b"II*\x00\x08\x00", "tiff"),
        (b"MM\x00*\x00\x00", "tiff"),
        (b"PK\x03\x04\x14\x00", None),
        (b" %PDF-1.7\n", None),
        (b"GIF89a", None),
        (b"", None),
    ],
)
def test_sniff_type_by_magic_bytes(data: bytes, expected: str | None) -> None:
    assert sniff_type(data) == expected


def test_sample_pdf_kept_unchanged() -> None:
    data = SAMPLE_PDF.read_bytes()

    prepared = prepare_upload(data)

    assert prepared.source_type == "pdf"
    assert prepared.converted is False
    assert prepared.page_count == 3
    assert prepared.data == data


def test_jpeg_scan_embedded_verbatim() -> None:
    jpeg = SAMPLE_JPEG.read_bytes()

    prepared = prepare_upload(jpeg)

    assert prepared.source_type == "jpeg"
    assert prepared.converted is True
    assert prepared.page_count == 1
    assert prepared.data.startswith(b"%PDF-")
    assert jpeg in prepared.data
    with pikepdf.open(io.BytesIO(prepared.data)) as pdf:
        image = next(iter(pdf.pages[0].get_images().values()))
        assert image.Filter == pikepdf.Name.DCTDecode
        assert image.read_raw_bytes() == jpeg


def test_png_converted_losslessly() -> None:
    original = _test_image()

    prepared = prepare_upload(_encode(original, "PNG"))

    assert prepared.source_type == "png"
    assert prepared.converted is True
    assert prepared.page_count == 1
    assert _only_page_image(prepared.data).convert("RGB").tobytes() == original.tobytes()


def test_png_with_alpha_converted() -> None:
    prepared = prepare_upload(_encode(_test_image("RGBA"), "PNG"))

    assert prepared.source_type == "png"
    assert prepared.page_count == 1


def test_tiff_converted_losslessly() -> None:
    original = _test_image()

    prepared = prepare_upload(_encode(original, "TIFF", compression="tiff_lzw"))

    assert prepared.source_type == "tiff"
    assert prepared.converted is True
    assert prepared.page_count == 1
    assert _only_page_image(prepared.data).convert("RGB").tobytes() == original.tobytes()


def test_multipage_tiff_one_page_per_frame() -> None:
    frames = [_test_image(), _test_image().rotate(180), _test_image().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    data = _encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])

    prepared = prepare_upload(data)

    assert prepared.source_type == "tiff"
    assert prepared.page_count == 3


def test_empty_upload_rejected() -> None:
    _assert_rejected(b"", "empty")


def test_docx_renamed_pdf_rejected() -> None:
    error = _assert_rejected(_docx_bytes(), "unsupported_type")

    assert "ZIP" in error.detail


def test_unknown_bytes_rejected() -> None:
    _assert_rejected(b"GIF89a\x01\x00\x01\x00", "unsupported_type")


def test_truncated_pdf_rejected() -> None:
    data = SAMPLE_PDF.read_bytes()

    _assert_rejected(data[: len(data) // 2], "malformed_pdf")


def test_pdf_without_eof_marker_rejected() -> None:
    data = SAMPLE_PDF.read_bytes()
    end = data.rindex(b"%%EOF")

    _assert_rejected(data[:end], "malformed_pdf")


def test_pdf_header_with_garbage_rejected() -> None:
    _assert_rejected(b"%PDF-1.7\n" + b"\x00garbage\xff" * 200, "malformed_pdf")


def test_pdf_without_pages_rejected() -> None:
    buffer = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.save(buffer)

    _assert_rejected(buffer.getvalue(), "malformed_pdf")


@pytest.mark.parametrize("user_password", ["", "user-secret"])
def test_encrypted_pdf_rejected(user_password: str) -> None:
    _assert_rejected(_encrypted_pdf(user_password), "encrypted_pdf")


def test_truncated_jpeg_rejected() -> None:
    jpeg = SAMPLE_JPEG.read_bytes()

    _assert_rejected(jpeg[: len(jpeg) // 2], "image_invalid")


def test_png_signature_with_garbage_rejected() -> None:
    error = _assert_rejected(b"\x89PNG\r\n\x1a\n" + b"not a png" * 10, "image_invalid")

    assert "BytesIO" not in error.detail
