"""The append-only audit log.

Each event stores the SHA-256 of its own canonical content together with the
hash of the event before it, so removing or editing a row breaks the chain
for every later row.
"""

from __future__ import annotations

import hashlib
import json
import logging

from flask import g, has_request_context, request

from .extensions import db
from .models import AuditEvent, User, as_utc, utcnow

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# The PostgreSQL advisory lock that serialises appends to the chain: "dolil" in ASCII.
AUDIT_CHAIN_LOCK = 0x646F6C696C


def _event_digest(event: AuditEvent) -> str:
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


def record_event(
    action: str,
    outcome: str,
    *,
    actor: User | None = None,
    document_id: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the session; the caller commits it with its own changes.

    On PostgreSQL the transaction first takes an advisory lock held until it
    ends, so appends from every process and host run one after the other and
    each links to the event committed before it. Pending changes are flushed
    before the lock, so the caller's row locks are taken before it. A caller
    that writes more rows after this call risks a deadlock, which PostgreSQL
    ends with an error that becomes a 503. On SQLite the flush
    takes the database's write lock when the transaction has written anything;
    several processes sharing one database need PostgreSQL.
    """
    db.session.flush()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(db.text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})
    previous = db.session.execute(
        db.select(AuditEvent.event_hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        outcome=outcome,
        document_id=document_id,
        remote_addr=request.remote_addr if has_request_context() else None,
        request_id=g.get("request_id") if has_request_context() else None,
        details=details or {},
        previous_hash=previous or GENESIS_HASH,
    )
    event.event_hash = _event_digest(event)
    db.session.add(event)
    return event


def verify_chain() -> list[int]:
    """Return the ids of events whose hash or link does not match; empty when intact."""
    broken: list[int] = []
    previous = GENESIS_HASH
    for event in db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars():
        if event.previous_hash != previous or _event_digest(event) != event.event_hash:
            broken.append(event.id)
        previous = event.event_hash
    return broken
