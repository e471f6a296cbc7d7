from __future__ import annotations

import base64
import binascii
import io
import logging
import random
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from signing.errors import InvalidDocument
from signing.intake import prepare_upload, sniff_type
from signing.decoders import count_decoded_bytes
from signing.limits import Deadline, InputLimits
from signing.sign import SigningProfile, sign_pdf

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


def _assert_rejected(data: bytes, reason: str, limits: InputLimits | None = None) -> InvalidDocument:
    with pytest.raises(InvalidDocument) as caught:
        prepare_upload(data, limits)
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


# --- limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [{"max_pages": 0}, {"max_objects": -1}, {"parse_timeout_seconds": 0.0}, {"max_revisions": True},
     {"max_stream_bytes": 2 * 1024 * 1024, "max_decompressed_bytes": 1024 * 1024}],
)
def test_invalid_limits_rejected(values: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        InputLimits(**values)


def test_sample_within_defaultInputLimits() -> None:
    assert prepare_upload(SAMPLE_PDF.read_bytes(), InputLimits()).page_count == 3


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (InputLimits(max_pages=2), "too_many_pages"),
        (InputLimits(max_objects=10), "too_many_objects"),
        (InputLimits(max_stream_bytes=1024), "decompression_limit"),
        (InputLimits(max_decompressed_bytes=64 * 1024, max_stream_bytes=64 * 1024), "decompression_limit"),
        (InputLimits(max_nesting_depth=2), "nesting_too_deep"),
    ],
    ids=["pages", "objects", "stream-size", "total-size", "nesting"],
)
def test_sample_over_lowered_limit_rejected(limits: InputLimits, reason: str) -> None:
    _assert_rejected(SAMPLE_PDF.read_bytes(), reason, limits)


def test_signed_revisions_counted(officer_signer, dev_policy) -> None:
    signed = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(level="B-B"), policy=dev_policy)

    assert prepare_upload(signed, InputLimits(max_revisions=2)).page_count == 3
    _assert_rejected(signed, "too_many_revisions", InputLimits(max_revisions=1))


def test_scan_over_pixel_limit_rejected() -> None:
    data = _encode(_test_image(size=(64, 48)), "PNG")

    prepare_upload(data, InputLimits(max_image_pixels=64 * 48))
    _assert_rejected(data, "image_too_large", InputLimits(max_image_pixels=64 * 48 - 1))


def test_worker_log_records_forwarded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="signing.intake")

    prepare_upload(_encode(_test_image(), "PNG"))

    messages = [record.getMessage() for record in caplog.records if record.name == "signing.intake"]
    assert any("converted png image" in message for message in messages)


# --- decoded stream sizes ---------------------------------------------------------------


def _run_length_encode(data: bytes) -> bytes:
    """RunLengthDecode data: runs of equal bytes as repeats, everything else as literals."""
    out = bytearray()
    position = 0
    while position < len(data):
        run = 1
        while position + run < len(data) and run < 128 and data[position + run] == data[position]:
            run += 1
        if run > 1:
            out += bytes([257 - run, data[position]])
        else:
            literal = data[position : position + 128]
            out += bytes([len(literal) - 1]) + literal
            run = len(literal)
        position += run
    return bytes(out + b"\x80")


def _lzw_encode(data: bytes) -> bytes:
    """LZWDecode data with /EarlyChange 1, clearing the table before it reaches 4096 entries."""
    out = bytearray()
    bits = 0
    bit_count = 0
    width = 9

    def emit(code: int) -> None:
        nonlocal bits, bit_count
        bits = (bits << width) | code
        bit_count += width
        while bit_count >= 8:
            bit_count -= 8
            out.append((bits >> bit_count) & 0xFF)
        bits &= (1 << bit_count) - 1

    table = {bytes([value]): value for value in range(256)}
    next_code = 258
    emit(256)
    current = b""
    for value in data:
        candidate = current + bytes([value])
        if candidate in table:
            current = candidate
            continue
        emit(table[current])
        table[candidate] = next_code
        next_code += 1
        current = bytes([value])
        # The decoder adds each entry one code later than the encoder.
        if next_code >= (1 << width) and width < 12:
            width += 1
        if next_code == 4095:
            emit(256)
            table = {bytes([value]): value for value in range(256)}
            next_code = 258
            width = 9
    if current:
        emit(table[current])
    emit(257)
    if bit_count:
        out.append((bits << (8 - bit_count)) & 0xFF)
    return bytes(out)


