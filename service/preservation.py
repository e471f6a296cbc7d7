"""Preservation jobs run from the CLI: fixity audits and reconciliation of the
object store with the database.

A revision whose stored bytes no longer match its SHA-256, or whose object is
missing, is recorded as a failed verification and an audit event. Its document
then shows the failure as its last verification, and reads of it keep being
refused with ``fixity_mismatch`` or ``stored_object_missing``. Nothing is
deleted or repaired automatically, because the archive cannot tell which copy
is authentic without a person looking at it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from storage import ObjectNotFound, StorageError, StoredObject

from .archive import finish_retention
from .audit import record_event
from .components import components
from .extensions import db
from .models import JobCursor, Revision, ValidationData, Verification, as_utc

log = logging.getLogger(__name__)

FIXITY_JOB = "fixity"
OBJECT_PREFIX = "documents/"


@dataclass
class FixityResult:
    checked: int = 0
    mismatched: list[Revision] = field(default_factory=list)
    missing: list[Revision] = field(default_factory=list)
    validation_data_mismatched: list[ValidationData] = field(default_factory=list)
    validation_data_missing: list[ValidationData] = field(default_factory=list)
    wrapped: bool = False


def check_fixity(limit: int | None = None, *, restart: bool = False,
                 progress: Callable[[int, Revision], None] | None = None) -> FixityResult:
    """Re-hash stored revisions in id order, continuing where the previous run stopped.

    Each revision's validation-data bundle, where it has one, is re-hashed
    with it. At most ``limit`` revisions are checked per run; the position is
    kept in the database, so a run that is interrupted or limited resumes.
    After the last revision the next run starts from the first again.
    """
    store = components().store
    cursor = db.session.get(JobCursor, FIXITY_JOB) or JobCursor(name=FIXITY_JOB, position="")
    if restart:
        cursor.position = ""
    db.session.add(cursor)

    query = db.select(Revision).where(Revision.id > cursor.position).order_by(Revision.id)
    if limit is not None:
        query = query.limit(limit)
    revisions = list(db.session.execute(query).scalars())
    result = FixityResult(wrapped=limit is None or len(revisions) < limit)

    for revision in revisions:
        outcome, actual = _check_revision(store, revision)
        result.checked += 1
        if outcome == "mismatch":
            result.mismatched.append(revision)
        elif outcome == "missing":
            result.missing.append(revision)
        if outcome != "ok":
            db.session.add(Verification(document_id=revision.document_id, revision_id=revision.id,
                                        fixity_ok=False, actual_sha256=actual))
        details = {"revision": revision.number, "expected_sha256": revision.sha256, "actual_sha256": actual}
        bundle = db.session.execute(
            db.select(ValidationData).where(ValidationData.revision_id == revision.id)
        ).scalar_one_or_none()
        if bundle is not None:
            bundle_outcome, bundle_actual = _check_object(store, bundle.object_key, bundle.version_id, bundle.sha256,
                                                          f"validation data of document {revision.document_id} "
                                                          f"revision {revision.number}")
            if bundle_outcome == "mismatch":
                result.validation_data_mismatched.append(bundle)
            elif bundle_outcome == "missing":
                result.validation_data_missing.append(bundle)
            details["validation_data"] = {"outcome": bundle_outcome, "expected_sha256": bundle.sha256,
                                          "actual_sha256": bundle_actual}
            if outcome == "ok":
                outcome = bundle_outcome
        # Set before the audit event, so the cursor's row lock is taken before
        # the audit lock, in the order every other transaction uses.
        cursor.position = revision.id
        record_event("fixity.check", outcome, document_id=revision.document_id, details=details)
        # Commit per revision, so an interrupted run keeps what it checked.
        db.session.commit()
        if progress is not None:
            progress(result.checked, revision)

    if result.wrapped:
        cursor.position = ""
        db.session.commit()
    log.info("fixity run: checked=%d mismatched=%d missing=%d validation_data_mismatched=%d "
             "validation_data_missing=%d", result.checked, len(result.mismatched), len(result.missing),
             len(result.validation_data_mismatched), len(result.validation_data_missing))
    return result


def _check_revision(store, revision: Revision) -> tuple[str, str | None]:
    return _check_object(store, revision.object_key, revision.version_id, revision.sha256,
                         f"document {revision.document_id} revision {revision.number}")


def _check_object(store, key: str, version_id: str | None, expected: str, label: str) -> tuple[str, str | None]:
    """Re-hash one object version as it streams in; return ``ok``, ``mismatch`` or ``missing`` and the digest."""
    try:
        with open(os.devnull, "wb") as sink:
            actual, _ = store.get_to_file(key, version_id, sink)
    except ObjectNotFound:
        log.error("fixity: object missing: %s key=%s version=%s", label, key, version_id)
        return "missing", None
    if actual != expected:
        log.error("fixity: mismatch: %s expected=%s actual=%s", label, expected, actual)
        return "mismatch", actual
    return "ok", actual


@dataclass
class ReconcileResult:
    orphans: list[StoredObject] = field(default_factory=list)
    discarded: list[StoredObject] = field(default_factory=list)
    kept: list[tuple[StoredObject, str]] = field(default_factory=list)
    missing: list[Revision] = field(default_factory=list)
    missing_validation_data: list[ValidationData] = field(default_factory=list)
    skipped_recent: int = 0
    # Revisions whose final retention was set by this run, and those where it failed.
    retention_finished: list[Revision] = field(default_factory=list)
    retention_failed: list[Revision] = field(default_factory=list)


def reconcile(*, discard: bool = False, min_age: timedelta = timedelta(hours=1)) -> ReconcileResult:
    """Compare the stored versions with the revision rows.

    Orphans are versions without a row: left by a process that died between
    the object write and the database commit. Versions younger than
    ``min_age`` are skipped, because their upload may still be committing.
    With ``discard`` an orphan is deleted where its retention allows; a locked
    one is kept and reported. Missing objects are rows without a version;
    validation-data bundles count like revisions. Revisions still marked as
    waiting for their final retention (the process died, or the store failed,
    after the commit) get it now.
    """
    store = components().store
    known = {(revision.object_key, revision.version_id): revision
             for revision in db.session.execute(db.select(Revision)).scalars()}
    bundles = {(row.object_key, row.version_id): row
               for row in db.session.execute(db.select(ValidationData)).scalars()}
    seen: set[tuple[str, str | None]] = set()
    result = ReconcileResult()
    cutoff = datetime.now(timezone.utc) - min_age

    for version in store.all_versions(OBJECT_PREFIX):
        identity = (version.key, version.version_id)
        seen.add(identity)
        if identity in known or identity in bundles:
            continue
        if version.last_modified is not None and as_utc(version.last_modified) > cutoff:
            result.skipped_recent += 1
            continue
        orphan = StoredObject(version.key, version.version_id, "0" * 64, version.size)
        result.orphans.append(orphan)
        if not discard:
            continue
        try:
            store.discard(orphan)
        except StorageError as error:
            result.kept.append((orphan, str(error)))
            continue
        result.discarded.append(orphan)
        record_event("storage.orphan_discarded", "success", details={"key": orphan.key, "version_id": orphan.version_id})
        # Committed at once: the audit lock must not stay held while the listing goes on.
        db.session.commit()

    result.missing = [revision for identity, revision in known.items() if identity not in seen]
    for revision in result.missing:
        log.error("reconcile: object missing: document=%s revision=%d key=%s", revision.document_id,
                  revision.number, revision.object_key)
    result.missing_validation_data = [row for identity, row in bundles.items() if identity not in seen]
    for row in result.missing_validation_data:
        log.error("reconcile: validation data missing: document=%s revision=%d key=%s", row.document_id,
                  row.revision.number, row.object_key)
    db.session.commit()

    missing_ids = {revision.id for revision in result.missing}
    missing_bundle_ids = {row.id for row in result.missing_validation_data}
    pending = db.session.execute(
        db.select(Revision).where(Revision.retention_pending.is_(True)).order_by(Revision.id)
    ).scalars().all()
    for revision in pending:
        if revision.id in missing_ids:
            continue
        stored = StoredObject(revision.object_key, revision.version_id, revision.sha256, revision.size)
        bundle = db.session.execute(
            db.select(ValidationData).where(ValidationData.revision_id == revision.id)
        ).scalar_one_or_none()
        # A bundle reported missing above cannot take a retention; the
        # revision's own retention is still finished.
        companions = () if bundle is None or bundle.id in missing_bundle_ids else (
            StoredObject(bundle.object_key, bundle.version_id, bundle.sha256, bundle.size),)
        if finish_retention(stored, companions):
            result.retention_finished.append(revision)
            log.info("reconcile: final retention set: document=%s revision=%d", revision.document_id, revision.number)
        else:
            result.retention_failed.append(revision)

    log.info("reconcile: orphans=%d discarded=%d kept=%d missing=%d missing_validation_data=%d skipped_recent=%d "
             "retention_finished=%d retention_failed=%d", len(result.orphans), len(result.discarded),
             len(result.kept), len(result.missing), len(result.missing_validation_data), result.skipped_recent,
             len(result.retention_finished), len(result.retention_failed))
    return result
