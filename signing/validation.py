"""Validation of PAdES signatures with ETSI EN 319 102-1 indications.

Cryptographic and certificate checks use pyHanko's AdES validation
(``pyhanko.sign.validation.ades``): basic validation for signatures without a
signature time-stamp, validation with time for signatures with one, and long-term
(LTA) validation when later document time-stamps can supply a proof of existence
(POE). :mod:`signing.trust` runs these checks. The document structure is
reviewed as well, in :mod:`signing.revisions`, because pyHanko 0.38 accepts some
changes that an auditor has to see:

==============================================  ===============  ======================
Finding                                         Indication       Sub-indication
==============================================  ===============  ======================
Byte range digest does not match                TOTAL_FAILED     HASH_FAILURE
Signature value does not verify                 TOTAL_FAILED     SIG_CRYPTO_FAILURE
No path to a trust anchor                       INDETERMINATE    NO_CERTIFICATE_CHAIN_FOUND
Signer certificate expired or not yet valid at
validation time, no POE within its validity     INDETERMINATE    OUT_OF_BOUNDS_NO_POE
Signer certificate revoked, no POE before it    INDETERMINATE    REVOKED_NO_POE
CA certificate revoked, no POE before it        INDETERMINATE    REVOKED_CA_NO_POE
Algorithm or key size rejected by the policy    INDETERMINATE    CRYPTO_CONSTRAINTS_FAILURE
Content time-stamp later than the revocation   TOTAL_FAILED     REVOKED
No usable CRL or OCSP data under hard-fail      INDETERMINATE    TRY_LATER
Signer certificate lacks a policy key usage     INDETERMINATE    CHAIN_CONSTRAINTS_FAILURE
Byte range not covering a whole revision,
update rejected by the difference analysis,
or DocMDP permissions exceeded                  TOTAL_FAILED     FORMAT_FAILURE
Bytes after the last ``%%EOF``, /Info or XMP
metadata changed, annotations, unsigned fields
or page content changed after signing           INDETERMINATE    FORMAT_FAILURE
Signature not parseable or unexpected error     INDETERMINATE    FORMAT_FAILURE
==============================================  ===============  ======================

Revocation follows ETSI: a revoked signer certificate gives REVOKED_NO_POE
unless a validated time-stamp proves that the signature existed before the
revocation; the report's ``poe_time`` is that proof of existence.
"hard-fail" requires CRL or OCSP data for every certificate below the trust
anchor. "soft-fail" accepts a signature whose revocation status could not be
established and reports that status as ``not_checked``.

Later revisions that only add signatures, document time-stamps or DSS data keep
an earlier signature TOTAL_PASSED.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime, timezone

from pyhanko.sign.ades.report import AdESIndeterminate, AdESStatus, AdESSubIndic
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from signing.evidence import timestamp_entries, timestamp_gen_time
from signing.policy import REVOCATION_MODES, ValidationPolicy, load_certificates, load_policy
from signing.report import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    SignatureReport,
    ValidationReport,
    worst_indication,
)
from signing.revisions import DocumentFacts, FieldEntry, open_pdf, review_integrity, shorten
from signing.trust import build_revocation_summary, evaluate_trust, signature_timestamp
from signing.validation_setup import ValidationSetup, open_validation_setup

__all__ = [
    "REVOCATION_MODES",
    "SignatureReport",
    "ValidationPolicy",
    "ValidationReport",
    "load_certificates",
    "load_policy",
    "validate_pdf",
]

logger = logging.getLogger(__name__)

FORMAT_FAILURE = "FORMAT_FAILURE"
SUPPORTED_SUBFILTERS = ("/ETSI.CAdES.detached", "/adbe.pkcs7.detached")

# Failures where a path returned by pyHanko must not be reported as a chain.
_NO_CHAIN = frozenset(
    {
        AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND,
        AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE,
        AdESIndeterminate.NO_SIGNING_CERTIFICATE_FOUND,
    }
)

# Explanations added to a report's warnings for the sub-indications seen most often.
_SUB_INDICATION_TEXT = {
    "HASH_FAILURE": "the bytes covered by the signature do not match the signed digest",
    "SIG_CRYPTO_FAILURE": "the signature value does not verify with the signer's public key",
    "REVOKED": "a time-stamp proves that the signature was made after the certificate was revoked",
    "NO_CERTIFICATE_CHAIN_FOUND": "no certificate path leads from the signer to a trust anchor of the policy",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": "the certificate path to the trust anchor failed validation",
    "CHAIN_CONSTRAINTS_FAILURE": "a certificate in the path violates a constraint such as its key usage",
    "OUT_OF_BOUNDS_NO_POE": (
        "the signer's certificate is outside its validity period at the validation time "
        "and nothing proves that the signature existed while it was valid"
    ),
    "REVOKED_NO_POE": (
        "the signer's certificate is revoked and nothing proves that the signature "
        "existed before the revocation"
    ),
    "REVOKED_CA_NO_POE": (
        "an issuing CA certificate is revoked and nothing proves that the signature "
        "existed before the revocation"
    ),
    "CRYPTO_CONSTRAINTS_FAILURE": "an algorithm used by the signature or the path is not acceptable",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "an algorithm used by the signature or the path is no longer acceptable",
}



def validate_pdf(
    data: bytes, policy: ValidationPolicy, *, now: datetime | None = None
) -> ValidationReport:
    """Validate every signature in a PDF and return a report.

    ``now`` sets the validation time (timezone-aware) and defaults to the current
    time. With an explicit ``now`` nothing is fetched, even if the policy allows
    fetching, because fetched data would describe the present and not ``now``.

    Raises :class:`~signing.errors.InvalidDocument` when the bytes are empty, not
    a readable PDF, or encrypted. Problems with a single signature never raise:
    they are reported as INDETERMINATE.

    Runs its own event loop, so it must not be called from a running one.
    """
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    validated_at = now if now is not None else datetime.now(timezone.utc)

    reader = open_pdf(data)
    document = DocumentFacts.read(reader, data)
    signatures = asyncio.run(_validate_signatures(document, policy, now))

    report = ValidationReport(
        indication=worst_indication(tuple(signature.indication for signature in signatures)),
        signatures=tuple(signatures),
        policy=policy.name,
        policy_fingerprint=policy.fingerprint(),
        validated_at=validated_at,
        trailing_bytes=document.trailing_bytes,
    )
    logger.info(
        "validated PDF sha256=%s signatures=%d indication=%s policy=%s",
        hashlib.sha256(data).hexdigest(),
        len(signatures),
        report.indication,
        policy.name,
    )
    return report


# --- report assembly ---------------------------------------------------------------


async def _validate_signatures(
    document: DocumentFacts, policy: ValidationPolicy, now: datetime | None
) -> list[SignatureReport]:
    async with open_validation_setup(policy, now) as setup:
        reports = []
        for entry in document.signatures:
            reports.append(await _validate_entry(entry, document, setup))
        return reports


async def _validate_entry(
    entry: FieldEntry, document: DocumentFacts, setup: ValidationSetup
) -> SignatureReport:
    if entry.signature is None:
        return _unprocessable_report(
            entry, document, setup.policy, f"the signature cannot be parsed: {entry.error}"
        )
    subfilter = entry.signature.sig_object.get("/SubFilter")
    if subfilter not in SUPPORTED_SUBFILTERS:
        return _unprocessable_report(
            entry, document, setup.policy, f"signatures with /SubFilter {subfilter} are not supported"
        )
    try:
        return await _validate_signature(entry.signature, document, setup)
    except Exception as exc:  # one broken signature must not hide the others
        logger.exception("validation of signature %r failed unexpectedly", entry.name)
        return _unprocessable_report(
            entry,
            document,
            setup.policy,
            f"validation failed with an unexpected error: {type(exc).__name__}: {shorten(str(exc))}",
        )


async def _validate_signature(
    signature: EmbeddedPdfSignature, document: DocumentFacts, setup: ValidationSetup
) -> SignatureReport:
    integrity = review_integrity(signature, document)
    trust = await evaluate_trust(signature, document, setup)
    indication = _indication_of(trust.sub_indication)
    sub_indication = None if indication == TOTAL_PASSED else trust.sub_indication.standard_name
    warnings = []
    if sub_indication in _SUB_INDICATION_TEXT:
        warnings.append(f"{sub_indication}: {_SUB_INDICATION_TEXT[sub_indication]}")
    warnings.extend(trust.warnings)
    if integrity.failures and indication != TOTAL_FAILED:
        indication, sub_indication = TOTAL_FAILED, FORMAT_FAILURE
    elif integrity.doubts and indication == TOTAL_PASSED:
        indication, sub_indication = INDETERMINATE, FORMAT_FAILURE
    warnings.extend(integrity.failures + integrity.doubts)

    level, level_warning = _detect_level(signature, document)
    if level_warning:
        warnings.append(level_warning)
    tst = signature_timestamp(signature)
    cert = signature.signer_cert
    status = trust.status
    chain: tuple[str, ...] = ()
    if status is not None and status.validation_path is not None and trust.sub_indication not in _NO_CHAIN:
        chain = _chain_subjects(status.validation_path)

    return SignatureReport(
        field_name=signature.field_name,
        indication=indication,
        sub_indication=sub_indication,
        signer_subject=cert.subject.human_friendly,
        signer_issuer=cert.issuer.human_friendly,
        signer_serial=format(cert.serial_number, "x"),
        signing_time=signature.self_reported_timestamp,
        timestamp_time=timestamp_gen_time(tst) if tst else None,
        level=level,
        coverage=integrity.coverage,
        signed_revision=signature.signed_revision,
        revisions_after=integrity.revisions_after,
        modified_after_signing=integrity.modified_after_signing,
        modification_level=integrity.modification_level,
        changes=tuple(integrity.changes),
        chain=chain,
        revocation=trust.revocation,
        warnings=tuple(warnings),
        poe_time=trust.poe_time,
        timestamps=timestamp_entries(signature, tst, document),
    )


def _indication_of(sub_indication: AdESSubIndic) -> str:
    status = sub_indication.status
    if status == AdESStatus.PASSED:
        return TOTAL_PASSED
    if status == AdESStatus.FAILED:
        return TOTAL_FAILED
    return INDETERMINATE


def _chain_subjects(path) -> tuple[str, ...]:
    certs = list(path.iter_certs(include_root=True))
    subjects = [cert.subject.human_friendly for cert in reversed(certs)]
    anchor = path.trust_anchor.authority
    if not certs or certs[0].subject != anchor.name:
        subjects.append(anchor.name.human_friendly)
    return tuple(subjects)


def _detect_level(signature: EmbeddedPdfSignature, document: DocumentFacts) -> tuple[str | None, str | None]:
    """Detect the PAdES baseline level from the file structure alone, without validating anything."""
    subfilter = signature.sig_object.get("/SubFilter")
    if subfilter != "/ETSI.CAdES.detached":
        return None, f"SubFilter {subfilter} is not a PAdES baseline signature"
    signed_revision = signature.signed_revision
    # NOTE: document time-stamps count by their presence. They are validated only
    # when the LTA process runs for a signature.
    later_timestamps = [
        entry.revision
        for entry in document.timestamps
        if entry.signature is not None and entry.revision > signed_revision
    ]
    if signature_timestamp(signature) is None and not later_timestamps:
        return "B-B", None
    later_dss = [revision for revision in document.dss_revisions if revision > signed_revision]
    if not later_dss:
        return "B-T", None
    # A document time-stamp covers a DSS written in its own revision as well:
    # pyHanko 0.38 writes the signature's validation data and the first document
    # time-stamp in one incremental update.
    if any(revision >= min(later_dss) for revision in later_timestamps):
        return "B-LTA", None
    return "B-LT", None


def _unprocessable_report(
    entry: FieldEntry, document: DocumentFacts, policy: ValidationPolicy, reason: str
) -> SignatureReport:
    revisions_after = document.last_revision - entry.revision
    return SignatureReport(
        field_name=entry.name,
        indication=INDETERMINATE,
        sub_indication=FORMAT_FAILURE,
        signer_subject=None,
        signer_issuer=None,
        signer_serial=None,
        signing_time=None,
        timestamp_time=None,
        level=None,
        coverage=SignatureCoverageLevel.UNCLEAR.name,
        signed_revision=entry.revision,
        revisions_after=revisions_after,
        modified_after_signing=revisions_after > 0 or document.trailing_bytes > 0,
        modification_level=None,
        changes=(),
        chain=(),
        revocation=build_revocation_summary(policy.revocation_mode, False, "not_checked", reason),
        warnings=(reason,),
    )
