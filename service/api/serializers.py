"""JSON representations of documents, revisions, signatures and verifications.

Dates are ISO 8601; memo numbers use ASCII digits; titles are returned as stored.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import url_for

from ..models import Document, Revision, Signature, Verification, as_utc
from ..signing_order import signing_state


def iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def revision_dict(revision: Revision) -> dict:
    return {
        "number": revision.number,
        "sha256": revision.sha256,
        "size": revision.size,
        "reason": revision.reason,
        "source_type": revision.source_type,
        "object_key": revision.object_key,
        "version_id": revision.version_id,
        "created_by": revision.created_by.username,
        "created_at": iso(revision.created_at),
    }


def signature_dict(signature: Signature) -> dict:
    return {
        "field_name": signature.field_name,
        "role": signature.role,
        "revision": signature.revision.number,
        "signer_subject": signature.signer_subject,
        "signer_issuer": signature.signer_issuer,
        "signer_serial": signature.signer_serial,
        "signing_time": iso(signature.signing_time),
        "level": signature.level,
        "signed_by": signature.signed_by.username,
        "created_at": iso(signature.created_at),
    }


def verification_summary(verification: Verification | None, revision_number: int | None) -> dict | None:
    if verification is None:
        return None
    return {
        "verified_at": iso(verification.verified_at),
        "revision": revision_number,
        "fixity_ok": verification.fixity_ok,
        "indication": verification.indication,
    }


def latest_verification(document_id: str) -> Verification | None:
    """Return the document's most recent verification, of any revision, or None."""
    from ..extensions import db

    return db.session.execute(
        db.select(Verification)
        .where(Verification.document_id == document_id)
        .order_by(Verification.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def document_dict(document: Document, *, detailed: bool = False) -> dict:
    current = document.current_revision
    body: dict[str, object] = {
        "id": document.id,
        "kind": document.kind,
        "title": document.title,
        "memo_number": document.memo_number,
        "document_date": iso(document.document_date),
        "meeting_date": iso(document.meeting_date),
        "created_by": document.created_by.username,
        "created_at": iso(document.created_at),
        "legal_hold": document.legal_hold,
        "revision": current.number if current else None,
        "sha256": current.sha256 if current else None,
        "size": current.size if current else None,
        "links": {
            "self": url_for("api.get_document", document_id=document.id),
            "content": url_for("api.get_content", document_id=document.id),
            "verification": url_for("api.get_verification", document_id=document.id),
            "signatures": url_for("api.create_signature", document_id=document.id),
        },
    }
    if detailed:
        latest = latest_verification(document.id)
        numbers = {revision.id: revision.number for revision in document.revisions}
        body["revisions"] = [revision_dict(revision) for revision in document.revisions]
        body["signatures"] = [signature_dict(signature) for signature in document.signatures]
        body["signing"] = signing_state(document, latest).to_dict()
        body["last_verification"] = verification_summary(latest, numbers.get(latest.revision_id) if latest else None)
    return body
