"""The migrations create exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from service.extensions import db


def test_migrated_schema_matches_models(app):
    result = app.test_cli_runner().invoke(args=["db", "check"])

    assert result.exit_code == 0, result.output


def test_downgrade_and_upgrade_again(app):
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

    upgrade()

    assert {"documents", "revisions", "signatures", "audit_events"} <= set(inspect(db.engine).get_table_names())


def test_audit_sequence_migration_numbers_existing_events(app):
    from service.audit import check_chain, record_event
    from service.models import AuditChainHead, AuditEvent

    for number in range(3):
        record_event("test.event", "success", details={"number": number})
        db.session.commit()
    hashes = [row.event_hash for row in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    db.session.remove()

    downgrade(revision="3f2c9a41d7be")
    upgrade()

    events = db.session.query(AuditEvent).order_by(AuditEvent.id).all()
    assert [event.sequence for event in events] == [1, 2, 3]
    assert [event.event_hash for event in events] == hashes
    head = db.session.get(AuditChainHead, 1)
    assert (head.sequence, head.event_hash) == (3, hashes[-1])
    assert check_chain().problems == []
