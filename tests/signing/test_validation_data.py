"""The validation-data bundle: what one validation used, as DER in JSON."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from asn1crypto import crl, ocsp, x509

from signing.sign import SigningProfile, sign_pdf
from signing.validation import validate_pdf
from signing.validation_data import BUNDLE_FORMAT, BUNDLE_VERSION

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"


@pytest.fixture(scope="module")
def lta_report(live_pki):
    signed = sign_pdf(
        SAMPLE_PDF.read_bytes(),
        live_pki.signer("valid"),
        SigningProfile(level="B-LTA"),
        timestamper=live_pki.timestamper(),
        policy=live_pki.policy(),
    )
    return validate_pdf(signed, live_pki.policy())


def test_bundle_has_format_and_metadata(lta_report) -> None:
    bundle = json.loads(lta_report.material.to_bundle(revision=2, validated_at=lta_report.validated_at))

    assert bundle["format"] == BUNDLE_FORMAT
    assert bundle["version"] == BUNDLE_VERSION
    assert bundle["revision"] == 2
    assert bundle["validated_at"].endswith("Z")


def test_bundle_der_matches_digest(lta_report) -> None:
    bundle = json.loads(lta_report.material.to_bundle())

    for kind, loader in (("certificates", x509.Certificate), ("crls", crl.CertificateList),
                         ("ocsp_responses", ocsp.OCSPResponse)):
        assert bundle[kind], kind
        for entry in bundle[kind]:
            der = base64.b64decode(entry["der"])
            assert hashlib.sha256(der).hexdigest() == entry["sha256"]
            assert loader.load(der).dump() == der


def test_bundle_lists_signer_tsa_and_sources(lta_report) -> None:
    bundle = json.loads(lta_report.material.to_bundle())

    subjects = {entry["subject"]: entry["sources"] for entry in bundle["certificates"]}
    assert any("Valid Signer" in subject for subject in subjects)
    assert any("Time-Stamping Authority" in subject for subject in subjects)
    assert any("Root CA" in subject and "path" in sources for subject, sources in subjects.items())
    assert all(entry["status"] == "successful" for entry in bundle["ocsp_responses"])
    sources = {source for entry in bundle["ocsp_responses"] for source in entry["sources"]}
    assert "embedded" in sources


def test_bundle_is_deterministic(lta_report) -> None:
    assert lta_report.material.to_bundle(revision=1) == lta_report.material.to_bundle(revision=1)


def test_report_dict_excludes_material(lta_report) -> None:
    assert "material" not in lta_report.to_dict()
