"""Hostile PDFs and scans: each is rejected with its own reason, in bounded memory and time.

The files are built here byte by byte. Checks run in a worker process, so the
tests give the worker less memory than a bomb would need if it were inflated:
such a regression shows as ``memory_limit`` instead of the expected reason. The
test process's own memory growth is measured as well.
"""

from __future__ import annotations

import io
import re
import resource
import struct
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from signing.errors import InvalidDocument
from signing.intake import prepare_upload
from signing.limits import InputLimits
from signing.worker import run_isolated, validate_pdf_within_limits
from signing.sign import SigningProfile, sign_pdf

MiB = 1024 * 1024
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_PDF = SAMPLES / "minutes-2021-09-20.pdf"
SAMPLE_JPEG = SAMPLES / "evidence-enothi-statement-2021-09-28.jpg"

# The worker starts at about 125 MB of address space; 512 MiB leaves room for
# the checks but not for a 1 GiB bomb.
LIMITS = InputLimits(max_memory_bytes=512 * MiB)
# Growth of the test process allowed while a hostile file is checked. The
# worker contains everything that grows with the file.
MAX_TEST_PROCESS_GROWTH = 64 * MiB


# --- builders -------------------------------------------------------------------------


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def page_objects(**replace: bytes) -> dict[int, bytes]:
    """Catalog 1, page tree 2, page 3 and its content stream 4; keyword ``o5`` adds object 5 and so on."""
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>",
        4: stream(b"", b"0 0 m 100 100 l S"),
    }
    for key, value in replace.items():
        objects[int(key.removeprefix("o"))] = value
    return objects


def pdf_bytes(objects: dict[int, bytes], *, trailer_extra: bytes = b"", startxref: int | None = None) -> bytes:
    """A PDF with a classic cross-reference table; ``startxref`` overrides the real offset."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (size, trailer_extra)
    out += b"startxref\n%d\n%%%%EOF\n" % (xref if startxref is None else startxref)
    return bytes(out)


def incremental_updates(data: bytes, count: int, *, markers: bool = True, info: int | None = None) -> bytes:
    """Append ``count`` updates that each write a new /Info dictionary as object ``info``.

    ``info`` defaults to the next free object number. Without ``markers`` the
    updates are chained by /Prev only, with no ``startxref`` and ``%%EOF``
    lines between them.
    """
    out = bytearray(data)
    previous = int(data[data.rindex(b"startxref") + len(b"startxref"):].split()[0])
    size = int(data[data.rindex(b"/Size") + len(b"/Size"):].split()[0])
    root = re.findall(rb"/Root\s+(\d+ \d+) R", data)[-1]
    info = size if info is None else info
    for index in range(count):
        offset = len(out)
        out += b"%d 0 obj\n<< /Producer (update %d) >>\nendobj\n" % (info, index)
        xref = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n" % (info, offset)
        out += b"trailer\n<< /Size %d /Root %s R /Info %d 0 R /Prev %d >>\n" % (max(size, info + 1), root, info, previous)
        if markers or index == count - 1:
            out += b"startxref\n%d\n%%%%EOF\n" % xref
        previous = xref
    return bytes(out)


def deflated_zeros(size_mib: int, prefix: bytes = b"") -> bytes:
    """A zlib stream of ``prefix`` and ``size_mib`` MiB of zero bytes, built in milliseconds.

    A full flush after each MiB resets the compressor, so every MiB compresses
    to the same byte-aligned block, which is repeated. Zero bytes leave the
    low half of Adler-32 (A) unchanged and add A to the high half (B) once per
    byte.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    final_block = compressor.flush()
    adler = zlib.adler32(prefix)
    low, high = adler & 0xFFFF, adler >> 16
    high = (high + size_mib * MiB * low) % 65521
    return b"\x78\xda" + head + block * size_mib + final_block + struct.pack(">I", high << 16 | low)


def flate_bomb(prefix: bytes = b"") -> bytes:
    """Two FlateDecode layers: about 2.5 KB that decode to ``prefix`` and 1 GiB of zero bytes."""
    return zlib.compress(deflated_zeros(1024, prefix), 9)


