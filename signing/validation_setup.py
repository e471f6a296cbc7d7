"""pyHanko validation specs built from a validation policy.

:class:`ValidationSetup` turns a :class:`signing.policy.ValidationPolicy` into
pyHanko validation specs with its trust anchors, algorithm rules, key usage
requirements, clock tolerance and a revocation policy.
:func:`open_validation_setup` creates one with a fetcher backend that either
rejects every call (fetching disabled) or connects only to the policy's allowed
hosts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.fetchers.api import FetcherBackend
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from signing.fetching import FetchRecord, open_fetcher_backend
from signing.policy import ValidationPolicy
from signing.validation_data import ValidationMaterial

__all__ = ["ValidationSetup", "open_validation_setup"]


@dataclass
class ValidationSetup:
    """Trust anchors, validation time and fetching rules for validating one document."""

    policy: ValidationPolicy
    timing: ValidationTimingInfo
    backend: FetcherBackend
    online_rule: RevinfoOnlineFetchingRule
    certificate_rule: CertificateFetchingRule
    record: FetchRecord | None = None
    """Record of the fetched data, or None when the policy does not allow fetching."""
    material: ValidationMaterial = field(default_factory=ValidationMaterial)
    """The certificates, CRLs and OCSP responses that validation used, collected as it runs."""

    def spec(
        self,
        revocation: RevocationCheckingPolicy,
        knowledge: LocalKnowledge,
        *,
        local_only: bool = False,
        retroactive_revinfo: bool = False,
    ) -> PdfSignatureValidationSpec:
        """Return the pyHanko spec for one validation run.

        ``local_only`` restricts the run to the data in ``knowledge``, whatever the
        policy allows to fetch. ``retroactive_revinfo`` accepts CRLs and OCSP
        responses issued after the validation time, so that only their
        nextUpdate limits their use (see :func:`signing.trust.evaluate_trust`).
        """
        policy = self.policy
        algorithm_policy = policy.algorithm_policy()
        cert_policy = CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=list(policy.trust_roots)),
            revinfo_policy=CertRevTrustPolicy(revocation, retroactive_revinfo=retroactive_revinfo),
            time_tolerance=timedelta(seconds=policy.clock_tolerance_seconds),
            algorithm_usage_policy=algorithm_policy,
        )
        key_usage = KeyUsageConstraints(
            key_usage=set(policy.signer_key_usage) or None,
            match_all_key_usages=True,
        )
        return PdfSignatureValidationSpec(
            signature_validation_spec=SignatureValidationSpec(
                cert_validation_policy=cert_policy,
                revinfo_gathering_policy=RevocationInfoGatheringSpec(
                    online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY if local_only else self.online_rule,
                    fetcher_backend=self.backend,
                    certificate_fetching_rule=self.certificate_rule,
                ),
                local_knowledge=knowledge,
                key_usage_settings=key_usage,
                signature_algorithm_policy=algorithm_policy,
            ),
            diff_policy=DEFAULT_DIFF_POLICY,
        )


@asynccontextmanager
async def open_validation_setup(
    policy: ValidationPolicy, now: datetime | None, *, present: datetime | None = None
) -> AsyncIterator[ValidationSetup]:
    """Build the validation setup for a policy and close its HTTP session on exit.

    An explicit ``now`` selects point-in-time validation at that time, for which
    nothing is fetched. ``present`` validates as if the current time were
    ``present``, fetching as for a validation now. An HTTP session is opened
    only when the policy allows fetching.
    """
    if present is not None:
        timing = ValidationTimingInfo(
            validation_time=present, best_signature_time=present, point_in_time_validation=False
        )
    elif now is None:
        timing = ValidationTimingInfo.now(tz=timezone.utc)
    else:
        timing = ValidationTimingInfo(
            validation_time=now, best_signature_time=now, point_in_time_validation=True
        )

    async with open_fetcher_backend(policy) as (backend, record):
        if record is not None:
            yield ValidationSetup(
                policy=policy,
                timing=timing,
                backend=backend,
                online_rule=RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH,
                certificate_rule=CertificateFetchingRule.FOLLOW_ONLINE_RULE,
                record=record,
            )
        else:
            yield ValidationSetup(
                policy=policy,
                timing=timing,
                backend=backend,
                online_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
                certificate_rule=CertificateFetchingRule.NEVER_FETCH,
            )
