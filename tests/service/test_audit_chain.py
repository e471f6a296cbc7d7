"""The audit chain under concurrent appends, and the authentication events it records.

Run with DOLIL_TEST_DATABASE_URL set to a PostgreSQL database to test the row
lock there; by default the database is SQLite.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from service.audit import check_chain, record_event
from service.auth import TOKEN_USE_AUDIT_INTERVAL, hash_token
from service.extensions import db
from service.models import ApiToken, AuditEvent, utcnow
from tests.helpers import bearer

EVENTS_PER_THREAD = 20


def _append_concurrently(app, threads: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def append(worker: int) -> None:
        try:
            with app.app_context():
                start.wait(timeout=30)
                for number in range(EVENTS_PER_THREAD):
                    record_event("test.concurrent", "success", details={"worker": worker, "number": number})
                    # Hold the transaction open a moment, so that an appender
                    # that did not wait for this one would read the same head.
                    time.sleep(0.002)
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported to the test below
            errors.append(error)

    workers = [threading.Thread(target=append, args=(worker,)) for worker in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return errors


def test_concurrent_appends_form_one_chain(app):
    errors = _append_concurrently(app, threads=2)

    assert errors == []
    events = db.session.query(AuditEvent).order_by(AuditEvent.sequence).all()
    assert len(events) == 2 * EVENTS_PER_THREAD
    assert [event.sequence for event in events] == list(range(1, 2 * EVENTS_PER_THREAD + 1))
    # A fork shows as two events linking to the same predecessor.
    assert len({event.previous_hash for event in events}) == len(events)
    assert {event.details["worker"] for event in events} == {0, 1}
    assert check_chain().problems == []


def test_missing_token_is_audited(client, tokens):
    response = client.get("/api/v1/documents")

    assert response.status_code == 401
    event = db.session.query(AuditEvent).filter_by(action="authentication.failed").one()
    assert event.outcome == "failure"
    assert event.actor_id is None
    assert event.details == {"reason": "missing", "method": "GET", "path": "/api/v1/documents"}


def test_unknown_and_revoked_tokens_are_audited(client, tokens):
    token = db.session.query(ApiToken).filter_by(token_hash=hash_token(tokens["auditor"])).one()
    token.revoked_at = utcnow()
    db.session.commit()

    unknown = client.get("/api/v1/documents", headers=bearer("dolil_not-a-token"))
    revoked = client.get("/api/v1/documents", headers=bearer(tokens["auditor"]))

    assert (unknown.status_code, revoked.status_code) == (401, 401)
    events = db.session.query(AuditEvent).filter_by(action="authentication.failed").order_by(AuditEvent.sequence).all()
    assert [event.details["reason"] for event in events] == ["unknown", "revoked"]
    assert events[1].actor_id == token.user_id
    assert events[1].details["token_id"] == token.id
    assert check_chain().problems == []


def test_token_use_is_audited_once_per_interval(client, tokens):
    def token_uses() -> list[AuditEvent]:
        return db.session.query(AuditEvent).filter_by(action="authentication.token_used").all()

    client.get("/api/v1/documents", headers=bearer(tokens["officer"]))
    client.get("/api/v1/documents", headers=bearer(tokens["officer"]))
    assert len(token_uses()) == 1

    token = db.session.query(ApiToken).filter_by(token_hash=hash_token(tokens["officer"])).one()
    token.last_used_at = utcnow() - TOKEN_USE_AUDIT_INTERVAL - timedelta(minutes=1)
    db.session.commit()
    client.get("/api/v1/documents", headers=bearer(tokens["officer"]))

    uses = token_uses()
    assert len(uses) == 2
    assert {event.details["token_id"] for event in uses} == {token.id}
    assert uses[0].details["label"] == "test"
