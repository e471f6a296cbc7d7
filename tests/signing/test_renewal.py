"""Renewal of the archival time-stamp chain against the live test PKI.

The B-LTA files here are time-stamped by ``tsa-short``, whose certificate
expires five days after the session start. Validation "later" runs as if the
present were five days after that expiry: the test PKI's OCSP and CRL services
then respond as of that moment, so the newest time-stamp's TSA gets fresh
revocation data, as a real validator would fetch it then.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from signing.errors import InvalidDocument
from signing.renewal import (
    EXPIRING,
    WEAKENING,
    inspect_newest_timestamp,
    renew_archival_timestamp,
    renewal_reasons,
)
from signing.sign import SigningProfile, sign_pdf
from signing.validation import validate_pdf

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"


@pytest.fixture(scope="module")
def short_lta(live_pki) -> bytes:
    """The sample signed at B-LTA now, with both time-stamps from the short-lived TSA."""
    return sign_pdf(
        SAMPLE_PDF.read_bytes(),
        live_pki.signer("valid"),
        SigningProfile(level="B-LTA"),
        timestamper=live_pki.timestamper(short_lived=True),
        policy=live_pki.policy(),
    )


@pytest.fixture(scope="module")
def renewed(live_pki, short_lta) -> bytes:
    return renew_archival_timestamp(short_lta, live_pki.timestamper(), live_pki.policy())


def _validate_later(live_pki, data: bytes, days_after_expiry: int = 5):
    later = live_pki.tsa_short_expires_at + timedelta(days=days_after_expiry)
    with live_pki.services_at(later):
        return validate_pdf(data, live_pki.policy(), present=later)


def test_newest_timestamp_short_lived_tsa(live_pki, short_lta) -> None:
    newest = inspect_newest_timestamp(short_lta)

    assert newest is not None
    assert newest.kind == "document"
    assert "Short-Lived" in newest.tsa_subject
    assert newest.tsa_not_after == live_pki.tsa_short_expires_at
    assert newest.digest_algorithm == "sha256"


def test_short_lived_tsa_selected_for_renewal(live_pki, short_lta) -> None:
    newest = inspect_newest_timestamp(short_lta)

    assert renewal_reasons(newest, live_pki.policy(), margin=timedelta(days=30)) == (EXPIRING,)
    assert renewal_reasons(newest, live_pki.policy(), margin=timedelta(days=1)) == ()


def test_weakening_digest_selected(live_pki, short_lta) -> None:
    newest = inspect_newest_timestamp(short_lta)
    policy = live_pki.policy(renewal_digest_algorithms=("sha256",))

    assert renewal_reasons(newest, policy, margin=timedelta(days=1)) == (WEAKENING,)


def test_renewal_adds_long_lived_timestamp(live_pki, short_lta, renewed) -> None:
    newest = inspect_newest_timestamp(renewed)

    assert renewed.startswith(short_lta)
    assert newest.kind == "document"
    assert "Short-Lived" not in newest.tsa_subject
    assert newest.tsa_not_after > live_pki.tsa_short_expires_at
    assert renewal_reasons(newest, live_pki.policy(), margin=timedelta(days=30)) == ()


def test_renewed_passes_after_tsa_expiry(live_pki, renewed) -> None:
    report = _validate_later(live_pki, renewed)

    assert report.indication == "TOTAL_PASSED"
    (signature,) = report.signatures
    assert signature.indication == "TOTAL_PASSED", signature.warnings
    assert signature.level == "B-LTA"
    assert [entry["type"] for entry in signature.timestamps] == ["signature", "document", "document"]


def test_unrenewed_not_passed_after_tsa_expiry(live_pki, short_lta) -> None:
    report = _validate_later(live_pki, short_lta)

    (signature,) = report.signatures
    assert report.indication == "INDETERMINATE"
    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "NO_POE"
    assert signature.level == "B-LTA"


@pytest.mark.parametrize("fixture", ["short_lta", "renewed"])
def test_both_pass_before_tsa_expiry(live_pki, request, fixture: str) -> None:
    data = request.getfixturevalue(fixture)

    (signature,) = _validate_later(live_pki, data, days_after_expiry=-4).signatures

    assert signature.indication == "TOTAL_PASSED", signature.warnings


def test_renewal_weakening_digest_uses_next(live_pki, short_lta) -> None:
    policy = live_pki.policy(renewal_digest_algorithms=("sha256",))

    renewed = renew_archival_timestamp(short_lta, live_pki.timestamper(), policy)

    newest = inspect_newest_timestamp(renewed)
    assert newest.digest_algorithm == "sha384"
    assert WEAKENING not in renewal_reasons(newest, policy, margin=timedelta(days=1))


def test_b_t_renewal_becomes_lta(live_pki) -> None:
    signed = sign_pdf(
        SAMPLE_PDF.read_bytes(),
        live_pki.signer("valid"),
        SigningProfile(level="B-T"),
        timestamper=live_pki.timestamper(short_lived=True),
        policy=live_pki.policy(),
    )
    assert inspect_newest_timestamp(signed).kind == "signature"

    renewed = renew_archival_timestamp(signed, live_pki.timestamper(), live_pki.policy())

    (signature,) = _validate_later(live_pki, renewed).signatures
    assert signature.level == "B-LTA"
    assert signature.indication == "TOTAL_PASSED", signature.warnings


def test_unsigned_pdf_has_no_timestamp() -> None:
    assert inspect_newest_timestamp(SAMPLE_PDF.read_bytes()) is None


def test_not_a_pdf_invalid_document() -> None:
    with pytest.raises(InvalidDocument):
        inspect_newest_timestamp(b"not a pdf")
