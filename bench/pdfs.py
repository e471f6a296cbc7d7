"""Input documents: the sample minutes and generated PDFs of a chosen size."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pikepdf

from config import PROJECT_ROOT

SAMPLE_PDF = PROJECT_ROOT / "samples" / "minutes-2021-09-20.pdf"

MIB = 1024 * 1024
# Each generated page carries one grey image of at most this many bytes.
_IMAGE_WIDTH = 1024
_MAX_IMAGE_BYTES = MIB
# A4 in PDF points.
_PAGE_SIZE = (595, 842)


def read_sample() -> bytes:
    """Return the bytes of the 3-page Bengali sample minutes."""
    return Path(SAMPLE_PDF).read_bytes()


def generate_pdf(size_bytes: int) -> bytes:
    """Return a valid PDF of about ``size_bytes`` bytes (a few KiB more).

    Every page shows an uncompressed 8-bit grey image of random pixels, at most
    1 MiB each, so the file cannot shrink under compression and its size is
    dominated by stream data, as in a scanned document. Random pixels also
    make every call's output unique.
    """
    if size_bytes <= 0:
        raise ValueError(f"size_bytes must be positive, got {size_bytes}")
    pdf = pikepdf.new()
    remaining = size_bytes
    while remaining > 0:
        image_bytes = min(remaining, _MAX_IMAGE_BYTES)
        height = max(1, image_bytes // _IMAGE_WIDTH)
        image = pikepdf.Stream(
            pdf,
            os.urandom(_IMAGE_WIDTH * height),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=_IMAGE_WIDTH,
            Height=height,
            ColorSpace=pikepdf.Name.DeviceGray,
            BitsPerComponent=8,
        )
        page = pdf.add_blank_page(page_size=_PAGE_SIZE)
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.Contents = pikepdf.Stream(pdf, f"q {_PAGE_SIZE[0]} 0 0 {_PAGE_SIZE[1]} 0 0 cm /Im0 Do Q".encode())
        remaining -= _IMAGE_WIDTH * height
    output = io.BytesIO()
    pdf.save(output)
    return output.getvalue()


def describe_size(size_bytes: int) -> str:
    """Return a size as MiB with one decimal, or KiB below 1 MiB."""
    if size_bytes >= MIB:
        return f"{size_bytes / MIB:.1f} MiB"
    return f"{size_bytes / 1024:.0f} KiB"
