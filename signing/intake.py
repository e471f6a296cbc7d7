"""Turn an uploaded file into a PDF that can be archived and signed.

The file type is decided by the content's magic bytes only, never by the file
name or the content type the client sent. PDFs are checked and kept byte for
byte, because rewriting a PDF would break any signature it already carries.
Images are converted to a one-page-per-frame PDF with img2pdf, which embeds
JPEG data as it is and stores other formats losslessly.

Every check runs in a worker process (:mod:`signing.worker`) under
:class:`~signing.limits.InputLimits`: page, object and revision counts, nesting
depth, the decoded size of every stream in every revision, image dimensions, a
wall-clock budget and a memory cap. :mod:`signing.pdf_checks` checks PDFs, and
:mod:`signing.image_conversion` converts images.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from signing.errors import InvalidDocument
from signing.image_conversion import convert_image, count_pages
from signing.limits import Deadline, InputLimits
from signing.pdf_checks import check_pdf, set_qpdf_limits
from signing.revisions import pdf_header_offset
from signing.worker import run_isolated

__all__ = [
    "InputLimits",
    "PreparedFile",
    "PreparedPdf",
    "pdf_header_offset",
    "prepare_upload",
    "prepare_upload_file",
    "sniff_type",
]

logger = logging.getLogger(__name__)

_PDF_MAGIC = b"%PDF-"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*")
_ZIP_MAGIC = b"PK\x03\x04"

# The worker is killed this long after its own deadline, which it checks
# between steps, so that it can usually report the step that was too slow.
_REPORT_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class PreparedPdf:
    """A PDF ready to be stored, with what intake learned about it."""

    data: bytes
    page_count: int
    source_type: str
    """Type detected from the uploaded bytes: ``"pdf"``, ``"jpeg"``, ``"png"`` or ``"tiff"``."""
    converted: bool
    """True when ``data`` was produced from an image, False for an uploaded PDF kept as is."""


@dataclass(frozen=True)
class PreparedFile:
    """An uploaded file checked by :func:`prepare_upload_file`."""

    path: Path
    """The PDF to store: the uploaded file itself, or the PDF converted from an image."""
    page_count: int
    source_type: str
    converted: bool


def sniff_type(data: bytes) -> str | None:
    """Return the file type that the magic bytes at the start of ``data`` indicate.

    Returns ``"pdf"``, ``"jpeg"``, ``"png"``, ``"tiff"`` or None. A PDF must start
    with ``%PDF-`` at offset 0, because ISO 32000 puts the header on the first
    line and counts byte offsets from the start of the file. Some viewers
    accept leading bytes before the header.
    """
    if data.startswith(_PDF_MAGIC):
        return "pdf"
    if data.startswith(_JPEG_MAGIC):
        return "jpeg"
    if data.startswith(_PNG_MAGIC):
        return "png"
    if data.startswith(_TIFF_MAGICS):
        return "tiff"
    return None


def prepare_upload(data: bytes, limits: InputLimits | None = None, *, repairable: bool = False) -> PreparedPdf:
    """Check an uploaded file within ``limits`` and return it as a PDF.

    The checks run in a worker process (:func:`signing.worker.run_isolated`)
    that may use ``limits.parse_timeout_seconds`` and ``limits.max_memory_bytes``.

    With ``repairable`` a PDF may have damage that pyHanko's non-strict reader
    and qpdf repair, such as a ``startxref`` a few bytes off. That suits a file
    handed in for validation, whose report states how it was read, but not a
    file to archive and sign. Every limit still applies.

    Raises :class:`~signing.errors.InvalidDocument` with ``reason`` ``"empty"``,
    ``"unsupported_type"``, ``"pdf_header_offset"``, ``"malformed_pdf"``, ``"encrypted_pdf"`` or
    ``"image_invalid"`` for files that cannot be read, and ``"too_many_pages"``,
    ``"too_many_objects"``, ``"too_many_revisions"``, ``"nesting_too_deep"``,
    ``"decompression_limit"``, ``"image_too_large"``, ``"memory_limit"`` or
    ``"processing_timeout"`` for files beyond ``limits``.
    """
    limits = limits or InputLimits()
    if not data:
        raise InvalidDocument("empty", "the upload contains no bytes")

    source_type = sniff_type(data)
    if source_type is None:
        _reject_unknown(data)

    page_count, converted = run_isolated(
        _prepare_in_worker,
        data,
        source_type,
        limits,
        repairable,
        timeout_seconds=limits.parse_timeout_seconds + _REPORT_GRACE_SECONDS,
        memory_bytes=limits.max_memory_bytes,
    )
    if converted is None:
        return PreparedPdf(data=data, page_count=page_count, source_type=source_type, converted=False)
    return PreparedPdf(data=converted, page_count=page_count, source_type=source_type, converted=True)


def prepare_upload_file(path: Path, converted_path: Path, limits: InputLimits | None = None) -> PreparedFile:
    """Check the uploaded file at ``path`` as :func:`prepare_upload` checks bytes.

    The worker process reads the file itself, so the caller never loads its
    bytes. An image is converted into ``converted_path``, which must exist
    and be writable; the result's ``path`` names the PDF to store. Raises
    what :func:`prepare_upload` raises.
    """
    limits = limits or InputLimits()
    with open(path, "rb") as stream:
        # pdf_header_offset looks for the header in the first 1024 bytes.
        head = stream.read(1024)
    if not head:
        raise InvalidDocument("empty", "the upload contains no bytes")
    source_type = sniff_type(head)
    if source_type is None:
        _reject_unknown(head)

    page_count, converted = run_isolated(
        _prepare_file_in_worker,
        str(path),
        str(converted_path),
        source_type,
        limits,
        timeout_seconds=limits.parse_timeout_seconds + _REPORT_GRACE_SECONDS,
        memory_bytes=limits.max_memory_bytes,
    )
    return PreparedFile(path=converted_path if converted else path, page_count=page_count,
                        source_type=source_type, converted=converted)


def _prepare_file_in_worker(path: str, converted_path: str, source_type: str,
                            limits: InputLimits) -> tuple[int, bool]:
    """Check the file at ``path``, writing an image's PDF to ``converted_path``; runs in the worker process."""
    data = Path(path).read_bytes()
    page_count, converted = _prepare_in_worker(data, source_type, limits, False)
    if converted is None:
        return page_count, False
    Path(converted_path).write_bytes(converted)
    return page_count, True