def _varied_bytes(length: int) -> bytes:
    generator = random.Random(7)
    return bytes(generator.choice(b"abcdefgh\x00") for _ in range(length)) + bytes(length)


def _qpdf_decoded(raw: bytes, filters: list[str]) -> bytes:
    with pikepdf.new() as pdf:
        stream = pikepdf.Stream(pdf, raw)
        stream.Filter = pikepdf.Array([pikepdf.Name(name) for name in filters])
        return stream.read_bytes(decode_level=pikepdf.StreamDecodeLevel.specialized)


def _counted(raw: bytes, filters: list[str], max_bytes: int = 1 << 30) -> int:
    return count_decoded_bytes(raw, filters, [None] * len(filters), max_bytes=max_bytes,
                               deadline=Deadline(60), label="test stream")


@pytest.mark.parametrize(
    ("filters", "encode"),
    [
        (["/FlateDecode"], lambda data: zlib.compress(data)),
        (["/ASCIIHexDecode"], lambda data: binascii.hexlify(data) + b">"),
        (["/ASCII85Decode"], lambda data: base64.a85encode(data, wrapcol=72) + b"~>"),
        (["/RunLengthDecode"], _run_length_encode),
        (["/LZWDecode"], _lzw_encode),
        (["/ASCII85Decode", "/FlateDecode"], lambda data: base64.a85encode(zlib.compress(data)) + b"~>"),
        (["/FlateDecode", "/FlateDecode"], lambda data: zlib.compress(zlib.compress(data))),
    ],
    ids=["flate", "hex", "ascii85", "run-length", "lzw", "ascii85-flate", "flate-flate"],
)
def test_decoded_size_matches_qpdf(filters: list[str], encode) -> None:
    data = _varied_bytes(150_000)
    raw = encode(data)

    assert _qpdf_decoded(raw, filters) == data
    assert _counted(raw, filters) == len(data)


def test_lzw_example_of_pdf_reference_decoded() -> None:
    # ISO 32000-1, 7.4.4.2: 45 45 45 45 45 65 45 45 45 66 encodes to 80 0B 60 50 22 0C 0C 85 01.
    assert _counted(bytes.fromhex("800B6050220C0C8501"), ["/LZWDecode"]) == 10


def test_decoded_size_stops_at_image_filter() -> None:
    jpeg = SAMPLE_JPEG.read_bytes()

    assert _counted(zlib.compress(jpeg), ["/FlateDecode", "/DCTDecode"]) == len(jpeg)


def test_corrupt_flate_data_counted_until_error() -> None:
    raw = zlib.compress(bytes(100_000))

    assert _counted(raw[: len(raw) // 2] + b"\xff" * 32, ["/FlateDecode"]) < 100_000


@pytest.mark.parametrize(
    ("filters", "encode"),
    [
        (["/FlateDecode"], zlib.compress),
        (["/RunLengthDecode"], _run_length_encode),
        (["/LZWDecode"], _lzw_encode),
    ],
    ids=["flate", "run-length", "lzw"],
)
def test_decoded_size_over_limit_rejected(filters: list[str], encode) -> None:
    raw = encode(bytes(300_000))

    with pytest.raises(InvalidDocument) as caught:
        _counted(raw, filters, max_bytes=200_000)

    assert caught.value.reason == "decompression_limit"
    assert "test stream, filter 1 of 1" in caught.value.detail
