"""Damaged and hostile PDFs sent to the API get a report or a 4xx problem, never a 5xx.

The fuzz test mutates a signed copy of the sample minutes with byte flips
(anywhere, or only inside stream data), truncations, insertions and duplicated
cross-reference sections. Hypothesis
runs a fixed number of examples with a fixed seed (``derandomize``), so CI gets
the same inputs on every run.
"""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from service.problems import STATUS_BY_CODE
from signing.sign import SigningProfile, sign_pdf
from tests.helpers import MINUTES_PDF, bearer, upload
from tests.service.test_upload import archive_state
from tests.signing.test_hostile import (
    flate_bomb,
    incremental_updates,
    page_objects,
    pdf_bytes,
    png_bomb,
    stream,
    tiff_image,
)

# Tokens that change the structure of a PDF when inserted, besides random bytes.
PDF_TOKENS = [b"<<", b">>", b"[", b"]", b"(", b")", b"obj", b"endobj", b"stream", b"endstream", b"xref",
              b"trailer", b"startxref", b"%%EOF", b" R ", b" 0 ", b"9999999999", b"/Prev 0", b"\n"]
INDICATIONS = {"TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE", "NO_SIGNATURE"}
STRUCTURE_KEYWORDS = re.compile(rb"startxref|xref|trailer|/Prev|/Size|/Root|/ByteRange|/Contents|/Length|\d+ \d+ obj|stream")
# A stream dictionary's direct /Length and the start of the stream data.
STREAM_START = re.compile(rb"/Length (\d+)[^>]*>>\s*stream\r?\n")
# The "%PDF-1.7" line and the binary comment after it.
HEADER_BYTES = 16


@pytest.fixture(scope="module")
def signed_minutes(officer_signer, dev_policy) -> bytes:
    return sign_pdf(MINUTES_PDF.read_bytes(), officer_signer, SigningProfile(level="B-B"), policy=dev_policy)


def _verify(client, token: str, data: bytes):
    return client.post("/api/v1/verifications", data={"file": (io.BytesIO(data), "handed-in.pdf")},
                       headers=bearer(token, "en"), content_type="multipart/form-data")


def _xref_sections(data: bytes) -> list[tuple[int, int]]:
    """Spans from each ``startxref`` target to the end of the ``%%EOF`` line after it."""
    spans = []
    for match in re.finditer(rb"startxref\s+(\d+)\s*%%EOF\r?\n?", data):
        start = int(match.group(1))
        if start < match.start():
            spans.append((start, match.end()))
    return spans


def _positions(data: bytes) -> st.SearchStrategy[int]:
    """Return a strategy of offsets in ``data``, mostly after the header or just after a structural keyword.

    Hypothesis favours small numbers, which would mostly hit the header and
    make the file an unsupported type. The header is the target in one draw
    out of 101, because a file has up to 24 draws.
    """
    last = len(data) - 1
    anchors = [match.start() for match in STRUCTURE_KEYWORDS.finditer(data)]
    if not anchors:
        return st.integers(0, last)
    anywhere = st.integers(min(HEADER_BYTES, last), last)
    near_anchor = st.sampled_from(anchors).flatmap(lambda anchor: st.integers(anchor, min(anchor + 16, last)))
    header = st.integers(0, min(HEADER_BYTES, last))
    return st.one_of(*[anywhere, near_anchor] * 50, header)


@st.composite
def _flip_bytes(draw, data: bytes) -> bytes:
    mutated = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(_positions(data))
        mutated[position] ^= draw(st.integers(1, 255))
    return bytes(mutated)


@st.composite
def _flip_stream_bytes(draw, data: bytes) -> bytes:
    """Flip bytes inside stream data, which keeps the file structure intact for validation to read."""
    spans = [(match.end(), match.end() + int(match.group(1))) for match in STREAM_START.finditer(data)]
    spans = [(start, end) for start, end in spans if start < end <= len(data)]
    if not spans:
        return data
    start, end = draw(st.sampled_from(spans))
    mutated = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        mutated[draw(st.integers(start, end - 1))] ^= draw(st.integers(1, 255))
    return bytes(mutated)


@st.composite
def _truncate(draw, data: bytes) -> bytes:
    return data[: draw(_positions(data))]


@st.composite
def _insert(draw, data: bytes) -> bytes:
    position = draw(_positions(data))
    inserted = draw(st.one_of(st.binary(min_size=1, max_size=64), st.sampled_from(PDF_TOKENS)))
    return data[:position] + inserted + data[position:]


