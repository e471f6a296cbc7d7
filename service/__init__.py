"""Dolil: an archive of signed PDF minutes and evidence.

``create_app`` builds the Flask application from settings in small steps:
settings, extensions, logging, request hooks, blueprints, error handlers and
CLI commands. Nothing connects to the database or the object store here.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping

from flask import Flask, g, request

from config import PROJECT_ROOT, Settings, settings_from_env

from .components import Components
from .extensions import db, migrate
from .logging_setup import configure_logging
from .spool import SpoolingRequest, prepare_spool_dir

log = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Room for the multipart envelope and form fields around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def create_app(settings: Settings | Mapping[str, object] | None = None) -> Flask:
    """Create the application; ``settings`` replaces or overrides the environment's."""
    if not isinstance(settings, Settings):
        settings = _settings_from_env(dict(settings or {}))

    app = Flask(__name__)
    app.request_class = SpoolingRequest
    _configure(app, settings)
    configure_logging(settings)
    _init_extensions(app, settings)
    _register_request_hooks(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _settings_from_env(overrides: dict[str, object]) -> Settings:
    """Build settings from the environment, with what the development server recorded in its data directory.

    This makes `flask --app service ...` commands in a development checkout
    use the development server's revocation mode, retention mode and policy.
    """
    from .devserver import recorded_dev_settings

    settings = settings_from_env(**overrides)
    recorded = {name: value for name, value in recorded_dev_settings(settings.data_dir).items()
                if name not in overrides}
    if not recorded:
        return settings
    return settings_from_env(**recorded, **overrides)


def _configure(app: Flask, settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    prepare_spool_dir(settings)
    app.config.update(
        DOLIL_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.sqlalchemy_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False


def _engine_options(settings: Settings) -> dict[str, object]:
    options: dict[str, object] = {"pool_pre_ping": True}
    url = settings.sqlalchemy_url
    if url.startswith("postgresql") and "connect_timeout=" not in url:
        # libpq waits for a connection without limit by default.
        options["connect_args"] = {"connect_timeout": settings.database_connect_timeout}
    return options


def _init_extensions(app: Flask, settings: Settings) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    app.extensions["dolil"] = Components(settings)


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def start_request() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish_request(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        duration_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info(
            "request: method=%s path=%s status=%d duration_ms=%.1f user=%s request_id=%s",
            request.method, request.path, response.status_code, duration_ms,
            g.get("username", "-"), g.get("request_id"),
        )
        return response


def _register_blueprints(app: Flask) -> None:
    from . import api, health, metrics, web
    from .problems import register_error_handlers

    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    metrics.register_request_metrics(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(web.bp)
    register_error_handlers(app)


def _register_cli(app: Flask) -> None:
    from .cli import register_commands

    register_commands(app)
