"""Known attacks on PDF signatures must never validate as TOTAL_PASSED.

Each test builds its attack file from real bytes (see ``attack_files``), after
the published attacks of Mladenov, Mainka, Rohlmann et al.: the Incremental
Saving Attack, the Signature Wrapping Attack, Universal Signature Forgery and
the hide, replace and hide-and-replace shadow attacks. The comment above each
expectation explains why ETSI EN 319 102-1 leads to that indication.

In short: a /ByteRange that breaks ISO 32000-1 and PAdES means the signed bytes
are not the signed revision, which the format check rejects before any digest
is compared (TOTAL_FAILED/FORMAT_FAILURE). An update that pyHanko's difference
analysis or the DocMDP permissions reject, or that reactivates bytes written
before it, is a change no signature allows (TOTAL_FAILED/FORMAT_FAILURE). A
permitted kind of change that still alters what a reader sees leaves the
signature valid but the document not the signed one (INDETERMINATE).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm

from signing.policy import ValidationPolicy, load_certificates
from signing.sign import SigningProfile, sign_pdf
from signing.stamp import StampPlacement, VisibleStamp
from signing.validation import SignatureReport, ValidationReport, VisualSettings, validate_pdf
from tests.signing import attack_files as attacks

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"

FAILED = ("TOTAL_FAILED", "FORMAT_FAILURE")
DOUBTFUL = ("INDETERMINATE", "FORMAT_FAILURE")
STAMP_LINES = ("মোঃ আব্দুল্লাহ", "সচিব")


@pytest.fixture(scope="module")
def policy(dev_pki) -> ValidationPolicy:
    return ValidationPolicy(
        trust_roots=load_certificates(dev_pki.trust_dir),
        intermediates=load_certificates(dev_pki.intermediates_dir),
        revocation_mode="soft-fail",
        name="test-attacks",
    )


@pytest.fixture(scope="module")
def base() -> attacks.BaseDocument:
    return attacks.build_base_document()


@pytest.fixture(scope="module")
def approved(base, officer_signer) -> bytes:
    """The base document with an approval signature in its field ``Signature1``."""
    return attacks.sign_field(base.data, officer_signer)


@pytest.fixture(scope="module")
def certified_p1(base, officer_signer) -> bytes:
    return attacks.sign_field(base.data, officer_signer, certify=MDPPerm.NO_CHANGES)


@pytest.fixture(scope="module")
def certified_p2(base, officer_signer) -> bytes:
    return attacks.sign_field(base.data, officer_signer, certify=MDPPerm.FILL_FORMS)


@pytest.fixture(scope="module")
def signed_sample(officer_signer) -> bytes:
    return sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(level="B-B"))


def only_signature(report: ValidationReport) -> SignatureReport:
    assert len(report.signatures) == 1
    return report.signatures[0]


def verdict(signature: SignatureReport) -> tuple[str, str | None]:
    return signature.indication, signature.sub_indication


def test_untouched_base_passes(approved, policy):
    report = validate_pdf(approved, policy)

    signature = only_signature(report)
    assert report.indication == "TOTAL_PASSED"
    assert signature.modified_after_signing is False
    assert signature.changes == ()
    assert signature.visual_check["status"] == "not_needed"
    layout = attacks.signature_layout(approved)
    assert signature.byte_range == layout.byte_range


# --- incremental saving attacks ----------------------------------------------------------


def test_font_dictionary_changed(approved, policy):
    signature = only_signature(validate_pdf(attacks.incremental_update(approved, attacks.change_font), policy))

    # The update rewrites a font the signed page draws with. pyHanko's difference
    # analysis permits no such change, so the update is outside anything a
    # signature allows: TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert signature.modified_after_signing is True
    assert "font /F1 of page 1 changed in revision 2" in signature.changes
    assert "page 1 looks different in revision 2 than in the signed revision 1" in signature.changes


def test_embedded_font_program_replaced(signed_sample, policy):
    replaced = attacks.incremental_update(signed_sample, attacks.replace_font_program)

    signature = only_signature(validate_pdf(replaced, policy))

    # Same as a changed font dictionary, with the page content and font
    # dictionaries untouched: only the glyph program under the same object
    # number differs, so the digest of the font's object tree finds it.
    assert verdict(signature) == FAILED
    assert any(change.startswith("font /") and "changed in revision 2" in change for change in signature.changes)
    assert signature.visual_differences
    assert signature.visual_differences[0]["revision"] == 2


def test_xobject_replaced(approved, policy):
    signature = only_signature(validate_pdf(attacks.incremental_update(approved, attacks.replace_overlay), policy))

    # A rewritten XObject changes what the page draws without touching its
    # content stream; not a permitted change: TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert "XObject /Ov of page 1 changed in revision 2" in signature.changes
    (difference,) = signature.visual_differences
    assert difference["page"] == 1
    assert difference["kind"] == "content"
    x1, y1, x2, y2 = difference["region"]
    assert x1 >= 60
    assert x2 <= 440
    assert y1 >= 630
    assert y2 <= 670


def test_page_added(approved, policy):
    signature = only_signature(validate_pdf(attacks.incremental_update(approved, attacks.add_page), policy))

    # An added page is content the signer never saw; pyHanko rejects the page
    # tree change and DSS fails PdfPageDifference: TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert "revision 2 changes the number of pages from 1 to 2" in signature.changes
    assert [difference["kind"] for difference in signature.visual_differences] == ["page_count"]


@pytest.mark.parametrize("annotate", [attacks.add_square, attacks.add_free_text], ids=["square", "free-text"])
def test_annotation_covering_content(approved, policy, annotate):
    signature = only_signature(validate_pdf(attacks.incremental_update(approved, annotate), policy))

    # An approval signature allows no annotation under pyHanko's default
    # difference policy, so the update is rejected: TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    subtype = "Square" if annotate is attacks.add_square else "FreeText"
    assert f"revision 2 adds a {subtype} annotation at [60 636 430 668] to page 1" in signature.changes
    assert "page 1 looks different in revision 2 than in the signed revision 1" in signature.changes


# --- certification signatures and DocMDP --------------------------------------------------


def test_docmdp_no_changes_field_filled(certified_p1, policy):
    signature = only_signature(validate_pdf(attacks.incremental_update(certified_p1, attacks.fill_amount), policy))

    # P=1 allows no change at all, so form filling exceeds the certification
    # signature's own permissions: TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert (
        "changes after signing (FORM_FILLING) exceed the DocMDP permissions (NO_CHANGES) "
        "of this certification signature" in signature.changes
    )
    assert "form field 'Amount' was filled or changed after signing" in signature.changes


def test_docmdp_fill_forms_annotation(certified_p2, policy):
    signature = only_signature(validate_pdf(attacks.incremental_update(certified_p2, attacks.add_free_text), policy))

    # P=2 allows form filling and signing, not annotations (the Evil Annotation
    # Attack relies on viewers that allow them): TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert "revision 2 adds a FreeText annotation at [60 636 430 668] to page 1" in signature.changes


def test_docmdp_fill_forms_field_replaced(certified_p2, policy):
    signature = only_signature(validate_pdf(attacks.incremental_update(certified_p2, attacks.fill_amount), policy))

    # Replace shadow attack within the permissions: P=2 allows filling the field,
    # so nothing breaks the signature, but the amount a reader sees is no longer
    # the signed one. The signature does not cover what is shown:
    # INDETERMINATE.
    assert verdict(signature) == DOUBTFUL
    assert signature.modification_level == "FORM_FILLING"
    assert "form field 'Amount' was filled or changed after signing" in signature.changes
    assert (
        "revision 2 changes a Widget annotation of field 'Amount' at [300 560 500 584] on page 1"
        in signature.changes
    )
    (difference,) = signature.visual_differences
    assert difference["revision"] == 2
    assert difference["signed_revision"] == 1


# --- byte range -----------------------------------------------------------------------


def _short(contents_start: int, contents_end: int, length: int) -> tuple[int, int, int, int]:
    # The last 6 bytes, "%%EOF\n", stay unsigned.
    return 0, contents_start, contents_end, length - contents_end - 6


def _overlapping(contents_start: int, contents_end: int, length: int) -> tuple[int, int, int, int]:
    # The second range repeats bytes of the first, and the lengths still add up to
    # the file size, so pyHanko 0.38 reports ENTIRE_FILE while the tail is unsigned.
    tail = length - contents_end
    return 0, contents_start, contents_start - tail - 100, tail


def _wide_gap(contents_start: int, contents_end: int, length: int) -> tuple[int, int, int, int]:
    # The gap starts 10 bytes before the /Contents string.
    return 0, contents_start - 10, contents_end, length - contents_end


def _shifted_gap(contents_start: int, contents_end: int, length: int) -> tuple[int, int, int, int]:
    # A gap of the right size 10 bytes before /Contents; pyHanko 0.38 reports ENTIRE_FILE.
    return 0, contents_start - 10, contents_end - 10, length - contents_end + 10


@pytest.mark.parametrize(
    ("choose", "expected"),
    [
        (_short, "are not signed"),
        (_overlapping, "has overlapping ranges"),
        (_wide_gap, "is not a single hexadecimal string"),
        (_shifted_gap, "is not a single hexadecimal string"),
    ],
    ids=["not-whole-revision", "overlapping", "gap-wider-than-contents", "gap-off-contents"],
)
def test_byte_range_layout_fails(base, officer_signer, policy, choose, expected):
    crafted = attacks.sign_with_byte_range(base.data, officer_signer, choose)

    signature = only_signature(validate_pdf(crafted, policy))

    # The signature value verifies over the bytes its /ByteRange names, but those
    # are not the whole signed revision minus /Contents as ISO 32000-1 and PAdES
    # require: the format check fails before the digest is compared, so
    # TOTAL_FAILED/FORMAT_FAILURE, even where pyHanko alone reports ENTIRE_FILE.
    assert verdict(signature) == FAILED
    assert signature.modified_after_signing is True
    assert any(expected in change for change in signature.changes)
    assert signature.byte_range is not None and len(signature.byte_range) == 4


# --- shadow attacks -----------------------------------------------------------------------


def test_shadow_hide_overlay_removed(approved, policy):
    signature = only_signature(validate_pdf(attacks.incremental_update(approved, attacks.remove_overlay), policy))

    # The overlay that covered the other decision is emptied after signing, so a
    # line hidden at signing shows. The XObject rewrite is not a permitted
    # change: TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert "XObject /Ov of page 1 changed in revision 2" in signature.changes
    assert "page 1 looks different in revision 2 than in the signed revision 1" in signature.changes


def test_shadow_replace_field_on_approval(approved, policy):
    signature = only_signature(validate_pdf(attacks.incremental_update(approved, attacks.fill_amount), policy))

    # Filling a form field is a change pyHanko permits after an approval
    # signature, but the amount shown is not the signed one: INDETERMINATE.
    assert verdict(signature) == DOUBTFUL
    assert "form field 'Amount' was filled or changed after signing" in signature.changes
    assert "page 1 looks different in revision 2 than in the signed revision 1" in signature.changes


def test_shadow_hide_and_replace_xref(base, approved, policy):
    attacked = attacks.append_xref_only_update(approved, {attacks.CATALOG: base.shadow_catalog_offset})

    signature = only_signature(validate_pdf(attacked, policy))

    # The update has no object of its own: its xref table points the catalog
    # to a second "1 0 obj" hidden in the signed bytes, which shows another page
    # tree. No writer saves that way, so it is a forbidden change:
    # TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert any(
        change.startswith("revision 2 points object 1 0 R to offset") for change in signature.changes
    )
    assert "content of page 1 changed in revision 2" in signature.changes
    assert "page 1 looks different in revision 2 than in the signed revision 1" in signature.changes


def test_shadow_hide_and_replace_object_stream(base, approved, policy):
    attacked = attacks.append_object_stream_update(approved, attacks.CATALOG, base.shadow_object_stream)

    signature = only_signature(validate_pdf(attacked, policy))

    # As above, with the shadow catalog inside an object stream that was signed
    # but unused: TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert (
        f"revision 2 takes object 1 0 R from object stream {base.shadow_object_stream} "
        f"written in revision 0, before the update" in signature.changes
    )
    assert "page 1 looks different in revision 2 than in the signed revision 1" in signature.changes


def test_shadow_hide_and_replace_root(base, approved, policy):
    shadow = attacks.SHADOW_CATALOG
    attacked = attacks.append_xref_only_update(approved, {shadow: base.offsets[shadow]}, root=shadow)

    signature = only_signature(validate_pdf(attacked, policy))

    # The trailer's /Root now names a catalog that was signed but unused. The
    # xref entry repeats where that object already was, so only the catalog
    # swap and its page tree show. The difference analysis rejects the new
    # /Pages: TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert (
        f"revision 2 replaces the document catalog: /Root 1 0 R became {shadow} 0 R" in signature.changes
    )
    assert "page 1 looks different in revision 2 than in the signed revision 1" in signature.changes


def test_unparsed_update_rendered_from_file(approved, policy):
    attacked = attacks.append_xref_only_update(approved, {}, root=attacks.SHADOW_CATALOG)

    report = validate_pdf(attacked, policy)

    # pyHanko cannot read an xref section without entries, so the update counts
    # as bytes after the last revision; a viewer still shows the shadow page.
    # Bytes outside every revision make the document not the signed one:
    # INDETERMINATE, with the visual change of the complete file.
    signature = only_signature(report)
    assert report.trailing_bytes > 0
    assert verdict(signature) == DOUBTFUL
    (difference,) = signature.visual_differences
    assert difference["revision"] is None
    assert signature.visual_check["revisions_compared"] == ["file"]


# --- signature wrapping and universal signature forgery ----------------------------------


def test_signature_wrapping(approved, policy):
    wrapped = attacks.wrap_signature(approved)

    signature = only_signature(validate_pdf(wrapped, policy))

    # The signed bytes are intact, so the digest matches, but the /ByteRange gap
    # now contains a new xref table and a replaced page content: the format check
    # fails before the digest counts. TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert signature.modified_after_signing is True
    assert any("is not a single hexadecimal string" in change for change in signature.changes)
    (first_length, second_start) = signature.byte_range[1:3]
    assert second_start - first_length > len(approved) // 4


@pytest.mark.parametrize(
    "move", [attacks.redefine_signature_dictionary, attacks.indirect_contents], ids=["redefined", "indirect"]
)
def test_contents_outside_gap(approved, policy, move):
    moved = attacks.incremental_update(approved, move)

    signature = only_signature(validate_pdf(moved, policy))

    # The signature dictionary in force is no longer the one whose /Contents
    # the byte range excludes: TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert signature.modified_after_signing is True
    assert signature.changes


def _byte_range_replaced(replacement: bytes):
    def edit(signed: bytes) -> bytes:
        start, end = attacks.signature_layout(signed).byte_range_text
        return attacks.replace_same_length(signed, start, end, replacement)

    return edit


def _contents_replaced(replacement: bytes, *, with_key: bool = False):
    def edit(signed: bytes) -> bytes:
        start, end = attacks.signature_layout(signed).contents
        if with_key:
            start -= len(b"/Contents ")
        return attacks.replace_same_length(signed, start, end, replacement)

    return edit


@pytest.mark.parametrize(
    ("forge", "expected"),
    [
        (_byte_range_replaced(b"/ByteRangX [0 0 0 0]"), "has no /ByteRange entry"),
        (_byte_range_replaced(b"/ByteRange null"), "/ByteRange null is not an array of four"),
        (_byte_range_replaced(b"/ByteRange [0 0 0 0]"), "has an empty range"),
        (_byte_range_replaced(b"/ByteRange []"), "is not an array of four"),
        (_contents_replaced(b"<>"), "is not a single hexadecimal string"),
        (_contents_replaced(b"", with_key=True), "is not a single hexadecimal string"),
    ],
    ids=["byte-range-missing", "byte-range-null", "byte-range-zero", "byte-range-empty", "contents-empty",
         "contents-missing"],
)
def test_universal_forgery_byte_range(approved, policy, forge, expected):
    signature = only_signature(validate_pdf(forge(approved), policy))

    # Without a /ByteRange that names the document's bytes, or with a gap that
    # is not the signature value, the signature signs nothing that can be
    # checked: the format check fails, TOTAL_FAILED/FORMAT_FAILURE.
    assert verdict(signature) == FAILED
    assert signature.modified_after_signing is True
    assert any(expected in change for change in signature.changes)


def test_universal_forgery_zero_contents(approved, policy):
    start, end = attacks.signature_layout(approved).contents
    zeros = approved[:start] + b"<" + b"0" * (end - start - 2) + b">" + approved[end:]

    signature = only_signature(validate_pdf(zeros, policy))

    # The byte range is well formed but the CMS is all zeros: no signature value
    # exists to verify or to fail. INDETERMINATE/FORMAT_FAILURE, as for any
    # signature that cannot be parsed.
    assert verdict(signature) == DOUBTFUL
    assert signature.signer_subject is None
    assert any("cannot be parsed" in warning for warning in signature.warnings)


def test_universal_forgery_no_certificate(approved, policy):
    signature = only_signature(validate_pdf(attacks.without_certificates(approved), policy))

    # ETSI EN 319 102-1, 5.2.3: the signing certificate cannot be identified,
    # so INDETERMINATE/NO_SIGNING_CERTIFICATE_FOUND.
    assert verdict(signature) == ("INDETERMINATE", "NO_SIGNING_CERTIFICATE_FOUND")
    assert signature.signer_subject is None


def test_universal_forgery_no_signer_info(approved, policy):
    signature = only_signature(validate_pdf(attacks.without_signer_infos(approved), policy))

    # A CMS SignedData without a SignerInfo has no signature value at all; it
    # cannot be processed: INDETERMINATE/FORMAT_FAILURE.
    assert verdict(signature) == DOUBTFUL
    assert any("cannot be parsed" in warning for warning in signature.warnings)


# --- visual comparison -------------------------------------------------------------------


def test_later_stamp_keeps_earlier_signature(signed_sample, officer_signer, policy):
    cosigned = sign_pdf(signed_sample, officer_signer, SigningProfile(level="B-B", stamp=VisibleStamp(STAMP_LINES)))

    first, second = validate_pdf(cosigned, policy).signatures

    # The second signature's stamp is the only visual change, and its widget is masked.
    assert verdict(first) == ("TOTAL_PASSED", None)
    assert verdict(second) == ("TOTAL_PASSED", None)
    assert first.visual_check["status"] == "passed"
    assert first.visual_check["revisions_compared"] == [2]
    assert first.visual_check["pages_compared"] == 3
    assert first.visual_differences == ()


def test_later_stamp_over_content(signed_sample, officer_signer, policy):
    over_title = VisibleStamp(STAMP_LINES, placement=StampPlacement(page=0, box=(60, 700, 540, 800)))
    cosigned = sign_pdf(signed_sample, officer_signer, SigningProfile(level="B-B", stamp=over_title))

    first, second = validate_pdf(cosigned, policy).signatures

    # A later signature's appearance that covers signed text hides content of the
    # earlier signature (the Sneaky Signature Attack): the earlier signature is
    # INDETERMINATE, the later one, which signed what it covers, passes.
    assert verdict(first) == DOUBTFUL
    assert verdict(second) == ("TOTAL_PASSED", None)
    (difference,) = first.visual_differences
    assert difference["kind"] == "covered_by_signature"
    assert difference["page"] == 1
    assert (
        f"the widget of signature {second.field_name!r} added in revision 2 covers content of page 1 "
        f"signed in revision 1" in first.changes
    )


def test_unsigned_signature_field_over_content(approved, policy):
    sneaky = attacks.incremental_update(approved, attacks.add_empty_signature_field)

    signature = only_signature(validate_pdf(sneaky, policy))

    # An empty signature field is not masked: its appearance is an ordinary change
    # of what the page shows, on top of a rejected update.
    assert signature.indication != "TOTAL_PASSED"
    assert "page 1 looks different in revision 2 than in the signed revision 1" in signature.changes


def test_page_limit_noted(signed_sample, officer_signer, policy):
    cosigned = sign_pdf(signed_sample, officer_signer, SigningProfile(level="B-B"))

    first, _ = validate_pdf(cosigned, policy, visual=VisualSettings(max_pages=1)).signatures

    assert first.visual_check["pages_compared"] == 1
    assert first.visual_check["notes"] == ["only the first 1 of 3 pages were compared"]
    assert "visual comparison: only the first 1 of 3 pages were compared" in first.warnings
    assert verdict(first) == ("TOTAL_PASSED", None)


def test_revision_limit_noted(signed_sample, officer_signer, policy):
    twice = sign_pdf(signed_sample, officer_signer, SigningProfile(level="B-B"))
    three_times = sign_pdf(twice, officer_signer, SigningProfile(level="B-B", stamp=VisibleStamp(STAMP_LINES)))

    first = validate_pdf(three_times, policy, visual=VisualSettings(max_revisions=1)).signatures[0]

    assert first.visual_check["revisions_compared"] == [3]
    assert first.visual_check["notes"] == [
        "revision 2 was not rendered (limit of 1 revisions), so a difference there is attributed "
        "to the next rendered revision"
    ]
    assert verdict(first) == ("TOTAL_PASSED", None)


def test_render_cache_limit_same_result(signed_sample, officer_signer, policy):
    twice = sign_pdf(signed_sample, officer_signer, SigningProfile(level="B-B", stamp=VisibleStamp(STAMP_LINES)))
    over_title = VisibleStamp(STAMP_LINES, placement=StampPlacement(page=0, box=(60, 700, 540, 800)))
    three_times = sign_pdf(twice, officer_signer, SigningProfile(level="B-B", stamp=over_title))

    cached = validate_pdf(three_times, policy)
    uncached = validate_pdf(three_times, policy, visual=VisualSettings(max_cached_pixels=1))

    # Every render is dropped at once and made again when needed, with the same outcome.
    assert [verdict(signature) for signature in cached.signatures] == [DOUBTFUL, DOUBTFUL, ("TOTAL_PASSED", None)]
    assert [signature.visual_differences for signature in uncached.signatures] == [
        signature.visual_differences for signature in cached.signatures
    ]
    assert [signature.visual_check for signature in uncached.signatures] == [
        signature.visual_check for signature in cached.signatures
    ]


def test_visual_check_disabled(approved, policy):
    filled = attacks.incremental_update(approved, attacks.fill_amount)

    signature = only_signature(validate_pdf(filled, policy, visual=VisualSettings(enabled=False)))

    assert signature.visual_check["status"] == "disabled"
    assert signature.visual_differences == ()
    # The structural review still finds the change.
    assert verdict(signature) == DOUBTFUL


def test_rendering_error_is_warning(approved, policy):
    # /Root names the object stream, which is not a catalog: pyHanko keeps the
    # signed revision and PDFium cannot load the complete file.
    broken = attacks.append_xref_only_update(approved, {}, root=attacks.SHADOW_OBJECT_STREAM)

    signature = only_signature(validate_pdf(broken, policy))

    assert verdict(signature) == DOUBTFUL
    assert any(warning.startswith("visual comparison of the complete file") for warning in signature.warnings)
    assert signature.visual_check["status"] == "failed"
    assert signature.visual_check["revisions_compared"] == []


def test_visual_settings_rejects_invalid():
    with pytest.raises(ValueError, match="dpi"):
        VisualSettings(dpi=1000)
    with pytest.raises(ValueError, match="max_pages"):
        VisualSettings(max_pages=0)


def test_report_fields_are_json(approved, policy):
    report = validate_pdf(attacks.incremental_update(approved, attacks.fill_amount), policy)

    document = json.loads(json.dumps(report.to_dict()))

    signature = document["signatures"][0]
    assert signature["byte_range"] == list(attacks.signature_layout(approved).byte_range)
    assert signature["visual_check"]["status"] == "differences"
    assert signature["visual_differences"][0]["page"] == 1


# --- robustness --------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97, 0.995])
def test_damaged_bytes_never_raise(approved, policy, fraction):
    position = int(len(approved) * fraction)
    damaged = approved[:position] + b"\x00)>]" + approved[position + 4 :]

    try:
        report = validate_pdf(damaged, policy)
    except Exception as exc:  # only InvalidDocument is allowed, for a file no reader can open
        assert type(exc).__name__ == "InvalidDocument", repr(exc)
        return
    for signature in report.signatures:
        assert signature.indication != "TOTAL_PASSED"


def test_attack_files_are_readable(base):
    # The base document itself must be a sound PDF, or the attacks would prove nothing.
    reader = PdfFileReader(io.BytesIO(base.data), strict=True)
    assert reader.root["/Pages"]["/Count"] == 1
    assert reader.root["/AcroForm"]["/Fields"][1]["/T"] == "Signature1"
