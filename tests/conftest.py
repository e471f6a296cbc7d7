"""Shared fixtures: an application on a real SeaweedFS, a real database and the
development PKI.

The database is SQLite in a temporary directory unless
``DOLIL_TEST_DATABASE_URL`` names another one (CI sets it to PostgreSQL). Each
test gets a freshly migrated schema and drops it afterwards.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from config import Settings

pytest_plugins = ["tests.fixtures.seaweedfs", "tests.fixtures.pki", "tests.fixtures.softhsm", "tests.fixtures.testpki"]

@pytest.fixture(scope="session")
def archive_bucket() -> str:
    """One object-locked bucket for the session; object keys are never reused, so tests share it.

    It lives in the session's SeaweedFS data directory, which pytest removes.
    """
    return f"dolil-archive-{uuid.uuid4().hex[:16]}"


def _database_url(tmp_path: Path) -> str:
    import os

    return os.environ.get("DOLIL_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'dolil.sqlite3'}"


def _drop_schema() -> None:
    from service.extensions import db

    db.session.remove()
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(db.text("DROP TABLE IF EXISTS alembic_version"))


def build_settings(tmp_path: Path, seaweedfs, dev_pki, bucket: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        env="testing",
        secret_key=secrets.token_hex(16),
        data_dir=tmp_path / "var",
        database_url=_database_url(tmp_path),
        embedded_s3=False,
        s3_endpoint=seaweedfs.endpoint,
        s3_access_key=seaweedfs.access_key,
        s3_secret_key=seaweedfs.secret_key,
        s3_bucket=bucket,
        retention_mode="GOVERNANCE",
        retention_days=1,
        dev_pki=True,
        trust_anchors_dir=dev_pki.trust_dir,
        intermediates_dir=dev_pki.intermediates_dir,
        revocation_mode="soft-fail",
        max_upload_bytes=4 * 1024 * 1024,
        # Tests share one bucket: each test's audit checkpoints get a prefix of their own.
        audit_checkpoint_prefix=f"audit/{tmp_path.name}/",
    )
    values.update(overrides)
    return Settings(**values).validate()


@pytest.fixture
def make_app(tmp_path, seaweedfs, dev_pki, archive_bucket) -> Iterator:
    """A factory of migrated applications; each is torn down after the test."""
    from flask_migrate import upgrade

    from service import create_app

    created: list[Flask] = []

    def factory(*, create_bucket: bool = True, **overrides: object) -> Flask:
        settings = build_settings(tmp_path, seaweedfs, dev_pki, archive_bucket, **overrides)
        app = create_app(settings)
        with app.app_context():
            if not created:
                # A run that was killed may have left its schema behind in a
                # shared PostgreSQL database.
                _drop_schema()
                upgrade()
            if create_bucket:
                app.extensions["dolil"].store.ensure_bucket()
        created.append(app)
        return app

    yield factory

    if created:
        with created[0].app_context():
            _drop_schema()


@pytest.fixture
def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    from storage.seaweedfs import free_port

    return free_port()


@pytest.fixture
def app(make_app) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def tokens(app, dev_pki) -> dict[str, str]:
    """One user and token per role; the officer has the development PKCS#12 credential."""
    from service.auth import issue_token
    from service.extensions import db
    from service.models import User
    from tests.helpers import bound_credential

    issued: dict[str, str] = {}
    for role in ("officer", "auditor", "service", "admin"):
        user = User(username=f"test-{role}", role=role, display_name=f"Test {role}")
        db.session.add(user)
        issued[role] = issue_token(user, label="test")
        if role == "officer":
            db.session.add(bound_credential(user=user, kind="pkcs12", location=str(dev_pki.officer_p12_path),
                                             secret_file=str(dev_pki.officer_passphrase_path)))
    db.session.commit()
    return issued


@pytest.fixture
def chair_token(app, dev_pki, tmp_path) -> str:
    """A second officer, the meeting's chair, with a credential of their own from the development PKI."""
    from service.auth import issue_token
    from service.extensions import db
    from service.models import User
    from tests.helpers import bound_credential
    from signing.devpki import issue_certificate

    issued = issue_certificate(dev_pki, "Test Chair")
    p12_path = tmp_path / "chair.p12"
    passphrase_path = tmp_path / "chair.pass"
    p12_path.write_bytes(issued.to_pkcs12(b"chair-passphrase"))
    passphrase_path.write_bytes(b"chair-passphrase")
    user = User(username="test-chair", role="officer", display_name="Test Chair")
    db.session.add(user)
    db.session.add(bound_credential(user=user, kind="pkcs12", location=str(p12_path), secret_file=str(passphrase_path)))
    token = issue_token(user, label="test")
    db.session.commit()
    return token


@pytest.fixture
def unlocked_app(app, make_app, make_bucket_name) -> Iterator[Flask]:
    """An app whose store uses a bucket with neither object lock nor versioning.

    A PUT under an existing key then replaces the stored bytes in place, which
    is how tests tamper with an archived object below the service. It depends
    on ``app`` so that its own context is the innermost one, which CLI commands
    invoked in the test then use.
    """
    from storage import ObjectStore

    app = make_app()
    with app.app_context():
        parts = app.extensions["dolil"]
        unlocked = ObjectStore(parts.store.client, make_bucket_name(), object_lock=False, versioning=False)
        unlocked.ensure_bucket()
        parts.__dict__["store"] = unlocked
        yield app
