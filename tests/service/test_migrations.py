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


def test_signer_migration_gives_first_role_to_uploader(app):
    import importlib.util
    from pathlib import Path

    from service.models import SignerAssignment

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0014_add_signer_assignments.py"
    spec = importlib.util.spec_from_file_location("signer_assignments_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    downgrade(revision=migration.down_revision)
    with db.engine.begin() as connection:
        connection.execute(db.text(
            "INSERT INTO users (id, username, display_name, role, active, created_at) "
            "VALUES (1, 'uploader', 'Uploader', 'officer', true, CURRENT_TIMESTAMP)"))
        for document_id, kind in (("fresh-minutes", "minutes"), ("fresh-evidence", "evidence"),
                                  ("signed-minutes", "minutes")):
            connection.execute(db.text(
                "INSERT INTO documents (id, kind, title, created_by_id, created_at, legal_hold) "
                "VALUES (:id, :kind, 'title', 1, CURRENT_TIMESTAMP, false)"), {"id": document_id, "kind": kind})
        connection.execute(db.text(
            "INSERT INTO revisions (id, document_id, number, object_key, sha256, size, reason, source_type, "
            "created_by_id, created_at, retention_pending) VALUES ('revision-1', 'signed-minutes', 2, 'key', "
            "'00', 1, 'signed', 'pdf', 1, CURRENT_TIMESTAMP, false)"))
        connection.execute(db.text(
            "INSERT INTO signatures (document_id, revision_id, field_name, role, signed_by_id, created_at) "
            "VALUES ('signed-minutes', 'revision-1', 'Signature1', 'member_secretary', 1, CURRENT_TIMESTAMP)"))

    upgrade()

    holders = {(row.document_id, row.role, row.user_id) for row in db.session.query(SignerAssignment)}
    assert holders == {("fresh-minutes", "member_secretary", 1), ("fresh-evidence", "submitter", 1)}
