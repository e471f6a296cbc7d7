"""The PDF validation report: its Bengali text layer, pages and the two endpoints that serve it.

Reports are rendered for real validations (the live test PKI and the
development PKI), read back with poppler's pdftotext, and compared line by
line, so that a wrongly ordered vowel sign or a broken conjunct fails.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from service.extensions import db
from service.models import Document
from service.report_pdf import ReportContext, render_report_pdf
from signing.credentials import load_pkcs12_signer
from signing.devpki import issue_certificate
from signing.sign import SigningProfile, sign_pdf
from signing.validation import validate_pdf
from tests.helpers import MINUTES_PDF, bearer, tools_required, upload

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None and not tools_required(),
    reason="pdftotext not found: install the Debian package poppler-utils",
)

BENGALI_SIGNER = "আব্দুল্লাহ আল মামুন"
TITLE = "স্বাক্ষর যাচাই প্রতিবেদন"
VALID_BADGE = "বৈধ · Valid (TOTAL_PASSED)"
INDETERMINATE_BADGE = "অনির্ধারিত · Indeterminate (INDETERMINATE)"
REVOKED_NO_POE = "সার্টিফিকেট বাতিলকৃত — বাতিলের আগে স্বাক্ষর হয়েছিল তার প্রমাণ নেই"


def pdf_lines(data: bytes, tmp_path: Path) -> list[str]:
    """Extract the text of a PDF with pdftotext and return its non-empty lines."""
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True)
    return [line for line in result.stdout.decode("utf-8").splitlines() if line.strip()]


def joined(lines: list[str]) -> str:
    """Join extracted lines with spaces, undoing the line breaks of wrapped paragraphs."""
    return " ".join(lines)


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


def _sign_directly(data: bytes, signer) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    metadata = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()


@pytest.fixture(scope="module")
def valid_report(live_pki):
    signed = sign_pdf(MINUTES_PDF.read_bytes(), live_pki.signer("valid"), SigningProfile(), policy=live_pki.policy())
    return validate_pdf(signed, live_pki.policy())


@pytest.fixture(scope="module")
def bengali_signer(dev_pki, tmp_path_factory):
    issued = issue_certificate(dev_pki, BENGALI_SIGNER)
    path = tmp_path_factory.mktemp("bengali-signer") / "signer.p12"
    path.write_bytes(issued.to_pkcs12(b"passphrase"))
    return load_pkcs12_signer(path, b"passphrase")


@needs_poppler
def test_valid_signature_labels(valid_report, tmp_path):
    digest = hashlib.sha256(b"minutes").hexdigest()
    context = ReportContext(document_id="doc-1", file_name="minutes.pdf", revision=2, sha256=digest,
                            size=47462, fixity_ok=True, trust_anchors=1)
    lines = pdf_lines(render_report_pdf(valid_report, context), tmp_path)

    assert lines[0] == TITLE
    assert lines[1] == "Signature validation report"
    assert lines.count(VALID_BADGE) == 2  # the document and its one signature
    assert ("দলিলের প্রতিটি স্বাক্ষর বৈধ। স্বাক্ষরের পর দলিলে অননুমোদিত পরিবর্তন হয়নি, এবং প্রতিটি "
            "স্বাক্ষরকারীর সার্টিফিকেট যাচাই নীতির একটি বিশ্বস্ত রুট সার্টিফিকেট পর্যন্ত যাচাই করা গেছে।") in joined(lines)
    assert "৪৭,৪৬২ বাইট" in lines
    assert digest in lines
    assert "Common Name: Valid Signer, Organization: Dolil Test PKI, Country: BD" in lines
    assert "OCSP: যাচাইয়ের সময় সংগৃহীত — বাতিল হয়নি" in lines
    assert "বিশ্বস্ত রুট সার্টিফিকেট, যাচাই প্রযোজ্য নয়" in lines
    assert "সার্টিফিকেট ৩ — বিশ্বস্ত রুট সার্টিফিকেট" in lines


@needs_poppler
def test_bengali_signer_name_extracts_exactly(bengali_signer, dev_policy, tmp_path):
    signed = sign_pdf(MINUTES_PDF.read_bytes(), bengali_signer, SigningProfile(), policy=dev_policy)
    report = validate_pdf(signed, dev_policy)

    lines = pdf_lines(render_report_pdf(report), tmp_path)

    subject = report.signatures[0].signer_subject
    assert BENGALI_SIGNER in subject
    assert subject in joined(lines)
    assert "যার নামে ইস্যুকৃত" in lines
    assert "সার্টিফিকেট চেইন যাচাই করা গেছে।" in joined(lines)


@needs_poppler
def test_revoked_signer_report(live_pki, tmp_path):
    signed = _sign_directly(MINUTES_PDF.read_bytes(), live_pki.signer("revoked-before"))
    report = validate_pdf(signed, live_pki.policy())

    lines = pdf_lines(render_report_pdf(report), tmp_path)

    assert lines.count(INDETERMINATE_BADGE) == 2
    assert REVOKED_NO_POE in lines
    assert "Certificate revoked, no proof of existence before the revocation (REVOKED_NO_POE)" in lines
    assert "বাতিলকৃত সার্টিফিকেট" in lines
    assert "বাতিলের সময় · revoked at" in lines
    assert "reason: key_compromise" in lines


@needs_poppler
def test_several_signatures_each_reported(valid_report, live_pki, tmp_path):
    signed = sign_pdf(MINUTES_PDF.read_bytes(), live_pki.signer("valid"), SigningProfile(), policy=live_pki.policy())
    cosigned = sign_pdf(signed, live_pki.signer("valid"), SigningProfile(), policy=live_pki.policy())
    report = validate_pdf(cosigned, live_pki.policy())

    lines = pdf_lines(render_report_pdf(report), tmp_path)

    headings = [line for line in lines if re.fullmatch(r"স্বাক্ষর [০-৯]+   Signature \d+", line)]
    assert headings == ["স্বাক্ষর ১   Signature 1", "স্বাক্ষর ২   Signature 2"]
    assert lines.count(VALID_BADGE) == 3
    assert "revision 2 adds signature 'Signature2'" in lines
    assert "ফর্ম পূরণ ও স্বাক্ষর" in lines


@needs_poppler
def test_unsigned_document_report(live_pki, tmp_path):
    report = validate_pdf(MINUTES_PDF.read_bytes(), live_pki.policy())

    lines = pdf_lines(render_report_pdf(report), tmp_path)

    assert "স্বাক্ষর নেই · No signature (NO_SIGNATURE)" in lines
    assert ("দলিলে কোনো ডিজিটাল স্বাক্ষর নেই, তাই কে স্বাক্ষর করেছেন বা স্বাক্ষরের পর দলিল "
            "পরিবর্তিত হয়েছে কি না, তা এই প্রতিবেদন বলতে পারে না।") in joined(lines)
    assert not any(line.startswith("স্বাক্ষর ১") for line in lines)


@needs_poppler
def test_modified_document_report(valid_report, live_pki, tmp_path):
    signed = sign_pdf(MINUTES_PDF.read_bytes(), live_pki.signer("valid"), SigningProfile(), policy=live_pki.policy())
    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    page = writer.root["/Pages"]["/Kids"][0]
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (Void) Tj ET"))
    writer.update_container(page)
    output = io.BytesIO()
    writer.write(output)
    report = validate_pdf(output.getvalue(), live_pki.policy())

    lines = pdf_lines(render_report_pdf(report), tmp_path)

    assert "বৈধ নয় · Invalid (TOTAL_FAILED)" in lines
    assert "স্বাক্ষরের বিন্যাস সঠিক নয়" in lines
    assert "স্বাক্ষরের পর পরিবর্তন" in lines
    assert "হ্যাঁ" in lines
    assert "content of page 1 changed in revision 2" in lines
    assert "অন্যান্য পরিবর্তন" in lines


@needs_poppler
def test_many_signatures_paginate_and_wrap(valid_report, tmp_path):
    stored = json.loads(json.dumps(valid_report.to_dict()))
    long_subject = "Common Name: " + "Very Long Office Name " * 12 + ", Country: BD"
    stored["signatures"] = [dict(stored["signatures"][0], signer_subject=long_subject, field_name=f"Signature{n}")
                            for n in range(1, 7)]
    long_hash = "f" * 200
    data = render_report_pdf(stored, ReportContext(document_id="doc-many", sha256=long_hash))
    pages = page_count(data)
    path = tmp_path / "many.pdf"
    path.write_bytes(data)

    assert pages >= 6
    lines = pdf_lines(data, tmp_path)
    assert f"পৃষ্ঠা ১ / {''.join('০১২৩৪৫৬৭৮৯'[int(d)] for d in str(pages))} · Page 1 of {pages}" in lines
    assert f"Page {pages} of {pages}" in " ".join(lines)
    assert "স্বাক্ষর ৬   Signature 6" in lines
    # Every word lies inside the page's margins, so long values wrapped instead of running off the page.
    boxes = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True).stdout.decode()
    widths = [float(value) for value in re.findall(r'<page width="([\d.]+)"', boxes)]
    right_edges = [float(value) for value in re.findall(r'xMax="([\d.]+)"', boxes)]
    assert right_edges and max(right_edges) <= widths[0] - 40


@needs_poppler
def test_stored_report_without_new_fields(valid_report, tmp_path):
    stored = json.loads(json.dumps(valid_report.to_dict()))
    for signature in stored["signatures"]:
        del signature["certificates"]
        del signature["docmdp_permissions"]

    lines = pdf_lines(render_report_pdf(stored), tmp_path)

    assert "Common Name: Dolil Test Root CA, Organization: Dolil Test PKI, Country: BD" in lines
    assert "DocMDP অনুমতি" not in lines


# --- endpoints -----------------------------------------------------------------------


@pytest.fixture
def signed_document(client, tokens) -> str:
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))
    assert response.status_code == 201, response.get_json()
    return document_id


@needs_poppler
@pytest.mark.parametrize("how", ["accept", "query"])
def test_document_verification_pdf(client, tokens, signed_document, how, tmp_path):
    headers = bearer(tokens["auditor"])
    url = f"/api/v1/documents/{signed_document}/verification"
    if how == "accept":
        headers["Accept"] = "application/pdf"
    else:
        url += "?format=pdf"

    response = client.get(url, headers=headers)

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="dolil-verification-{signed_document}-r2.pdf"')
    lines = pdf_lines(response.data, tmp_path)
    assert signed_document in lines
    assert lines.count(VALID_BADGE) == 2
    assert "মিলেছে" in lines
    assert "সংস্করণ ২, সদস্য সচিব, test-officer" in lines
    assert "revision 2, member secretary, test-officer" in lines


def test_document_verification_json_by_default(client, tokens, signed_document):
    response = client.get(f"/api/v1/documents/{signed_document}/verification",
                          headers={**bearer(tokens["auditor"]), "Accept": "*/*"})

    assert response.mimetype == "application/json"
    assert response.get_json()["indication"] == "TOTAL_PASSED"


def test_document_verification_pdf_needs_token(client, signed_document):
    response = client.get(f"/api/v1/documents/{signed_document}/verification?format=pdf",
                          headers={"Accept": "application/pdf"})

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_unknown_report_format_rejected(client, tokens, signed_document):
    response = client.get(f"/api/v1/documents/{signed_document}/verification?format=xml",
                          headers=bearer(tokens["auditor"], "en"))

    assert response.status_code == 422
    assert response.get_json()["code"] == "field_invalid"
    assert response.get_json()["field"] == "format"


def _verify(client, token: str, data: bytes, **headers: str):
    return client.post("/api/v1/verifications", data={"file": (io.BytesIO(data), "handed in (copy).pdf")},
                       headers={**bearer(token), **headers}, content_type="multipart/form-data")


@needs_poppler
def test_handed_in_pdf_report(client, tokens, signed_document, tmp_path):
    signed = client.get(f"/api/v1/documents/{signed_document}/content", headers=bearer(tokens["auditor"])).data

    response = _verify(client, tokens["auditor"], signed, Accept="application/pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'inline; filename="dolil-verification-handed-in-copy.pdf"'
    lines = pdf_lines(response.data, tmp_path)
    assert "handed in (copy).pdf" in lines
    assert lines.count(VALID_BADGE) == 2


def test_handed_in_pdf_report_refused_for_officer(client, tokens):
    response = _verify(client, tokens["officer"], MINUTES_PDF.read_bytes(), Accept="application/pdf")

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


@needs_poppler
def test_fixity_failure_pdf(unlocked_app, tokens, tmp_path):
    client = unlocked_app.test_client()
    store = unlocked_app.extensions["dolil"].store
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    revision = db.session.get(Document, document_id).current_revision
    tampered = bytearray(MINUTES_PDF.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    store.client.put_object(store.bucket, revision.object_key, io.BytesIO(bytes(tampered)), len(tampered))

    response = client.get(f"/api/v1/documents/{document_id}/verification?format=pdf",
                          headers=bearer(tokens["auditor"]))

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    lines = pdf_lines(response.data, tmp_path)
    assert "বৈধ নয় · Invalid (TOTAL_FAILED)" in lines
    assert "সংরক্ষিত বাইট মেলেনি (অখণ্ডতা যাচাই ব্যর্থ)" in lines
    assert "মেলেনি" in lines
    assert hashlib.sha256(bytes(tampered)).hexdigest() in lines
