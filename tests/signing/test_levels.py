"""PAdES levels B-T, B-LT and B-LTA, and the archive verdicts they allow."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation.errors import NoDSSFoundError

from signing.errors import SignatureCreationFailed
from signing.sign import SigningProfile, sign_pdf
from signing.validation import validate_pdf

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"


@pytest.fixture(scope="module")
def signed_levels(live_pki) -> dict[str, bytes]:
    """The sample signed now by the valid signer at B-T, B-LT and B-LTA."""
    return {
        level: sign_pdf(
            SAMPLE_PDF.read_bytes(),
            live_pki.signer("valid"),
            SigningProfile(level=level),
            timestamper=live_pki.timestamper(),
            policy=live_pki.policy(),
        )
        for level in ("B-T", "B-LT", "B-LTA")
    }


def _dss(data: bytes) -> DocumentSecurityStore | None:
    try:
        return DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(data)))
    except NoDSSFoundError:
        return None


def test_b_t_has_signature_timestamp_only(live_pki, signed_levels) -> None:
    signed = signed_levels["B-T"]

    (signature,) = validate_pdf(signed, live_pki.policy()).signatures

    assert b"/DSS" not in signed[len(SAMPLE_PDF.read_bytes()):]
    assert signature.level == "B-T"
    assert signature.indication == "TOTAL_PASSED"
    assert [entry["type"] for entry in signature.timestamps] == ["signature"]
    assert signature.timestamps[0]["time"] == signature.timestamp_time
    assert signature.timestamps[0]["tsa"] is not None
    assert "Time-Stamping Authority" in signature.timestamps[0]["tsa"]
    assert signature.poe_time == signature.timestamp_time


def test_b_lt_embeds_validation_data(live_pki, signed_levels) -> None:
    dss = _dss(signed_levels["B-LT"])

    assert dss is not None
    certificates = {cert.subject.human_friendly for cert in dss.load_certs()}
    assert any("Valid Signer" in subject for subject in certificates)
    assert any("Time-Stamping Authority" in subject for subject in certificates)
    assert len(dss.ocsps) >= 1
    assert len(dss.crls) >= 1


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_pass_without_fetching(live_pki, signed_levels, level: str) -> None:
    offline = live_pki.policy(allow_fetching=False, allowed_hosts=())

    (signature,) = validate_pdf(signed_levels[level], offline).signatures

    assert signature.level == level
    assert signature.indication == "TOTAL_PASSED"
    assert signature.revocation["checked"] is True
    assert signature.revocation["status"] == "good"
    assert ("embedded", "OCSP", "good") in [
        (item["source"], item["type"], item["status"]) for item in signature.revocation["evidence"]
    ]


def test_b_lta_adds_document_timestamp(live_pki, signed_levels) -> None:
    signed = signed_levels["B-LTA"]

    report = validate_pdf(signed, live_pki.policy())

    (signature,) = report.signatures
    assert signature.level == "B-LTA"
    assert [entry["type"] for entry in signature.timestamps] == ["signature", "document"]
    document_timestamp = signature.timestamps[1]
    assert document_timestamp["revision"] > signature.signed_revision
    assert document_timestamp["time"] >= signature.timestamp_time
    assert signature.modification_level == "LTA_UPDATES"
    assert signature.indication == "TOTAL_PASSED"


def test_untrusted_tsa_signature_creation_failed(live_pki, tsa_url: str) -> None:
    # The development TSA chains to the development root, which the policy does not trust.
    with pytest.raises(SignatureCreationFailed) as caught:
        sign_pdf(
            SAMPLE_PDF.read_bytes(),
            live_pki.signer("valid"),
            SigningProfile(level="B-LT"),
            timestamper=HTTPTimeStamper(tsa_url, timeout=5),
            policy=live_pki.policy(),
        )

    assert "Time-Stamping Authority" in caught.value.detail


def test_b_b_without_dss_is_not_long_term(live_pki, signed_before_revocation) -> None:
    assert _dss(signed_before_revocation["B-B"]) is None
    assert _dss(signed_before_revocation["B-LT"]) is not None


# --- archive verdicts: certificate revoked after signing ----------------------------------


def test_b_lta_revoked_after_signing_passes_with_poe(live_pki, signed_before_revocation) -> None:
    signing_time = live_pki.base_time - timedelta(days=2)

    report = validate_pdf(signed_before_revocation["B-LTA"], live_pki.policy())

    (signature,) = report.signatures
    assert signature.level == "B-LTA"
    assert signature.indication == "TOTAL_PASSED"
    assert signature.sub_indication is None
    assert abs(signature.poe_time - signing_time) < timedelta(seconds=2)
    assert signature.poe_time < live_pki.revoked_after_at
    assert signature.revocation["status"] == "revoked"
    assert signature.revocation["revoked_at"] == live_pki.revoked_after_at
    evidence = [(item["source"], item["type"], item["status"]) for item in signature.revocation["evidence"]]
    assert ("embedded", "OCSP", "good") in evidence
    assert ("fetched", "OCSP", "revoked") in evidence
    assert [entry["type"] for entry in signature.timestamps] == ["signature", "document"]
    assert any("revoked after signing" in warning for warning in signature.warnings)


def test_b_b_revoked_after_signing_not_passed(live_pki, signed_before_revocation) -> None:
    (signature,) = validate_pdf(signed_before_revocation["B-B"], live_pki.policy()).signatures

    assert signature.level == "B-B"
    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "REVOKED_NO_POE"
    assert signature.poe_time is None
    assert signature.timestamps == ()


def test_archive_report_serialises(live_pki, signed_before_revocation) -> None:
    report = validate_pdf(signed_before_revocation["B-LTA"], live_pki.policy())

    document = json.loads(json.dumps(report.to_dict()))

    (signature,) = document["signatures"]
    assert signature["poe_time"].endswith("Z")
    assert signature["revocation"]["revoked_at"].endswith("Z")
    assert all(item["issued_at"].endswith("Z") for item in signature["revocation"]["evidence"])
    assert [entry["type"] for entry in signature["timestamps"]] == ["signature", "document"]
    assert all(entry["time"].endswith("Z") for entry in signature["timestamps"])