def object_stream_pdf(objstm_dictionary: bytes, objstm_data: bytes, compressed: list[int]) -> bytes:
    """Objects 1-4 as in :func:`page_objects`, object stream 5 holding ``compressed``, and an xref stream."""
    objects = page_objects(o5=stream(b"/Type /ObjStm " + objstm_dictionary, objstm_data))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref_number = max(max(objects), max(compressed)) + 1
    index_in_stream = {number: index for index, number in enumerate(compressed)}
    offsets[xref_number] = len(out)
    rows = bytearray()
    for number in range(xref_number + 1):
        if number in offsets:
            rows += struct.pack(">BII", 1, offsets[number], 0)
        elif number in index_in_stream:
            rows += struct.pack(">BII", 2, 5, index_in_stream[number])
        else:
            rows += struct.pack(">BII", 0, 0, 65535)
    dictionary = b"/Type /XRef /Size %d /W [1 4 4] /Root 1 0 R /Filter /FlateDecode" % (xref_number + 1)
    out += b"%d 0 obj\n" % xref_number + stream(dictionary, zlib.compress(bytes(rows))) + b"\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of zero pixels: 20000 x 20000 pixels compress to about 50 KB."""
    row = bytes(1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def tiff_image(width: int, height: int, *, strip: bytes = b"\x00", ifd_loop: bool = False) -> bytes:
    """A little-endian 8-bit greyscale TIFF with one uncompressed strip, which may be shorter than the image."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 0), (278, 4, height), (279, 4, len(strip))]
    ifd_offset = 8
    strip_offset = ifd_offset + 2 + 12 * len(entries) + 4
    out = bytearray(b"II*\x00" + struct.pack("<IH", ifd_offset, len(entries)))
    for tag, field_type, value in entries:
        value = strip_offset if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if field_type == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, field_type, 1) + packed
    out += struct.pack("<I", ifd_offset if ifd_loop else 0)
    return bytes(out + strip)


def jpeg_with_corrupt_header() -> bytes:
    """The sample scan with its JFIF segment length set beyond the end of the file."""
    jpeg = SAMPLE_JPEG.read_bytes()
    return jpeg[:4] + b"\xff\xff" + jpeg[6:]


# --- measuring ------------------------------------------------------------------------


@contextmanager
def bounded_growth() -> Iterator[None]:
    """Assert that Python allocations and the peak RSS of this process grow by less than the bound."""
    peak_rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    peak_rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak_rss_before
    assert peak < MAX_TEST_PROCESS_GROWTH
    assert peak_rss_growth < MAX_TEST_PROCESS_GROWTH


def assert_rejected(data: bytes, reason: str, limits: InputLimits = LIMITS) -> InvalidDocument:
    with bounded_growth(), pytest.raises(InvalidDocument) as caught:
        prepare_upload(data, limits)
    assert caught.value.reason == reason, caught.value.detail
    return caught.value


# --- builders produce what they claim ------------------------------------------------


def test_builder_pdf_accepted() -> None:
    assert prepare_upload(pdf_bytes(page_objects()), LIMITS).page_count == 1


def test_builder_deflated_zeros_valid() -> None:
    assert zlib.decompress(deflated_zeros(3)) == bytes(3 * MiB)
    assert zlib.decompress(deflated_zeros(3, b"prefix")) == b"prefix" + bytes(3 * MiB)


def test_builder_flate_bomb_small() -> None:
    bomb = flate_bomb()

    assert len(bomb) < 4096
    assert len(zlib.decompress(bomb)) > MiB


# --- PDFs -----------------------------------------------------------------------------


def test_flate_bomb_in_page_content() -> None:
    data = pdf_bytes(page_objects(o4=stream(b"/Filter [/FlateDecode /FlateDecode]", flate_bomb())))

    error = assert_rejected(data, "decompression_limit")

    assert "stream 4 0" in error.detail


def test_flate_bomb_in_unreferenced_object() -> None:
    data = pdf_bytes(page_objects(o5=stream(b"/Filter [/FlateDecode /FlateDecode]", flate_bomb())))

    assert_rejected(data, "decompression_limit")


def test_streams_over_total_limit_rejected() -> None:
    # Three streams of 1 MiB each, under a 2 MiB total and a 1.5 MiB per-stream limit.
    one_mib = stream(b"/Filter /FlateDecode", deflated_zeros(1))
    data = pdf_bytes(page_objects(o4=one_mib, o5=one_mib, o6=one_mib))
    limits = InputLimits(max_stream_bytes=3 * MiB // 2, max_decompressed_bytes=2 * MiB, max_memory_bytes=LIMITS.max_memory_bytes)

    error = assert_rejected(data, "decompression_limit", limits)

    assert "all streams together" in error.detail


@pytest.mark.parametrize(
    "nested",
    [b"[" * 100_000 + b"]" * 100_000, b"<< /A " * 100_000 + b"1" + b" >>" * 100_000],
    ids=["arrays", "dictionaries"],
)
def test_deep_nesting_rejected(nested: bytes) -> None:
    assert_rejected(pdf_bytes(page_objects(o5=nested)), "nesting_too_deep")


def test_deep_nesting_in_trailer_rejected() -> None:
    data = pdf_bytes(page_objects(), trailer_extra=b"/Deep " + b"[" * 100_000 + b"]" * 100_000 + b" ")

    assert_rejected(data, "nesting_too_deep")


def test_nesting_at_limit_accepted() -> None:
    depth = LIMITS.max_nesting_depth
    at_limit = pdf_bytes(page_objects(o5=b"[" * depth + b"]" * depth))
    over_limit = pdf_bytes(page_objects(o5=b"[" * (depth + 1) + b"]" * (depth + 1)))

    assert prepare_upload(at_limit, LIMITS).page_count == 1
    assert_rejected(over_limit, "nesting_too_deep")


def test_kids_loop_rejected() -> None:
    data = pdf_bytes(page_objects(o2=b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"))

    error = assert_rejected(data, "malformed_pdf")

    assert "Loop" in error.detail


def test_kids_cycle_through_two_nodes_rejected() -> None:
    data = pdf_bytes(page_objects(
        o2=b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
        o5=b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
    ))

    assert_rejected(data, "malformed_pdf")


def test_parent_loop_rejected() -> None:
    data = pdf_bytes(page_objects(
        o3=b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>",
    ))

    error = assert_rejected(data, "malformed_pdf")

    assert "/Parent" in error.detail


def test_startxref_outside_file_rejected() -> None:
    assert_rejected(pdf_bytes(page_objects(), startxref=10**9), "malformed_pdf")


def test_xref_entry_outside_file_rejected() -> None:
    data = pdf_bytes(page_objects())
    offset = data.index(b"4 0 obj")
    data = data.replace(b"%010d 00000 n" % offset, b"%010d 00000 n" % 10**9)

    assert_rejected(data, "malformed_pdf")


def test_huge_page_count_rejected() -> None:
    data = pdf_bytes(page_objects(o2=b"<< /Type /Pages /Kids [3 0 R] /Count 2147483647 >>"))

    error = assert_rejected(data, "malformed_pdf")

    assert "page count differs" in error.detail


@pytest.mark.parametrize("markers", [True, False], ids=["with-eof-markers", "prev-chain-only"])
def test_ten_thousand_updates_rejected(markers: bool) -> None:
    data = incremental_updates(pdf_bytes(page_objects()), 10_000, markers=markers)

    assert_rejected(data, "too_many_revisions")


def test_revisions_at_limit_accepted() -> None:
    base = pdf_bytes(page_objects())
    limits = InputLimits(max_revisions=5, max_memory_bytes=LIMITS.max_memory_bytes)

    assert prepare_upload(incremental_updates(base, 4), limits).page_count == 1
    assert_rejected(incremental_updates(base, 5), "too_many_revisions", limits)


def test_overwritten_object_checked() -> None:
    # The bomb sits in revision 1 and is replaced in revision 2, so only the
    # history of the file still contains it.
    bomb = stream(b"/Filter [/FlateDecode /FlateDecode]", flate_bomb())
    data = incremental_updates(pdf_bytes(page_objects(o5=bomb), trailer_extra=b"/Info 5 0 R "), 1, info=5)

    error = assert_rejected(data, "decompression_limit")

    assert "revision 1" in error.detail


def test_object_stream_bomb_rejected() -> None:
    header = b"6 0 "
    data = object_stream_pdf(
        b"/N 1 /First %d /Filter [/FlateDecode /FlateDecode]" % len(header), flate_bomb(), [6]
    )

    error = assert_rejected(data, "decompression_limit")

    assert "stream 5 0" in error.detail


def test_object_stream_bomb_with_catalog_rejected() -> None:
    # The catalog is inside the bomb, so reading the catalog decodes it.
    header = b"7 0 "
    content = header + b"<< /Type /Catalog /Pages 2 0 R >> "
    data = object_stream_pdf(
        b"/N 1 /First %d /Filter [/FlateDecode /FlateDecode]" % len(header), flate_bomb(content), [7]
    ).replace(b"/Root 1 0 R", b"/Root 7 0 R")

    assert_rejected(data, "decompression_limit")


def test_object_stream_with_too_many_objects_rejected() -> None:
    limits = InputLimits(max_objects=1000, max_memory_bytes=LIMITS.max_memory_bytes)
    count = 1001
    header = b" ".join(b"%d %d" % (10 + index, 5 * index) for index in range(count)) + b" "
    body = header + b"null " * count
    data = object_stream_pdf(
        b"/N %d /First %d /Filter /FlateDecode" % (count, len(header)),
        zlib.compress(body),
        list(range(10, 10 + count)),
    )

    assert_rejected(data, "too_many_objects", limits)


def test_too_many_pages_rejected() -> None:
    kids = b" ".join(b"%d 0 R" % number for number in range(10, 21))
    objects = page_objects(o2=b"<< /Type /Pages /Kids [" + kids + b"] /Count 11 >>")
    for number in range(10, 21):
        objects[number] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>"
    del objects[3]
    limits = InputLimits(max_pages=10, max_memory_bytes=LIMITS.max_memory_bytes)

    assert_rejected(pdf_bytes(objects), "too_many_pages", limits)


def test_parse_timeout_reported() -> None:
    limits = InputLimits(parse_timeout_seconds=1e-6, max_memory_bytes=LIMITS.max_memory_bytes)

    assert_rejected(SAMPLE_PDF.read_bytes(), "processing_timeout", limits)


# --- scans ----------------------------------------------------------------------------


def test_png_decompression_bomb_rejected() -> None:
    error = assert_rejected(png_bomb(20_000, 20_000), "image_too_large")

    assert "400000000" in error.detail


def test_png_just_over_pixel_limit_rejected() -> None:
    # 81 million pixels: over the 80 million limit, under twice it, where
    # Pillow only warns.
    assert_rejected(png_bomb(9000, 9000), "image_too_large")


def test_tiff_with_absurd_dimensions_rejected() -> None:
    assert_rejected(tiff_image(1_000_000, 1_000_000), "image_too_large")


def test_tiff_ifd_loop_read_once() -> None:
    # The IFD's pointer to the next IFD points back to itself.
    prepared = prepare_upload(tiff_image(8, 8, strip=bytes(64), ifd_loop=True), LIMITS)

    assert prepared.page_count == 1


def test_tiff_with_too_many_frames_rejected() -> None:
    limits = InputLimits(max_pages=10, max_memory_bytes=LIMITS.max_memory_bytes)
    frames = [Image.new("L", (8, 8))] * 11
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])

    assert_rejected(buffer.getvalue(), "too_many_pages", limits)


def test_jpeg_with_corrupt_header_rejected() -> None:
    assert_rejected(jpeg_with_corrupt_header(), "image_invalid")


def test_jpeg_with_huge_frame_header_rejected() -> None:
    jpeg = SAMPLE_JPEG.read_bytes()
    frame = jpeg.index(b"\xff\xc0")
    # Height and width of the SOF0 segment both become 65535.
    data = jpeg[: frame + 5] + b"\xff\xff\xff\xff" + jpeg[frame + 9 :]

    assert_rejected(data, "image_too_large")


# --- worker process -------------------------------------------------------------------


def test_worker_killed_after_timeout() -> None:
    with pytest.raises(InvalidDocument) as caught:
        run_isolated(time.sleep, 60, timeout_seconds=0.5, memory_bytes=LIMITS.max_memory_bytes)

    assert caught.value.reason == "processing_timeout"


def test_worker_memory_limit_reported() -> None:
    with pytest.raises(InvalidDocument) as caught:
        run_isolated(bytearray, 1024 * MiB, timeout_seconds=30, memory_bytes=LIMITS.max_memory_bytes)

    assert caught.value.reason == "memory_limit"


def test_worker_exception_raised_again() -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        run_isolated(int, "not a number", timeout_seconds=30, memory_bytes=LIMITS.max_memory_bytes)


def test_worker_result_returned() -> None:
    assert run_isolated(len, b"four", timeout_seconds=30, memory_bytes=LIMITS.max_memory_bytes) == 4


def test_workers_started_from_threads() -> None:
    # The service handles requests in threads, and each upload starts a worker.
    pdf = SAMPLE_PDF.read_bytes()
    jpeg = SAMPLE_JPEG.read_bytes()
    bomb = pdf_bytes(page_objects(o4=stream(b"/Filter [/FlateDecode /FlateDecode]", flate_bomb())))

    def outcome(index: int) -> str | int:
        try:
            return prepare_upload((pdf, jpeg, bomb)[index % 3], LIMITS).page_count
        except InvalidDocument as error:
            return error.reason

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(outcome, range(36)))

    assert outcomes == [3, 1, "decompression_limit"] * 12


# --- validation -----------------------------------------------------------------------


def test_validation_in_worker_matches(officer_signer, dev_policy) -> None:
    signed = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(level="B-B"), policy=dev_policy)

    report = validate_pdf_within_limits(signed, dev_policy, LIMITS)

    assert report.indication == "TOTAL_PASSED"
    assert report.signatures[0].chain[-1] == dev_policy.trust_roots[0].subject.human_friendly


def test_validation_timeout_reported(officer_signer, dev_policy) -> None:
    signed = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(level="B-B"), policy=dev_policy)
    limits = InputLimits(validation_timeout_seconds=1e-3, max_memory_bytes=LIMITS.max_memory_bytes)

    with pytest.raises(InvalidDocument) as caught:
        validate_pdf_within_limits(signed, dev_policy, limits)

    assert caught.value.reason == "processing_timeout"
