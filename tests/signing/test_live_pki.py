"""Certificate cases of the live test PKI: ETSI verdicts and refusals before signing.

Every validation here uses a hard-fail policy that trusts the test root and
fetches CRLs and OCSP responses only from the test PKI's loopback host.
Documents signed with a certificate that signing.sign refuses are signed with
pyHanko directly.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper

from signing.errors import SignerCertificateRejected
from signing.sign import SigningProfile, sign_pdf
from signing.validation import validate_pdf

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"


def _sign_directly(signer: Signer, timestamper: TimeStamper | None = None) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(SAMPLE_PDF.read_bytes()), strict=False)
    metadata = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(writer, metadata, signer=signer, timestamper=timestamper).getvalue()


def test_valid_certificate_passes_with_fetched_ocsp(live_pki) -> None:
    signed = sign_pdf(SAMPLE_PDF.read_bytes(), live_pki.signer("valid"), SigningProfile(), policy=live_pki.policy())

    (signature,) = validate_pdf(signed, live_pki.policy()).signatures

    assert signature.indication == "TOTAL_PASSED"
    assert signature.sub_indication is None
    assert signature.revocation["checked"] is True
    assert signature.revocation["status"] == "good"
    assert [(item["source"], item["type"], item["status"]) for item in signature.revocation["evidence"]] == [
        ("fetched", "OCSP", "good")
    ]


def test_valid_certificate_without_fetching_try_later(live_pki) -> None:
    signed = sign_pdf(SAMPLE_PDF.read_bytes(), live_pki.signer("valid"), SigningProfile(), policy=live_pki.policy())
    offline = live_pki.policy(allow_fetching=False, allowed_hosts=())

    (signature,) = validate_pdf(signed, offline).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "TRY_LATER"
    assert signature.revocation["evidence"] == []


@pytest.mark.parametrize("timestamped", [False, True], ids=["B-B", "B-T"])
def test_revoked_before_signing_revoked_no_poe(live_pki, timestamped: bool) -> None:
    timestamper = live_pki.timestamper() if timestamped else None
    signed = _sign_directly(live_pki.signer("revoked-before"), timestamper)

    (signature,) = validate_pdf(signed, live_pki.policy()).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "REVOKED_NO_POE"
    assert signature.revocation["status"] == "revoked"
    assert signature.revocation["revoked_at"] == live_pki.revoked_before_at
    assert signature.revocation["reason"] == "key_compromise"
    if timestamped:
        # The time-stamp proves existence only after the revocation.
        assert signature.poe_time > live_pki.revoked_before_at


def test_revoked_after_signing_b_b_revoked_no_poe(live_pki, signed_before_revocation) -> None:
    (signature,) = validate_pdf(signed_before_revocation["B-B"], live_pki.policy()).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "REVOKED_NO_POE"
    assert signature.poe_time is None
    assert signature.revocation["revoked_at"] == live_pki.revoked_after_at


@pytest.mark.parametrize("timestamped", [False, True], ids=["B-B", "B-T"])
def test_expired_certificate_out_of_bounds(live_pki, timestamped: bool) -> None:
    timestamper = live_pki.timestamper() if timestamped else None
    signed = _sign_directly(live_pki.signer("expired"), timestamper)

    (signature,) = validate_pdf(signed, live_pki.policy()).signatures

    # A time-stamp made after the expiry proves nothing about the validity period;
    # pyHanko 0.38 alone passes this signature.
    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "OUT_OF_BOUNDS_NO_POE"
    assert signature.revocation["status"] == "not_checked"


@pytest.mark.parametrize("timestamped", [False, True], ids=["B-B", "B-T"])
def test_not_yet_valid_certificate_out_of_bounds(live_pki, timestamped: bool) -> None:
    timestamper = live_pki.timestamper() if timestamped else None
    signed = _sign_directly(live_pki.signer("not-yet-valid"), timestamper)

    (signature,) = validate_pdf(signed, live_pki.policy()).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "OUT_OF_BOUNDS_NO_POE"


def test_untrusted_root_no_chain(live_pki) -> None:
    signed = _sign_directly(live_pki.signer("untrusted"))

    (signature,) = validate_pdf(signed, live_pki.policy()).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert signature.chain == ()


def test_wrong_key_usage_chain_constraints(live_pki) -> None:
    signed = _sign_directly(live_pki.signer("wrong-key-usage"))

    (signature,) = validate_pdf(signed, live_pki.policy()).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "CHAIN_CONSTRAINTS_FAILURE"


@pytest.mark.parametrize("timestamped", [False, True], ids=["B-B", "B-T"])
def test_revoked_intermediate_revoked_ca_no_poe(live_pki, timestamped: bool) -> None:
    timestamper = live_pki.timestamper() if timestamped else None
    signed = _sign_directly(live_pki.signer("under-revoked-ca"), timestamper)

    (signature,) = validate_pdf(signed, live_pki.policy()).signatures

    # pyHanko 0.38's validation with time alone passes the B-T variant.
    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "REVOKED_CA_NO_POE"
    assert signature.revocation["status"] == "revoked"
    assert signature.revocation["revoked_at"] == live_pki.revoked_before_at


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("revoked-before", "revoked"),
        ("revoked-after", "revoked"),
        ("under-revoked-ca", "revoked"),
        ("expired", "expired"),
        ("not-yet-valid", "not_yet_valid"),
        ("untrusted", "untrusted"),
        ("wrong-key-usage", "key_usage"),
    ],
)
def test_signing_refused(live_pki, label: str, reason: str) -> None:
    data = SAMPLE_PDF.read_bytes()

    with pytest.raises(SignerCertificateRejected) as caught:
        sign_pdf(data, live_pki.signer(label), SigningProfile(level="B-LTA"),
                 timestamper=live_pki.timestamper(), policy=live_pki.policy())

    assert caught.value.reason == reason
    assert caught.value.serial_number == live_pki.signer(label).signing_cert.serial_number


def test_signing_refused_without_revocation_data(live_pki) -> None:
    offline = live_pki.policy(allow_fetching=False, allowed_hosts=())

    with pytest.raises(SignerCertificateRejected) as caught:
        sign_pdf(SAMPLE_PDF.read_bytes(), live_pki.signer("valid"), SigningProfile(), policy=offline)

    assert caught.value.reason == "revocation_unknown"


def test_revoked_signer_soft_fail_still_refused(live_pki) -> None:
    soft_fail = live_pki.policy(revocation_mode="soft-fail")

    with pytest.raises(SignerCertificateRejected) as caught:
        sign_pdf(SAMPLE_PDF.read_bytes(), live_pki.signer("revoked-before"), SigningProfile(), policy=soft_fail)

    assert caught.value.reason == "revoked"
