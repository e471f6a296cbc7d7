"""Validation data kept with a revision: the certificates, CRLs and OCSP responses
its validation at archive time used, so that a later auditor can read what was known then.

The bundle (JSON with base64 DER, format in :mod:`signing.validation_data`) is
stored as one object in the locked bucket, under the same key prefix and
retention as the revision's PDF, and recorded in a ``validation_data`` row with
its SHA-256. The object is written before the row; the caller commits the row
through :func:`service.archive._store_with_row`, which discards both objects
when the commit fails. Reads check the bytes against the recorded SHA-256.

``flask fixity check`` re-hashes each bundle with its revision, and ``flask
storage reconcile`` lists a bundle whose object is missing.
"""

from __future__ import annotations

import hashlib
import logging

from signing.validation import ValidationReport
from storage import ObjectNotFound, StoredObject, new_object_key

from .audit import record_event
from .components import components
from .extensions import db
from .models import Document, Revision, User, ValidationData
from .problems import ApiProblem

log = logging.getLogger(__name__)

BUNDLE_CONTENT_TYPE = "application/json"


def build_bundle(document: Document, revision_number: int, revision_sha256: str,
                 report: ValidationReport) -> bytes | None:
    """Return the validation-data bundle of a report, or None when the report collected none."""
    if report.material is None:
        return None
    return report.material.to_bundle(
        document_id=document.id,
        revision=revision_number,
        revision_sha256=revision_sha256,
        validated_at=report.validated_at,
        policy=report.policy,
        policy_fingerprint=report.policy_fingerprint,
        indication=report.indication,
    )


def put_bundle(document: Document, bundle: bytes) -> StoredObject:
    """Store a bundle under the document's key prefix with the document kind's retention and hold."""
    parts = components()
    digest = hashlib.sha256(bundle).hexdigest()
    stored = parts.store.put(new_object_key(document.id, suffix="json"), bundle, sha256=digest,
                             content_type=BUNDLE_CONTENT_TYPE,
                             retention_days=parts.settings.retention_days_for(document.kind))
    if document.legal_hold:
        parts.store.set_legal_hold(stored.key, stored.version_id, True)
    return stored


def validation_data_row(document: Document, revision: Revision, stored: StoredObject) -> ValidationData:
    return ValidationData(document_id=document.id, revision=revision, object_key=stored.key,
                          version_id=stored.version_id, sha256=stored.sha256, size=stored.size)


def rows_of(document: Document) -> list[ValidationData]:
    return list(db.session.execute(
        db.select(ValidationData).where(ValidationData.document_id == document.id).order_by(ValidationData.id)
    ).scalars())


def read_validation_data(document: Document, number: int, user: User) -> tuple[ValidationData, bytes]:
    """Return the row and bytes of a revision's bundle after checking their fixity.

    A missing object or a SHA-256 mismatch is logged, written to the audit log
    and raised as a problem; the bytes are never returned then.
    """
    revision = db.session.execute(
        db.select(Revision).where(Revision.document_id == document.id, Revision.number == number)
    ).scalar_one_or_none()
    if revision is None:
        raise ApiProblem("revision_not_found", document_id=document.id, revision=number)
    row = db.session.execute(
        db.select(ValidationData).where(ValidationData.revision_id == revision.id)
    ).scalar_one_or_none()
    if row is None:
        raise ApiProblem("validation_data_not_found", revision=number)

    details = {"revision": number, "key": row.object_key, "validation_data": True}
    try:
        data = components().store.get(row.object_key, row.version_id)
    except ObjectNotFound:
        log.error("validation data missing: document=%s revision=%d key=%s version=%s",
                  document.id, number, row.object_key, row.version_id)
        record_event("validation_data.fixity", "missing", actor=user, document_id=document.id, details=details)
        db.session.commit()
        raise ApiProblem("stored_object_missing", revision=number) from None

    actual = hashlib.sha256(data).hexdigest()
    if actual != row.sha256:
        log.error("validation data fixity mismatch: document=%s revision=%d key=%s expected=%s actual=%s",
                  document.id, number, row.object_key, row.sha256, actual)
        record_event("validation_data.fixity", "failure", actor=user, document_id=document.id,
                     details={**details, "expected_sha256": row.sha256, "actual_sha256": actual})
        db.session.commit()
        raise ApiProblem("fixity_mismatch", revision=number)

    record_event("validation_data.read", "success", actor=user, document_id=document.id,
                 details={"revision": number, "sha256": row.sha256})
    db.session.commit()
    return row, data
