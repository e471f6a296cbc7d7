"""The audit log: the auditors' API and the hash chain's tamper evidence."""

from __future__ import annotations

from service.audit import verify_chain
from service.extensions import db
from service.models import AuditEvent
from tests.helpers import MINUTES_PDF, bearer, upload


def _events(client, token, **params):
    response = client.get("/api/v1/audit-events", query_string=params, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _activity(client, tokens) -> str:
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))
    client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    return document_id


def test_auditor_reads_document_history(client, tokens):
    document_id = _activity(client, tokens)

    page = _events(client, tokens["auditor"], document_id=document_id)

    assert [item["action"] for item in page["items"]] == ["document.read", "document.sign", "document.upload"]
    assert page["items"][0]["actor"] == "test-auditor"
    assert page["items"][1]["previous_hash"] == page["items"][2]["event_hash"]


def test_filters_and_paging(client, tokens):
    _activity(client, tokens)
    _activity(client, tokens)

    first = _events(client, tokens["auditor"], action="document.upload", limit=1)
    second = _events(client, tokens["auditor"], action="document.upload", limit=1, before=first["next_before"])
    by_actor = _events(client, tokens["auditor"], actor="test-officer")

    assert len(first["items"]) == 1
    assert second["items"][0]["id"] < first["items"][0]["id"]
    assert second["next_before"] is None
    assert {item["actor"] for item in by_actor["items"]} == {"test-officer"}


def test_officer_cannot_read_log(client, tokens):
    response = client.get("/api/v1/audit-events", headers=bearer(tokens["officer"]))

    assert response.status_code == 403


def test_chain_detects_altered_row(app, client, tokens):
    _activity(client, tokens)
    event = db.session.query(AuditEvent).order_by(AuditEvent.id).first()
    event.outcome = "failure"
    db.session.commit()

    assert verify_chain() == [event.id]
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert str(event.id) in result.output


def test_chain_detects_deleted_row(client, tokens):
    _activity(client, tokens)
    events = db.session.query(AuditEvent).order_by(AuditEvent.id).all()
    db.session.delete(events[1])
    db.session.commit()

    assert verify_chain() == [events[2].id]


def test_chain_detects_reordered_rows(client, tokens):
    _activity(client, tokens)
    first, second = db.session.query(AuditEvent).order_by(AuditEvent.id).limit(2).all()
    first_id, second_id = first.id, second.id
    # Swap the contents of two rows, keeping their ids.
    fields = ("occurred_at", "actor_id", "action", "outcome", "document_id", "remote_addr", "request_id",
              "details", "previous_hash", "event_hash")
    first_values = {name: getattr(first, name) for name in fields}
    second_values = {name: getattr(second, name) for name in fields}
    second.event_hash = "0" * 64
    db.session.flush()
    for name in fields:
        setattr(first, name, second_values[name])
    db.session.flush()
    for name in fields:
        setattr(second, name, first_values[name])
    db.session.commit()

    assert first_id in verify_chain()
    assert second_id in verify_chain()
