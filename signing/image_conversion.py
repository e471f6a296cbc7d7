"""Conversion of scanned JPEG, PNG and TIFF images to PDF within the input limits.

Every frame is decoded with Pillow first, within the pixel and frame limits
of :class:`~signing.limits.InputLimits`, and then converted with img2pdf,
which embeds JPEG data as it is and stores other formats losslessly.
"""

from __future__ import annotations

import io
import warnings

import img2pdf
import pikepdf
from PIL import Image

from signing.errors import InvalidDocument
from signing.limits import Deadline, InputLimits
from signing.pdf_checks import without_stream_repr

__all__ = ["convert_image", "count_pages"]

_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}


def convert_image(data: bytes, source_type: str, limits: InputLimits, deadline: Deadline) -> bytes:
    _decode_image_fully(data, source_type, limits, deadline)
    deadline.check(f"converting the {source_type} image")
    try:
        # Rotation.ifvalid applies a valid EXIF orientation and ignores an
        # invalid one instead of raising.
        return img2pdf.convert(data, rotation=img2pdf.Rotation.ifvalid)
    except img2pdf.AlphaChannelError as exc:
        raise InvalidDocument(
            "unsupported_type",
            f"{source_type} image with an alpha channel deeper than 8 bits cannot be converted losslessly: {exc}",
        ) from exc
    except Image.DecompressionBombError as exc:
        raise InvalidDocument("image_too_large", f"img2pdf rejected the {source_type} image: {exc}") from exc
    except MemoryError:
        raise
    except Exception as exc:
        # img2pdf raises ImageOpenError, PdfTooLargeError and others of its own,
        # and passes on what Pillow raises.
        raise InvalidDocument("image_invalid", f"img2pdf cannot convert the {source_type} image: {exc}") from exc


def _decode_image_fully(data: bytes, source_type: str, limits: InputLimits, deadline: Deadline) -> None:
    """Decode every frame with Pillow, because img2pdf reads only the headers of a JPEG.

    Without this step a truncated JPEG would be embedded in the PDF as it is.
    Each frame's dimensions are checked before its pixels are decoded.
    """
    stream = io.BytesIO(data)
    try:
        with warnings.catch_warnings():
            # Pillow warns above Image.MAX_IMAGE_PIXELS and raises
            # DecompressionBombError above twice that; both mean too large.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=[_PILLOW_FORMATS[source_type]]) as image:
                frame_count = getattr(image, "n_frames", 1)
                if frame_count > limits.max_pages:
                    raise InvalidDocument(
                        "too_many_pages",
                        f"the {source_type} image has {frame_count} frames; at most {limits.max_pages} are accepted",
                    )
                for frame_index in range(frame_count):
                    deadline.check(f"decoding the {source_type} image")
                    image.seek(frame_index)
                    _check_dimensions(image, source_type, frame_index, limits)
                    image.load()
    except (InvalidDocument, MemoryError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        message = without_stream_repr(str(exc), stream)
        raise InvalidDocument("image_too_large", f"the {source_type} image is too large: {message}") from exc
    except Exception as exc:
        # Pillow's format plugins raise UnidentifiedImageError, OSError,
        # SyntaxError, struct.error and, on crafted files, other built-in errors.
        message = without_stream_repr(str(exc), stream)
        raise InvalidDocument("image_invalid", f"the {source_type} image cannot be decoded: {message}") from exc


def _check_dimensions(image: Image.Image, source_type: str, frame_index: int, limits: InputLimits) -> None:
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise InvalidDocument(
            "image_too_large",
            f"frame {frame_index + 1} of the {source_type} image has {width} x {height} pixels; "
            f"at most {limits.max_image_pixels} pixels are accepted",
        )


def count_pages(pdf_data: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf_data)) as pdf:
        return len(pdf.pages)
