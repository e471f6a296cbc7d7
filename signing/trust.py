"""Trust and revocation checks of a PDF signature with pyHanko's AdES validation.

:func:`evaluate_trust` runs basic, with-time or LTA validation on the CRLs,
OCSP responses and certificates from the document, the policy and, where allowed,
fetching. It turns pyHanko's result into a sub-indication, the proof of existence
time and a revocation summary with the revocation data seen.

Revocation data is judged at the validation time first. When none is valid
then, the revocation data in the document is judged at the proof of existence
of a time-stamped signature, as ETSI EN 319 102-1 and EU DSS judge it against
the best-signature-time. pyHanko 0.38 does not do this by itself. Its
validation with time judges revocation data at the validation time only. Its
LTA validation rejects the newest time-stamp, and so every proof of existence,
unless revocation data for the path of that time-stamp's TSA certificate is
valid at the validation time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto import cms
from pyhanko.sign.ades.report import (
    AdESFailure,
    AdESIndeterminate,
    AdESPassed,
    AdESSubIndic,
)
from pyhanko.sign.validation import ades, generic_cms
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import LocalKnowledge, RevinfoOnlineFetchingRule
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import NO_REVOCATION, REQUIRE_REVINFO, RevocationCheckingPolicy
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from signing.evidence import (
    EmbeddedRevocationData,
    certificate_entries,
    embedded_revocation_data,
    revocation_evidence,
)
from signing.policy import ValidationPolicy
from signing.revisions import DocumentFacts, shorten
from signing.validation_setup import ValidationSetup

__all__ = ["build_revocation_summary", "evaluate_trust", "signature_timestamp"]

logger = logging.getLogger(__name__)

# Sub-indications of a strict (revocation data required) run that may be caused by
# missing or unusable revocation data. pyHanko 0.38 reports a missing CRL or OCSP
# response as CERTIFICATE_CHAIN_GENERAL_FAILURE, so such a run is repeated without
# revocation checking to tell the causes apart.
_REVOCATION_SENSITIVE = frozenset(
    {
        AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        AdESIndeterminate.TRY_LATER,
        AdESIndeterminate.NO_POE,
        AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE,
    }
)
_REVOKED = frozenset(
    {
        AdESFailure.REVOKED,
        AdESIndeterminate.REVOKED_NO_POE,
        AdESIndeterminate.REVOKED_CA_NO_POE,
    }
)
# Results of validation with time that a proof of existence from a document
# time-stamp may still turn into a pass.
_IMPROVABLE_BY_POE = frozenset(
    {
        AdESIndeterminate.REVOKED_NO_POE,
        AdESIndeterminate.REVOKED_CA_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
        AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
        AdESIndeterminate.TRY_LATER,
    }
)


# --- certificates, revocation and time-stamps -----------------------------------------


@dataclass
class _TrustOutcome:
    sub_indication: AdESSubIndic
    status: PdfSignatureStatus | None
    revocation: dict
    warnings: list[str]
    poe_time: datetime | None = None
    """Earliest time at which a validated time-stamp proves the signature existed."""
    certificates: list[dict] = field(default_factory=list)
    """The validation path, the signer's certificate first, as :func:`certificate_entries`
    describes it; only the signer's certificate when pyHanko returned no path."""


async def evaluate_trust(
    signature: EmbeddedPdfSignature, document: DocumentFacts, setup: ValidationSetup
) -> _TrustOutcome:
    """Validate the CMS signature, the certificate path and revocation.

    The first run requires CRL or OCSP data for every certificate below the anchor.
    If that run fails in a way missing revocation data can explain, a second run
    without revocation checking decides whether revocation was the only problem.
    If it was, and a time-stamp proves that the signature existed earlier, the
    CRLs and OCSP responses in the document are judged at that proof of
    existence (:func:`_evaluate_at_poe`).
    The revocation summary lists the CRLs and OCSP responses about the signer's
    certificate that were embedded or fetched.
    """
    embedded = embedded_revocation_data(signature, document)
    outcome = _check_validity_period(await _evaluate(signature, document, setup, embedded), signature, setup)
    outcome.revocation["evidence"] = revocation_evidence(signature.signer_cert, embedded, setup.record)
    _collect_material(setup, signature, embedded, outcome)
    outcome.certificates = _path_certificates(signature, outcome.status, embedded, setup)
    return outcome


