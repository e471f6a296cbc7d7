"""Turn an uploaded file into a PDF that can be archived and signed.

The file type is decided by the content's magic bytes only, never by the file
name or the content type the client sent. PDFs are checked and kept byte for
byte, because rewriting a PDF would break any signature it already carries.
Images are converted to a one-page-per-frame PDF with img2pdf, which embeds
JPEG data as it is and stores other formats losslessly.

Every check runs in a worker process under :class:`~signing.limits.InputLimits`:
page, object and revision counts, nesting depth, the decoded size of every
stream in every revision, image dimensions, a wall-clock budget and a memory
cap. A PDF is parsed by pyHanko first, whose decoders enforce size limits of
their own, and by pikepdf (qpdf) only after pyHanko accepted its cross-reference
data.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import img2pdf
import pikepdf
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.errors import InvalidDocument
from signing.limits import Deadline, InputLimits, count_decoded_bytes, run_isolated

__all__ = ["InputLimits", "PreparedFile", "PreparedPdf", "prepare_upload", "prepare_upload_file", "sniff_type"]

logger = logging.getLogger(__name__)

_PDF_MAGIC = b"%PDF-"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*")
_ZIP_MAGIC = b"PK\x03\x04"
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}

# qpdf decodes at most this many filters of one stream (its max_stream_filters
# default), so a longer chain cannot be meant for readers.
MAX_STREAM_FILTERS = 25
# qpdf gives up on a file after this many warnings, instead of collecting one
# per damaged object of a large file.
MAX_QPDF_WARNINGS = 50
# Objects between two deadline checks while walking a PDF.
_OBJECTS_PER_CHECK = 500
# Working memory that qpdf's decoders may use beyond the decoded data.
_QPDF_DECODER_MARGIN = 16 * 1024 * 1024
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


def prepare_upload(data: bytes, limits: InputLimits | None = None) -> PreparedPdf:
    """Check an uploaded file within ``limits`` and return it as a PDF.

    The checks run in a worker process (:func:`signing.limits.run_isolated`)
    that may use ``limits.parse_timeout_seconds`` and ``limits.max_memory_bytes``.

    Raises :class:`~signing.errors.InvalidDocument` with ``reason`` ``"empty"``,
    ``"unsupported_type"``, ``"malformed_pdf"``, ``"encrypted_pdf"`` or
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
        raise InvalidDocument("unsupported_type", _describe_unknown(data))

    page_count, converted = run_isolated(
        _prepare_in_worker,
        data,
        source_type,
        limits,
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
        head = stream.read(16)
    if not head:
        raise InvalidDocument("empty", "the upload contains no bytes")
    source_type = sniff_type(head)
    if source_type is None:
        raise InvalidDocument("unsupported_type", _describe_unknown(head))

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
    page_count, converted = _prepare_in_worker(data, source_type, limits)
    if converted is None:
        return page_count, False
    Path(converted_path).write_bytes(converted)
    return page_count, True


def _describe_unknown(data: bytes) -> str:
    if data.startswith(_ZIP_MAGIC):
        return "content is a ZIP container (for example DOCX or ODT), not a PDF or image"
    return f"content starts with {data[:8].hex()}, which is not a PDF, JPEG, PNG or TIFF signature"


def _prepare_in_worker(data: bytes, source_type: str, limits: InputLimits) -> tuple[int, bytes | None]:
    """Return the page count, and the converted PDF for an image; runs in the worker process."""
    deadline = Deadline(limits.parse_timeout_seconds)
    # Both settings are process-wide, which is why they are set only here, in
    # a worker that handles this one upload.
    pikepdf.settings.set_qpdf_limits(
        # qpdf 12 accepts one level more than parser_max_nesting.
        parser_max_nesting=max(limits.max_nesting_depth - 1, 1),
        doc_max_warnings=MAX_QPDF_WARNINGS,
        # A backstop only: count_decoded_bytes measures each stream first,
        # except cross-reference streams and the object stream of the
        # catalog, which pyHanko's decoders measured. qpdf counts the
        # decoder's working memory as well, hence the margin.
        flate_max_memory=limits.max_stream_bytes + _QPDF_DECODER_MARGIN,
        run_length_max_memory=limits.max_stream_bytes + _QPDF_DECODER_MARGIN,
        png_max_memory=limits.max_stream_bytes + _QPDF_DECODER_MARGIN,
        tiff_max_memory=limits.max_stream_bytes + _QPDF_DECODER_MARGIN,
    )
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels

    if source_type == "pdf":
        return _check_pdf(data, limits, deadline), None

    pdf_data = _convert_image(data, source_type, limits, deadline)
    page_count = _count_pages(pdf_data)
    logger.info(
        "converted %s image (%d bytes) to PDF (%d bytes, %d pages)",
        source_type,
        len(data),
        len(pdf_data),
        page_count,
    )
    return page_count, pdf_data


# --- PDF -------------------------------------------------------------------------------


def _check_pdf(data: bytes, limits: InputLimits, deadline: Deadline) -> int:
    """Check ``data`` within ``limits`` with pyHanko and pikepdf and return its page count."""
    # Counting markers is cheap and rejects a file with thousands of updates
    # before a parser follows every /Prev pointer.
    markers = max(data.count(b"%%EOF"), data.count(b"startxref"))
    if markers > limits.max_revisions:
        raise InvalidDocument(
            "too_many_revisions",
            f"the file has {markers} end-of-file markers; at most {limits.max_revisions} revisions are accepted",
        )

    reader = _open_with_pyhanko(data, limits)
    overwritten = _count_pyhanko_structure(reader, limits)
    deadline.check("reading the cross-reference data")

    budget = _StreamBudget(limits, deadline)
    page_count = _check_pdf_with_pikepdf(data, limits, deadline, budget)
    _check_overwritten_objects(reader, overwritten, limits, deadline, budget)
    pyhanko_page_count = _pyhanko_page_count(reader)

    # Both parsers must see the same document. Different page counts mean that
    # the file structure is ambiguous, and a signature would cover content that
    # a viewer may show differently.
    if pyhanko_page_count != page_count:
        raise InvalidDocument(
            "malformed_pdf",
            f"page count differs between parsers (pikepdf {page_count}, pyHanko {pyhanko_page_count})",
        )
    return page_count


def _pyhanko_decode_limits(limits: InputLimits) -> DecodeLimits:
    # pyHanko 0.38 decodes cross-reference and object streams while reading.
    # Its per-purpose defaults stay; the totals follow the input limits.
    return DecodeLimits(
        per_stream=StreamDecodeLimits(max_output_size=limits.max_stream_bytes),
        document_budget=DocumentDecodeBudget(base_allowance=limits.max_decompressed_bytes, max_ratio=0),
    )


def _open_with_pyhanko(data: bytes, limits: InputLimits) -> PdfFileReader:
    # pyHanko's reader raises PdfReadError for most damage, but on hostile
    # input it can also fail with KeyError, TypeError, ValueError and other
    # built-in exceptions. Any failure here means the PDF cannot be signed.
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True, decode_limits=_pyhanko_decode_limits(limits))
        if reader.encrypted:
            raise InvalidDocument("encrypted_pdf", "the PDF has an /Encrypt dictionary")
        # qpdf reads the catalog while opening the file, before any stream is
        # measured. pyHanko reads it first, with its decoding limits.
        reader.root
    except (InvalidDocument, MemoryError):
        raise
    except Exception as exc:
        raise _pyhanko_failure(exc, "pyHanko cannot parse the PDF") from exc
    return reader


