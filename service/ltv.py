"""Long-term validation upkeep: renewal of archival time-stamps (PAdES B-LTA).

:func:`renew_due_revisions` walks the documents in id order and looks at each
current revision. A revision is due when the TSA certificate of its newest
time-stamp (the last document time-stamp, or else the last signature
time-stamp) expires within the margin, or when that time-stamp's digest is
one the validation policy marks for renewal (``algorithms.renewal_digest``).
A due revision gets the validation data of that time-stamp and a new document
time-stamp from the configured TSA (:mod:`signing.renewal`). The result is
validated, and stored as a new locked revision with reason ``renewed``,
together with its validation data, a verification and an audit event.

The job is resumable: its position is kept in ``job_cursors`` and committed
after each document, so an interrupted or ``limit``-ed run continues after the
last document it finished. It is idempotent: a renewed revision's newest
time-stamp comes from the configured TSA, so it is not due again until that
TSA's certificate nears its own expiry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from signing.errors import SigningError
from signing.renewal import NewestTimestamp, inspect_newest_timestamp, renew_archival_timestamp, renewal_reasons
from storage import StorageError

from .archive import (
    lost_verdict,
    read_revision,
    record_fixity_failure,
    _validate,
    sha256_hex,
    store_next_revision,
)
from .audit import record_event
from .components import components
from .extensions import db
from .models import Document, JobCursor, Revision, User
from .problems import ApiProblem

log = logging.getLogger(__name__)

RENEWAL_JOB = "ltv-renew"
RENEWED_REASON = "renewed"


class RenewalRejected(Exception):
    """Raised for a renewed file that the archive will not store; the message gives the reason."""


@dataclass(frozen=True)
class RenewalOutcome:
    """The renewal job's finding and action for one document's current revision."""

    document_id: str
    revision: int
    reasons: tuple[str, ...]
    newest: NewestTimestamp
    new_revision: int | None = None
    error: str | None = None


@dataclass
class RenewalRun:
    examined: int = 0
    due: list[RenewalOutcome] = field(default_factory=list)
    renewed: list[RenewalOutcome] = field(default_factory=list)
    failed: list[RenewalOutcome] = field(default_factory=list)
    wrapped: bool = False
    """The run reached the last document, so the next one starts from the first."""


def renewal_user() -> User:
    """Return the user that renewed revisions are recorded under (DOLIL_LTV_RENEWAL_USER)."""
    username = components().settings.ltv_renewal_user
    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise LookupError(
            f"renewal user {username!r} not found or inactive: create it with "
            f"'flask users create {username} --role service' or set DOLIL_LTV_RENEWAL_USER"
        )
    return user


def renew_due_revisions(
    *,
    margin: timedelta,
    dry_run: bool = False,
    limit: int | None = None,
    restart: bool = False,
    at: datetime | None = None,
    progress: Callable[[RenewalOutcome], None] | None = None,
) -> RenewalRun:
    """Renew the archival time-stamps of the current revisions that are due at ``at`` (default: now).

    With ``dry_run`` nothing is written: due revisions are only reported and
    the job's position stays where it was. At most ``limit`` documents are
    examined per run. ``progress`` is called with each due revision's outcome
    after it is handled.
    """
    parts = components()
    policy = parts.policy
    user = None if dry_run else renewal_user()
    if not dry_run and parts.timestamper is None:
        raise LookupError("no time-stamping service configured: set DOLIL_TSA_URL")

    cursor = db.session.get(JobCursor, RENEWAL_JOB) or JobCursor(name=RENEWAL_JOB, position="")
    position = "" if restart else cursor.position
    query = db.select(Document).where(Document.id > position).order_by(Document.id)
    if limit is not None:
        query = query.limit(limit)
    documents = list(db.session.execute(query).scalars())
    run = RenewalRun(wrapped=limit is None or len(documents) < limit)

    for document in documents:
        run.examined += 1
        outcome = _examine(document, policy, margin, at)
        if outcome is not None:
            run.due.append(outcome)
            if not dry_run:
                outcome = _renew(document, outcome, user)
                (run.failed if outcome.error else run.renewed).append(outcome)
            if progress is not None:
                progress(outcome)
        if not dry_run:
            # Commit per document, so an interrupted run resumes after it.
            cursor.position = document.id
            db.session.add(cursor)
            db.session.commit()

    if run.wrapped and not dry_run:
        cursor.position = ""
        db.session.add(cursor)
        db.session.commit()
    log.info("ltv renewal run: examined=%d due=%d renewed=%d failed=%d dry_run=%s", run.examined, len(run.due),
             len(run.renewed), len(run.failed), dry_run)
    return run


def _examine(document: Document, policy, margin: timedelta, at: datetime | None) -> RenewalOutcome | None:
    """Return the outcome of a due current revision, or None when it has no time-stamp or is not due.

    NOTE: this reads every current revision's bytes on each run, because the
    newest time-stamp's expiry is not recorded in the database.
    """
    revision = document.current_revision
    if revision is None:
        return None
    try:
        data, digest = read_revision(document, revision, None)
    except ApiProblem:
        # read_revision has logged the missing object and written it to the audit log.
        return None
    if digest != revision.sha256:
        record_fixity_failure(document, revision, digest, None)
        return None
    try:
        newest = inspect_newest_timestamp(data)
    except SigningError as error:
        log.warning("ltv renewal: cannot read time-stamps of document=%s revision=%d: %s", document.id,
                    revision.number, error)
        return None
    if newest is None:
        return None
    reasons = renewal_reasons(newest, policy, margin=margin, at=at)
    if not reasons:
        return None
    return RenewalOutcome(document.id, revision.number, reasons, newest)


def _renew(document: Document, outcome: RenewalOutcome, user: User) -> RenewalOutcome:
    revision = document.current_revision
    parts = components()
    try:
        data, digest = read_revision(document, revision, user)
        if digest != revision.sha256:
            record_fixity_failure(document, revision, digest, user)
            raise RenewalRejected("the stored bytes no longer match their SHA-256")
        renewed = renew_archival_timestamp(data, parts.timestamper, parts.policy)
        new_revision = store_renewed_revision(document, revision, user, data, renewed, outcome)
    except (SigningError, RenewalRejected, StorageError, IntegrityError, ApiProblem) as error:
        db.session.rollback()
        message = error.code if isinstance(error, ApiProblem) else str(error)
        log.error("ltv renewal failed: document=%s revision=%d error=%s", document.id, revision.number, message)
        record_event("document.ltv_renew", "failure", actor=user, document_id=document.id,
                     details={"revision": revision.number, "reasons": list(outcome.reasons), "error": message})
        db.session.commit()
        return RenewalOutcome(document.id, revision.number, outcome.reasons, outcome.newest, error=message)
    return RenewalOutcome(document.id, revision.number, outcome.reasons, outcome.newest,
                          new_revision=new_revision.number)


def store_renewed_revision(document: Document, revision: Revision, user: User, previous_data: bytes,
                           renewed: bytes, outcome: RenewalOutcome) -> Revision:
    """Validate a renewed PDF and store it as the revision after ``revision``, with its validation data.

    ``previous_data`` holds the bytes of ``revision``, their fixity checked.
    Raises :class:`RenewalRejected` when a signature that passed in them does
    not pass in the renewed file.
    """
    digest = sha256_hex(renewed)
    report, _ = _validate(renewed, digest, fresh=True)
    previous, _ = _validate(previous_data, revision.sha256, fresh=False)
    lost = lost_verdict(previous, report)
    if lost is not None:
        verdict = next((entry.indication for entry in report.signatures if entry.field_name == lost), None)
        raise RenewalRejected(f"signature {lost} would no longer pass: {verdict}")

    newest = outcome.newest
    new_revision = store_next_revision(
        document, revision, user, renewed, digest, len(renewed), report, reason=RENEWED_REASON,
        event=("document.ltv_renew", {
            "previous_revision": revision.number,
            "sha256": digest,
            "reasons": list(outcome.reasons),
            "previous_tsa": newest.tsa_subject,
            "previous_tsa_not_after": newest.tsa_not_after.isoformat() if newest.tsa_not_after else None,
            "previous_digest": newest.digest_algorithm,
            "indication": report.indication,
        }),
    )
    log.info("archival time-stamp renewed: document=%s revision=%d sha256=%s reasons=%s indication=%s",
             document.id, new_revision.number, digest, ",".join(outcome.reasons), report.indication)
    return new_revision
