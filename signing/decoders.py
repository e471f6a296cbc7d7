"""Decoded size of a PDF stream's filter chain, measured without holding the output.

:func:`count_decoded_bytes` decodes a stream's filter chain in 64 KiB chunks
and discards the output, so a compression bomb is measured without being
inflated into memory.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from signing.errors import InvalidDocument
from signing.limits import Deadline

__all__ = ["CHUNK_BYTES", "count_decoded_bytes"]

CHUNK_BYTES = 64 * 1024
_WHITESPACE = b"\x00\t\n\x0c\r "
_ASCII85_GROUPS = re.compile(rb"(?:z|[!-u]{5})*")


def count_decoded_bytes(
    raw: bytes,
    filters: Sequence[str],
    decode_parms: Sequence[Mapping[str, Any] | None],
    *,
    max_bytes: int,
    deadline: Deadline,
    label: str,
) -> int:
    """Decode ``raw`` through its filter chain in chunks and return the decoded size.

    Output is counted and discarded chunk by chunk, so memory use stays near
    :data:`CHUNK_BYTES` per filter whatever the compression ratio. Counting
    stops before the first filter that is not decoded here: DCTDecode,
    JPXDecode, JBIG2Decode, CCITTFaxDecode, Crypt or an unknown name. The size
    returned is then the size of that filter's input. Data that a filter
    cannot decode ends the stream, as it would end it in a reader.

    Raises :class:`InvalidDocument` ``decompression_limit`` as soon as the output
    of any filter in the chain exceeds ``max_bytes``, and ``processing_timeout``
    when ``deadline`` expires. ``label`` names the stream in the error detail.
    """
    chunks: Iterator[bytes] = _split(raw)
    for index, (name, parms) in enumerate(zip(filters, decode_parms, strict=True), start=1):
        decoder = _DECODERS.get(name)
        if decoder is None:
            break
        stage = f"{label}, filter {index} of {len(filters)} ({name}),"
        chunks = _bounded(decoder(chunks, parms or {}), max_bytes, deadline, stage)
    return sum(len(chunk) for chunk in chunks)


def _split(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK_BYTES):
        yield view[start : start + CHUNK_BYTES].tobytes()


def _bounded(chunks: Iterator[bytes], max_bytes: int, deadline: Deadline, label: str) -> Iterator[bytes]:
    produced = 0
    for chunk in chunks:
        produced += len(chunk)
        if produced > max_bytes:
            raise InvalidDocument(
                "decompression_limit", f"{label} decodes to more than the limit of {max_bytes} bytes"
            )
        deadline.check(f"decoding {label}")
        yield chunk


def _flate(chunks: Iterator[bytes], parms: Mapping[str, Any]) -> Iterator[bytes]:
    # Predictors (/DecodeParms /Predictor) only remove one tag byte per row, so
    # the inflated size is an upper bound of the decoded size.
    inflater = zlib.decompressobj()
    try:
        for chunk in chunks:
            pending = chunk
            while True:
                output = inflater.decompress(pending, CHUNK_BYTES)
                if output:
                    yield output
                if inflater.eof:
                    return
                pending = inflater.unconsumed_tail
                if not pending and len(output) < CHUNK_BYTES:
                    break
        while not inflater.eof:
            output = inflater.decompress(b"", CHUNK_BYTES)
            if not output:
                return
            yield output
    except zlib.error:
        return


def _ascii_hex(chunks: Iterator[bytes], parms: Mapping[str, Any]) -> Iterator[bytes]:
    carry = b""
    for chunk in chunks:
        text = chunk.translate(None, _WHITESPACE)
        end = text.find(b">")
        if end >= 0:
            text = text[:end]
        text = carry + text
        carry, text = (text[-1:], text[:-1]) if len(text) % 2 else (b"", text)
        try:
            yield binascii.unhexlify(text)
        except binascii.Error:
            return
        if end >= 0:
            break
    if carry:
        # A final odd digit stands for its value followed by 0.
        yield binascii.unhexlify(carry + b"0")


def _ascii85(chunks: Iterator[bytes], parms: Mapping[str, Any]) -> Iterator[bytes]:
    carry = b""
    for chunk in chunks:
        text = chunk.translate(None, _WHITESPACE)
        end = text.find(b"~")
        if end >= 0:
            text = text[:end]
        text = carry + text
        complete = _ASCII85_GROUPS.match(text).end()
        carry = text[complete:]
        yield base64.a85decode(text[:complete])
        if end >= 0 or len(carry) >= 5:
            # The end marker, or a character that cannot start or continue a group.
            return
    if len(carry) > 1:
        yield base64.a85decode(carry)


def _run_length(chunks: Iterator[bytes], parms: Mapping[str, Any]) -> Iterator[bytes]:
    pending = b""
    output = bytearray()
    for chunk in chunks:
        data = pending + chunk
        position = 0
        while position < len(data):
            length = data[position]
            if length == 128:
                yield bytes(output)
                return
            if length < 128:
                if position + length + 2 > len(data):
                    break
                output += data[position + 1 : position + length + 2]
                position += length + 2
            else:
                if position + 2 > len(data):
                    break
                output += data[position + 1 : position + 2] * (257 - length)
                position += 2
            if len(output) >= CHUNK_BYTES:
                yield bytes(output)
                output.clear()
        pending = data[position:]
    yield bytes(output)


def _lzw(chunks: Iterator[bytes], parms: Mapping[str, Any]) -> Iterator[bytes]:
    """Decode LZW as ISO 32000-1, 7.4.4.2 specifies it: 9 to 12 bit codes, 256 clears, 257 ends."""
    early_change = 1 if parms.get("/EarlyChange", 1) else 0
    table: list[bytes] = [bytes([value]) for value in range(256)] + [b"", b""]
    width = 9
    previous: bytes | None = None
    bits = 0
    bit_count = 0
    output = bytearray()
    for chunk in chunks:
        for byte in chunk:
            bits = (bits << 8) | byte
            bit_count += 8
            while bit_count >= width:
                bit_count -= width
                code = bits >> bit_count
                bits &= (1 << bit_count) - 1
                if code == 256:
                    del table[258:]
                    width = 9
                    previous = None
                    continue
                if code == 257:
                    yield bytes(output)
                    return
                if code < len(table):
                    entry = table[code]
                elif code == len(table) and previous is not None:
                    entry = previous + previous[:1]
                else:
                    yield bytes(output)
                    return
                output += entry
                if previous is not None and len(table) < 4096:
                    table.append(previous + entry[:1])
                previous = entry
                if len(table) + early_change >= (1 << width) and width < 12:
                    width += 1
            if len(output) >= CHUNK_BYTES:
                yield bytes(output)
                output.clear()
    yield bytes(output)


_DECODERS: dict[str, Callable[[Iterator[bytes], Mapping[str, Any]], Iterator[bytes]]] = {
    "/FlateDecode": _flate,
    "/Fl": _flate,
    "/ASCIIHexDecode": _ascii_hex,
    "/AHx": _ascii_hex,
    "/ASCII85Decode": _ascii85,
    "/A85": _ascii85,
    "/RunLengthDecode": _run_length,
    "/RL": _run_length,
    "/LZWDecode": _lzw,
    "/LZW": _lzw,
}