def _pyhanko_failure(exc: Exception, context: str) -> InvalidDocument:
    if isinstance(exc, PdfDecodeLimitError):
        return InvalidDocument("decompression_limit", f"{context}: {exc}")
    if isinstance(exc, RecursionError):
        # pyHanko parses nested arrays and dictionaries recursively.
        return InvalidDocument("nesting_too_deep", f"{context}: arrays or dictionaries are nested too deeply")
    return InvalidDocument("malformed_pdf", f"{context}: {exc!r}")


def _count_pyhanko_structure(reader: PdfFileReader, limits: InputLimits) -> list[tuple[int, generic.Reference]]:
    """Check revision and object counts; return the object versions that a later revision replaced.

    NOTE: ``reader.xrefs`` is internal API of pyHanko 0.38, also used by
    :mod:`signing.revisions`; check it when pyHanko is upgraded.
    """
    xrefs = reader.xrefs
    revisions = xrefs.total_revisions
    if revisions > limits.max_revisions:
        raise InvalidDocument(
            "too_many_revisions",
            f"the PDF has {revisions} revisions; at most {limits.max_revisions} are accepted",
        )

    # pikepdf reads only the newest version of each object. The versions that
    # later revisions replaced are still in the file, and validation reads them.
    seen: set[tuple[int, int]] = set()
    overwritten: list[tuple[int, generic.Reference]] = []
    objects = 0
    for revision in reversed(range(revisions)):
        refs = xrefs.explicit_refs_in_revision(revision)
        objects += len(refs)
        if objects > limits.max_objects:
            raise InvalidDocument(
                "too_many_objects",
                f"the PDF has more than {limits.max_objects} objects over its {revisions} revisions",
            )
        for ref in refs:
            key = (ref.idnum, ref.generation)
            if key in seen:
                overwritten.append((revision, ref))
            else:
                seen.add(key)
    return overwritten


