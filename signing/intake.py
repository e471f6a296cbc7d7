"""Turn an uploaded file into a PDF that can be archived and signed.

The file type is decided by the content's magic bytes only, never by the file
name or the content type the client sent. PDFs are checked and kept byte for
byte, because rewriting a PDF would break any signature it already carries.
Images are converted to a one-page-per-frame PDF with img2pdf, which embeds
JPEG data as it is and stores other formats losslessly.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

import img2pdf
import pikepdf
from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.errors import InvalidDocument

__all__ = ["PreparedPdf", "prepare_upload", "sniff_type"]

logger = logging.getLogger(__name__)

_PDF_MAGIC = b"%PDF-"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*")
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class PreparedPdf:
    """A PDF ready to be stored, with what intake learned about it."""

    data: bytes
    page_count: int
    source_type: str
    """Type detected from the uploaded bytes: ``"pdf"``, ``"jpeg"``, ``"png"`` or ``"tiff"``."""
    converted: bool
    """True when ``data`` was produced from an image, False for an uploaded PDF kept as is."""


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


def prepare_upload(data: bytes) -> PreparedPdf:
    """Check an uploaded file and return it as a PDF.

    Raises :class:`~signing.errors.InvalidDocument` with ``reason`` ``"empty"``,
    ``"unsupported_type"``, ``"malformed_pdf"``, ``"encrypted_pdf"`` or
    ``"image_invalid"``.
    """
    if not data:
        raise InvalidDocument("empty", "the upload contains no bytes")

    source_type = sniff_type(data)
    if source_type is None:
        raise InvalidDocument("unsupported_type", _describe_unknown(data))

    if source_type == "pdf":
        page_count = _check_pdf(data)
        return PreparedPdf(data=data, page_count=page_count, source_type="pdf", converted=False)

    pdf_data = _convert_image(data, source_type)
    page_count = _count_pages(pdf_data)
    logger.info(
        "converted %s image (%d bytes) to PDF (%d bytes, %d pages)",
        source_type,
        len(data),
        len(pdf_data),
        page_count,
    )
    return PreparedPdf(data=pdf_data, page_count=page_count, source_type=source_type, converted=True)


def _describe_unknown(data: bytes) -> str:
    if data.startswith(_ZIP_MAGIC):
        return "content is a ZIP container (for example DOCX or ODT), not a PDF or image"
    return f"content starts with {data[:8].hex()}, which is not a PDF, JPEG, PNG or TIFF signature"


def _check_pdf(data: bytes) -> int:
    """Parse ``data`` with pikepdf and pyHanko and return its page count."""
    page_count = _check_pdf_with_pikepdf(data)
    pyhanko_page_count = _check_pdf_with_pyhanko(data)

    # Both parsers must see the same document. Different page counts mean that
    # the file structure is ambiguous, and a signature would cover content that
    # a viewer may show differently.
    if pyhanko_page_count != page_count:
        raise InvalidDocument(
            "malformed_pdf",
            f"page count differs between parsers (pikepdf {page_count}, pyHanko {pyhanko_page_count})",
        )
    return page_count


def _check_pdf_with_pikepdf(data: bytes) -> int:
    stream = io.BytesIO(data)
    try:
        with pikepdf.open(stream) as pdf:
            # QPDF opens a PDF with an empty user password without being given
            # a password, so encryption has to be checked explicitly.
            if pdf.is_encrypted:
                raise InvalidDocument("encrypted_pdf", "the PDF is encrypted (its user password is empty)")

            # QPDF repairs damaged files while opening them and reports the
            # repair only as a warning. A repaired file is not what the uploader
            # sent, so any warning counts as malformed.
            page_count = 0
            for page in pdf.pages:
                page.obj.get("/Contents")
                page.mediabox
                page_count += 1
            problems = pdf.get_warnings()
    except pikepdf.PasswordError as exc:
        raise InvalidDocument("encrypted_pdf", "the PDF is encrypted with a user password") from exc
    except pikepdf.PdfError as exc:
        message = _without_stream_repr(str(exc), stream)
        raise InvalidDocument("malformed_pdf", f"pikepdf cannot parse the PDF: {message}") from exc

    if problems:
        raise InvalidDocument("malformed_pdf", f"pikepdf repaired the PDF while reading it: {problems[0]}")
    if page_count == 0:
        raise InvalidDocument("malformed_pdf", "the PDF has no pages")
    return page_count


def _check_pdf_with_pyhanko(data: bytes) -> int:
    # pyHanko's reader raises PdfReadError for most damage, but on hostile
    # input it can also fail with KeyError, TypeError, ValueError and other
    # built-in exceptions. Any failure here means the PDF cannot be signed.
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True)
        if reader.encrypted:
            raise InvalidDocument("encrypted_pdf", "the PDF has an /Encrypt dictionary")
        page_count = int(reader.root["/Pages"]["/Count"])
    except InvalidDocument:
        raise
    except Exception as exc:
        raise InvalidDocument("malformed_pdf", f"pyHanko cannot parse the PDF: {exc!r}") from exc
    return page_count


def _convert_image(data: bytes, source_type: str) -> bytes:
    _decode_image_fully(data, source_type)
    try:
        # Rotation.ifvalid applies a valid EXIF orientation and ignores an
        # invalid one instead of raising.
        return img2pdf.convert(data, rotation=img2pdf.Rotation.ifvalid)
    except img2pdf.AlphaChannelError as exc:
        raise InvalidDocument(
            "unsupported_type",
            f"{source_type} image with an alpha channel deeper than 8 bits cannot be converted losslessly: {exc}",
        ) from exc
    except (img2pdf.ImageOpenError, img2pdf.NegativeDimensionError, img2pdf.UnsupportedColorspaceError,
            img2pdf.JpegColorspaceError, img2pdf.PdfTooLargeError, ValueError, OSError) as exc:
        raise InvalidDocument("image_invalid", f"img2pdf cannot convert the {source_type} image: {exc}") from exc


def _decode_image_fully(data: bytes, source_type: str) -> None:
    """Decode every frame with Pillow, because img2pdf reads only the headers of a JPEG.

    Without this step a truncated JPEG would be embedded in the PDF as it is.
    """
    stream = io.BytesIO(data)
    try:
        with warnings.catch_warnings():
            # A DecompressionBombWarning (more than Image.MAX_IMAGE_PIXELS pixels)
            # is allowed. Pillow raises DecompressionBombError above twice that.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                for frame_index in range(getattr(image, "n_frames", 1)):
                    image.seek(frame_index)
                    image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, EOFError) as exc:
        message = _without_stream_repr(str(exc), stream)
        raise InvalidDocument("image_invalid", f"the {source_type} image cannot be decoded: {message}") from exc


def _without_stream_repr(message: str, stream: io.BytesIO) -> str:
    # pikepdf and Pillow name the input by its repr, which holds only a memory address.
    return message.replace(f"stream {stream!r}: ", "").replace(repr(stream), "upload")


def _count_pages(pdf_data: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf_data)) as pdf:
        return len(pdf.pages)
