"""Checks of the signer's own certificate before anything is signed.

pyHanko 0.38 signs with an expired, untrusted or revoked certificate without
complaint, and a validator can only report such a signature as failed afterwards.
:func:`check_signer_certificate` runs the checks that need no outside data.
:func:`check_signer_chain` validates the certificate path to the policy's trust
anchors with revocation checking, and returns the validation context, which
then holds the CRLs and OCSP responses that B-LT and B-LTA signatures embed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator.context import ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.fetchers.api import FetcherBackend
from pyhanko_certvalidator.policy_decl import (
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
)

from signing.errors import SignerCertificateRejected
from signing.policy import ValidationPolicy

__all__ = ["check_signer_certificate", "check_signer_chain"]

logger = logging.getLogger(__name__)

# CRL or OCSP data is used when available and a missing one is tolerated.
_SOFT_FAIL = RevocationCheckingPolicy.from_legacy("soft-fail")


def check_signer_certificate(cert: asn1_x509.Certificate, *, at: datetime | None = None) -> None:
    """Check that a certificate may create a signature at the aware datetime ``at`` (default: now).

    The certificate must be within its validity period and its key usage
    extension must include nonRepudiation (contentCommitment). Raises
    :class:`~signing.errors.SignerCertificateRejected` with ``reason``
    ``"not_yet_valid"``, ``"expired"`` or ``"key_usage"``. The path to a trust
    anchor and revocation are checked by :func:`check_signer_chain`.
    """
    if at is None:
        at = datetime.now(timezone.utc)
    elif at.tzinfo is None:
        raise ValueError("at must be a timezone-aware datetime")
    serial_number = cert.serial_number
    subject = cert.subject.human_friendly
    validity = cert["tbs_certificate"]["validity"]
    not_before = validity["not_before"].native
    not_after = validity["not_after"].native

    if at < not_before:
        raise SignerCertificateRejected(
            "not_yet_valid",
            f"certificate of {subject} is valid from {not_before.isoformat()}",
            serial_number,
        )
    if at > not_after:
        raise SignerCertificateRejected(
            "expired",
            f"certificate of {subject} expired on {not_after.isoformat()}",
            serial_number,
        )

    key_usage = cert.key_usage_value
    if key_usage is None or "non_repudiation" not in key_usage.native:
        present = "none" if key_usage is None else ", ".join(sorted(key_usage.native))
        raise SignerCertificateRejected(
            "key_usage",
            f"certificate of {subject} lacks the nonRepudiation key usage (present: {present})",
            serial_number,
        )


def policy_validation_context(
    policy: ValidationPolicy,
    backend: FetcherBackend | None,
    at: datetime | None,
    other_certs: Iterable[asn1_x509.Certificate] = (),
) -> ValidationContext:
    """Build a pyHanko validation context for checking certificates at ``at`` under ``policy``.

    Fetching is allowed only with a ``backend``, which restricts it to the
    policy's hosts. ``other_certs`` are offered as path candidates beside the
    policy's intermediates.
    """
    revocation = REQUIRE_REVINFO if policy.revocation_mode == "hard-fail" else _SOFT_FAIL
    return ValidationContext(
        trust_roots=list(policy.trust_roots),
        other_certs=list(policy.intermediates) + list(other_certs),
        moment=at,
        allow_fetching=backend is not None,
        fetcher_backend=backend,
        # Empty lists instead of None: without fetching, the context otherwise
        # rejects a policy that requires revocation data.
        crls=[],
        ocsps=[],
        revinfo_policy=CertRevTrustPolicy(revocation),
        time_tolerance=timedelta(seconds=policy.clock_tolerance_seconds),
        algorithm_usage_policy=policy.algorithm_policy(),
    )


async def check_signer_chain(
    cert: asn1_x509.Certificate,
    other_certs: Iterable[asn1_x509.Certificate],
    policy: ValidationPolicy,
    backend: FetcherBackend | None,
    *,
    at: datetime | None = None,
) -> ValidationContext:
    """Validate the signer's certificate path at ``at`` (default: now) under ``policy``.

    The path must lead to one of the policy's trust anchors, every certificate
    in it must be valid at ``at`` and acceptable to the policy's algorithm rules,
    and the signer's certificate must have the policy's key usages. Under a
    hard-fail policy, CRL or OCSP data must show every certificate below the
    anchor unrevoked, so a hard-fail policy without fetching rejects every
    certificate whose revocation data is not already known. Under soft-fail,
    missing revocation data is tolerated but a revocation that is found is not.

    ``backend`` fetches revocation data and issuer certificates; it must be None
    when the policy does not allow fetching. Returns the validation context used,
    with the revocation data it found. Raises
    :class:`~signing.errors.SignerCertificateRejected` with ``reason``
    ``"weak_key"``, ``"untrusted"``, ``"revoked"``, ``"revocation_unknown"``,
    ``"expired"``, ``"not_yet_valid"``, ``"key_usage"`` or ``"weak_algorithm"``.
    """
    serial_number = cert.serial_number
    subject = cert.subject.human_friendly
    rejection = policy.algorithm_policy().key_size_rejection(cert.public_key)
    if rejection is not None:
        raise SignerCertificateRejected("weak_key", f"certificate of {subject}: {rejection}", serial_number)

    context = policy_validation_context(policy, backend, at, other_certs)
    validator = CertificateValidator(cert, validation_context=context)
    try:
        await validator.async_validate_usage(key_usage=set(policy.signer_key_usage))
    except PathBuildingError as exc:
        raise SignerCertificateRejected(
            "untrusted",
            f"no path from the certificate of {subject} to a trust anchor of policy {policy.name!r}: {exc}",
            serial_number,
        ) from exc
    except RevokedError as exc:
        raise SignerCertificateRejected("revoked", str(exc), serial_number) from exc
    except InsufficientRevinfoError as exc:
        raise SignerCertificateRejected(
            "revocation_unknown",
            f"no usable CRL or OCSP data for the certificate path of {subject} "
            f"(policy {policy.name!r} is hard-fail): {exc}",
            serial_number,
        ) from exc
    except ExpiredError as exc:
        raise SignerCertificateRejected("expired", str(exc), serial_number) from exc
    except NotYetValidError as exc:
        raise SignerCertificateRejected("not_yet_valid", str(exc), serial_number) from exc
    except DisallowedAlgorithmError as exc:
        raise SignerCertificateRejected("weak_algorithm", str(exc), serial_number) from exc
    except InvalidCertificateError as exc:
        # Raised for key usage mismatches once the path itself validated.
        raise SignerCertificateRejected("key_usage", str(exc), serial_number) from exc
    except (PathValidationError, ValidationError) as exc:
        raise SignerCertificateRejected("untrusted", str(exc), serial_number) from exc

    logger.info(
        "signer certificate %x (%s) validated against policy %s (revocation %s)",
        serial_number,
        subject,
        policy.name,
        policy.revocation_mode,
    )
    return context