def _pyhanko_page_count(reader: PdfFileReader) -> int:
    try:
        return int(reader.root["/Pages"]["/Count"])
    except MemoryError:
        raise
    except Exception as exc:
        raise _pyhanko_failure(exc, "pyHanko cannot read the page tree") from exc


class _StreamBudget:
    """Counts the decoded bytes of all streams against ``max_decompressed_bytes``."""

    def __init__(self, limits: InputLimits, deadline: Deadline) -> None:
        self.limits = limits
        self.deadline = deadline
        self.total = 0

    def add(self, raw: bytes, filters: list[object], decode_parms: list[object], label: str) -> None:
        names = [str(name) for name in filters]
        if len(names) > MAX_STREAM_FILTERS:
            raise InvalidDocument(
                "malformed_pdf", f"{label} has {len(names)} filters; readers decode at most {MAX_STREAM_FILTERS}"
            )
        parms = [_lzw_parms(item) for item in decode_parms]
        parms += [None] * (len(names) - len(parms))
        self.total += count_decoded_bytes(
            raw, names, parms[: len(names)], max_bytes=self.limits.max_stream_bytes,
            deadline=self.deadline, label=label,
        )
        if self.total > self.limits.max_decompressed_bytes:
            raise InvalidDocument(
                "decompression_limit",
                f"the streams up to {label} decode to more than the limit of "
                f"{self.limits.max_decompressed_bytes} bytes for all streams together",
            )


def _lzw_parms(parms: object) -> dict[str, int] | None:
    # /EarlyChange is the only decode parameter that changes a decoded size.
    try:
        return {"/EarlyChange": int(parms["/EarlyChange"])}  # type: ignore[index]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, (pikepdf.Array, list)):
        return list(value)
    return [value]


def _check_pdf_with_pikepdf(data: bytes, limits: InputLimits, deadline: Deadline, budget: _StreamBudget) -> int:
    stream = io.BytesIO(data)
    try:
        with pikepdf.open(stream) as pdf:
            # QPDF opens a PDF with an empty user password without being given
            # a password, so encryption has to be checked explicitly.
            if pdf.is_encrypted:
                raise InvalidDocument("encrypted_pdf", "the PDF is encrypted (its user password is empty)")
            _walk_objects(pdf, limits, deadline, budget)
            page_count = _count_pikepdf_pages(pdf, limits, deadline)
            problems = pdf.get_warnings()
    except pikepdf.PasswordError as exc:
        raise InvalidDocument("encrypted_pdf", "the PDF is encrypted with a user password") from exc
    except (InvalidDocument, MemoryError):
        raise
    except Exception as exc:
        # pikepdf raises PdfError, QpdfRuntimeError (not a PdfError) and
        # built-in exceptions on damaged files.
        message = _without_stream_repr(str(exc), stream)
        raise InvalidDocument(_qpdf_reason(message), f"pikepdf cannot parse the PDF: {message}") from exc

    # QPDF repairs damaged files while opening them and reports the repair
    # only as a warning. A repaired file is not what the uploader sent, so any
    # warning counts as malformed, unless it reports an exceeded limit.
    if problems:
        message = _without_stream_repr(problems[0], stream)
        reasons = [_qpdf_reason(problem) for problem in problems]
        reason = next((reason for reason in reasons if reason != "malformed_pdf"), "malformed_pdf")
        raise InvalidDocument(reason, f"pikepdf repaired the PDF while reading it: {message}")
    return page_count


def _qpdf_reason(message: str) -> str:
    # qpdf 12 names the limit in the message, for example
    # "limits error(parser-max-nesting): ignoring excessively deeply nested data structure".
    if "parser-max-nesting" in message:
        return "nesting_too_deep"
    if "memory limit exceeded" in message:
        return "decompression_limit"
    return "malformed_pdf"


def _walk_objects(pdf: pikepdf.Pdf, limits: InputLimits, deadline: Deadline, budget: _StreamBudget) -> None:
    """Parse every object of the newest revision and count the decoded size of every stream."""
    table = pdf.get_xref_table()
    if len(table) > limits.max_objects:
        raise InvalidDocument(
            "too_many_objects", f"the PDF has {len(table)} objects; at most {limits.max_objects} are accepted"
        )
    # Objects outside object streams first: an object stream is then measured
    # before qpdf decodes it to read the objects inside.
    in_files = [objgen for objgen, entry in table.items() if entry.type == 1]
    in_streams = [objgen for objgen, entry in table.items() if entry.type == 2]
    for index, objgen in enumerate(in_files + in_streams):
        if index % _OBJECTS_PER_CHECK == 0:
            deadline.check("parsing the objects of the PDF")
        obj = pdf.get_object(objgen)
        if isinstance(obj, pikepdf.Stream):
            budget.add(
                obj.read_raw_bytes(),
                _as_list(obj.get("/Filter")),
                _as_list(obj.get("/DecodeParms")),
                f"stream {objgen[0]} {objgen[1]}",
            )


