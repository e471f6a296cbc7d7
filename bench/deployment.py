"""Migrated Dolil databases with an officer and an auditor, and a temporary PostgreSQL database.

Settings go to a JSON file so that gunicorn workers build the same app as
the benchmark process, which runs the migrations and creates the accounts.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from config import Settings
from signing.devpki import DevPki
from storage.seaweedfs import EmbeddedSeaweedFS

logger = logging.getLogger(__name__)

_PATH_FIELDS = ("data_dir", "trust_anchors_dir", "intermediates_dir")
# Large enough for the 200 MiB uploads of the memory case. The service's own
# default is 50 MiB.
MAX_UPLOAD_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Deployment:
    """A migrated database with accounts, the settings that use it, and API tokens."""

    name: str
    settings: Settings
    settings_path: Path
    officer_token: str
    auditor_token: str


def build_settings(
    work_dir: Path, database_url: str, seaweedfs: EmbeddedSeaweedFS, pki: DevPki, bucket: str
) -> Settings:
    """Return settings like the test suite's: external SeaweedFS, development PKI, soft-fail revocation."""
    return Settings(
        env="testing",
        secret_key=secrets.token_hex(16),
        data_dir=work_dir / "var",
        database_url=database_url,
        embedded_s3=False,
        s3_endpoint=seaweedfs.endpoint,
        s3_access_key=seaweedfs.access_key,
        s3_secret_key=seaweedfs.secret_key,
        s3_bucket=bucket,
        retention_mode="GOVERNANCE",
        retention_days=1,
        dev_pki=True,
        trust_anchors_dir=pki.trust_dir,
        intermediates_dir=pki.intermediates_dir,
        revocation_mode="soft-fail",
        max_upload_bytes=MAX_UPLOAD_BYTES,
        validation_policy_name="bench",
    ).validate()


def write_settings(settings: Settings, path: Path) -> None:
    """Write ``settings`` as JSON readable only by the owner, because it contains the secrets."""
    values = {
        item.name: getattr(settings, item.name) for item in dataclasses.fields(Settings) if item.name != "extra"
    }
    for name in _PATH_FIELDS:
        if values[name] is not None:
            values[name] = str(values[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(values))


def read_settings(path: Path) -> Settings:
    """Read settings written by :func:`write_settings`."""
    values = json.loads(path.read_text())
    for name in _PATH_FIELDS:
        if values[name] is not None:
            values[name] = Path(values[name])
    return Settings(**values).validate()


def prepare_deployment(name: str, settings: Settings, settings_path: Path, pki: DevPki) -> Deployment:
    """Migrate the database, create the bucket, an officer with a credential and an auditor.

    The accounts mirror the test suite's ``tokens`` fixture: the officer signs
    with the development PKCS#12 credential.
    """
    from flask_migrate import upgrade

    from service import create_app
    from service.auth import issue_token
    from service.extensions import db
    from service.credentials import development_credential
    from service.models import User

    # The benchmark process only migrates and creates accounts, so it logs warnings only.
    app = create_app(settings.replace(log_level="WARNING"))
    with app.app_context():
        upgrade()
        app.extensions["dolil"].store.ensure_bucket()
        officer = User(username="bench-officer", role="officer", display_name="Benchmark officer")
        auditor = User(username="bench-auditor", role="auditor", display_name="Benchmark auditor")
        db.session.add_all([officer, auditor])
        officer_token = issue_token(officer, label="bench")
        auditor_token = issue_token(auditor, label="bench")
        db.session.add(development_credential(officer, pki))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    write_settings(settings, settings_path)
    logger.info("deployment %s ready: database=%s", name, make_url(settings.sqlalchemy_url).render_as_string())
    return Deployment(name, settings, settings_path, officer_token, auditor_token)


class TemporaryPostgresDatabase:
    """A database created on a PostgreSQL server for one run and dropped afterwards.

    ``server_url`` names any database on the server that the user may connect
    to. The new database gets a random ``dolil_bench_`` name, so concurrent runs
    do not collide.
    """

    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(server_url)
        self.name = f"dolil_bench_{uuid.uuid4().hex[:12]}"
        self.url = self.server_url.set(database=self.name).render_as_string(hide_password=False)
        self.server_version: str | None = None
        self._created = False

    def _admin_engine(self) -> sa.Engine:
        return sa.create_engine(self.server_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)

    def create(self) -> None:
        engine = self._admin_engine()
        try:
            with engine.connect() as connection:
                self.server_version = connection.execute(sa.text("SHOW server_version")).scalar_one()
                connection.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        finally:
            engine.dispose()
        self._created = True
        logger.info("PostgreSQL database %s created", self.name)

    def drop(self) -> None:
        if not self._created:
            return
        engine = self._admin_engine()
        try:
            with engine.connect() as connection:
                # FORCE (PostgreSQL 13 and later) ends connections left by a server that was killed.
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            engine.dispose()
        self._created = False
        logger.info("PostgreSQL database %s dropped", self.name)

    def __enter__(self) -> TemporaryPostgresDatabase:
        self.create()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.drop()


def postgres_reachable(server_url: str) -> str | None:
    """Return the server version if ``server_url`` accepts a connection, else None."""
    engine = sa.create_engine(server_url, poolclass=sa.NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SHOW server_version")).scalar_one()
    except sa.exc.SQLAlchemyError as error:
        logger.info("PostgreSQL at %s not reachable: %s", make_url(server_url).render_as_string(),
                    str(error).splitlines()[0])
        return None
    finally:
        engine.dispose()
