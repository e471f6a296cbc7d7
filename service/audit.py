"""The append-only audit log.

Each event stores the SHA-256 of its own canonical content together with the
hash of the event before it, so removing or editing a row breaks the chain
for every later row. Events are numbered 1, 2, 3... by ``sequence``.

Appends are serialised on the single ``audit_chain_head`` row: an appender
first updates that row, which on PostgreSQL takes its row lock and on SQLite
takes the database's write lock, and only then reads the head it links to.
A second appender waits until the first commits or rolls back, so two events
never link to the same predecessor.

Checkpoints (``service.audit_checkpoints``) write the head to the object store
under object lock, so that a rewrite of the whole chain is still detected.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event as sa_event
from sqlalchemy import update

from .extensions import db
from .models import AuditChainHead, AuditEvent, User, as_utc, utcnow

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
HEAD_ID = 1

# Session.info key of the checkpoints that become due when the session commits.
_DUE_CHECKPOINTS = "dolil_audit_checkpoints_due"


def event_digest(event) -> str:
    """Return the SHA-256 of an event's canonical content; ``event`` is a model or a row."""
    canonical = json.dumps(
        {
            "previous_hash": event.previous_hash,
            "occurred_at": as_utc(event.occurred_at).isoformat(),
            "actor_id": event.actor_id,
            "action": event.action,
            "outcome": event.outcome,
            "document_id": event.document_id,
            "remote_addr": event.remote_addr,
            "request_id": event.request_id,
            "details": event.details,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _advance_head() -> tuple[int, str]:
    """Claim the next sequence number and return it with the hash to link to.

    The UPDATE comes before any read, so it holds the lock by the time the head
    is read, and keeps it until the caller's transaction ends.
    """
    table = AuditChainHead.__table__
    row = db.session.execute(
        update(table).where(table.c.id == HEAD_ID).values(sequence=table.c.sequence + 1)
        .returning(table.c.sequence, table.c.event_hash)
    ).first()
    if row is None:
        # A schema made without the migrations has no head row yet.
        last = db.session.execute(
            db.select(AuditEvent.sequence, AuditEvent.event_hash).order_by(AuditEvent.sequence.desc()).limit(1)
        ).first()
        sequence, previous = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        db.session.execute(table.insert().values(id=HEAD_ID, sequence=sequence, event_hash=previous))
        return sequence, previous
    return row[0], row[1]


def record_event(
    action: str,
    outcome: str,
    *,
    actor: User | None = None,
    document_id: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Append an audit event in the session; the caller commits it with its own changes.

    From this call until the commit, other appenders wait for this transaction.
    """
    sequence, previous = _advance_head()
    event = AuditEvent(
        sequence=sequence,
        occurred_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        outcome=outcome,
        document_id=document_id,
        remote_addr=request.remote_addr if has_request_context() else None,
        request_id=g.get("request_id") if has_request_context() else None,
        details=details or {},
        previous_hash=previous,
    )
    event.event_hash = event_digest(event)
    table = AuditChainHead.__table__
    db.session.execute(update(table).where(table.c.id == HEAD_ID).values(event_hash=event.event_hash))
    db.session.add(event)

    every = current_app.config["DOLIL_SETTINGS"].audit_checkpoint_every if has_app_context() else 0
    if every and sequence % every == 0:
        db.session.info.setdefault(_DUE_CHECKPOINTS, []).append(sequence)
    return event


@sa_event.listens_for(db.session, "after_commit")
def _write_due_checkpoints(session) -> None:
    due = session.info.pop(_DUE_CHECKPOINTS, None)
    if not due:
        return
    from .audit_checkpoints import CheckpointError, write_checkpoint

    for sequence in due:
        try:
            # A new session: this one emits no SQL after its commit.
            with db.session.session_factory() as reader:
                write_checkpoint(reader, sequence)
        except CheckpointError as error:
            log.error("audit checkpoint at sequence %d not written: %s", sequence, error)


@sa_event.listens_for(db.session, "after_rollback")
def _forget_due_checkpoints(session) -> None:
    session.info.pop(_DUE_CHECKPOINTS, None)


@dataclass(frozen=True)
class Problem:
    """One finding of a verification: the event it concerns (when known) and why."""

    sequence: int | None
    event_id: int | None
    reason: str

    def describe(self) -> str:
        where = f"event {self.sequence} (id {self.event_id})" if self.event_id is not None else (
            f"event {self.sequence}" if self.sequence is not None else "audit log")
        return f"{where}: {self.reason}"


@dataclass
class ChainResult:
    events: int = 0
    last_sequence: int = 0
    problems: list[Problem] = field(default_factory=list)


def check_chain() -> ChainResult:
    """Walk the events in sequence order and report every broken link, hash or number.

    The chain head row must name the last event; a head ahead of the events
    means events were removed from the end.
    """
    result = ChainResult()
    previous_hash = GENESIS_HASH
    expected = 1
    # Plain rows rather than entities, so a long log does not fill the identity map.
    rows = db.session.execute(
        db.select(*AuditEvent.__table__.columns).order_by(AuditEvent.sequence, AuditEvent.id)
        .execution_options(yield_per=1000)
    )
    for event in rows:
        reasons = []
        if event.sequence != expected:
            reasons.append(f"numbered {event.sequence} where {expected} was expected")
        if event.previous_hash != previous_hash:
            reasons.append("does not link to the event before it")
        if event_digest(event) != event.event_hash:
            reasons.append("its content does not match its hash")
        if reasons:
            result.problems.append(Problem(event.sequence, event.id, "; ".join(reasons)))
        previous_hash = event.event_hash
        expected = event.sequence + 1
        result.events += 1
        result.last_sequence = event.sequence

    head = db.session.get(AuditChainHead, HEAD_ID)
    if head is not None and (head.sequence, head.event_hash) != (result.last_sequence, previous_hash):
        result.problems.append(Problem(
            result.last_sequence + 1 if head.sequence > result.last_sequence else None, None,
            f"the chain head names event {head.sequence} with hash {head.event_hash[:16]}..., "
            f"but the log ends at event {result.last_sequence}"))
    return result


def verify_chain() -> list[int]:
    """Return the ids of events whose hash, link or number does not match; empty when intact."""
    return [problem.event_id for problem in check_chain().problems if problem.event_id is not None]
