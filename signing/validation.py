"""Validation of PAdES signatures with ETSI EN 319 102-1 indications.

Cryptographic and certificate checks use pyHanko's AdES validation
(``pyhanko.sign.validation.ades``): basic validation for signatures without a
signature time-stamp, validation with time for signatures with one, and long-term
(LTA) validation when later document time-stamps can supply a proof of existence
(POE). :mod:`signing.trust` runs these checks. The document structure is
reviewed as well, in :mod:`signing.integrity`, because pyHanko 0.38 accepts some
changes that an auditor has to see, and every signed revision is compared as
rendered pages with the later ones (:mod:`signing.visual`):

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
Algorithm or key size rejected by the policy,
also the digest of an /adbe.pkcs7.sha1 or
/adbe.x509.rsa_sha1 signature                   INDETERMINATE    CRYPTO_CONSTRAINTS_FAILURE
Content time-stamp later than the revocation   TOTAL_FAILED     REVOKED
No usable CRL or OCSP data under hard-fail,
neither at the validation time nor, for a
time-stamped signature, in the document at
its POE                                         INDETERMINATE    TRY_LATER
Signer certificate lacks a policy key usage     INDETERMINATE    CHAIN_CONSTRAINTS_FAILURE
/ByteRange missing or not four integers, not
from offset 0 to the end of the signed
revision, overlapping, or its gap not exactly
the dictionary's own /Contents string           TOTAL_FAILED     FORMAT_FAILURE
Byte range not covering a whole revision,
update rejected by the difference analysis,
DocMDP permissions exceeded, or an update that
points objects back to earlier bytes            TOTAL_FAILED     FORMAT_FAILURE
Bytes before ``%PDF-`` or after the last
``%%EOF``, /Info or XMP
metadata changed, annotations, unsigned fields,
page content, resources or geometry changed,
catalog replaced, or a page that looks
different after signing                         INDETERMINATE    FORMAT_FAILURE
No signer certificate in the CMS signature      INDETERMINATE    NO_SIGNING_CERTIFICATE_FOUND
Signature not parseable or unexpected error     INDETERMINATE    FORMAT_FAILURE
==============================================  ===============  ======================

A /ByteRange failure comes first: the format check precedes the cryptographic
checks in ETSI EN 319 102-1, and a crafted byte range can make a digest match
bytes other than the document's, so its sub-indication replaces HASH_FAILURE or
SIG_CRYPTO_FAILURE.

NOTE: ETSI EN 319 102-1 defines FORMAT_FAILURE only under TOTAL_FAILED. The
INDETERMINATE/FORMAT_FAILURE pair above is this service's own: the document
may still be what was signed, but what changed after signing can alter what a
reader sees.

Revocation follows ETSI: a revoked signer certificate gives REVOKED_NO_POE
unless a validated time-stamp proves that the signature existed before the
revocation; the report's ``poe_time`` is that proof of existence.
"hard-fail" requires CRL or OCSP data for every certificate below the trust
anchor. When none is valid at the validation time, a signature with a
time-stamp is judged on the document's own CRLs and OCSP responses at its
proof of existence. ETSI EN 319 102-1 and EU DSS judge revocation data against
this best-signature-time too. So a B-LT or B-LTA file stays verifiable offline
long after its OCSP responses expired (see :mod:`signing.trust`). "soft-fail" accepts a signature whose revocation status could not be
established and reports that status as ``not_checked``.

A file that pyHanko's strict reader rejects, for example for a ``startxref``
a few bytes off, is validated as its non-strict reader repairs it. The report's
``reading`` is then ``non-strict`` and its ``warnings`` say so. The verdicts
do not change, because the damage is part of the signed bytes. Bytes before
the ``%PDF-`` header are skipped the same way and counted in ``leading_bytes``,
but no signature covers them (see the table).

Later revisions that only add signatures, document time-stamps or DSS data keep
an earlier signature TOTAL_PASSED, unless a later signature's stamp covers
content signed by the earlier one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from datetime import datetime, timezone

from pyhanko.pdf_utils.generic import DictionaryObject
from pyhanko.sign.ades.report import AdESIndeterminate, AdESStatus, AdESSubIndic
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from signing.byterange import check_byte_range, read_byte_range
from signing.evidence import timestamp_entries, timestamp_gen_time
from signing.integrity import review_integrity
from signing.legacy import LEGACY_SUBFILTERS, check_legacy_signature
from signing.policy import REVOCATION_MODES, ValidationPolicy, load_certificates, load_policy
from signing.report import (
    INDETERMINATE,
    NON_STRICT,
    STRICT,
    TOTAL_FAILED,
    TOTAL_PASSED,
    SignatureReport,
    ValidationReport,
    worst_indication,
)
from signing.revisions import DocumentFacts, FieldEntry, open_pdf, pdf_header_offset, shorten, strict_reading_error
from signing.trust import build_revocation_summary, evaluate_trust, signature_timestamp
from signing.validation_data import ValidationMaterial
from signing.validation_setup import ValidationSetup, open_validation_setup
from signing.visual import VisualComparison, VisualSettings

__all__ = [
    "REVOCATION_MODES",
    "SignatureReport",
    "ValidationPolicy",
    "ValidationReport",
    "VisualSettings",
    "load_certificates",
    "load_policy",
    "validate_pdf",
]

logger = logging.getLogger(__name__)

FORMAT_FAILURE = "FORMAT_FAILURE"
SUPPORTED_SUBFILTERS = ("/ETSI.CAdES.detached", "/adbe.pkcs7.detached")
NON_STRICT_WARNING = (
    "pyHanko's strict reader rejects the structure of this file, so it was read in "
    "non-strict mode, which repairs damaged cross-reference data; other PDF readers "
    "may repair it differently"
)

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
    data: bytes,
    policy: ValidationPolicy,
    *,
    now: datetime | None = None,
    present: datetime | None = None,
    visual: VisualSettings | None = None,
) -> ValidationReport:
    """Validate every signature in a PDF and return a report.

    ``now`` sets the validation time (timezone-aware) and defaults to the current
    time. With an explicit ``now`` nothing is fetched, even if the policy allows
    fetching, because fetched data would describe the present and not ``now``.
    ``present`` instead validates as if the current time were ``present``, and
    fetches as the policy allows. It is for revocation and time-stamping
    services on a controlled clock, such as the test PKI. Passing both ``now``
    and ``present`` raises ``ValueError``.
    ``visual`` bounds the rendering of revisions for the visual comparison and
    defaults to :class:`~signing.visual.VisualSettings` ``()``.

    Raises :class:`~signing.errors.InvalidDocument` when the bytes are empty, not
    a readable PDF, or encrypted. Problems with a single signature never raise:
    they are reported as INDETERMINATE, or as TOTAL_FAILED when its /ByteRange
    is malformed. Rendering errors of the visual comparison become warnings.

    Runs its own event loop, so it must not be called from a running one.
    """
    for name, moment in (("now", now), ("present", present)):
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime")
    if now is not None and present is not None:
        raise ValueError("give either now or present, not both")
    validated_at = now or present or datetime.now(timezone.utc)

    strict_error = strict_reading_error(data)
    # Bytes before the header are skipped, as Acrobat does: every offset in
    # the file then counts from the header.
    leading_bytes = pdf_header_offset(data) or 0
    body = data[leading_bytes:]
    reader = open_pdf(body)
    document = DocumentFacts.read(reader, body)
    comparison = VisualComparison(document, visual if visual is not None else VisualSettings())
    signatures, material = asyncio.run(_validate_signatures(document, comparison, policy, now, present))
    warnings = [f"{NON_STRICT_WARNING}: {strict_error}"] if strict_error else []
    if leading_bytes:
        warnings.append(_leading_bytes_warning(leading_bytes))
        signatures = [_with_leading_bytes(signature, leading_bytes) for signature in signatures]

    report = ValidationReport(
        indication=worst_indication(tuple(signature.indication for signature in signatures)),
        signatures=tuple(signatures),
        policy=policy.name,
        policy_fingerprint=policy.fingerprint(),
        validated_at=validated_at,
        trailing_bytes=document.trailing_bytes,
        material=material,
        leading_bytes=leading_bytes,
        reading=NON_STRICT if strict_error else STRICT,
        strict_reading_error=strict_error,
        warnings=tuple(warnings),
    )
    logger.info(
        "validated PDF sha256=%s signatures=%d indication=%s policy=%s reading=%s",
        hashlib.sha256(data).hexdigest(),
        len(signatures),
        report.indication,
        policy.name,
        report.reading,
    )
    return report


# --- report assembly ---------------------------------------------------------------


async def _validate_signatures(
    document: DocumentFacts,
    comparison: VisualComparison,
    policy: ValidationPolicy,
    now: datetime | None,
    present: datetime | None,
) -> tuple[list[SignatureReport], ValidationMaterial]:
    async with open_validation_setup(policy, now, present=present) as setup:
        reports = []
        for entry in document.signatures:
            reports.append(await _validate_entry(entry, document, comparison, setup))
        for entry in document.timestamps:
            if entry.signature is not None:
                setup.material.add_cms_certificates(entry.signature.signed_data)
        if setup.record is not None:
            record = setup.record
            setup.material.add_fetched(record.certificates(), record.crls(), record.ocsp_responses())
        return reports, setup.material


async def _validate_entry(
    entry: FieldEntry, document: DocumentFacts, comparison: VisualComparison, setup: ValidationSetup
) -> SignatureReport:
    if isinstance(entry.sig_object, DictionaryObject) and entry.sig_object.get("/SubFilter") in LEGACY_SUBFILTERS:
        return _legacy_report(entry, document, setup.policy)
    if entry.signature is None:
        return _unprocessable_report(
            entry, document, setup.policy, f"the signature cannot be parsed: {entry.error}"
        )
    subfilter = entry.signature.sig_object.get("/SubFilter")
    if subfilter not in SUPPORTED_SUBFILTERS:
        return _unprocessable_report(
            entry, document, setup.policy, f"signatures with /SubFilter {subfilter} are not supported"
        )
    byte_range = read_byte_range(entry)
    if byte_range is None or len(byte_range) != 4:
        return _unprocessable_report(entry, document, setup.policy, "the signature has no usable /ByteRange")
    try:
        return await _validate_signature(entry, document, comparison, setup)
    except Exception as exc:  # one broken signature must not hide the others
        if (
            isinstance(exc, SignatureValidationError)
            and exc.ades_subindication == AdESIndeterminate.NO_SIGNING_CERTIFICATE_FOUND
        ):
            # ETSI EN 319 102-1, 5.2.3: a signing certificate that cannot be
            # identified gives INDETERMINATE/NO_SIGNING_CERTIFICATE_FOUND.
            return _unprocessable_report(
                entry,
                document,
                setup.policy,
                f"the signer's certificate is not in the signature: {shorten(exc.failure_message)}",
                sub_indication=AdESIndeterminate.NO_SIGNING_CERTIFICATE_FOUND.standard_name,
            )
        logger.exception("validation of signature %r failed unexpectedly", entry.name)
        return _unprocessable_report(
            entry,
            document,
            setup.policy,
            f"validation failed with an unexpected error: {type(exc).__name__}: {shorten(str(exc))}",
        )


async def _validate_signature(
    entry: FieldEntry, document: DocumentFacts, comparison: VisualComparison, setup: ValidationSetup
) -> SignatureReport:
    signature = entry.signature
    integrity = review_integrity(entry, document, comparison)
    trust = await evaluate_trust(signature, document, setup)
    indication = _indication_of(trust.sub_indication)
    sub_indication = None if indication == TOTAL_PASSED else trust.sub_indication.standard_name
    warnings = []
    if sub_indication in _SUB_INDICATION_TEXT:
        warnings.append(f"{sub_indication}: {_SUB_INDICATION_TEXT[sub_indication]}")
    warnings.extend(trust.warnings)
    if integrity.format_failures:
        indication, sub_indication = TOTAL_FAILED, FORMAT_FAILURE
    elif integrity.failures and indication != TOTAL_FAILED:
        indication, sub_indication = TOTAL_FAILED, FORMAT_FAILURE
    elif integrity.doubts and indication == TOTAL_PASSED:
        indication, sub_indication = INDETERMINATE, FORMAT_FAILURE
    warnings.extend(integrity.format_failures + integrity.failures + integrity.doubts + integrity.warnings)

    level, level_warning = _detect_level(signature, document)
    if level_warning:
        warnings.append(level_warning)
    tst = signature_timestamp(signature)
    cert = signature.signer_cert
    status = trust.status
    chain: tuple[str, ...] = ()
    certificates = tuple(trust.certificates[:1])
    if status is not None and status.validation_path is not None and trust.sub_indication not in _NO_CHAIN:
        chain = _chain_subjects(status.validation_path)
        certificates = tuple(trust.certificates)

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
        byte_range=read_byte_range(entry),
        visual_check=integrity.visual_check,
        visual_differences=tuple(integrity.visual_differences),
        docmdp_permissions=signature.docmdp_level.name if signature.docmdp_level is not None else None,
        certificates=certificates,
    )


def _leading_bytes_warning(leading_bytes: int) -> str:
    return (
        f"{leading_bytes} bytes before the %PDF- header are covered by no signature; offsets "
        f"and byte ranges count from the header, as Acrobat reads such files"
    )


def _with_leading_bytes(signature: SignatureReport, leading_bytes: int) -> SignatureReport:
    """Mark a signature of a file with bytes before its header, which no signature covers.

    Like bytes after the last ``%%EOF``, they make a valid signature
    INDETERMINATE/FORMAT_FAILURE: the signed revision may be intact, but the
    file is not the one signed.
    """
    indication, sub_indication = signature.indication, signature.sub_indication
    if indication == TOTAL_PASSED:
        indication, sub_indication = INDETERMINATE, FORMAT_FAILURE
    return dataclasses.replace(
        signature,
        indication=indication,
        sub_indication=sub_indication,
        modified_after_signing=True,
        warnings=(*signature.warnings, _leading_bytes_warning(leading_bytes)),
    )


def _legacy_report(entry: FieldEntry, document: DocumentFacts, policy: ValidationPolicy) -> SignatureReport:
    """Report a signature with a legacy /SubFilter that pyHanko 0.38 does not validate."""
    verdict = check_legacy_signature(entry, document, policy)
    report = _unprocessable_report(
        entry, document, policy, verdict.reason, sub_indication=verdict.sub_indication, indication=verdict.indication
    )
    cert = verdict.certificate
    if cert is None:
        return report
    return dataclasses.replace(
        report,
        signer_subject=cert.subject.human_friendly,
        signer_issuer=cert.issuer.human_friendly,
        signer_serial=format(cert.serial_number, "x"),
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
    signed_attributes = signature.signer_info["signed_attrs"]
    attribute_types = {attribute["type"].native for attribute in signed_attributes} if signed_attributes else set()
    if not attribute_types & {"signing_certificate_v2", "signing_certificate"}:
        # A PAdES baseline signature (ETSI EN 319 142-1) identifies its signing
        # certificate in an ESS signing-certificate(-v2) signed attribute.
        return None, (
            "the signature has no ESS signing-certificate-v2 attribute, so it is not a PAdES "
            "baseline signature; its signer was identified by issuer and serial number"
        )
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
    entry: FieldEntry,
    document: DocumentFacts,
    policy: ValidationPolicy,
    reason: str,
    *,
    sub_indication: str = FORMAT_FAILURE,
    indication: str = INDETERMINATE,
) -> SignatureReport:
    """Report a signature that cannot be validated, failing it when its byte range is malformed.

    A missing, null or zero /ByteRange, or a /Contents that is not the string in
    its gap, is how Universal Signature Forgery makes viewers skip the checks.
    Such a signature signs nothing, so it is TOTAL_FAILED/FORMAT_FAILURE.
    """
    revisions_after = document.last_revision - entry.revision
    try:
        layout_problems = check_byte_range(entry, document)
    except Exception as exc:  # a hostile dictionary must not stop the report
        logger.warning("cannot check the byte range of signature %r: %s", entry.name, exc)
        layout_problems = [f"the byte range cannot be checked: {type(exc).__name__}: {shorten(str(exc))}"]
    if layout_problems:
        indication, sub_indication = TOTAL_FAILED, FORMAT_FAILURE
    return SignatureReport(
        field_name=entry.name,
        indication=indication,
        sub_indication=sub_indication,
        signer_subject=None,
        signer_issuer=None,
        signer_serial=None,
        signing_time=None,
        timestamp_time=None,
        level=None,
        coverage=SignatureCoverageLevel.UNCLEAR.name,
        signed_revision=entry.revision,
        revisions_after=revisions_after,
        modified_after_signing=revisions_after > 0 or document.trailing_bytes > 0 or bool(layout_problems),
        modification_level=None,
        changes=tuple(layout_problems),
        chain=(),
        revocation=build_revocation_summary(policy.revocation_mode, False, "not_checked", reason),
        warnings=(reason, *layout_problems),
        byte_range=read_byte_range(entry),
    )