def _collect_material(
    setup: ValidationSetup,
    signature: EmbeddedPdfSignature,
    embedded: EmbeddedRevocationData,
    outcome: _TrustOutcome,
) -> None:
    """Add what this signature's validation used to the setup's material."""
    material = setup.material
    material.add_embedded(embedded.certificates, embedded.crls, embedded.ocsp_responses)
    material.add_cms_certificates(signature.signed_data)
    token = signature_timestamp(signature)
    if token is not None:
        material.add_cms_certificates(token)
    status = outcome.status
    if status is not None and status.validation_path is not None:
        material.add_path(status.validation_path)


def _path_certificates(
    signature: EmbeddedPdfSignature,
    status: PdfSignatureStatus | None,
    embedded: EmbeddedRevocationData,
    setup: ValidationSetup,
) -> list[dict]:
    path = status.validation_path if status is not None else None
    if path is None:
        return certificate_entries([signature.signer_cert], False, embedded, setup.record)
    certs = list(reversed(list(path.iter_certs(include_root=True))))
    anchor_included = bool(certs) and certs[-1].subject == path.trust_anchor.authority.name
    return certificate_entries(certs, anchor_included, embedded, setup.record)


async def _evaluate(
    signature: EmbeddedPdfSignature,
    document: DocumentFacts,
    setup: ValidationSetup,
    embedded: EmbeddedRevocationData,
) -> _TrustOutcome:
    mode = setup.policy.revocation_mode
    strict = await _run_ades(signature, document, setup, embedded, REQUIRE_REVINFO)
    sub = strict.ades_subindic
    if sub == AdESPassed.OK or sub in _REVOKED:
        return _revocation_outcome(strict, mode, _poe_time(strict, setup))
    if sub not in _REVOCATION_SENSITIVE:
        return _TrustOutcome(
            sub_indication=sub,
            status=strict.api_status,
            revocation=_not_evaluated(mode, sub),
            warnings=_failure_warnings(strict),
            poe_time=_poe_time(strict, setup),
        )

    lenient = await _run_ades(signature, document, setup, embedded, NO_REVOCATION)
    poe_time = _poe_time(lenient, setup)
    if lenient.ades_subindic != AdESPassed.OK:
        return _TrustOutcome(
            sub_indication=lenient.ades_subindic,
            status=lenient.api_status,
            revocation=_not_evaluated(mode, lenient.ades_subindic),
            warnings=_failure_warnings(lenient),
            poe_time=poe_time,
        )

    if poe_time is not None:
        outcome = await _evaluate_at_poe(signature, setup, embedded, poe_time)
        if outcome is not None:
            return outcome

    source = (
        f"the document and, from {', '.join(setup.policy.allowed_hosts)}, fetched data"
        if setup.online_rule != RevinfoOnlineFetchingRule.LOCAL_ONLY
        else "the document and the policy (fetching is disabled)"
    )
    note = f"no usable CRL or OCSP data for the certificate path was found in {source}"
    if poe_time is not None:
        note += f", neither for the validation time nor for the proof of existence at {poe_time.isoformat()}"
    if mode == "hard-fail":
        return _TrustOutcome(
            sub_indication=AdESIndeterminate.TRY_LATER,
            status=lenient.api_status,
            revocation=build_revocation_summary(mode, False, "unknown", note),
            warnings=[f"revocation status unknown: {note}"],
            poe_time=poe_time,
        )
    return _TrustOutcome(
        sub_indication=AdESPassed.OK,
        status=lenient.api_status,
        revocation=build_revocation_summary(mode, False, "not_checked", note),
        warnings=[f"revocation status not checked (soft-fail policy): {note}"],
        poe_time=poe_time,
    )


