"""Algorithm rules of a validation policy, in the form pyHanko and certvalidator take.

:class:`AllowListAlgorithmPolicy` accepts only listed digest and signature
algorithms and rejects RSA and EC keys below a minimum size. pyHanko applies it
to the signature and to time-stamp tokens, and pyhanko-certvalidator to the
certificates of every path and to CRLs and OCSP responses.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import algos, keys
from pyhanko.sign.validation.utils import CMSAlgorithmUsagePolicy
from pyhanko_certvalidator.policy_decl import AlgorithmUsageConstraint

__all__ = [
    "DEFAULT_DIGEST_ALGORITHMS",
    "DEFAULT_SIGNATURE_ALGORITHMS",
    "DIGEST_ALGORITHMS",
    "SIGNATURE_ALGORITHMS",
    "AllowListAlgorithmPolicy",
]

# asn1crypto names of the digest and signature algorithms a policy may list.
DIGEST_ALGORITHMS = (
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha512_224",
    "sha512_256",
    "sha3_224",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "shake128",
    "shake256",
)
SIGNATURE_ALGORITHMS = ("rsassa_pkcs1v15", "rsassa_pss", "dsa", "ecdsa", "ed25519", "ed448")

# SHA-1 and MD5 have practical collision attacks, so neither is accepted by default.
DEFAULT_DIGEST_ALGORITHMS = ("sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512")
DEFAULT_SIGNATURE_ALGORITHMS = ("rsassa_pkcs1v15", "rsassa_pss", "ecdsa", "ed25519", "ed448")


class AllowListAlgorithmPolicy(CMSAlgorithmUsagePolicy):
    """Accept only listed digest and signature algorithms and keys of a minimum size.

    The judgement does not depend on the time, so a rejected algorithm gives
    CRYPTO_CONSTRAINTS_FAILURE, not CRYPTO_CONSTRAINTS_FAILURE_NO_POE.
    """

    def __init__(
        self,
        *,
        digest_algorithms: frozenset[str],
        signature_algorithms: frozenset[str],
        min_rsa_bits: int,
        min_ec_bits: int,
    ) -> None:
        self.digest_algorithms = digest_algorithms
        self.signature_algorithms = signature_algorithms
        self.min_rsa_bits = min_rsa_bits
        self.min_ec_bits = min_ec_bits

    def digest_algorithm_allowed(
        self, algo: algos.DigestAlgorithm, moment: datetime | None
    ) -> AlgorithmUsageConstraint:
        name = algo["algorithm"].native
        if name in self.digest_algorithms:
            return AlgorithmUsageConstraint(allowed=True)
        return AlgorithmUsageConstraint(
            allowed=False, failure_reason=f"digest algorithm {name} is not allowed by the validation policy"
        )

    def signature_algorithm_allowed(
        self,
        algo: algos.SignedDigestAlgorithm,
        moment: datetime | None,
        public_key: keys.PublicKeyInfo | None,
    ) -> AlgorithmUsageConstraint:
        try:
            name = algo.signature_algo
        except ValueError:
            name = algo["algorithm"].native
        if name not in self.signature_algorithms:
            return AlgorithmUsageConstraint(
                allowed=False,
                failure_reason=f"signature algorithm {name} is not allowed by the validation policy",
            )

        if public_key is not None:
            rejection = self.key_size_rejection(public_key)
            if rejection is not None:
                return AlgorithmUsageConstraint(allowed=False, failure_reason=rejection)

        # Combined identifiers such as sha1WithRSAEncryption name their digest.
        try:
            digest = algo.hash_algo
        except ValueError:
            digest = None
        if digest is not None and digest not in self.digest_algorithms:
            return AlgorithmUsageConstraint(
                allowed=False,
                failure_reason=(
                    f"signature algorithm {algo['algorithm'].native} uses the digest algorithm "
                    f"{digest}, which is not allowed by the validation policy"
                ),
            )
        return AlgorithmUsageConstraint(allowed=True)

    def key_size_rejection(self, public_key: keys.PublicKeyInfo) -> str | None:
        """Return why a public key is too small for the policy, or None if it is large enough."""
        algorithm = public_key.algorithm
        if algorithm in ("rsa", "rsassa_pss") and public_key.bit_size < self.min_rsa_bits:
            return f"RSA key of {public_key.bit_size} bits is below the policy minimum of {self.min_rsa_bits}"
        if algorithm == "ec" and public_key.bit_size < self.min_ec_bits:
            return f"EC key of {public_key.bit_size} bits is below the policy minimum of {self.min_ec_bits}"
        return None
