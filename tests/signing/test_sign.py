from __future__ import annotations

import io
import logging
import os
import socket
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

import signing.sign as sign_module
from signing.credentials import clear_signer_cache, load_pkcs12_signer
from signing.devpki import DevPki, issue_certificate
from signing.errors import (
    CredentialError,
    InvalidDocument,
    SignatureFieldInUse,
    SignerCertificateRejected,
    SigningProfileError,
    TimestampFailed,
)
from signing.intake import prepare_upload
from signing.sign import SigningProfile, check_signer_certificate, sign_pdf

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"


def _validate(
    pdf: bytes, root: asn1_x509.Certificate, *, strict: bool = True
) -> list[tuple[str, PdfSignatureStatus]]:
    reader = PdfFileReader(io.BytesIO(pdf), strict=strict)
    results = []
    for embedded in reader.embedded_signatures:
        context = ValidationContext(trust_roots=[root], allow_fetching=False)
        results.append((embedded.field_name, validate_pdf_signature(embedded, context)))
    return results


def _assert_intact_valid_trusted(status: PdfSignatureStatus) -> None:
    assert status.intact is True
    assert status.valid is True
    assert status.trusted is True
    assert status.bottom_line is True


def _signer_for(issued, tmp_path: Path) -> SimpleSigner:
    path = tmp_path / "signer.p12"
    path.write_bytes(issued.to_pkcs12(b"test-passphrase"))
    return load_pkcs12_signer(path, b"test-passphrase")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def build_hybrid_pdf() -> bytes:
    """Build a one-page PDF with a classic xref table and an /XRefStm stream, as office suites write.

    The font object exists only in an object stream, so a reader that ignores
    /XRefStm cannot find it.
    """
    content = b"BT /F1 24 Tf 20 100 Td (Hybrid) Tj ET"
    parts = [b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"]
    offsets: dict[int, int] = {}

    def add(number: int, body: bytes) -> None:
        offsets[number] = sum(len(part) for part in parts)
        parts.append(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    add(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    add(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    add(
        3,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 6 0 R >> >> >>",
    )
    add(4, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    header = b"6 0 "
    object_stream = header + b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    add(
        5,
        b"<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n" % (len(header), len(object_stream))
        + object_stream
        + b"\nendstream",
    )

    # Rows of the xref stream: object 6 is entry 0 of object stream 5 (type 2),
    # object 7 is the xref stream itself (type 1, at its byte offset).
    xref_stream_offset = sum(len(part) for part in parts)
    rows = struct.pack(">BIH", 2, 5, 0) + struct.pack(">BIH", 1, xref_stream_offset, 0)
    add(7, b"<< /Type /XRef /Size 8 /W [1 4 2] /Index [6 2] /Length %d >>\nstream\n" % len(rows) + rows + b"\nendstream")

    # The classic table leaves out object 6, so only the xref stream finds it.
    xref_table_offset = sum(len(part) for part in parts)
    parts.append(b"xref\n0 6\n0000000000 65535 f \n")
    parts += [b"%010d 00000 n \n" % offsets[number] for number in range(1, 6)]
    parts.append(b"7 1\n%010d 00000 n \n" % offsets[7])
    parts.append(
        b"trailer\n<< /Size 8 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n"
        % (xref_stream_offset, xref_table_offset)
    )
    return b"".join(parts)


def test_sign_sample_incremental_and_valid(officer_signer, dev_root_certificate, dev_policy, caplog) -> None:
    data = SAMPLE_PDF.read_bytes()
    caplog.set_level(logging.INFO, logger="signing")

    signed = sign_pdf(data, officer_signer, SigningProfile(), policy=dev_policy)

    assert signed.startswith(data)
    assert len(signed) > len(data)
    results = _validate(signed, dev_root_certificate)
    assert len(results) == 1
    field_name, status = results[0]
    assert field_name == "Signature1"
    _assert_intact_valid_trusted(status)
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.md_algorithm == "sha256"
    # The reserved space was large enough, so no second signing pass ran.
    assert _warnings(caplog) == []


def test_signature_is_pades_invisible_with_chain(officer_signer, dev_root_certificate, dev_intermediate_certificate):
    signed = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile())

    embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert [float(value) for value in embedded.sig_field["/Rect"]] == [0, 0, 0, 0]
    embedded_certificates = [choice.chosen.dump() for choice in embedded.signed_data["certificates"]]
    assert officer_signer.signing_cert.dump() in embedded_certificates
    assert dev_intermediate_certificate.dump() in embedded_certificates
    assert dev_root_certificate.dump() not in embedded_certificates


def test_sign_twice_both_intact(officer_signer, dev_root_certificate) -> None:
    data = SAMPLE_PDF.read_bytes()

    once = sign_pdf(data, officer_signer, SigningProfile())
    twice = sign_pdf(once, officer_signer, SigningProfile())

    assert twice.startswith(once)
    results = dict(_validate(twice, dev_root_certificate))
    assert sorted(results) == ["Signature1", "Signature2"]
    for status in results.values():
        _assert_intact_valid_trusted(status)
    assert results["Signature1"].coverage == SignatureCoverageLevel.ENTIRE_REVISION
    assert results["Signature1"].modification_level <= ModificationLevel.FORM_FILLING
    assert results["Signature2"].coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_reason_location_and_field_name_recorded(officer_signer) -> None:
    profile = SigningProfile(reason="সভার কার্যবিবরণী অনুমোদন", location="ঢাকা", field_name="OfficerApproval")

    signed = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, profile)

    embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert embedded.field_name == "OfficerApproval"
    assert embedded.sig_object["/Reason"] == "সভার কার্যবিবরণী অনুমোদন"
    assert embedded.sig_object["/Location"] == "ঢাকা"


def test_signed_field_name_in_use(officer_signer) -> None:
    signed = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(field_name="Approval"))

    with pytest.raises(SignatureFieldInUse) as caught:
        sign_pdf(signed, officer_signer, SigningProfile(field_name="Approval"))

    assert caught.value.field_name == "Approval"


def test_signer_without_non_repudiation_rejected(dev_pki: DevPki, tmp_path: Path) -> None:
    issued = issue_certificate(dev_pki, "Clerk", key_usage=("digital_signature",))
    signer = _signer_for(issued, tmp_path)

    with pytest.raises(SignerCertificateRejected) as caught:
        sign_pdf(SAMPLE_PDF.read_bytes(), signer, SigningProfile())

    assert caught.value.reason == "key_usage"
    assert caught.value.serial_number == issued.certificate.serial_number


def test_expired_signer_rejected(dev_pki: DevPki, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    issued = issue_certificate(
        dev_pki, "Former Officer", not_before=now - timedelta(days=800), not_after=now - timedelta(days=70)
    )
    signer = _signer_for(issued, tmp_path)

    with pytest.raises(SignerCertificateRejected) as caught:
        sign_pdf(SAMPLE_PDF.read_bytes(), signer, SigningProfile())

    assert caught.value.reason == "expired"


def test_check_signer_certificate_validity_window(officer_signer) -> None:
    certificate = officer_signer.signing_cert
    not_before = certificate["tbs_certificate"]["validity"]["not_before"].native
    not_after = certificate["tbs_certificate"]["validity"]["not_after"].native

    check_signer_certificate(certificate, at=not_before + timedelta(days=1))
    with pytest.raises(SignerCertificateRejected) as too_early:
        check_signer_certificate(certificate, at=not_before - timedelta(seconds=1))
    with pytest.raises(SignerCertificateRejected) as too_late:
        check_signer_certificate(certificate, at=not_after + timedelta(seconds=1))

    assert too_early.value.reason == "not_yet_valid"
    assert too_late.value.reason == "expired"


def test_wrong_passphrase_credential_error(dev_pki: DevPki) -> None:
    with pytest.raises(CredentialError) as caught:
        load_pkcs12_signer(dev_pki.officer_p12_path, b"Tr0ub4dor-guess")

    assert caught.value.path == dev_pki.officer_p12_path
    assert "Tr0ub4dor-guess" not in str(caught.value)


def test_missing_credential_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialError):
        load_pkcs12_signer(tmp_path / "absent.p12", b"anything")


def test_signer_cache_follows_file_changes(dev_pki: DevPki, tmp_path: Path) -> None:
    path = tmp_path / "officer.p12"
    path.write_bytes(issue_certificate(dev_pki, "First").to_pkcs12(b"pass"))
    clear_signer_cache()

    first = load_pkcs12_signer(path, b"pass")
    assert load_pkcs12_signer(path, b"pass") is first
    with pytest.raises(CredentialError):
        load_pkcs12_signer(path, b"other")

    path.write_bytes(issue_certificate(dev_pki, "Second").to_pkcs12(b"pass"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    replaced = load_pkcs12_signer(path, b"pass")

    assert replaced is not first
    assert replaced.signing_cert.subject.native["common_name"] == "Second"


def test_sign_b_t_with_local_tsa(officer_signer, dev_root_certificate, dev_policy, tsa_url: str, caplog) -> None:
    caplog.set_level(logging.INFO, logger="signing")

    signed = sign_pdf(
        SAMPLE_PDF.read_bytes(),
        officer_signer,
        SigningProfile(level="B-T"),
        timestamper=HTTPTimeStamper(tsa_url, timeout=5),
        policy=dev_policy,
    )

    [(_, status)] = _validate(signed, dev_root_certificate)
    _assert_intact_valid_trusted(status)
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact is True
    assert status.timestamp_validity.valid is True
    assert status.timestamp_validity.trusted is True
    assert _warnings(caplog) == []


def test_b_t_without_timestamper_rejected(officer_signer) -> None:
    with pytest.raises(SigningProfileError) as caught:
        sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(level="B-T"))

    assert caught.value.field == "level"


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_need_policy(officer_signer, tsa_url: str, level: str) -> None:
    with pytest.raises(SigningProfileError) as caught:
        sign_pdf(
            SAMPLE_PDF.read_bytes(),
            officer_signer,
            SigningProfile(level=level),
            timestamper=HTTPTimeStamper(tsa_url, timeout=5),
        )

    assert caught.value.field == "level"
    assert "policy" in caught.value.detail


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_need_timestamper(officer_signer, dev_policy, level: str) -> None:
    with pytest.raises(SigningProfileError) as caught:
        sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(level=level), policy=dev_policy)

    assert "timestamper" in caught.value.detail


def test_signing_without_policy_warns(officer_signer, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="signing")

    sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile())

    assert any("without a validation policy" in message for message in _warnings(caplog))


@pytest.mark.parametrize(("field", "value"), [("level", "B-X"), ("field_name", "a.b"), ("field_name", "")])
def test_invalid_profile_rejected(field: str, value: str) -> None:
    with pytest.raises(SigningProfileError) as caught:
        SigningProfile(**{field: value})

    assert caught.value.field == field


def test_unreachable_tsa_timestamp_failed(officer_signer) -> None:
    # A bound socket that does not listen makes connections to it fail at once.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        timestamper = HTTPTimeStamper(f"http://127.0.0.1:{port}/", timeout=5)

        with pytest.raises(TimestampFailed):
            sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(), timestamper=timestamper)


