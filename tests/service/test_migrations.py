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
