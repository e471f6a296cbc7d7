"""Revalidating stored long-term signatures offline, days after signing.

Every validation here runs with fetching disabled under a hard-fail policy, at
a validation time days after signing. The OCSP responses of the test PKI are
valid for ten minutes and its CRLs for a day, so the data embedded at signing
is no longer valid at that time. It was valid at the signature time-stamp,
the proof of existence, and that is what ETSI EN 319 102-1 judges it against.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError

from signing.sign import SigningProfile, sign_pdf
from signing.trust import signature_timestamp
from signing.validation import validate_pdf

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"


@pytest.fixture(scope="module")
def long_term(live_pki) -> dict[str, tuple[bytes, datetime]]:
    """The sample signed now by the valid signer at B-B, B-T, B-LT and B-LTA, with the time before signing."""
    signed = {}
    for level in ("B-B", "B-T", "B-LT", "B-LTA"):
        before = datetime.now(timezone.utc)
        signed[level] = (
            sign_pdf(
                SAMPLE_PDF.read_bytes(),
                live_pki.signer("valid"),
                SigningProfile(level=level),
                timestamper=live_pki.timestamper() if level != "B-B" else None,
                policy=live_pki.policy(),
            ),
            before,
        )
    return signed


def _offline(live_pki):
    return live_pki.policy(allow_fetching=False, allowed_hosts=())


def _evidence(signature) -> list[tuple[str, str, str]]:
    return [(item["source"], item["type"], item["status"]) for item in signature.revocation["evidence"]]


def _certificates(data: bytes) -> list[x509.Certificate]:
    """The signer's certificate and the TSA certificate of the signature time-stamp, if any."""
    signature = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0]
    certificates = [signature.signer_cert]
    token = signature_timestamp(signature)
    if token is not None:
        certificates.extend(
            choice.chosen for choice in token["certificates"] if "Time-Stamping" in choice.chosen.subject.human_friendly
        )
    return certificates


def _with_current_revocation_data(live_pki, data: bytes, *, crls: bool = True) -> bytes:
    """Append a DSS update with the CRLs and OCSP responses the test PKI serves now.

    Without ``crls`` only the OCSP responses are added.

    pyHanko refuses to add validation data for a revoked certificate, so the data
    are fetched with pyhanko-certvalidator, which keeps what it fetched when it
    finds a certificate revoked.
    """
    context = ValidationContext(
        trust_roots=[live_pki.root],
        other_certs=list(live_pki.intermediates),
        allow_fetching=True,
        revocation_mode="require",
    )

    async def fetch() -> None:
        for certificate in _certificates(data):
            try:
                await CertificateValidator(certificate, validation_context=context).async_validate_path()
            except RevokedError:
                pass

    asyncio.run(fetch())
    assert context.ocsps, "the test PKI returned no OCSP response"
    output = io.BytesIO(data)
    DocumentSecurityStore.add_dss(
        output, None, ocsps=context.ocsps, crls=context.crls if crls else None, force_write=True
    )
    return output.getvalue()


# --- signatures with a time-stamp: judged at the proof of existence ------------------


@pytest.mark.parametrize("days", [2, 30])
@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_passes_offline_later(live_pki, long_term, level: str, days: int) -> None:
    data, signed_at = long_term[level]

    report = validate_pdf(data, _offline(live_pki), now=signed_at + timedelta(days=days))

    (signature,) = report.signatures
    assert signature.level == level
    assert signature.indication == "TOTAL_PASSED", signature.warnings
    assert signature.sub_indication is None
    assert signature.poe_time == signature.timestamp_time
    assert signature.revocation["checked"] is True
    assert signature.revocation["status"] == "good"
    assert signature.poe_time.isoformat() in signature.revocation["note"]
    assert ("embedded", "OCSP", "good") in _evidence(signature)
    assert not any(source == "fetched" for source, _, _ in _evidence(signature))


def test_b_lta_passes_offline_with_present_clock(live_pki, long_term) -> None:
    data, signed_at = long_term["B-LTA"]
    later = signed_at + timedelta(days=30)

    with live_pki.services_at(later):
        (signature,) = validate_pdf(data, _offline(live_pki), present=later).signatures

    assert signature.indication == "TOTAL_PASSED", signature.warnings
    assert signature.revocation["status"] == "good"


def test_b_lta_revoked_later_passes_offline(live_pki, signed_before_revocation) -> None:
    later = live_pki.base_time + timedelta(days=2)

    (signature,) = validate_pdf(signed_before_revocation["B-LTA"], _offline(live_pki), now=later).signatures

    # The embedded data describe the certificate two days before the session, when it was good.
    assert signature.indication == "TOTAL_PASSED", signature.warnings
    assert signature.poe_time < live_pki.revoked_after_at
    assert signature.revocation["status"] == "good"