@st.composite
def _duplicate_xref(draw, data: bytes) -> bytes:
    sections = _xref_sections(data)
    if not sections:
        return data
    start, end = draw(st.sampled_from(sections))
    copy = data[start:end]
    mode = draw(st.sampled_from(["append", "append-and-point", "insert"]))
    if mode == "append":
        return data + copy
    if mode == "append-and-point":
        # The copy's startxref points at the copy itself.
        copy = re.sub(rb"startxref\s+\d+", b"startxref\n%d" % len(data), copy)
        return data + copy
    position = draw(st.integers(0, len(data)))
    return data[:position] + copy + data[position:]


@st.composite
def mutated_pdf(draw, original: bytes) -> bytes:
    data = original
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        mutate = draw(st.sampled_from([_flip_bytes, _flip_stream_bytes, _truncate, _insert, _duplicate_xref]))
        data = draw(mutate(data))
        note(f"{mutate.__name__}: {len(data)} bytes")
    return data


def _assert_report_or_problem(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    body = response.get_json()
    if response.status_code == 200:
        assert body["indication"] in INDICATIONS
        assert isinstance(body["signatures"], list)
        return
    assert response.mimetype == "application/problem+json"
    assert body["code"] in STATUS_BY_CODE
    assert STATUS_BY_CODE[body["code"]] == response.status_code


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    # A fixed seed makes a stored example database useless; none is written.
    database=None,
    # The app and its database are created once per test function; every
    # example only posts a file, which archives nothing.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_signed_pdf_never_5xx(client, tokens, signed_minutes, data) -> None:
    mutated = data.draw(mutated_pdf(signed_minutes))

    response = _verify(client, tokens["auditor"], mutated)

    body = response.get_json() or {}
    event(f"{response.status_code} {body.get('code') or body.get('indication')}")
    _assert_report_or_problem(response)


def test_unmutated_signed_pdf_passes(client, tokens, signed_minutes) -> None:
    response = _verify(client, tokens["auditor"], signed_minutes)

    assert response.status_code == 200
    assert response.get_json()["indication"] == "TOTAL_PASSED"


def test_duplicated_xref_sections_found(signed_minutes) -> None:
    # The original revision and the signature's incremental update.
    assert len(_xref_sections(signed_minutes)) == 2


# --- hostile files through the API ----------------------------------------------------

HOSTILE_PDFS = {
    "flate-bomb": (lambda: pdf_bytes(page_objects(o4=stream(b"/Filter [/FlateDecode /FlateDecode]", flate_bomb()))),
                   "decompression_limit", 413),
    "deep-nesting": (lambda: pdf_bytes(page_objects(o5=b"[" * 100_000 + b"]" * 100_000)), "nesting_too_deep", 422),
    "updates": (lambda: incremental_updates(pdf_bytes(page_objects()), 10_000), "too_many_revisions", 422),
    "kids-loop": (lambda: pdf_bytes(page_objects(o2=b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>")),
                  "malformed_pdf", 422),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PDFS))
def test_hostile_pdf_verification_problem(client, tokens, name: str) -> None:
    build, code, status = HOSTILE_PDFS[name]

    response = _verify(client, tokens["auditor"], build())

    assert response.status_code == status
    assert response.get_json()["code"] == code


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        (png_bomb(20_000, 20_000), "image_too_large", 413),
        (tiff_image(1_000_000, 1_000_000), "image_too_large", 413),
        (pdf_bytes(page_objects(o4=stream(b"/Filter [/FlateDecode /FlateDecode]", flate_bomb()))),
         "decompression_limit", 413),
    ],
    ids=["png-bomb", "tiff-dimensions", "flate-bomb"],
)
def test_hostile_upload_stores_nothing(app, client, tokens, data: bytes, code: str, status: int) -> None:
    state = archive_state(app)

    response = upload(client, tokens["officer"], data=data, filename="minutes.pdf")

    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert archive_state(app) == state


def test_limit_problem_in_bengali(client, tokens) -> None:
    response = client.post(
        "/api/v1/verifications",
        data={"file": (io.BytesIO(HOSTILE_PDFS["updates"][0]()), "handed-in.pdf")},
        headers=bearer(tokens["auditor"]),
        content_type="multipart/form-data",
    )

    assert response.headers["Content-Language"] == "bn"
    assert response.get_json()["title"] == "সংস্করণের সংখ্যা অনেক বেশি"
