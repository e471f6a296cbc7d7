"""Fixtures of the fault tests: a PostgreSQL cluster the session owns, and
deployments of the service in gunicorn processes on that cluster.

Each deployment has a database and a bucket of its own, so the reconciler
sees only the objects of its test.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from storage.seaweedfs import EmbeddedSeaweedFS, free_port
from tests.conftest import build_settings
from tests.fixtures.seaweedfs import new_credentials

from .harness import AppProcess, FaultControl, PostgresCluster, app_environment, run_cli


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def dedicated_seaweedfs(tmp_path: Path) -> Iterator[EmbeddedSeaweedFS]:
    """A SeaweedFS of this test alone, which the test may kill and start again."""
    access_key, secret_key = new_credentials()
    server = EmbeddedSeaweedFS(tmp_path / "seaweedfs", access_key=access_key, secret_key=secret_key,
                               s3_port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Deployment:
    """One Dolil installation: database, bucket, users, and the gunicorn processes serving it."""

    settings: object
    app: Flask
    environment: dict[str, str]
    faults: FaultControl
    tokens: dict[str, str]
    tmp_path: Path
    processes: list[AppProcess] = field(default_factory=list)

    def start_process(self) -> AppProcess:
        process = AppProcess(self.environment, self.tmp_path / f"gunicorn-{len(self.processes)}.log")
        self.processes.append(process)
        process.start()
        return process

    def cli(self, *arguments: str, separate_process: bool = False):
        """Run a ``flask`` command on this deployment, in this process or, as cron would, in its own."""
        if separate_process:
            return run_cli(self.environment, *arguments)
        result = self.app.test_cli_runner().invoke(args=list(arguments))
        with self.app.app_context():
            from service.extensions import db

            db.session.remove()
        return SimpleNamespace(returncode=result.exit_code, stdout=result.output, stderr="")

    def reconcile(self, *arguments: str, separate_process: bool = False):
        return self.cli("storage", "reconcile", "--min-age-minutes", "0", *arguments,
                        separate_process=separate_process)

    def assert_consistent(self, process: AppProcess, acknowledged: dict[str, int]) -> None:
        """Check the guarantees that survive every fault.

        Every acknowledged document is served, verified, at least at the
        revision it was acknowledged with, and its PDF contains every recorded
        signature. Every revision row has its object with the recorded bytes.
        The revision numbers of each document run 1, 2, 3 ... with the last one
        current, and the audit chain is intact.
        """
        from service.audit import verify_chain
        from service.extensions import db
        from service.models import Document, Revision

        for document_id, revision_number in acknowledged.items():
            response = process.request("GET", f"/api/v1/documents/{document_id}/content", self.tokens["auditor"])
            assert response.status == 200, response.data
            assert response.headers["Dolil-Fixity"] == "passed"
            assert response.headers["Dolil-Content-SHA256"] == hashlib.sha256(response.data).hexdigest()
            assert int(response.headers["Dolil-Revision"]) >= revision_number
            # Each signature row is in the served PDF and validates: none was lost.
            detail = process.request("GET", f"/api/v1/documents/{document_id}", self.tokens["auditor"])
            signatures = json.loads(detail.data)["signatures"]
            assert int(response.headers["Dolil-Signature-Count"]) == len(signatures)
            assert response.headers["Dolil-Validation"] == ("TOTAL_PASSED" if signatures else "NO_SIGNATURE")

        with self.app.app_context():
            store = self.app.extensions["dolil"].store
            for revision in db.session.execute(db.select(Revision)).scalars():
                data = store.get(revision.object_key, revision.version_id)
                assert hashlib.sha256(data).hexdigest() == revision.sha256
            for document in db.session.execute(db.select(Document)).scalars():
                numbers = [revision.number for revision in document.revisions]
                assert numbers == list(range(1, len(numbers) + 1))
                assert document.current_revision.number == numbers[-1]
                assert len(document.signatures) == numbers[-1] - 1
            assert verify_chain() == []
            db.session.remove()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        with self.app.app_context():
            from service.extensions import db

            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def make_deployment(tmp_path, postgres_cluster, dev_pki) -> Iterator:
    """A factory of deployments on the session's PostgreSQL cluster; each is stopped after the test."""
    from flask_migrate import upgrade

    from service import create_app
    from service.auth import issue_token
    from service.extensions import db
    from service.models import User
    from signing.devpki import issue_certificate
    from tests.helpers import bound_credential

    deployments: list[Deployment] = []

    def factory(s3, bucket: str, **overrides: object) -> Deployment:
        database_url = postgres_cluster.create_database(f"dolil_faults_{uuid.uuid4().hex[:12]}")
        settings = build_settings(tmp_path, s3, dev_pki, bucket, database_url=database_url, **overrides)
        app = create_app(settings)
        tokens: dict[str, str] = {}
        with app.app_context():
            upgrade()
            app.extensions["dolil"].store.ensure_bucket()
            credentials = {"officer": (dev_pki.officer_p12_path, dev_pki.officer_passphrase_path)}
            for name, common_name in (("officer2", "Second Officer"), ("officer3", "Third Officer")):
                issued = issue_certificate(dev_pki, common_name)
                p12_path, passphrase_path = tmp_path / f"{name}.p12", tmp_path / f"{name}.pass"
                p12_path.write_bytes(issued.to_pkcs12(b"passphrase"))
                passphrase_path.write_bytes(b"passphrase")
                credentials[name] = (p12_path, passphrase_path)
            for name, role in (("officer", "officer"), ("officer2", "officer"), ("officer3", "officer"),
                               ("auditor", "auditor")):
                user = User(username=f"fault-{name}", role=role, display_name=f"Fault {name}")
                db.session.add(user)
                tokens[name] = issue_token(user, label="fault test")
                if name in credentials:
                    p12, passphrase = credentials[name]
                    db.session.add(bound_credential(user=user, kind="pkcs12", location=str(p12),
                                                    secret_file=str(passphrase)))
            db.session.commit()
            db.session.remove()
        faults = FaultControl(tmp_path / "faults")
        deployment = Deployment(settings, app, app_environment(settings, faults.directory), faults, tokens, tmp_path)
        deployments.append(deployment)
        return deployment

    yield factory

    for deployment in deployments:
        deployment.stop()