async def _evaluate_at_poe(
    signature: EmbeddedPdfSignature,
    setup: ValidationSetup,
    embedded: EmbeddedRevocationData,
    poe_time: datetime,
) -> _TrustOutcome | None:
    """Judge the document's revocation data at the proof of existence of a time-stamped signature.

    Returns None when that does not establish the revocation status either.
    pyHanko validates at a control time and ignores a revocation after it, so
    the data at ``poe_time`` show a certificate revoked later as good. When the
    document contains a CRL or OCSP response that reports a certificate of the
    path revoked after ``poe_time``, a second run validates that response at
    its own time. The report then names the revocation, as a validation with
    current data would.
    """
    mode = setup.policy.revocation_mode
    at_poe = await _run_with_document_data(signature, setup, embedded, poe_time)
    if at_poe.ades_subindic != AdESPassed.OK and at_poe.ades_subindic not in _REVOKED:
        return None
    outcome = _revocation_outcome(
        at_poe,
        mode,
        poe_time,
        basis=(
            f"judged at the proof of existence {poe_time.isoformat()}, "
            f"since no CRL or OCSP data was valid at the validation time"
        ),
    )
    status = at_poe.api_status
    if at_poe.ades_subindic != AdESPassed.OK or status is None or status.revocation_details is not None:
        return outcome
    reported_at = _later_revocation_report(status, embedded, poe_time)
    if reported_at is None or reported_at > setup.timing.validation_time:
        return outcome
    later = await _run_with_document_data(signature, setup, embedded, reported_at)
    details = later.api_status.revocation_details if later.api_status is not None else None
    if later.ades_subindic == AdESPassed.OK and details is not None:
        return _revocation_outcome(
            later,
            mode,
            poe_time,
            basis=(
                f"judged at {reported_at.isoformat()}, when the CRL or OCSP data that report "
                f"the revocation were issued, since no CRL or OCSP data was valid at the validation time"
            ),
        )
    outcome.warnings.append(
        f"the document contains CRL or OCSP data issued at {reported_at.isoformat()} that report a "
        f"certificate of the path revoked after the proof of existence, but they do not validate "
        f"({later.ades_subindic.standard_name}), so the status at the proof of existence is reported"
    )
    return outcome


def _later_revocation_report(status: PdfSignatureStatus, embedded: EmbeddedRevocationData, poe_time: datetime):
    """Return when the newest embedded CRL or OCSP response reporting a path certificate revoked after ``poe_time`` was issued.

    The time is not before the revocation, so that a run at that time finds
    the revocation. None when no embedded item reports such a revocation.
    """
    # NOTE: only the signer's path is scanned. A TSA certificate that only
    # embedded data report revoked after the time-stamp is not reported here.
    # The run at the validation time checks the TSA certificate with current data.
    path = status.validation_path
    if path is None:
        return None
    moments = [
        max(entry["issued_at"], entry["revoked_at"])
        for cert in path.iter_certs(include_root=False)
        for entry in revocation_evidence(cert, embedded, None)
        if entry["status"] == "revoked" and entry["revoked_at"] > poe_time
    ]
    return max(moments, default=None)


def _revocation_outcome(result, mode: str, poe_time: datetime | None, *, basis: str | None = None) -> _TrustOutcome:
    """Report a run that passed or found a revoked certificate.

    ``basis`` names the time at which the run judged the revocation data, when that
    is not the validation time.
    """
    sub = result.ades_subindic
    status = result.api_status
    basis = f" ({basis})" if basis else ""
    if sub in _REVOKED:
        note = _revocation_details(status) + basis
        return _TrustOutcome(
            sub_indication=sub,
            status=status,
            revocation=_revoked_summary(mode, status, note),
            warnings=[note] if basis else _failure_warnings(result),
            poe_time=poe_time,
        )
    details = status.revocation_details if status is not None else None
    if details is not None and (poe_time is None or poe_time >= details.revocation_date):
        # pyHanko 0.38's validation with time compares the proof of existence
        # with the revocation time of the signer's certificate only, and passes
        # a revoked CA certificate without comparing.
        if details.ca_revoked:
            sub = AdESIndeterminate.REVOKED_CA_NO_POE
        else:
            sub = AdESIndeterminate.REVOKED_NO_POE
        note = _revocation_details(status) + basis
        return _TrustOutcome(
            sub_indication=sub,
            status=status,
            revocation=_revoked_summary(mode, status, note),
            warnings=[f"{note}, and no time-stamp proves that the signature existed before"],
            poe_time=poe_time,
        )
    if details is not None:
        # Validation with time passes a revoked certificate when the signature
        # time-stamp predates the revocation.
        note = (
            f"{_revocation_details(status)}, after the time-stamp that proves "
            f"the signature existed{basis}"
        )
        return _TrustOutcome(
            sub_indication=sub,
            status=status,
            revocation=_revoked_summary(mode, status, note),
            warnings=[f"certificate revoked after signing: {note}"],
            poe_time=poe_time,
        )
    note = "CRL or OCSP data shows no certificate in the path revoked" + basis
    return _TrustOutcome(
        sub_indication=sub,
        status=status,
        revocation=build_revocation_summary(mode, True, "good", note),
        warnings=[],
        poe_time=poe_time,
    )


