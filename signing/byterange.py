"""Structural checks of a signature dictionary's /ByteRange and /Contents.

ISO 32000-1, 12.8.1, and ETSI EN 319 142-1 (PAdES) require the byte range to
cover the whole file as it was at signing, except the /Contents value. That
means two ranges: the first from offset 0 to the ``<`` of the hexadecimal
string, the second from after its ``>`` to the end of the signed revision.
pyHanko 0.38 checks only that the lengths add up, so a range that overlaps
itself, or a gap shifted off the /Contents string, still counts as covering
the whole file.

:func:`check_byte_range` checks the layout itself. A finding means that bytes
of the signed revision outside the signature value are not signed, or that
the signed bytes are not the revision the signature claims. This is how the
Signature Wrapping Attack and most Universal Signature Forgery variants work.
"""

from __future__ import annotations

import re

from pyhanko.pdf_utils import generic

from signing.revisions import DocumentFacts, FieldEntry

__all__ = ["check_byte_range", "read_byte_range"]

_HEX_STRING = re.compile(rb"<[0-9A-Fa-f\x00\t\n\x0c\r ]*>")
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "


def read_byte_range(entry: FieldEntry) -> tuple[int, ...] | None:
    """Return the /ByteRange numbers as found, or None when it is not an array of integers."""
    sig_object = entry.sig_object
    if not isinstance(sig_object, generic.DictionaryObject) or "/ByteRange" not in sig_object:
        return None
    value = sig_object.raw_get("/ByteRange")
    if not isinstance(value, generic.ArrayObject):
        return None
    numbers = [value.raw_get(index) for index in range(len(value))]
    if not all(isinstance(number, int) and not isinstance(number, bool) for number in numbers):
        return None
    return tuple(int(number) for number in numbers)


def check_byte_range(entry: FieldEntry, document: DocumentFacts) -> list[str]:
    """Return every way in which the signature's byte range breaks ISO 32000-1 and PAdES.

    An empty list means that the first range starts at 0 and ends at the
    ``<`` of the signature dictionary's own /Contents string, the second starts
    after its ``>`` and ends with the ``%%EOF`` line of the signed revision.
    """
    sig_object = entry.sig_object
    if not isinstance(sig_object, generic.DictionaryObject):
        return ["the signature field's /V value is not a signature dictionary"]
    if "/ByteRange" not in sig_object:
        return ["the signature dictionary has no /ByteRange entry, so no bytes of the document are signed"]
    byte_range = read_byte_range(entry)
    if byte_range is None or len(byte_range) != 4 or min(byte_range) < 0:
        return [
            f"/ByteRange {_show(sig_object.raw_get('/ByteRange'))} is not an array of four "
            f"non-negative integers"
        ]

    data = document.data
    start1, length1, start2, length2 = byte_range
    stated = "/ByteRange [" + " ".join(str(number) for number in byte_range) + "]"
    end = start2 + length2
    problems = []
    if start1 != 0:
        problems.append(f"{stated} does not start at offset 0, so the first {start1} bytes are not signed")
    if length1 == 0 or length2 == 0:
        problems.append(f"{stated} has an empty range")
    if start2 < start1 + length1:
        problems.append(f"{stated} has overlapping ranges: the second starts inside the first")
    if end > len(data):
        problems.append(f"{stated} ends at offset {end}, beyond the end of the file ({len(data)} bytes)")
    if problems:
        return problems

    problems.extend(_check_end(entry, document, stated, end))
    problems.extend(_check_gap(entry, document, stated, length1, start2))
    return problems


def _check_end(entry: FieldEntry, document: DocumentFacts, stated: str, end: int) -> list[str]:
    """Check that the second range ends with the ``%%EOF`` line of the signed revision."""
    revision = entry.revision
    revision_end = document.revision_ends[revision]
    data = document.data
    if end == revision_end:
        return []
    # Some signers leave the end-of-line after %%EOF out of the signed bytes.
    if end < revision_end and data[:end].endswith(b"%%EOF") and not data[end:revision_end].strip(b"\r\n"):
        return []
    if end < revision_end:
        return [
            f"{stated} ends at offset {end}, but revision {revision} ends at offset {revision_end}: "
            f"bytes {end} to {revision_end} of the signed revision are not signed"
        ]
    return [
        f"{stated} ends at offset {end}, but revision {revision} ends at offset {revision_end}: "
        f"the signed bytes do not end with the end-of-file marker of the signed revision"
    ]


def _check_gap(entry: FieldEntry, document: DocumentFacts, stated: str, gap_start: int, gap_end: int) -> list[str]:
    """Check that the gap is exactly the signature dictionary's own /Contents string."""
    data = document.data
    gap = data[gap_start:gap_end]
    if not _HEX_STRING.fullmatch(gap):
        return [
            f"the gap of {stated} (bytes {gap_start} to {gap_end}) is not a single hexadecimal "
            f"string, so {gap_end - gap_start} bytes that are not the signature value are not signed"
        ]

    contents = entry.sig_object.raw_get("/Contents") if "/Contents" in entry.sig_object else None
    if not isinstance(contents, (generic.TextStringObject, generic.ByteStringObject)):
        return [f"/Contents is {_show(contents)}, not the string in the gap of {stated}"]
    hex_digits = bytes(byte for byte in gap[1:-1] if byte not in _PDF_WHITESPACE)
    if len(hex_digits) % 2:
        hex_digits += b"0"
    if bytes.fromhex(hex_digits.decode("ascii")) != contents.original_bytes:
        return [f"/Contents of the signature dictionary is not the string in the gap of {stated}"]
    return _check_owner(entry, document, stated, gap_start)


def _check_owner(entry: FieldEntry, document: DocumentFacts, stated: str, gap_start: int) -> list[str]:
    """Check that the gap lies inside the bytes of the signature dictionary's own object."""
    reference = entry.sig_reference
    if reference is None:
        return ["the signature dictionary is a direct object, but ISO 32000-1 requires an indirect reference"]
    location = document.reader.xrefs.get_historical_ref(reference, entry.revision)
    object_name = f"{reference.idnum} {reference.generation} R"
    if not isinstance(location, int):
        return [
            f"the signature dictionary {object_name} is stored in an object stream, where no "
            f"byte range can exclude its /Contents"
        ]
    if location > gap_start or document.data.find(b"endobj", location, gap_start) >= 0:
        return [
            f"the gap of {stated} is not inside the signature dictionary {object_name} at offset "
            f"{location}: the signed /Contents belongs to other bytes"
        ]
    return []


def _show(value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, generic.NullObject):
        return "null"
    if isinstance(value, generic.IndirectObject):
        return f"an indirect reference ({value.reference.idnum} {value.reference.generation} R)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