def test_truncated_pdf_not_signed(officer_signer) -> None:
    data = SAMPLE_PDF.read_bytes()

    with pytest.raises(InvalidDocument) as caught:
        sign_pdf(data[: len(data) // 2], officer_signer, SigningProfile())

    assert caught.value.reason == "malformed_pdf"


def test_encrypted_pdf_not_signed(officer_signer) -> None:
    buffer = io.BytesIO()
    with pikepdf.open(SAMPLE_PDF) as pdf:
        pdf.save(buffer, encryption=pikepdf.Encryption(owner="owner-secret", user="", R=6))

    with pytest.raises(InvalidDocument) as caught:
        sign_pdf(buffer.getvalue(), officer_signer, SigningProfile())

    assert caught.value.reason == "encrypted_pdf"


def test_hybrid_xref_pdf_signed(officer_signer, dev_root_certificate) -> None:
    data = build_hybrid_pdf()
    assert PdfFileReader(io.BytesIO(data)).xrefs.hybrid_xrefs_present
    assert prepare_upload(data).page_count == 1

    signed = sign_pdf(data, officer_signer, SigningProfile())

    assert signed.startswith(data)
    [(_, status)] = _validate(signed, dev_root_certificate, strict=False)
    _assert_intact_valid_trusted(status)
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    # pyHanko's validation rejects hybrid files read in strict mode.
    with pytest.raises(SignatureValidationError):
        _validate(signed, dev_root_certificate, strict=True)


def test_small_reservation_falls_back_to_estimate(officer_signer, dev_root_certificate, monkeypatch, caplog) -> None:
    monkeypatch.setattr(sign_module, "_estimate_bytes_reserved", lambda signer, *, with_timestamp: 256)

    signed = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile())

    [(_, status)] = _validate(signed, dev_root_certificate)
    _assert_intact_valid_trusted(status)
    assert any("not enough" in message for message in _warnings(caplog))


def test_signed_pdf_passes_intake_unchanged(officer_signer) -> None:
    twice = sign_pdf(
        sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile()), officer_signer, SigningProfile()
    )

    prepared = prepare_upload(twice)

    assert prepared.data == twice
    assert prepared.page_count == 3
    assert prepared.converted is False