# --- what stays as it was -----------------------------------------------------------


@pytest.mark.parametrize("days", [2, 30])
def test_b_b_offline_later_try_later(live_pki, long_term, days: int) -> None:
    data, signed_at = long_term["B-B"]

    (signature,) = validate_pdf(data, _offline(live_pki), now=signed_at + timedelta(days=days)).signatures

    # Without a time-stamp nothing proves an earlier time, and sign_pdf embeds
    # no revocation data at B-B.
    assert signature.level == "B-B"
    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "TRY_LATER"
    assert signature.poe_time is None
    assert signature.revocation["status"] == "unknown"


def test_b_b_embedded_data_judged_now(live_pki, long_term) -> None:
    data, signed_at = long_term["B-B"]
    with_data = _with_current_revocation_data(live_pki, data)

    fresh = validate_pdf(with_data, _offline(live_pki), now=datetime.now(timezone.utc)).signatures[0]
    later = validate_pdf(with_data, _offline(live_pki), now=signed_at + timedelta(days=2)).signatures[0]

    assert fresh.indication == "TOTAL_PASSED", fresh.warnings
    assert later.indication == "INDETERMINATE"
    assert later.sub_indication == "TRY_LATER"


def test_b_t_without_data_try_later(live_pki, long_term) -> None:
    data, signed_at = long_term["B-T"]

    (signature,) = validate_pdf(data, _offline(live_pki), now=signed_at + timedelta(days=2)).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "TRY_LATER"
    assert signature.revocation["status"] == "unknown"
    assert signature.revocation["evidence"] == []


# --- revocations in the embedded data -------------------------------------------------


@pytest.mark.parametrize(
    "label, sub_indication", [("revoked-before", "REVOKED_NO_POE"), ("under-revoked-ca", "REVOKED_CA_NO_POE")]
)
def test_revoked_before_poe_reported(live_pki, label: str, sub_indication: str) -> None:
    # signing.sign refuses these certificates, so pyHanko signs at B-T, and a
    # DSS update adds the revocation data the test PKI serves now.
    writer = IncrementalPdfFileWriter(io.BytesIO(SAMPLE_PDF.read_bytes()), strict=False)
    metadata = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
    signed = signers.sign_pdf(
        writer, metadata, signer=live_pki.signer(label), timestamper=live_pki.timestamper()
    ).getvalue()
    long_term_data = _with_current_revocation_data(live_pki, signed)

    later = datetime.now(timezone.utc) + timedelta(days=2)
    (signature,) = validate_pdf(long_term_data, _offline(live_pki), now=later).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == sub_indication
    assert signature.poe_time > live_pki.revoked_before_at
    assert signature.revocation["status"] == "revoked"
    assert signature.revocation["revoked_at"] == live_pki.revoked_before_at
    assert signature.revocation["reason"] == "key_compromise"


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_revoked_after_poe_warns(live_pki, signed_before_revocation, level: str) -> None:
    # A DSS update made now adds an OCSP response that reports the revocation.
    data = _with_current_revocation_data(live_pki, signed_before_revocation[level])
    later = live_pki.base_time + timedelta(days=2)

    (signature,) = validate_pdf(data, _offline(live_pki), now=later).signatures

    assert signature.indication == "TOTAL_PASSED", signature.warnings
    assert signature.poe_time < live_pki.revoked_after_at
    assert signature.revocation["status"] == "revoked"
    assert signature.revocation["revoked_at"] == live_pki.revoked_after_at
    assert ("embedded", "OCSP", "revoked") in _evidence(signature)
    assert any(warning.startswith("certificate revoked after signing") for warning in signature.warnings)


def test_unvalidated_later_revocation_warns(live_pki, signed_before_revocation) -> None:
    # Without a current CRL for the intermediate CA, the OCSP response that
    # reports the revocation cannot be validated at its own time.
    data = _with_current_revocation_data(live_pki, signed_before_revocation["B-LT"], crls=False)
    later = live_pki.base_time + timedelta(days=2)

    (signature,) = validate_pdf(data, _offline(live_pki), now=later).signatures

    assert signature.indication == "TOTAL_PASSED", signature.warnings
    assert signature.revocation["status"] == "good"
    assert ("embedded", "OCSP", "revoked") in _evidence(signature)
    assert any("revoked after the proof of existence, but they do not validate" in warning for warning in signature.warnings)
