"""The audit log for auditors: filtered, newest first, paged by event id."""

from __future__ import annotations

from flask import request

from ..auth import require_permission
from ..bengali import parse_date
from ..extensions import db
from ..models import AuditEvent, User
from . import bp
from .inputs import invalid_field, query_arg
from .serializers import iso

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def event_dict(event: AuditEvent, usernames: dict[int, str]) -> dict:
    return {
        "id": event.id,
        "sequence": event.sequence,
        "occurred_at": iso(event.occurred_at),
        "actor": usernames.get(event.actor_id) if event.actor_id is not None else None,
        "action": event.action,
        "outcome": event.outcome,
        "document_id": event.document_id,
        "remote_addr": event.remote_addr,
        "request_id": event.request_id,
        "details": event.details,
        "previous_hash": event.previous_hash,
        "event_hash": event.event_hash,
    }


@bp.get("/audit-events")
@require_permission("audit:read")
def list_audit_events() -> dict:
    query = db.select(AuditEvent)
    for name, column in (("document_id", AuditEvent.document_id), ("action", AuditEvent.action),
                         ("outcome", AuditEvent.outcome)):
        value = query_arg(name)
        if value:
            query = query.where(column == value)

    actor = query_arg("actor")
    if actor:
        query = query.join(User, User.id == AuditEvent.actor_id).where(User.username == actor)

    for name, operator in (("since", "__ge__"), ("until", "__lt__")):
        value = query_arg(name)
        if value:
            try:
                day = parse_date(value)
            except ValueError:
                raise invalid_field(name, "use YYYY-MM-DD or DD/MM/YYYY",
                                    "YYYY-MM-DD অথবা দিন/মাস/বছর রূপে দিন") from None
            query = query.where(getattr(db.func.date(AuditEvent.occurred_at), operator)(day.isoformat()))

    try:
        limit = int(request.args.get("limit", DEFAULT_PAGE_SIZE))
        before = int(request.args["before"]) if request.args.get("before") else None
    except ValueError:
        raise invalid_field("limit", f"use whole numbers; limit from 1 to {MAX_PAGE_SIZE}",
                            "পূর্ণসংখ্যা দিন; সীমা ১ থেকে ৫০০") from None
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise invalid_field("limit", f"use a number from 1 to {MAX_PAGE_SIZE}", "১ থেকে ৫০০-এর মধ্যে একটি সংখ্যা দিন")
    if before is not None:
        query = query.where(AuditEvent.id < before)

    events = list(db.session.execute(query.order_by(AuditEvent.id.desc()).limit(limit + 1)).scalars())
    page, more = events[:limit], len(events) > limit
    actor_ids = {event.actor_id for event in page if event.actor_id is not None}
    usernames = dict(db.session.execute(db.select(User.id, User.username).where(User.id.in_(actor_ids))).all())
    return {"items": [event_dict(event, usernames) for event in page],
            "next_before": page[-1].id if more else None}