def test_certification_allows_later_signature(officer_signer, dev_pki: DevPki, dev_policy, tmp_path: Path) -> None:
    from signing.validation import validate_pdf

    certified = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(certify=True), policy=dev_policy)
    chair = _signer_for(issue_certificate(dev_pki, "Chair"), tmp_path)
    cosigned = sign_pdf(certified, chair, SigningProfile(), policy=dev_policy)

    first, second = PdfFileReader(io.BytesIO(cosigned)).embedded_signatures
    assert first.docmdp_level is not None
    assert first.docmdp_level.name == "FILL_FORMS"
    assert second.docmdp_level is None
    report = validate_pdf(cosigned, dev_policy)
    assert [signature.indication for signature in report.signatures] == ["TOTAL_PASSED", "TOTAL_PASSED"]


def test_certified_document_rejects_page_change(officer_signer, dev_policy) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from signing.validation import validate_pdf

    certified = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(certify=True), policy=dev_policy)
    writer = IncrementalPdfFileWriter(io.BytesIO(certified))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td (changed) Tj ET"))
    writer.update_container(page)
    output = io.BytesIO()
    writer.write(output)

    report = validate_pdf(output.getvalue(), dev_policy)

    assert report.signatures[0].indication != "TOTAL_PASSED"


def test_visible_stamp_signature(officer_signer, dev_policy) -> None:
    from signing.stamp import VisibleStamp, stamp_lines
    from signing.validation import validate_pdf

    lines = stamp_lines("হাসিনা বেগম", "সদস্য সচিব", "সিসিএ কার্যালয়", "১১ আশ্বিন ১৪২৮ / ২৬ সেপ্টেম্বর ২০২১")
    signed = sign_pdf(SAMPLE_PDF.read_bytes(), officer_signer, SigningProfile(stamp=VisibleStamp(lines)),
                      policy=dev_policy)

    (embedded,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    widget = embedded.sig_field["/Kids"][0] if "/Kids" in embedded.sig_field else embedded.sig_field
    x1, y1, x2, y2 = (float(value) for value in widget["/Rect"])
    assert x2 - x1 > 50
    assert y2 - y1 > 20
    assert validate_pdf(signed, dev_policy).signatures[0].indication == "TOTAL_PASSED"
