"""Two-phase signing for keys the service never holds (officers' USB tokens).

``prepare`` checks the signing order and the officer's registered certificate,
prepares the PAdES signature and keeps its state under a random handle;
``complete`` takes the signature value made on the token, finishes the
signature and stores it like any other. A prepared signature is bound to the
user, the document and the revision it was prepared from, expires after
``PENDING_LIFETIME`` and completes once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from asn1crypto import x509 as asn1_x509

from signing.external import (
    ExternalSignatureState,
    ExternalStateInvalid,
    complete_external_signature,
    prepare_external_signature,
)
from signing.sign import SigningProfile

from .archive import get_document, read_current_revision, store_signed_revision
from .audit import record_event
from .components import components
from .credentials import check_credential_certificate
from .extensions import db
from .models import PendingSignature, Signature, SigningCredential, User, as_utc, utcnow
from .problems import ApiProblem
from .signing_order import check_next_signature, signature_fields

log = logging.getLogger(__name__)

PENDING_LIFETIME = timedelta(minutes=10)
# Levels a prepared signature can reach. Completion adds the validation data
# of B-LT and the document timestamp of B-LTA.
EXTERNAL_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


@dataclass(frozen=True)
class Prepared:
    handle: str
    signed_attributes: bytes
    digest_algorithm: str
    signature_mechanism: str
    expires_at: object


def certificate_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _registered_credential(user: User, fingerprint: str) -> SigningCredential:
    """Return the user's active external credential for the certificate with this SHA-256, or raise ``certificate_not_registered``."""
    registered = db.session.execute(
        db.select(SigningCredential).where(
            SigningCredential.user_id == user.id,
            SigningCredential.kind == "external",
            SigningCredential.location == f"sha256:{fingerprint}",
            SigningCredential.active.is_(True),
        )
    ).scalar_one_or_none()
    if registered is None:
        raise ApiProblem("certificate_not_registered")
    return registered


def _registered_certificate(user: User, certificates: list[bytes]) -> tuple[asn1_x509.Certificate, list]:
    """Return the signer certificate and chain, if the signer's is registered to the user as external."""
    if not certificates:
        raise ApiProblem("field_missing", field="certificates")
    registered = _registered_credential(user, certificate_fingerprint(certificates[0]))
    try:
        signer = asn1_x509.Certificate.load(certificates[0])
        chain = [asn1_x509.Certificate.load(der) for der in certificates[1:]]
        signer.native  # noqa: B018 (parses the whole certificate, so malformed DER fails here)
    except (ValueError, TypeError):
        raise ApiProblem("field_invalid", field="certificates", reason_en="not DER certificates",
                         reason_bn="DER সার্টিফিকেট নয়") from None
    check_credential_certificate(registered, signer)
    return signer, chain


def prepare(document_id: str, user: User, profile: SigningProfile, certificates: list[bytes],
            role: str | None) -> Prepared:
    document = get_document(document_id)
    role, certify = check_next_signature(document, user, role)
    signature_field = signature_fields(document, role, certify)
    profile = dataclasses.replace(profile, certify=certify, field_name=signature_field.field_name,
                                  reserved_fields=signature_field.reserved_fields)
    signer_certificate, chain = _registered_certificate(user, certificates)
    revision, data = read_current_revision(document, user)

    parts = components()
    prepared = prepare_external_signature(data, signer_certificate, chain, profile,
                                          timestamper=parts.timestamper if profile.level != "B-B" else None,
                                          policy=parts.policy)
    handle = secrets.token_urlsafe(32)
    pending = PendingSignature(
        handle_hash=hashlib.sha256(handle.encode()).hexdigest(),
        user_id=user.id,
        document_id=document.id,
        revision_id=revision.id,
        role=role,
        certificate_sha256=certificate_fingerprint(certificates[0]),
        state=prepared.state,
        expires_at=utcnow() + PENDING_LIFETIME,
    )
    db.session.add(pending)
    record_event("document.sign_prepare", "success", actor=user, document_id=document.id,
                 details={"revision": revision.number, "role": role, "level": profile.level})
    db.session.commit()
    log.info("two-phase signature prepared: document=%s revision=%d user=%s", document.id, revision.number,
             user.username)
    return Prepared(handle, prepared.signed_attributes_der, prepared.digest_algorithm,
                    prepared.signature_mechanism, pending.expires_at)


def complete(document_id: str, user: User, handle: str, signature_value: bytes,
             certificates: list[bytes]) -> tuple[Signature, object]:
    document = get_document(document_id)
    pending = db.session.execute(
        db.select(PendingSignature).where(
            PendingSignature.handle_hash == hashlib.sha256(handle.encode()).hexdigest(),
            PendingSignature.user_id == user.id,
            PendingSignature.document_id == document.id,
        )
    ).scalar_one_or_none()
    if pending is None or pending.completed_at is not None or as_utc(pending.expires_at) < utcnow():
        raise ApiProblem("pending_signature_not_found")

    # The signing order is checked again: another signature may have landed
    # since the signature was prepared.
    check_next_signature(document, user, pending.role)
    revision, _ = read_current_revision(document, user)
    parts = components()
    try:
        state = ExternalSignatureState.from_bytes(pending.state)
        # The credential may have been deactivated since the preparation. The
        # certificate's validity, key usage, path and revocation are checked
        # again by complete_external_signature under the policy.
        check_credential_certificate(_registered_credential(user, pending.certificate_sha256),
                                     state.signer_certificate)
        signed = complete_external_signature(state, signature_value,
                                             timestamper=parts.timestamper if state.timestamp_required else None,
                                             expected_input_sha256=revision.sha256,
                                             presented_certificates=certificates or None, policy=parts.policy)
    except ExternalStateInvalid as error:
        if error.reason == "input_mismatch":
            raise ApiProblem("revision_conflict") from None
        raise

    pending.completed_at = utcnow()
    signature, report = store_signed_revision(document, revision, user, signed, pending.role)
    return signature, report
