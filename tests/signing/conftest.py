"""Fixtures shared by the signing tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from signing.sign import SigningProfile, sign_pdf

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"


@pytest.fixture(scope="session")
def signed_before_revocation(live_pki) -> dict[str, bytes]:
    """The sample signed at each level by the ``revoked-after`` signer, two days back.

    The test PKI's services respond as of two days before the session start, when
    the certificate was still good; it was revoked one day before the session
    start. Maps the level (B-B, B-T, B-LT, B-LTA) to the signed PDF.
    """
    signing_time = live_pki.base_time - timedelta(days=2)
    signed = {}
    with live_pki.services_at(signing_time):
        for level in ("B-B", "B-T", "B-LT", "B-LTA"):
            signed[level] = sign_pdf(
                SAMPLE_PDF.read_bytes(),
                live_pki.signer("revoked-after"),
                SigningProfile(level=level),
                timestamper=live_pki.timestamper() if level != "B-B" else None,
                policy=live_pki.policy(),
                at=signing_time,
            )
    return signed
