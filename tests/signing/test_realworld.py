"""Signed PDFs in the shapes other tools write get a complete report, never a crash.

The files come from ``realworld_files``. Every signature is made by the test
PKI's valid signer, whose certificate is good, and validated under the test
PKI's hard-fail policy, which fetches OCSP responses and CRLs from the
loopback server. The comment above each expectation explains the verdict.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from dataclasses import fields

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from signing.errors import InvalidDocument
from signing.report import SignatureReport, ValidationReport
from signing.validation import validate_pdf
from tests.signing import realworld_files as realworld

PASSED = ("TOTAL_PASSED", None)

# Expected (indication, sub_indication) of each signature, oldest first.
EXPECTED = {
    # adbe.pkcs7.detached is the CMS signature that ISO 32000-1, 12.8.3.3,
    # defines; Acrobat still writes it by default. Nothing in it is wrong.
    "acrobat_pkcs7_detached": [PASSED],
    # A DSS update after the signature is a change PAdES allows.
    "hybrid_signed_then_dss": [PASSED],
    # Each signature is followed only by signatures and DSS updates.
    "two_signatures_with_dss": [PASSED, PASSED],
    # The signature covers the linearized original and its own update.
    "linearized_signed": [PASSED],
    # The kind of cross-reference section changes nothing the signature covers.
    "table_update_after_xref_stream": [PASSED],
    # The damaged startxref is part of the signed bytes, so the signature
    # covers the damage itself and passes. The report names the repair
    # through its reading mode and warnings.
    "shifted_startxref": [PASSED],
    # The digest matches, but the policy does not accept SHA-1 (ETSI EN
    # 319 102-1, 5.2.8): the signature cannot be trusted, nor shown false.
    "pkcs7_sha1": [("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")],
    # CMS identifies the signer by issuer and serial number, so the missing
    # ESS attribute only keeps the signature from being a PAdES baseline one.
    "cades_without_ess": [PASSED],
}
NON_STRICT = {"shifted_startxref"}


@pytest.fixture(scope="module")
def corpus(live_pki) -> dict[str, bytes]:
    return realworld.build_corpus(live_pki)


@pytest.fixture(scope="module")
def reports(corpus, live_pki) -> dict[str, ValidationReport]:
    policy = live_pki.policy()
    return {name: validate_pdf(data, policy) for name, data in corpus.items()}


def assert_complete(report: dict) -> None:
    """Check that the report JSON has every field of ValidationReport and SignatureReport."""
    # The validation material (DER certificates, CRLs, OCSP responses) is kept
    # beside the revision, not in the JSON report.
    document_fields = {item.name for item in fields(ValidationReport)} - {"material"}
    assert set(report) >= document_fields
    assert report["reading"] in ("strict", "non-strict")
    for signature in report["signatures"]:
        assert set(signature) == {item.name for item in fields(SignatureReport)}
        assert signature["signer_subject"] is not None
        assert "Valid Signer" in signature["signer_subject"]
        assert signature["byte_range"] is not None
        assert len(signature["byte_range"]) == 4
        assert isinstance(signature["revocation"], dict)
    json.dumps(report)


def test_corpus_covers_expectations(corpus) -> None:
    assert set(corpus) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdicts(reports, name: str) -> None:
    report = reports[name]

    verdicts = [(signature.indication, signature.sub_indication) for signature in report.signatures]

    assert verdicts == EXPECTED[name]
    assert_complete(report.to_dict())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reading_mode(reports, name: str) -> None:
    report = reports[name]

    if name in NON_STRICT:
        assert report.reading == "non-strict"
        assert report.strict_reading_error is not None
        assert any("non-strict" in warning for warning in report.warnings)
    else:
        assert report.reading == "strict"
        assert report.strict_reading_error is None
        assert report.warnings == ()


def test_shifted_startxref_rejected_strictly(corpus) -> None:
    # The case tests what it claims only while pyHanko's strict reader fails on it.
    with pytest.raises(Exception, match="xref"):
        PdfFileReader(io.BytesIO(corpus["shifted_startxref"]), strict=True)


def test_acrobat_dictionary_entries(corpus, reports) -> None:
    reader = PdfFileReader(io.BytesIO(corpus["acrobat_pkcs7_detached"]), strict=False)
    (signature,) = reader.embedded_regular_signatures
    dictionary = signature.sig_object
    (report,) = reports["acrobat_pkcs7_detached"].signatures

    assert dictionary["/Filter"] == "/Adobe.PPKLite"
    assert dictionary["/SubFilter"] == "/adbe.pkcs7.detached"
    assert dictionary["/Prop_Build"]["/App"]["/Name"] == "/Adobe Acrobat Reader"
    assert dictionary["/Reason"] == "I approve these minutes"
    assert dictionary["/Location"] == "Dhaka"
    assert "/M" in dictionary
    assert report.level is None
    assert report.signing_time is not None


def test_hybrid_original_has_xref_stream(corpus, reports) -> None:
    reader = PdfFileReader(io.BytesIO(corpus["hybrid_signed_then_dss"]), strict=False)
    (report,) = reports["hybrid_signed_then_dss"].signatures

    assert reader.xrefs.hybrid_xrefs_present
    assert report.revisions_after == 1
    assert report.modified_after_signing is True
    assert report.changes[0] == "revision 2 adds or updates the document security store (DSS)"
    # pyHanko's writer refreshes the XMP modification date, which differs from
    # the signature's revision only when the two writes fall in different seconds.
    assert report.changes[1:] in (
        (), ("XMP metadata stream changed in revision 2: modification date, producer or instance ID only",))


def _acrobat_vri_key(data: bytes, byte_range: tuple[int, ...]) -> str:
    # The /Contents string is the gap of the byte range, between "<" and ">".
    start1, length1, start2, _ = byte_range
    contents = bytes.fromhex(data[start1 + length1 + 1 : start2 - 1].decode("ascii"))
    return "/" + hashlib.sha1(contents).hexdigest().upper()


def test_dss_vri_keys_follow_acrobat(corpus, reports) -> None:
    data = corpus["two_signatures_with_dss"]
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(data), strict=False))
    vri = dss.as_pdf_object()["/VRI"]
    first, second = reports["two_signatures_with_dss"].signatures

    assert set(vri) == {_acrobat_vri_key(data, first.byte_range), _acrobat_vri_key(data, second.byte_range)}
    assert first.revisions_after == 3
    assert second.revisions_after == 1
    assert first.revocation["status"] == "good"
    assert ("embedded", "OCSP", "good") in [
        (item["source"], item["type"], item["status"]) for item in first.revocation["evidence"]
    ]


def test_linearized_original(corpus) -> None:
    assert b"/Linearized" in corpus["linearized_signed"][:1024]


def test_table_update_after_stream_original(corpus) -> None:
    data = corpus["table_update_after_xref_stream"]
    reader = PdfFileReader(io.BytesIO(data), strict=True)

    assert b"/Type /XRef" in data[: reader.xrefs.get_xref_container_info(0).end_location]
    assert data[reader.last_startxref :].startswith(b"xref")


def test_cades_without_ess_not_baseline(reports) -> None:
    (report,) = reports["cades_without_ess"].signatures

    assert report.level is None
    assert any("signing-certificate-v2" in warning for warning in report.warnings)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_changed_byte_fails(corpus, live_pki, name: str) -> None:
    # Every signature covers the page content, so a changed byte there is a
    # HASH_FAILURE (ETSI EN 319 102-1, 5.2.7), whatever tool wrote the file.
    report = validate_pdf(realworld.flip_signed_byte(corpus[name]), live_pki.policy())

    verdicts = [(signature.indication, signature.sub_indication) for signature in report.signatures]

    assert verdicts == [("TOTAL_FAILED", "HASH_FAILURE")] * len(EXPECTED[name])
    assert_complete(report.to_dict())


def test_pkcs7_sha1_allowed_by_policy_unsupported(corpus, live_pki) -> None:
    policy = live_pki.policy(digest_algorithms=("sha1", "sha256"))

    (report,) = validate_pdf(corpus["pkcs7_sha1"], policy).signatures

    assert (report.indication, report.sub_indication) == ("INDETERMINATE", "FORMAT_FAILURE")
    assert any("not supported" in warning for warning in report.warnings)


def test_junk_before_header_indeterminate(corpus, live_pki) -> None:
    # A mail gateway prepended a line after signing. The signed revision is
    # intact when offsets count from the header, as Acrobat counts them, but
    # no signature covers the new line: like bytes after the last %%EOF, that
    # leaves the signature INDETERMINATE/FORMAT_FAILURE.
    data = realworld.JUNK_LINE + corpus["acrobat_pkcs7_detached"]

    report = validate_pdf(data, live_pki.policy())

    (signature,) = report.signatures
    assert (signature.indication, signature.sub_indication) == ("INDETERMINATE", "FORMAT_FAILURE")
    assert signature.modified_after_signing is True
    assert report.leading_bytes == len(realworld.JUNK_LINE)
    assert report.reading == "non-strict"
    assert "header" in report.strict_reading_error
    assert any("before the %PDF- header" in warning for warning in report.warnings)
    assert any("before the %PDF- header" in warning for warning in signature.warnings)
    assert_complete(report.to_dict())


def test_junk_before_changed_file_fails(corpus, live_pki) -> None:
    data = realworld.JUNK_LINE + realworld.flip_signed_byte(corpus["acrobat_pkcs7_detached"])

    (signature,) = validate_pdf(data, live_pki.policy()).signatures

    assert (signature.indication, signature.sub_indication) == ("TOTAL_FAILED", "HASH_FAILURE")


def test_junk_beyond_header_window_rejected(corpus, live_pki) -> None:
    data = b"%" * 2048 + b"\n" + corpus["acrobat_pkcs7_detached"]

    with pytest.raises(InvalidDocument) as caught:
        validate_pdf(data, live_pki.policy())

    assert caught.value.reason == "malformed_pdf"


# --- /adbe.x509.rsa_sha1, signed by the development PKI's RSA officer key -------------------


@pytest.fixture(scope="module")
def rsa_sha1_signed(officer_signer) -> bytes:
    return realworld.sign_x509_rsa_sha1(realworld.plain_pdf(), officer_signer)


def test_x509_rsa_sha1_crypto_constraints(rsa_sha1_signed, dev_policy) -> None:
    # The PKCS#1 signature verifies and its DigestInfo names SHA-1, which the
    # policy does not accept (ETSI EN 319 102-1, 5.2.8).
    report = validate_pdf(rsa_sha1_signed, dev_policy)

    (signature,) = report.signatures
    assert (signature.indication, signature.sub_indication) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    assert signature.signer_subject is not None
    assert "signs a sha1 digest" in signature.warnings[0]
    assert report.reading == "strict"


def test_x509_rsa_sha1_changed_byte_fails(rsa_sha1_signed, dev_policy) -> None:
    (signature,) = validate_pdf(realworld.flip_signed_byte(rsa_sha1_signed), dev_policy).signatures

    assert (signature.indication, signature.sub_indication) == ("TOTAL_FAILED", "HASH_FAILURE")


def test_x509_rsa_sha1_bad_value_fails(rsa_sha1_signed, dev_policy) -> None:
    # A changed digit of the RSA value leaves the signed bytes as they were,
    # but the value no longer decrypts to a PKCS#1 DigestInfo.
    (signature,) = validate_pdf(rsa_sha1_signed, dev_policy).signatures
    start1, length1, _, _ = signature.byte_range
    digit = start1 + length1 + 1 + 40
    changed = b"0" if rsa_sha1_signed[digit : digit + 1] != b"0" else b"1"
    damaged = rsa_sha1_signed[:digit] + changed + rsa_sha1_signed[digit + 1 :]

    (signature,) = validate_pdf(damaged, dev_policy).signatures

    assert (signature.indication, signature.sub_indication) == ("TOTAL_FAILED", "SIG_CRYPTO_FAILURE")


def test_x509_rsa_sha1_allowed_by_policy_unsupported(rsa_sha1_signed, dev_policy) -> None:
    policy = dataclasses.replace(dev_policy, digest_algorithms=("sha1", "sha256"))

    (signature,) = validate_pdf(rsa_sha1_signed, policy).signatures

    assert (signature.indication, signature.sub_indication) == ("INDETERMINATE", "FORMAT_FAILURE")
    assert "not supported" in signature.warnings[0]
