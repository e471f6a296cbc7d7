"""Liveness and readiness probes.

``/healthz`` checks nothing beyond the process responding, so a load balancer
does not take every worker out when one dependency fails. ``/readyz`` checks
the database, the schema version and the bucket, and returns 503 with the
result of each check when any fails.
"""

from __future__ import annotations

import logging

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app

from .components import components
from .extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


def _check_database() -> None:
    db.session.execute(db.text("SELECT 1"))


def _check_migrations() -> None:
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        raise RuntimeError(f"database at {sorted(current) or 'no revision'}, code expects {sorted(heads)}")


def _check_bucket() -> None:
    components().store.check()


CHECKS = {"database": _check_database, "migrations": _check_migrations, "bucket": _check_bucket}


@bp.get("/readyz")
def readyz() -> tuple[dict, int]:
    results: dict[str, dict[str, str]] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = {"status": "ok"}
        except Exception as error:
            log.warning("readiness check %s failed: %s", name, error)
            db.session.rollback()
            # The probe is anonymous: the error class is enough to point an
            # operator at the log line, which has the full message.
            results[name] = {"status": "failed", "error": type(error).__name__}
    ready = all(result["status"] == "ok" for result in results.values())
    return {"status": "ok" if ready else "failed", "checks": results}, 200 if ready else 503