def _count_pikepdf_pages(pdf: pikepdf.Pdf, limits: InputLimits, deadline: Deadline) -> int:
    # qpdf raises on a loop in the page tree (a /Kids entry that leads back to
    # an ancestor) while it lists the pages.
    page_count = 0
    leads_to_root: set[tuple[int, int]] = set()
    for page in pdf.pages:
        page_count += 1
        if page_count > limits.max_pages:
            raise InvalidDocument("too_many_pages", f"the PDF has more than {limits.max_pages} pages")
        if page_count % _OBJECTS_PER_CHECK == 0:
            deadline.check("reading the pages of the PDF")
        page.obj.get("/Contents")
        page.mediabox
        _check_parent_chain(page.obj, page_count, leads_to_root)
    if page_count == 0:
        raise InvalidDocument("malformed_pdf", "the PDF has no pages")
    return page_count


def _check_parent_chain(page: pikepdf.Dictionary, page_number: int, leads_to_root: set[tuple[int, int]]) -> None:
    """Reject a /Parent chain that loops; readers follow it to find inherited attributes.

    ``leads_to_root`` collects the nodes whose chain is known to end, so every
    node is followed once over all pages.
    """
    chain: list[tuple[int, int]] = []
    node: pikepdf.Object | None = page
    while node is not None and node.is_indirect:
        key = node.objgen
        if key in leads_to_root:
            break
        if key in chain:
            raise InvalidDocument("malformed_pdf", f"the /Parent chain of page {page_number} loops")
        chain.append(key)
        node = node.get("/Parent") if isinstance(node, pikepdf.Dictionary) else None
    leads_to_root.update(chain)


def _check_overwritten_objects(
    reader: PdfFileReader,
    overwritten: Iterable[tuple[int, generic.Reference]],
    limits: InputLimits,
    deadline: Deadline,
    budget: _StreamBudget,
) -> None:
    """Apply the nesting and stream checks to object versions that later revisions replaced."""
    for index, (revision, ref) in enumerate(overwritten):
        if index % _OBJECTS_PER_CHECK == 0:
            deadline.check("parsing the earlier revisions of the PDF")
        label = f"object {ref.idnum} {ref.generation} of revision {revision + 1}"
        try:
            obj = reader.get_object(ref, revision=revision)
            _check_nesting(obj, limits, label)
            if isinstance(obj, generic.StreamObject):
                budget.add(
                    obj.encoded_data,
                    _as_list(obj.get("/Filter")),
                    _as_list(obj.get("/DecodeParms")),
                    f"stream {label}",
                )
        except (InvalidDocument, MemoryError):
            raise
        except Exception as exc:
            raise _pyhanko_failure(exc, f"pyHanko cannot read {label}") from exc


def _check_nesting(obj: generic.PdfObject, limits: InputLimits, label: str) -> None:
    # Iterative, so that the check itself cannot exhaust the stack. Indirect
    # references are not followed: each object is measured on its own.
    pending: list[tuple[object, int]] = [(obj, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Iterable[object] = dict.values(value)
        elif isinstance(value, list):
            children = list.__iter__(value)
        else:
            continue
        if depth > limits.max_nesting_depth:
            raise InvalidDocument(
                "nesting_too_deep",
                f"{label} nests arrays or dictionaries deeper than {limits.max_nesting_depth} levels",
            )
        pending.extend((child, depth + 1) for child in children)


# --- images ----------------------------------------------------------------------------


def _convert_image(data: bytes, source_type: str, limits: InputLimits, deadline: Deadline) -> bytes:
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
        message = _without_stream_repr(str(exc), stream)
        raise InvalidDocument("image_too_large", f"the {source_type} image is too large: {message}") from exc
    except Exception as exc:
        # Pillow's format plugins raise UnidentifiedImageError, OSError,
        # SyntaxError, struct.error and, on crafted files, other built-in errors.
        message = _without_stream_repr(str(exc), stream)
        raise InvalidDocument("image_invalid", f"the {source_type} image cannot be decoded: {message}") from exc


def _check_dimensions(image: Image.Image, source_type: str, frame_index: int, limits: InputLimits) -> None:
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise InvalidDocument(
            "image_too_large",
            f"frame {frame_index + 1} of the {source_type} image has {width} x {height} pixels; "
            f"at most {limits.max_image_pixels} pixels are accepted",
        )


def _without_stream_repr(message: str, stream: io.BytesIO) -> str:
    # pikepdf and Pillow name the input by its repr, which holds only a memory address.
    return message.replace(f"stream {stream!r}: ", "").replace(f"stream {stream!r} ", "").replace(
        repr(stream), "upload"
    )


def _count_pages(pdf_data: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf_data)) as pdf:
        return len(pdf.pages)
