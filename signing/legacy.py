"""Checks of the legacy signature formats /adbe.pkcs7.sha1 and /adbe.x509.rsa_sha1.

pyHanko 0.38 validates neither, but Acrobat still reads both, and older files
carry them. ISO 32000-1, 12.8.3:

- /adbe.pkcs7.sha1: a CMS SignedData whose encapsulated content is the SHA-1
  digest of the byte range, and no other digest.
- /adbe.x509.rsa_sha1: /Contents is a DER OCTET STRING with a PKCS#1 v1.5 RSA
  signature of the byte range, and /Cert contains the signer's certificate
  first. Despite the name the signer chooses the digest (SHA-1, SHA-256,
  SHA-384, SHA-512 or RIPEMD-160), which the signature's DigestInfo names.

Each check compares the signed digest with the bytes of the byte range, then
the digest algorithm with the policy. Neither validates the certificate path,
so a signature that passes both is reported as not supported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from asn1crypto import algos, cms, core, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.pdf_utils import generic

from signing.byterange import read_byte_range
from signing.policy import ValidationPolicy
from signing.report import INDETERMINATE, TOTAL_FAILED
from signing.revisions import DocumentFacts, FieldEntry, shorten

__all__ = ["LEGACY_SUBFILTERS", "LegacyVerdict", "check_legacy_signature"]

PKCS7_SHA1 = "/adbe.pkcs7.sha1"
X509_RSA_SHA1 = "/adbe.x509.rsa_sha1"
LEGACY_SUBFILTERS = (PKCS7_SHA1, X509_RSA_SHA1)


@dataclass(frozen=True)
class LegacyVerdict:
    """Outcome of a legacy signature check, before the byte range layout is reviewed."""

    indication: str
    sub_indication: str
    reason: str
    certificate: x509.Certificate | None = None


def check_legacy_signature(entry: FieldEntry, document: DocumentFacts, policy: ValidationPolicy) -> LegacyVerdict:
    """Check the digest and the digest algorithm of a signature with a legacy /SubFilter."""
    sig_object = entry.sig_object
    subfilter = sig_object.get("/SubFilter")
    signed_bytes = _signed_bytes(entry, document)
    if signed_bytes is None:
        return _unsupported(f"the {subfilter} signature has no usable /ByteRange")
    try:
        contents = sig_object.raw_get("/Contents").original_bytes
        if subfilter == PKCS7_SHA1:
            algorithm, signed_digest, certificate = _read_pkcs7_sha1(contents)
        else:
            algorithm, signed_digest, certificate = _read_x509_rsa_sha1(contents, sig_object)
    except InvalidSignature:
        return LegacyVerdict(
            TOTAL_FAILED,
            "SIG_CRYPTO_FAILURE",
            f"the {subfilter} signature value does not verify with the public key of the /Cert certificate",
        )
    except Exception as exc:  # malformed DER, certificates or dictionaries raise assorted errors
        return _unsupported(f"the {subfilter} signature cannot be parsed: {type(exc).__name__}: {shorten(str(exc))}")

    try:
        actual_digest = hashlib.new(algorithm, signed_bytes).digest()
    except ValueError:
        return _unsupported(f"the digest algorithm {algorithm} of the {subfilter} signature is not supported", certificate)
    if actual_digest != signed_digest:
        return LegacyVerdict(
            TOTAL_FAILED,
            "HASH_FAILURE",
            f"the {algorithm} digest signed by the {subfilter} signature does not match the signed bytes",
            certificate,
        )
    if algorithm not in policy.digest_algorithms:
        # NOTE: for /adbe.pkcs7.sha1 the signature value over the signed
        # attributes is not verified, because the policy rejects the signature
        # whatever that check finds.
        return LegacyVerdict(
            INDETERMINATE,
            "CRYPTO_CONSTRAINTS_FAILURE",
            f"the {subfilter} signature signs a {algorithm} digest, which the policy does not accept",
            certificate,
        )
    return _unsupported(
        f"signatures with /SubFilter {subfilter} are not supported: their certificate path is not validated",
        certificate,
    )


def _unsupported(reason: str, certificate: x509.Certificate | None = None) -> LegacyVerdict:
    return LegacyVerdict(INDETERMINATE, "FORMAT_FAILURE", reason, certificate)


def _signed_bytes(entry: FieldEntry, document: DocumentFacts) -> bytes | None:
    byte_range = read_byte_range(entry)
    if byte_range is None or len(byte_range) != 4 or min(byte_range) < 0:
        return None
    start1, length1, start2, length2 = byte_range
    return document.data[start1 : start1 + length1] + document.data[start2 : start2 + length2]


def _read_pkcs7_sha1(contents: bytes) -> tuple[str, bytes, x509.Certificate | None]:
    signed_data = cms.ContentInfo.load(contents)["content"]
    encapsulated = signed_data["encap_content_info"]["content"]
    if encapsulated is None or isinstance(encapsulated, core.Void):
        raise ValueError("the SignedData encapsulates no content")
    signer_info = signed_data["signer_infos"][0]
    return "sha1", bytes(encapsulated.native), _find_signer(signed_data, signer_info["sid"])


def _find_signer(signed_data: cms.SignedData, sid: cms.SignerIdentifier) -> x509.Certificate | None:
    for choice in signed_data["certificates"] or ():
        certificate = choice.chosen
        if not isinstance(certificate, x509.Certificate):
            continue
        if sid.name == "issuer_and_serial_number":
            if (
                certificate.issuer == sid.chosen["issuer"]
                and certificate.serial_number == sid.chosen["serial_number"].native
            ):
                return certificate
        elif certificate.key_identifier == sid.chosen.native:
            return certificate
    return None


def _read_x509_rsa_sha1(
    contents: bytes, sig_object: generic.DictionaryObject
) -> tuple[str, bytes, x509.Certificate]:
    certificates = sig_object["/Cert"]
    first = certificates[0] if isinstance(certificates, generic.ArrayObject) else certificates
    certificate = x509.Certificate.load(first.original_bytes)
    public_key = serialization.load_der_public_key(certificate.public_key.dump())
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the /Cert certificate has no RSA public key")
    # asn1crypto ignores the zero padding after the OCTET STRING.
    signature_value = core.OctetString.load(contents).native
    digest_info = algos.DigestInfo.load(
        public_key.recover_data_from_signature(signature_value, padding.PKCS1v15(), None)
    )
    return digest_info["digest_algorithm"]["algorithm"].native, digest_info["digest"].native, certificate
