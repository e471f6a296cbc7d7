"""Two-phase (external) PAdES signing, for keys that stay on the key holder's token.

:func:`prepare_external_signature` adds the signature field and a zero-filled
/Contents placeholder to the PDF as an incremental update, computes the SHA-256
digest of the /ByteRange and builds the CMS signed attributes (content-type,
message-digest, ESS signing-certificate-v2). The key holder signs the DER of
those attributes on their own machine. :func:`complete_external_signature`
verifies that signature value with the certificate's public key, builds the CMS
SignedData (with a signature time-stamp from B-T on) and writes it into the
placeholder. For B-LT it then adds the validation data to the DSS in a new
revision, and for B-LTA a document time-stamp after that.

Between the two calls, everything is in :attr:`PreparedSignature.state`, a
JSON document (UTF-8 bytes, see :class:`ExternalSignatureState`) that another
process can complete. The key holder receives only the signed attributes and
never the state.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import ExternalSigner, PdfSignatureMetadata, PdfSigner, PdfTimeStamper
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.dss import async_add_validation_info
from pyhanko_certvalidator.context import ValidationContext
from pyhanko_certvalidator.errors import PathError, ValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.errors import (
    InvalidDocument,
    SignatureCreationFailed,
    SignerCertificateRejected,
    SigningError,
    SigningProfileError,
    TimestampFailed,
)
from signing.fetching import open_fetcher_backend
from signing.policy import ValidationPolicy
from signing.sign import (
    SigningProfile,
    _estimate_bytes_reserved,
    _open_writer,
    check_signer_certificate,
    prepare_fields,
)
from signing.signer_check import check_signer_chain

__all__ = [
    "DIGEST_ALGORITHM",
    "ExternalSignatureInvalid",
    "ExternalSignatureState",
    "ExternalStateInvalid",
    "PreparedSignature",
    "complete_external_signature",
    "prepare_external_signature",
]

logger = logging.getLogger(__name__)

DIGEST_ALGORITHM = "sha256"
"""Digest algorithm of the document digest and of the signature mechanism."""

STATE_FORMAT = "dolil.external-signature-state"
STATE_VERSION = 1

# Signature mechanisms (asn1crypto names) by the public key algorithm of the
# signer's certificate. RSA uses PKCS#1 v1.5 padding, as pyHanko does by default.
_MECHANISMS = {"rsa": "sha256_rsa", "ec": "sha256_ecdsa"}

# Levels that can be produced here. B-LT and B-LTA get their validation data
# and document time-stamp in revisions added after the signature is completed.
_EXTERNAL_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
_LONG_TERM_LEVELS = ("B-LT", "B-LTA")

# Space added to the size of a measured time-stamp token. Tokens from one TSA
# differ between requests only in serial number, time and nonce, which take a
# few dozen bytes, so 1 KiB also absorbs a slightly longer TSA certificate.
_TIMESTAMP_MARGIN_BYTES = 1024


class ExternalSignatureInvalid(SigningError):
    """The signature value or certificate sent by the key holder does not match the prepared signature.

    ``reason`` is ``"signature_mismatch"`` (the value does not verify with the
    certificate's public key over the signed attributes) or
    ``"certificate_mismatch"`` (the key holder presented another certificate than
    the one the signed attributes name). Nothing is embedded in either case.
    """

    REASONS = frozenset({"signature_mismatch", "certificate_mismatch"})

    def __init__(self, reason: str, detail: str, serial_number: int | None = None) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown ExternalSignatureInvalid reason {reason!r}")
        super().__init__(f"external signature rejected ({reason}): {detail}")
        self.reason = reason
        self.detail = detail
        self.serial_number = serial_number


class ExternalStateInvalid(SigningError):
    """A stored external signature state cannot be completed.

    ``reason`` is ``"malformed"`` (not a state document of a supported format
    version), ``"altered"`` (prepared PDF, byte range, document digest and
    signed attributes do not match each other) or ``"input_mismatch"`` (the state
    was prepared from other bytes than the caller expects).
    """

    REASONS = frozenset({"malformed", "altered", "input_mismatch"})

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown ExternalStateInvalid reason {reason!r}")
        super().__init__(f"external signature state invalid ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ExternalSignatureState:
    """A prepared signature waiting for its signature value.

    :meth:`to_bytes` writes a JSON object (UTF-8) with these members, binary
    values in base64 and digests in lower-case hex::

        format, version              "dolil.external-signature-state", 1
        prepared_at                  ISO 8601 UTC time of preparation
        input                        {"sha256", "length"} of the PDF that was prepared
        prepared_pdf                 {"sha256", "length", "data"}: input plus the
                                     incremental update with the placeholder
        byte_range                   [0, placeholder start, placeholder end, rest]
        digest_algorithm             "sha256"
        document_digest              digest of the byte range (hex)
        signature_mechanism          "sha256_rsa" or "sha256_ecdsa"
        signed_attributes            DER of the CMS signed attributes
        signer_certificate, chain    DER certificates
        profile                      {"level", "reason", "location", "field_name"}
        level                        level produced on completion: "B-B", "B-T", "B-LT" or "B-LTA"

    :meth:`from_bytes` rejects a document whose prepared PDF does not match its
    recorded SHA-256. :func:`complete_external_signature` also checks that the
    byte range, the document digest and the signed attributes match the PDF.
    """

    prepared_pdf: bytes
    byte_range: tuple[int, int, int, int]
    document_digest: bytes
    signed_attributes_der: bytes
    signature_mechanism: str
    signer_certificate: asn1_x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...]
    profile: SigningProfile
    """The requested profile, with ``field_name`` set to the field that was used."""
    level: str
    """Level of the completed signature: ``"B-B"``, or ``"B-T"`` and above when space for a time-stamp was reserved."""
    input_sha256: str
    input_length: int
    prepared_at: datetime
    digest_algorithm: str = DIGEST_ALGORITHM

    @property
    def prepared_pdf_sha256(self) -> str:
        return hashlib.sha256(self.prepared_pdf).hexdigest()

    @property
    def timestamp_required(self) -> bool:
        return self.level != "B-B"

    @property
    def long_term(self) -> bool:
        """Whether completion adds validation data (B-LT) and a document time-stamp (B-LTA)."""
        return self.level in _LONG_TERM_LEVELS

    def to_dict(self) -> dict[str, Any]:
        """Return the state as a JSON-compatible dictionary."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "prepared_at": self.prepared_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            "input": {"sha256": self.input_sha256, "length": self.input_length},
            "prepared_pdf": {
                "sha256": self.prepared_pdf_sha256,
                "length": len(self.prepared_pdf),
                "data": _b64(self.prepared_pdf),
            },
            "byte_range": list(self.byte_range),
            "digest_algorithm": self.digest_algorithm,
            "document_digest": self.document_digest.hex(),
            "signature_mechanism": self.signature_mechanism,
            "signed_attributes": _b64(self.signed_attributes_der),
            "signer_certificate": _b64(self.signer_certificate.dump()),
            "chain": [_b64(certificate.dump()) for certificate in self.chain],
            "profile": {
                "level": self.profile.level,
                "reason": self.profile.reason,
                "location": self.profile.location,
                "field_name": self.profile.field_name,
            },
            "level": self.level,
        }

    def to_bytes(self) -> bytes:
        """Serialise the state as compact JSON in UTF-8."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_dict(cls, document: object) -> ExternalSignatureState:
        """Read a state written by :meth:`to_dict`, raising :class:`ExternalStateInvalid`."""
        try:
            return cls._from_dict(document)
        except ExternalStateInvalid:
            raise
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise ExternalStateInvalid("malformed", f"{type(exc).__name__}: {exc}") from exc

    @classmethod
    def from_bytes(cls, data: bytes) -> ExternalSignatureState:
        """Read a state written by :meth:`to_bytes`, raising :class:`ExternalStateInvalid`."""
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ExternalStateInvalid("malformed", f"the state is not JSON: {exc}") from exc
        return cls.from_dict(document)

    @classmethod
    def _from_dict(cls, document: object) -> ExternalSignatureState:
        if not isinstance(document, dict):
            raise ExternalStateInvalid("malformed", "the state is not a JSON object")
        if document.get("format") != STATE_FORMAT or document.get("version") != STATE_VERSION:
            raise ExternalStateInvalid(
                "malformed",
                f"unsupported state format {document.get('format')!r} version {document.get('version')!r}, "
                f"expected {STATE_FORMAT!r} version {STATE_VERSION}",
            )

        prepared = document["prepared_pdf"]
        prepared_pdf = _unb64(prepared["data"])
        if len(prepared_pdf) != _integer(prepared["length"]) or not hmac.compare_digest(
            hashlib.sha256(prepared_pdf).hexdigest(), _string(prepared["sha256"])
        ):
            raise ExternalStateInvalid("altered", "the prepared PDF does not match its recorded SHA-256 and length")

        byte_range = tuple(_integer(value) for value in document["byte_range"])
        if len(byte_range) != 4:
            raise ExternalStateInvalid("malformed", f"byte_range has {len(byte_range)} numbers, expected 4")
        profile_fields = document["profile"]
        profile = SigningProfile(
            level=_string(profile_fields["level"]),
            reason=_optional_string(profile_fields["reason"]),
            location=_optional_string(profile_fields["location"]),
            field_name=_string(profile_fields["field_name"]),
        )
        level = _string(document["level"])
        if level not in _EXTERNAL_LEVELS:
            raise ExternalStateInvalid("malformed", f"level {level!r} cannot be produced by external signing")
        digest_algorithm = _string(document["digest_algorithm"])
        if digest_algorithm != DIGEST_ALGORITHM:
            raise ExternalStateInvalid("malformed", f"unsupported digest algorithm {digest_algorithm!r}")

        return cls(
            prepared_pdf=prepared_pdf,
            byte_range=byte_range,  # type: ignore[arg-type]
            document_digest=bytes.fromhex(_string(document["document_digest"])),
            signed_attributes_der=_unb64(document["signed_attributes"]),
            signature_mechanism=_string(document["signature_mechanism"]),
            signer_certificate=_load_certificate(_unb64(document["signer_certificate"])),
            chain=tuple(_load_certificate(_unb64(value)) for value in document["chain"]),
            profile=profile,
            level=level,
            input_sha256=_string(document["input"]["sha256"]),
            input_length=_integer(document["input"]["length"]),
            prepared_at=_parse_time(_string(document["prepared_at"])),
            digest_algorithm=digest_algorithm,
        )


@dataclass(frozen=True)
class PreparedSignature:
    """Result of :func:`prepare_external_signature`: what the key holder signs, and the state to keep."""

    signed_attributes_der: bytes
    """DER of the CMS signed attributes (a SET OF Attribute). The key holder signs exactly these bytes."""
    digest_algorithm: str
    signature_mechanism: str
    """asn1crypto name of the mechanism: ``"sha256_rsa"`` (RSASSA-PKCS1-v1_5) or ``"sha256_ecdsa"``."""
    document_digest: bytes
    """SHA-256 of the /ByteRange of the prepared PDF, also the signed message-digest attribute."""
    field_name: str
    level: str
    """Level of the completed signature, one of ``"B-B"``, ``"B-T"``, ``"B-LT"`` and ``"B-LTA"``."""
    input_sha256: str
    prepared_pdf_sha256: str
    state: bytes
    """Serialised :class:`ExternalSignatureState`, to be stored by the caller and never sent to the key holder."""

    @property
    def signed_attributes_digest(self) -> bytes:
        """SHA-256 of the signed attributes, for tokens that sign a precomputed digest."""
        return hashlib.sha256(self.signed_attributes_der).digest()


def prepare_external_signature(
    data: bytes,
    signer_certificate: asn1_x509.Certificate,
    chain: Sequence[asn1_x509.Certificate],
    profile: SigningProfile,
    *,
    timestamper: TimeStamper | None = None,
    policy: ValidationPolicy | None = None,
    at: datetime | None = None,
) -> PreparedSignature:
    """Prepare a PAdES signature of ``data`` for a key that signs elsewhere.

    ``chain`` contains the CA certificates to embed (a self-signed root is left
    out of the signature). The signer's certificate is checked at ``at`` (aware
    datetime, default now) as in :func:`signing.sign.sign_pdf`: always its validity
    period and nonRepudiation key usage, and with a ``policy`` also the path to the
    policy's trust anchors and revocation.

    The profile's stamp, reserved fields and certification are applied as
    :func:`signing.sign.sign_pdf` applies them. The stamp's appearance is
    written into the prepared PDF, so the document digest that the signed
    attributes carry covers it, and completion cannot change it.

    With a ``timestamper`` (required for levels B-T, B-LT and B-LTA), a
    time-stamp token is requested once to measure its size, and space for the
    signature time-stamp is reserved. The token itself is requested at
    completion. B-LT and B-LTA also need a ``policy``, because completion
    collects the validation data under it; otherwise
    :class:`~signing.errors.SigningProfileError` is raised.

    Only RSA (PKCS#1 v1.5) and EC keys are supported. Runs its own event loop, so
    it must not be called from a coroutine. Raises
    :class:`~signing.errors.SigningError` subclasses, and ValueError for a naive ``at``.
    """
    if at is not None and at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware datetime")
    if profile.level not in _EXTERNAL_LEVELS:
        raise SigningProfileError("level", profile.level, f"expected one of {', '.join(_EXTERNAL_LEVELS)}")
    if profile.level != "B-B" and timestamper is None:
        raise SigningProfileError("level", profile.level, "a timestamper is required")
    if profile.level in _LONG_TERM_LEVELS and policy is None:
        raise SigningProfileError(
            "level", profile.level, "a validation policy is required to collect the validation data"
        )

    mechanism = _mechanism_for(signer_certificate)
    check_signer_certificate(signer_certificate, at=at)
    if policy is None:
        # NOTE: without a policy the path to a trust anchor and revocation are not
        # checked, so a revoked certificate can still be prepared for signing.
        logger.warning(
            "preparing an external signature without a validation policy: the signer "
            "certificate's path and revocation status are not checked"
        )

    prepared = asyncio.run(
        _prepare(data, signer_certificate, tuple(chain), profile, mechanism, timestamper, policy, at)
    )

    logger.info(
        "prepared external signature: field %s, level %s, signer serial %x, input sha256 %s, prepared sha256 %s",
        prepared.field_name,
        prepared.level,
        signer_certificate.serial_number,
        prepared.input_sha256,
        prepared.prepared_pdf_sha256,
    )
    return prepared


def complete_external_signature(
    state: bytes | ExternalSignatureState,
    signature_value: bytes,
    *,
    timestamper: TimeStamper | None = None,
    expected_input_sha256: str | None = None,
    presented_certificates: Sequence[bytes] | None = None,
    policy: ValidationPolicy | None = None,
    at: datetime | None = None,
) -> bytes:
    """Embed the key holder's ``signature_value`` into the prepared PDF and return the signed PDF.

    The state must be internally consistent (see :class:`ExternalSignatureState`),
    and with ``expected_input_sha256`` it must have been prepared from bytes with
    that SHA-256 (hex), for example the current revision of the archived document.
    ``presented_certificates`` are the DER certificates the key holder sent, signer
    first. The first must be the certificate the signature was prepared for.
    The signer's certificate must still be valid at ``at`` (default now), and
    ``signature_value`` must verify with its public key over the signed attributes.

    A state prepared with a timestamper needs a ``timestamper`` here, which adds
    the signature time-stamp (B-T). A state prepared without one reserved no space
    for a time-stamp, so passing a timestamper raises
    :class:`~signing.errors.SigningProfileError`. With a ``policy`` the signer's
    path is validated again under it with revocation checking, at every level,
    so a certificate revoked since the preparation is rejected
    (:class:`~signing.errors.SignerCertificateRejected`). B-LT and B-LTA require
    the policy: the certificates, CRLs and OCSP responses of the signer's and
    the time-stamping authority's paths then go into the document security
    store (DSS) in a new revision, and B-LTA adds a document time-stamp after it.

    The output starts with the prepared PDF's bytes before the placeholder, so the
    original document is a prefix of it. Raises :class:`ExternalStateInvalid`,
    :class:`ExternalSignatureInvalid`, :class:`~signing.errors.SignerCertificateRejected`,
    :class:`~signing.errors.TimestampFailed` or
    :class:`~signing.errors.SignatureCreationFailed`, and returns no PDF then.
    Runs its own event loop, so it must not be called from a coroutine.
    """
    if not isinstance(state, ExternalSignatureState):
        state = ExternalSignatureState.from_bytes(state)
    _check_state(state)
    if expected_input_sha256 is not None and not hmac.compare_digest(
        state.input_sha256, expected_input_sha256.lower()
    ):
        raise ExternalStateInvalid(
            "input_mismatch",
            f"the state was prepared from a PDF with sha256 {state.input_sha256}, "
            f"expected {expected_input_sha256.lower()}",
        )
    if state.timestamp_required and timestamper is None:
        raise SigningProfileError(
            "level", state.level, f"the signature was prepared for {state.level}: a timestamper is required"
        )
    if state.long_term and policy is None:
        raise SigningProfileError(
            "level", state.level, "a validation policy is required to collect the validation data"
        )
    if not state.timestamp_required and timestamper is not None:
        raise SigningProfileError(
            "level",
            state.level,
            "no space for a signature time-stamp was reserved: prepare the signature again with a timestamper",
        )

    certificate = state.signer_certificate
    if presented_certificates is not None:
        _check_presented_certificates(certificate, presented_certificates)
    check_signer_certificate(certificate, at=at)
    _verify_signature_value(state, signature_value)

    signed = asyncio.run(_complete(state, signature_value, timestamper, policy, at))

    logger.info(
        "completed external signature: field %s, level %s, signer serial %x, prepared sha256 %s, output sha256 %s",
        state.profile.field_name,
        state.level,
        certificate.serial_number,
        state.prepared_pdf_sha256,
        hashlib.sha256(signed).hexdigest(),
    )
    return signed


# --- preparation -----------------------------------------------------------------


async def _prepare(
    data: bytes,
    certificate: asn1_x509.Certificate,
    chain: tuple[asn1_x509.Certificate, ...],
    profile: SigningProfile,
    mechanism: str,
    timestamper: TimeStamper | None,
    policy: ValidationPolicy | None,
    at: datetime | None,
) -> PreparedSignature:
    if policy is not None:
        async with open_fetcher_backend(policy) as (backend, record):
            await check_signer_chain(certificate, chain, policy, backend if record is not None else None, at=at)

    signer = _external_signer(certificate, chain, bytes(_placeholder_size(certificate)))
    bytes_reserved = _estimate_bytes_reserved(signer, with_timestamp=False)
    if timestamper is not None:
        token_size = await _measure_timestamp_token(timestamper)
        # bytes_reserved counts hex digits, two per DER byte.
        bytes_reserved += 2 * (token_size + _TIMESTAMP_MARGIN_BYTES)

    source = io.BytesIO(data)
    writer = _open_writer(source)
    field_name, stamp_style, new_field_spec = prepare_fields(writer, source, profile)
    metadata = PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=DIGEST_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=profile.reason,
        location=profile.location,
        certify=profile.certify,
        docmdp_permissions=MDPPerm.FILL_FORMS,
    )

    # With the PAdES subfilter the signed attributes contain no signing time, so
    # they depend only on the document digest and the signer's certificate.
    try:
        pdf_signer = PdfSigner(metadata, signer=signer, stamp_style=stamp_style, new_field_spec=new_field_spec)
        prepared_digest, _, output = await pdf_signer.async_digest_doc_for_signing(
            writer, bytes_reserved=bytes_reserved
        )
        signed_attributes = await signer.signed_attrs(prepared_digest.document_digest, DIGEST_ALGORITHM, use_pades=True)
    except PyHankoSigningError as exc:
        raise SignatureCreationFailed(str(exc)) from exc
    except PdfError as exc:
        raise InvalidDocument("malformed_pdf", f"pyHanko cannot update the PDF: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureCreationFailed(repr(exc)) from exc

    output.seek(0)
    prepared_pdf = output.read()
    start, end = prepared_digest.reserved_region_start, prepared_digest.reserved_region_end
    state = ExternalSignatureState(
        prepared_pdf=prepared_pdf,
        byte_range=(0, start, end, len(prepared_pdf) - end),
        document_digest=prepared_digest.document_digest,
        signed_attributes_der=signed_attributes.dump(),
        signature_mechanism=mechanism,
        signer_certificate=certificate,
        chain=chain,
        profile=SigningProfile(
            level=profile.level, reason=profile.reason, location=profile.location, field_name=field_name
        ),
        level=_prepared_level(profile.level, timestamper),
        input_sha256=hashlib.sha256(data).hexdigest(),
        input_length=len(data),
        prepared_at=datetime.now(timezone.utc),
    )
    return PreparedSignature(
        signed_attributes_der=state.signed_attributes_der,
        digest_algorithm=DIGEST_ALGORITHM,
        signature_mechanism=mechanism,
        document_digest=state.document_digest,
        field_name=field_name,
        level=state.level,
        input_sha256=state.input_sha256,
        prepared_pdf_sha256=state.prepared_pdf_sha256,
        state=state.to_bytes(),
    )


def _prepared_level(requested: str, timestamper: TimeStamper | None) -> str:
    if requested in _LONG_TERM_LEVELS:
        return requested
    return "B-T" if timestamper is not None else "B-B"


async def _measure_timestamp_token(timestamper: TimeStamper) -> int:
    """Return the DER size of a token from the TSA, which also checks that the TSA responds before anyone signs."""
    try:
        token = await timestamper.async_dummy_response(DIGEST_ALGORITHM)
    except TimestampRequestError as exc:
        raise TimestampFailed(str(exc)) from exc
    except OSError as exc:
        raise TimestampFailed(repr(exc)) from exc
    return len(token.dump())


def _mechanism_for(certificate: asn1_x509.Certificate) -> str:
    algorithm = certificate.public_key.algorithm
    mechanism = _MECHANISMS.get(algorithm)
    if mechanism is None:
        raise SignerCertificateRejected(
            "unsupported_key",
            f"certificate of {certificate.subject.human_friendly} has a {algorithm} key, but "
            f"external signing supports only {' and '.join(sorted(_MECHANISMS))} keys",
            certificate.serial_number,
        )
    return mechanism


def _placeholder_size(certificate: asn1_x509.Certificate) -> int:
    """Return the maximum DER size of a signature value for the certificate's key."""
    key_bytes = (certificate.public_key.bit_size + 7) // 8
    if certificate.public_key.algorithm == "ec":
        # SEQUENCE of two INTEGERs, each possibly one byte longer for its sign bit.
        return 2 * (key_bytes + 3) + 3
    return key_bytes


def _external_signer(
    certificate: asn1_x509.Certificate, chain: Sequence[asn1_x509.Certificate], signature_value: bytes
) -> ExternalSigner:
    return ExternalSigner(
        signing_cert=certificate,
        cert_registry=SimpleCertificateStore.from_certs(chain),
        signature_value=signature_value,
        embed_roots=False,
    )


# --- completion ------------------------------------------------------------------


def _check_state(state: ExternalSignatureState) -> None:
    """Check that the PDF, byte range, digest, signed attributes and certificate of the state belong together."""
    pdf = state.prepared_pdf
    zero, start, end, rest = state.byte_range
    if zero != 0 or not 0 < start < end <= len(pdf) or end + rest != len(pdf):
        raise ExternalStateInvalid("altered", f"byte range {list(state.byte_range)} does not fit the prepared PDF")
    if not 0 < state.input_length <= start:
        raise ExternalStateInvalid("altered", "the recorded input length does not fit the byte range")
    if hashlib.sha256(pdf[: state.input_length]).hexdigest() != state.input_sha256:
        raise ExternalStateInvalid("altered", "the prepared PDF does not start with the recorded input")
    if pdf[start:end] != b"<" + b"0" * (end - start - 2) + b">":
        raise ExternalStateInvalid("altered", "the /Contents placeholder is not a zero-filled hex string")

    digest = hashlib.sha256()
    digest.update(memoryview(pdf)[:start])
    digest.update(memoryview(pdf)[end:])
    if digest.digest() != state.document_digest:
        raise ExternalStateInvalid("altered", "the byte range digest of the prepared PDF differs from the recorded digest")

    try:
        attributes = {
            attribute["type"].native: attribute["values"] for attribute in cms.CMSAttributes.load(state.signed_attributes_der)
        }
        message_digest = attributes["message_digest"][0].native
        certificate_ids = attributes["signing_certificate_v2"][0]["certs"]
        first_id = certificate_ids[0]
        hash_algorithm = first_id["hash_algorithm"]["algorithm"].native
        certificate_hash = first_id["cert_hash"].native
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ExternalStateInvalid("altered", f"the signed attributes cannot be read: {exc!r}") from exc
    if message_digest != state.document_digest:
        raise ExternalStateInvalid("altered", "the message-digest attribute differs from the document digest")
    if hash_algorithm != "sha256" or certificate_hash != hashlib.sha256(state.signer_certificate.dump()).digest():
        raise ExternalStateInvalid(
            "altered", "the signing-certificate-v2 attribute does not identify the state's signer certificate"
        )
    if state.signature_mechanism != _mechanism_for(state.signer_certificate):
        raise ExternalStateInvalid(
            "altered",
            f"signature mechanism {state.signature_mechanism!r} does not fit the signer certificate's key",
        )


def _check_presented_certificates(certificate: asn1_x509.Certificate, presented: Sequence[bytes]) -> None:
    if not presented:
        raise ExternalSignatureInvalid(
            "certificate_mismatch", "no certificate was presented", certificate.serial_number
        )
    if presented[0] != certificate.dump():
        raise ExternalSignatureInvalid(
            "certificate_mismatch",
            f"the presented signer certificate is not the one the signature was prepared for "
            f"(serial {certificate.serial_number:x}, subject {certificate.subject.human_friendly})",
            certificate.serial_number,
        )


def _verify_signature_value(state: ExternalSignatureState, signature_value: bytes) -> None:
    certificate = state.signer_certificate
    public_key = x509.load_der_x509_certificate(certificate.dump()).public_key()
    try:
        # _check_state accepted only RSA and EC keys.
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature_value, state.signed_attributes_der, PKCS1v15(), hashes.SHA256())
        else:
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            public_key.verify(signature_value, state.signed_attributes_der, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ExternalSignatureInvalid(
            "signature_mismatch",
            f"the signature value ({len(signature_value)} bytes) does not verify over the signed attributes "
            f"with the public key of certificate serial {certificate.serial_number:x} "
            f"({state.signature_mechanism})",
            certificate.serial_number,
        ) from None


async def _complete(state: ExternalSignatureState, signature_value: bytes, timestamper: TimeStamper | None,
                    policy: ValidationPolicy | None, at: datetime | None) -> bytes:
    """Check the signer's path under ``policy`` when one is given, then embed the signature and add B-LT and B-LTA data.

    The path is checked again, with revocation, because the certificate may
    have been revoked or its path may have expired since the signature was
    prepared. The validation context of that check then supplies the
    revocation data of B-LT and B-LTA.
    """
    if policy is None:
        output = await _embed_signature(state, signature_value, timestamper)
        return output.getvalue()

    async with open_fetcher_backend(policy) as (backend, record):
        context = await check_signer_chain(
            state.signer_certificate, state.chain, policy, backend if record is not None else None, at=at
        )
        output = await _embed_signature(state, signature_value, timestamper)
        if state.long_term:
            assert timestamper is not None
            await _add_long_term_data(output, state, timestamper, context)
    return output.getvalue()


async def _embed_signature(state: ExternalSignatureState, signature_value: bytes,
                           timestamper: TimeStamper | None) -> io.BytesIO:
    """Build the CMS SignedData and write it into the placeholder of a copy of the prepared PDF."""
    signer = _external_signer(state.signer_certificate, state.chain, signature_value)
    _, start, end, _ = state.byte_range
    output = io.BytesIO(state.prepared_pdf)
    try:
        signature_cms = await signer.async_sign_prescribed_attributes(
            DIGEST_ALGORITHM, cms.CMSAttributes.load(state.signed_attributes_der), timestamper=timestamper
        )
        await PdfTBSDocument.async_finish_signing(
            output, PreparedByteRangeDigest(state.document_digest, start, end), signature_cms
        )
    except TimestampRequestError as exc:
        raise TimestampFailed(str(exc)) from exc
    except OSError as exc:
        # The PDF is in memory, so an OSError comes from the time-stamping client.
        raise TimestampFailed(repr(exc)) from exc
    except PyHankoSigningError as exc:
        # Raised when the CMS object does not fit into the reserved space.
        raise SignatureCreationFailed(str(exc)) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureCreationFailed(repr(exc)) from exc
    return output


async def _add_long_term_data(output: io.BytesIO, state: ExternalSignatureState, timestamper: TimeStamper,
                              context: ValidationContext) -> None:
    """Append the DSS revision (B-LT) and, for B-LTA, a document time-stamp to the completed PDF in ``output``.

    ``context`` is the validation context of the signer's path check, which
    contains the revocation data to store. It fetches what the time-stamping
    authority's path needs while the caller keeps its fetcher backend open.
    """
    try:
        reader = PdfFileReader(output)
        embedded = next(
            signature for signature in reader.embedded_signatures
            if signature.field_name == state.profile.field_name
        )
        # Roots are left out, as in the signature itself: validators take them from their trust anchors.
        await async_add_validation_info(embedded, context, in_place=True, embed_roots=False)
        if state.level == "B-LTA":
            writer = IncrementalPdfFileWriter(output)
            await PdfTimeStamper(timestamper).async_timestamp_pdf(
                writer, DIGEST_ALGORITHM, context, in_place=True, embed_roots=False
            )
    except TimestampRequestError as exc:
        raise TimestampFailed(str(exc)) from exc
    except (PathError, ValidationError) as exc:
        raise SignatureCreationFailed(
            f"a certificate could not be validated under the policy: {exc}"
        ) from exc
    except OSError as exc:
        # The PDF is in memory, so an OSError comes from the time-stamping or revocation clients.
        raise TimestampFailed(repr(exc)) from exc
    except (PyHankoSigningError, PdfError, StopIteration) as exc:
        raise SignatureCreationFailed(f"adding the long-term validation data failed: {exc!r}") from exc


# --- serialisation helpers -------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object) -> bytes:
    return base64.b64decode(_string(value), validate=True)


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_string(value: object) -> str | None:
    return None if value is None else _string(value)


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _load_certificate(der: bytes) -> asn1_x509.Certificate:
    certificate = asn1_x509.Certificate.load(der)
    # asn1crypto parses lazily, so reading a field now makes a damaged encoding fail here.
    certificate.serial_number
    return certificate


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.utcoffset() is None:
        raise ValueError(f"prepared_at {value!r} has no time zone")
    return parsed