def _check_validity_period(
    outcome: _TrustOutcome, signature: EmbeddedPdfSignature, setup: ValidationSetup
) -> _TrustOutcome:
    """Apply the validity period rules of ETSI EN 319 102-1 that pyHanko 0.38 leaves out.

    A signer's certificate that is outside its validity period at the validation
    time gives INDETERMINATE/OUT_OF_BOUNDS_NO_POE unless a time-stamp proves that
    the signature existed within the period. pyHanko 0.38 reports a certificate
    that is not yet valid as CERTIFICATE_CHAIN_GENERAL_FAILURE, and its validation
    with time passes an expired certificate whatever the time-stamp's time.
    """
    cert = signature.signer_cert
    tolerance = timedelta(seconds=setup.policy.clock_tolerance_seconds)
    validation_time = setup.timing.validation_time
    poe_time = outcome.poe_time
    not_before = cert.not_valid_before
    not_after = cert.not_valid_after

    if validation_time + tolerance < not_before:
        if outcome.sub_indication not in (AdESPassed.OK, AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE):
            return outcome
        # NOTE: a time-stamp before notBefore would prove TOTAL_FAILED/NOT_YET_VALID,
        # but pyHanko stops before validating the time-stamp of such a signature.
        reason = f"the signer's certificate is valid only from {not_before.isoformat()}"
    elif validation_time > not_after + tolerance:
        proven_in_time = poe_time is not None and poe_time <= not_after + tolerance
        if outcome.sub_indication != AdESPassed.OK or proven_in_time:
            return outcome
        proof = f"the time-stamp proves existence at {poe_time.isoformat()}" if poe_time else "no time-stamp"
        reason = f"the signer's certificate expired at {not_after.isoformat()} and {proof}"
    else:
        return outcome

    sub_indication = AdESIndeterminate.OUT_OF_BOUNDS_NO_POE
    return _TrustOutcome(
        sub_indication=sub_indication,
        status=outcome.status,
        revocation=_not_evaluated(setup.policy.revocation_mode, sub_indication),
        warnings=[reason],
        poe_time=poe_time,
    )


def build_revocation_summary(
    mode: str,
    checked: bool,
    status: str,
    note: str,
    *,
    revoked_at: datetime | None = None,
    reason: str | None = None,
) -> dict:
    """Return the ``revocation`` entry of a signature report; ``evidence`` starts empty."""
    return {
        "mode": mode,
        "checked": checked,
        "status": status,
        "note": note,
        "revoked_at": revoked_at,
        "reason": reason,
        "evidence": [],
    }


def _revoked_summary(mode: str, status: PdfSignatureStatus | None, note: str) -> dict:
    details = status.revocation_details if status is not None else None
    if details is None:
        return build_revocation_summary(mode, True, "revoked", note)
    reason = details.revocation_reason.native if details.revocation_reason is not None else None
    return build_revocation_summary(
        mode, True, "revoked", note, revoked_at=details.revocation_date, reason=reason
    )


def _poe_time(result, setup: ValidationSetup) -> datetime | None:
    """Return the proof of existence from a time-stamp, or None when only the validation time is proven."""
    best = getattr(result, "best_signature_time", None)
    if best is None or best >= setup.timing.validation_time:
        return None
    return best


def _not_evaluated(mode: str, sub_indication: AdESSubIndic) -> dict:
    note = f"revocation was not evaluated because validation failed with {sub_indication.standard_name}"
    return build_revocation_summary(mode, False, "not_checked", note)


def _revocation_details(status: PdfSignatureStatus | None) -> str:
    details = status.revocation_details if status is not None else None
    if details is None:
        return "a certificate in the path is revoked"
    revoked_cert = "an issuing CA certificate" if details.ca_revoked else "the signer's certificate"
    reason = details.revocation_reason.native if details.revocation_reason is not None else None
    return (
        f"{revoked_cert} was revoked at {details.revocation_date.isoformat()}"
        + (f" (reason: {reason})" if reason else "")
    )