def _reject_unknown(data: bytes) -> None:
    """Raise the problem of a file whose type is not accepted; ``data`` is at least its first 1024 bytes."""
    offset = pdf_header_offset(data)
    if offset is not None:
        raise InvalidDocument(
            "pdf_header_offset",
            f"the PDF header %PDF- starts at byte offset {offset}, not 0; the bytes before it "
            f"shift every offset in the file",
        )
    raise InvalidDocument("unsupported_type", _describe_unknown(data))


def _describe_unknown(data: bytes) -> str:
    if data.startswith(_ZIP_MAGIC):
        return "content is a ZIP container (for example DOCX or ODT), not a PDF or image"
    return f"content starts with {data[:8].hex()}, which is not a PDF, JPEG, PNG or TIFF signature"


def _prepare_in_worker(
    data: bytes, source_type: str, limits: InputLimits, repairable: bool = False
) -> tuple[int, bytes | None]:
    """Return the page count, and the converted PDF for an image; runs in the worker process."""
    deadline = Deadline(limits.parse_timeout_seconds)
    # Both settings are process-wide, which is why they are set only here, in
    # a worker that handles this one upload.
    set_qpdf_limits(limits)
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels

    if source_type == "pdf":
        return check_pdf(data, limits, deadline, repairable=repairable), None

    pdf_data = convert_image(data, source_type, limits, deadline)
    page_count = count_pages(pdf_data)
    logger.info(
        "converted %s image (%d bytes) to PDF (%d bytes, %d pages)",
        source_type,
        len(data),
        len(pdf_data),
        page_count,
    )
    return page_count, pdf_data
