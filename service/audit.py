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

    NOTE: two transactions that append at the same moment can both link to the
    same predecessor. The chain then forks, and a later integrity check reports it.
    Serialising appends needs a row lock on PostgreSQL.
    """
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