def _failure_warnings(result) -> list[str]:
    return [shorten(result.failure_msg)] if result.failure_msg else []


async def _run_ades(
    signature: EmbeddedPdfSignature,
    document: DocumentFacts,
    setup: ValidationSetup,
    embedded: EmbeddedRevocationData,
    revocation: RevocationCheckingPolicy,
):
    """Run pyHanko's AdES validation with one revocation policy.

    The processes are those of ETSI EN 319 102-1. Signatures without a signature
    time-stamp get basic validation (clause 5.3), because pyHanko's with-time and
    LTA processes reject them. Signatures with one get validation with time
    (clause 5.5). Long-term validation (clause 5.6.3) runs only when that result
    still lacks a proof of existence and document time-stamps follow the
    signature, because pyHanko's LTA process fails a signature whenever its
    past-validation step finds no revocation data.
    """
    knowledge = _document_knowledge(embedded, setup.policy)
    spec = setup.spec(revocation, knowledge)

    if signature_timestamp(signature) is None:
        # NOTE: document time-stamps after a B-B signature are not used as proof of
        # existence, so an expired or revoked signer certificate stays INDETERMINATE
        # even when a later document time-stamp predates the expiry or revocation.
        return await ades.ades_basic_validation(
            signature.signed_data,
            spec.signature_validation_spec,
            timing_info=setup.timing,
            raw_digest=signature.compute_digest(),
        )

    result = await ades.ades_with_time_validation(
        signature.signed_data,
        spec.signature_validation_spec,
        timing_info=setup.timing,
        raw_digest=signature.compute_digest(),
    )
    later_timestamps = any(entry.revision > signature.signed_revision for entry in document.timestamps)
    if result.ades_subindic not in _IMPROVABLE_BY_POE or not later_timestamps:
        return result

    # The LTA process reads the DSS and revocation-info-archival data itself.
    lta_spec = setup.spec(revocation, LocalKnowledge(known_certs=list(setup.policy.intermediates)))
    return await ades.ades_lta_validation(signature, lta_spec, timing_info=setup.timing)


async def _run_with_document_data(
    signature: EmbeddedPdfSignature,
    setup: ValidationSetup,
    embedded: EmbeddedRevocationData,
    at: datetime,
):
    """Run validation with time at ``at`` on the revocation data in the document.

    ETSI EN 319 102-1 and EU DSS judge the revocation data of a time-stamped
    signature against its proof of existence (the best-signature-time), not
    against the validation time. With ``at`` set to that proof, a CRL or OCSP
    response is acceptable when it was issued after ``at``, or when ``at`` lies
    before its nextUpdate. The certificates of the signer's path and of the
    time-stamping authority are validated at ``at`` too. The run at the
    validation time has already checked them at that time, without revocation.

    Only the CRLs and OCSP responses in the document are used, so the result
    does not depend on the issuing CAs still answering. pyHanko ignores a
    revocation after ``at``; one before it gives REVOKED_NO_POE when the
    signature time-stamp does not predate it.
    """
    timing = ValidationTimingInfo(validation_time=at, best_signature_time=at, point_in_time_validation=True)
    spec = setup.spec(
        REQUIRE_REVINFO,
        _document_knowledge(embedded, setup.policy),
        local_only=True,
        retroactive_revinfo=True,
    )
    return await ades.ades_with_time_validation(
        signature.signed_data,
        spec.signature_validation_spec,
        timing_info=timing,
        raw_digest=signature.compute_digest(),
    )


def _document_knowledge(embedded: EmbeddedRevocationData, policy: ValidationPolicy) -> LocalKnowledge:
    """Combine the policy's intermediates with the certificates, CRLs and OCSP responses of the document."""
    ocsps: list[OCSPContainer] = []
    for response in embedded.ocsp_responses:
        ocsps.extend(OCSPContainer.load_multi(response))
    return LocalKnowledge(
        known_certs=list(policy.intermediates) + embedded.certificates,
        known_crls=[CRLContainer(crl_data=item) for item in embedded.crls],
        known_ocsps=ocsps,
    )


def signature_timestamp(signature: EmbeddedPdfSignature) -> cms.SignedData | None:
    return next(iter(generic_cms.extract_tst_data_iter(signature.signer_info, signed=False)), None)
