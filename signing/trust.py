"""Trust and revocation checks of a PDF signature with pyHanko's AdES validation.

:class:`ValidationSetup` turns a :class:`signing.validation.ValidationPolicy` into
pyHanko validation specs with its trust anchors and a revocation policy.
:func:`open_validation_setup` creates one with a fetcher backend that either
rejects every call (fetching disabled) or connects only to the policy's allowed
hosts. :func:`evaluate_trust` runs basic, with-time or LTA validation on the CRLs,
OCSP responses and certificates from the document, the policy and, where allowed,
fetching. It turns pyHanko's result into a sub-indication and a revocation status.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import aiohttp
from asn1crypto import cms, crl, ocsp
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.sign.ades.report import (
    AdESFailure,
    AdESIndeterminate,
    AdESPassed,
    AdESSubIndic,
)
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.general import (
    MultivaluedAttributeError,
    NonexistentAttributeError,
    find_unique_cms_attribute,
)
from pyhanko.sign.validation import ades, generic_cms
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import FetcherBackend, FetchLimits
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    NO_REVOCATION,
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from signing.revisions import DocumentFacts, shorten

if TYPE_CHECKING:
    # signing.validation imports this module, so the policy class is imported for type hints only.
    from signing.validation import ValidationPolicy

__all__ = [
    "ValidationSetup",
    "build_revocation_summary",
    "evaluate_trust",
    "open_validation_setup",
    "signature_timestamp",
]

logger = logging.getLogger(__name__)

# Bounds for fetching when a policy allows it. The per-request timeout is in seconds.
FETCH_TIMEOUT_SECONDS = 5
FETCH_LIMITS = FetchLimits(max_requests=50, max_cert_requests=10, max_aia_urls_per_object=3)

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


class _HostAllowlistConnector(aiohttp.TCPConnector):
    """TCP connector that rejects connections to hosts outside an allowlist.

    The check runs for every connection, so redirects to other hosts are rejected too.
    """

    def __init__(self, allowed_hosts: tuple[str, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self._allowed_hosts = frozenset(allowed_hosts)

    async def connect(self, req, traces, timeout):
        host = (req.url.host or "").lower()
        if host not in self._allowed_hosts:
            logger.warning("rejected fetch of %s: host %r is not in allowed_hosts", req.url, host)
            raise aiohttp.ClientConnectionError(f"host {host!r} is not in the policy's allowed_hosts")
        return await super().connect(req, traces, timeout)


class _NoFetcherBackend(FetcherBackend):
    """Fetcher backend for policies without fetching, so any call to it is a defect."""

    def get_fetchers(self):
        raise RuntimeError("fetching is disabled by the validation policy")


@dataclass
class _TrustOutcome:
    sub_indication: AdESSubIndic
    status: PdfSignatureStatus | None
    revocation: dict
    warnings: list[str]


@dataclass
class ValidationSetup:
    """Trust anchors, validation time and fetching rules for validating one document."""

    policy: ValidationPolicy
    timing: ValidationTimingInfo
    backend: FetcherBackend
    online_rule: RevinfoOnlineFetchingRule
    certificate_rule: CertificateFetchingRule

    def spec(
        self, revocation: RevocationCheckingPolicy, knowledge: LocalKnowledge
    ) -> PdfSignatureValidationSpec:
        cert_policy = CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=list(self.policy.trust_roots)),
            revinfo_policy=CertRevTrustPolicy(revocation),
        )
        return PdfSignatureValidationSpec(
            signature_validation_spec=SignatureValidationSpec(
                cert_validation_policy=cert_policy,
                revinfo_gathering_policy=RevocationInfoGatheringSpec(
                    online_fetching_rule=self.online_rule,
                    fetcher_backend=self.backend,
                    certificate_fetching_rule=self.certificate_rule,
                ),
                local_knowledge=knowledge,
                key_usage_settings=PdfSignatureStatus.default_usage_constraints(),
            ),
            diff_policy=DEFAULT_DIFF_POLICY,
        )


@asynccontextmanager
async def open_validation_setup(
    policy: ValidationPolicy, now: datetime | None
) -> AsyncIterator[ValidationSetup]:
    """Build the validation setup for a policy and close its HTTP session on exit.

    An explicit ``now`` selects point-in-time validation at that time. An HTTP
    session is opened only when the policy allows fetching.
    """
    if now is None:
        timing = ValidationTimingInfo.now(tz=timezone.utc)
    else:
        timing = ValidationTimingInfo(
            validation_time=now, best_signature_time=now, point_in_time_validation=True
        )

    session = None
    if policy.allow_fetching:
        session = aiohttp.ClientSession(connector=_HostAllowlistConnector(policy.allowed_hosts))
        backend: FetcherBackend = AIOHttpFetcherBackend(
            session, per_request_timeout=FETCH_TIMEOUT_SECONDS, limits=FETCH_LIMITS
        )
        setup = ValidationSetup(
            policy=policy,
            timing=timing,
            backend=backend,
            online_rule=RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH,
            certificate_rule=CertificateFetchingRule.FOLLOW_ONLINE_RULE,
        )
    else:
        setup = ValidationSetup(
            policy=policy,
            timing=timing,
            backend=_NoFetcherBackend(),
            online_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            certificate_rule=CertificateFetchingRule.NEVER_FETCH,
        )

    try:
        yield setup
    finally:
        if session is not None:
            await session.close()


async def evaluate_trust(
    signature: EmbeddedPdfSignature, document: DocumentFacts, setup: ValidationSetup
) -> _TrustOutcome:
    """Validate the CMS signature, the certificate path and revocation.

    The first run requires CRL or OCSP data for every certificate below the anchor.
    If that run fails in a way missing revocation data can explain, a second run
    without revocation checking decides whether revocation was the only problem.
    """
    mode = setup.policy.revocation_mode
    strict = await _run_ades(signature, document, setup, REQUIRE_REVINFO)
    sub = strict.ades_subindic

    if sub == AdESPassed.OK:
        status = strict.api_status
        if status is not None and status.revocation_details is not None:
            # Validation with time passes a revoked certificate when the signature
            # time-stamp predates the revocation.
            note = (
                f"{_revocation_details(status)}, after the time-stamp that proves "
                f"the signature existed"
            )
            return _TrustOutcome(
                sub_indication=sub,
                status=status,
                revocation=build_revocation_summary(mode, True, "revoked", note),
                warnings=[f"certificate revoked after signing: {note}"],
            )
        return _TrustOutcome(
            sub_indication=sub,
            status=status,
            revocation=build_revocation_summary(
                mode, True, "good", "CRL or OCSP data shows no certificate in the path revoked"
            ),
            warnings=[],
        )
    if sub in _REVOKED:
        return _TrustOutcome(
            sub_indication=sub,
            status=strict.api_status,
            revocation=build_revocation_summary(
                mode, True, "revoked", _revocation_details(strict.api_status)
            ),
            warnings=_failure_warnings(strict),
        )
    if sub not in _REVOCATION_SENSITIVE:
        return _TrustOutcome(
            sub_indication=sub,
            status=strict.api_status,
            revocation=_not_evaluated(mode, sub),
            warnings=_failure_warnings(strict),
        )

    lenient = await _run_ades(signature, document, setup, NO_REVOCATION)
    if lenient.ades_subindic != AdESPassed.OK:
        return _TrustOutcome(
            sub_indication=lenient.ades_subindic,
            status=lenient.api_status,
            revocation=_not_evaluated(mode, lenient.ades_subindic),
            warnings=_failure_warnings(lenient),
        )

    source = (
        f"the document and, from {', '.join(setup.policy.allowed_hosts)}, fetched data"
        if setup.online_rule != RevinfoOnlineFetchingRule.LOCAL_ONLY
        else "the document and the policy (fetching is disabled)"
    )
    note = f"no usable CRL or OCSP data for the certificate path was found in {source}"
    if mode == "hard-fail":
        return _TrustOutcome(
            sub_indication=AdESIndeterminate.TRY_LATER,
            status=lenient.api_status,
            revocation=build_revocation_summary(mode, False, "unknown", note),
            warnings=[f"revocation status unknown: {note}"],
        )
    return _TrustOutcome(
        sub_indication=AdESPassed.OK,
        status=lenient.api_status,
        revocation=build_revocation_summary(mode, False, "not_checked", note),
        warnings=[f"revocation status not checked (soft-fail policy): {note}"],
    )


def build_revocation_summary(mode: str, checked: bool, status: str, note: str) -> dict:
    return {"mode": mode, "checked": checked, "status": status, "note": note}


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
    knowledge = _document_knowledge(signature, document, setup.policy)
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


def _document_knowledge(
    signature: EmbeddedPdfSignature, document: DocumentFacts, policy: ValidationPolicy
) -> LocalKnowledge:
    """Collect certificates, CRLs and OCSP responses from the DSS and the signed attributes."""
    certs = list(policy.intermediates)
    crls: list[CRLContainer] = []
    ocsps: list[OCSPContainer] = []
    try:
        dss = DocumentSecurityStore.read_dss(document.reader)
    except NoDSSFoundError:
        dss = None
    if dss is not None:
        certs.extend(dss.load_certs())
        for item in dss.crls:
            data = item.get_object().read_data(DecodePurpose.CRL)
            crls.append(CRLContainer(crl_data=crl.CertificateList.load(data)))
        for item in dss.ocsps:
            data = item.get_object().read_data(DecodePurpose.OCSP_RESPONSE)
            ocsps.extend(OCSPContainer.load_multi(ocsp.OCSPResponse.load(data)))
    try:
        archival = find_unique_cms_attribute(
            signature.signer_info["signed_attrs"], "adobe_revocation_info_archival"
        )
        crls.extend(CRLContainer(item) for item in archival["crl"])
        ocsps.extend(OCSPContainer(item) for item in archival["ocsp"])
    except (NonexistentAttributeError, MultivaluedAttributeError):
        pass
    return LocalKnowledge(known_certs=certs, known_crls=crls, known_ocsps=ocsps)


def signature_timestamp(signature: EmbeddedPdfSignature) -> cms.SignedData | None:
    return next(iter(generic_cms.extract_tst_data_iter(signature.signer_info, signed=False)), None)
