"""Real processes for the fault tests: a PostgreSQL cluster of their own, the
service under gunicorn, and the control of its fault-injection pause points.

Every server binds to 127.0.0.1 on a free port, and every process is stopped
by the pid this module started it with.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import urllib3

from config import PROJECT_ROOT
from service.faults import DIRECTORY_VARIABLE
from storage.seaweedfs import free_port
from tests.helpers import MINUTES_PDF, skip_unless_required

HOST = "127.0.0.1"
START_TIMEOUT = 60.0


def _postgres_bindir() -> Path | None:
    """Return the directory of initdb and pg_ctl: Debian keeps them in /usr/lib/postgresql/<major>/bin."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


class PostgresCluster:
    """A PostgreSQL cluster created with initdb in a temporary directory, on 127.0.0.1 only.

    PostgreSQL refuses to run as root, so under root the cluster belongs to the
    ``postgres`` user and its commands run as that user.
    """

    def __init__(self) -> None:
        bindir = _postgres_bindir()
        if bindir is None:
            skip_unless_required("PostgreSQL server binaries (initdb, pg_ctl) not installed")
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="dolil-faults-pg-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgresql.log"
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError:
                skip_unless_required("running as root without a 'postgres' user to own the test cluster")
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        self.root.chmod(0o755)

    def _run(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        user = {} if self._user is None else {"user": self._user.pw_uid, "group": self._user.pw_gid,
                                                "extra_groups": []}
        return subprocess.run([str(self.bindir / arguments[0]), *arguments[1:]], cwd=self.root, check=check,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=START_TIMEOUT, **user)

    def init(self) -> None:
        self._run("initdb", "--no-sync", "--auth=trust", "--username=postgres", "--encoding=UTF8",
                  "--locale=C", f"--pgdata={self.data_dir}")

    def start(self) -> None:
        options = f"-c listen_addresses={HOST} -p {self.port} -k {self.root}"
        result = self._run("pg_ctl", "start", "--wait", "--timeout=60", f"--pgdata={self.data_dir}",
                           f"--log={self.log_path}", f"--options={options}", check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {result.stderr.decode(errors='replace')}\n{self.log_tail()}")

    def crash(self) -> None:
        """Stop at once, as a crash would: every backend exits, and the next start recovers from the WAL."""
        self._run("pg_ctl", "stop", "--mode=immediate", "--wait", f"--pgdata={self.data_dir}")

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "--mode=fast", "--wait", f"--pgdata={self.data_dir}", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError as error:
            return f"(no log: {error})"


class FaultControl:
    """Arms the service's pause points (service/faults.py) through files in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def arm(self, point: str) -> None:
        """Make the next request of any process that reaches ``point`` pause there."""
        (self.directory / f"{point}.release").unlink(missing_ok=True)
        # A process killed while it paused leaves its file behind.
        (self.directory / f"{point}.reached").unlink(missing_ok=True)
        (self.directory / f"{point}.armed").write_text("")

    def wait_reached(self, point: str, timeout: float = 30.0) -> int:
        """Wait until a process pauses at ``point`` and return its pid."""
        reached = self.directory / f"{point}.reached"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = reached.read_text()
            except FileNotFoundError:
                text = ""
            if text:
                return int(text)
            time.sleep(0.02)
        raise AssertionError(f"no process paused at {point} within {timeout} s")

    def release(self, point: str) -> None:
        (self.directory / f"{point}.release").write_text("")


class AppProcess:
    """The service under gunicorn with sync workers, as it runs in production."""

    def __init__(self, environment: dict[str, str], log_path: Path, *, workers: int = 1) -> None:
        self.environment = environment
        self.log_path = log_path
        self.workers = workers
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=60))

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        command = [str(Path(sys.prefix) / "bin" / "gunicorn"), "--bind", f"{HOST}:{self.port}",
                   "--workers", str(self.workers), "--timeout", "60", "--graceful-timeout", "5",
                   # The app is built before the workers fork, so a replaced worker serves at once.
                   "--preload",
                   "service:create_app()"]
        env = {name: value for name, value in os.environ.items() if not name.startswith("DOLIL_")}
        env.update(self.environment)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until a worker responds to /healthz, for instance after gunicorn replaced a killed one."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.http.request("GET", self.url + "/healthz", timeout=2).status == 200:
                    return
            except urllib3.exceptions.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready within {START_TIMEOUT} s:\n{self.log_tail()}")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def request(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        headers.setdefault("Accept-Language", "en")
        return self.http.request(method, self.url + path, headers=headers, **kwargs)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError as error:
            return f"(no log: {error})"


def app_environment(settings, fault_dir: Path) -> dict[str, str]:
    """Return the DOLIL_* environment that makes a process run with ``settings``."""
    values = {
        "DOLIL_ENV": settings.env,
        "DOLIL_SECRET_KEY": settings.secret_key,
        "DOLIL_DATA_DIR": str(settings.data_dir),
        "DOLIL_DATABASE_URL": settings.database_url,
        "DOLIL_EMBEDDED_S3": "0",
        "DOLIL_S3_ENDPOINT": settings.s3_endpoint,
        "DOLIL_S3_ACCESS_KEY": settings.s3_access_key,
        "DOLIL_S3_SECRET_KEY": settings.s3_secret_key,
        "DOLIL_S3_BUCKET": settings.s3_bucket,
        "DOLIL_RETENTION_MODE": settings.retention_mode,
        "DOLIL_RETENTION_DAYS": str(settings.retention_days),
        "DOLIL_DEV_PKI": "1",
        "DOLIL_TRUST_ANCHORS_DIR": str(settings.trust_anchors_dir),
        "DOLIL_INTERMEDIATES_DIR": str(settings.intermediates_dir),
        "DOLIL_REVOCATION_MODE": settings.revocation_mode,
        "DOLIL_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
        DIRECTORY_VARIABLE: str(fault_dir),
    }
    return values


def run_cli(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    """Run ``flask --app service ...`` in a process of its own, as an operator or cron does."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("DOLIL_")}
    env.update(environment)
    env.pop(DIRECTORY_VARIABLE, None)
    return subprocess.run([str(Path(sys.prefix) / "bin" / "flask"), "--app", "service", *arguments],
                          cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)


def upload(process: AppProcess, token: str, *, key: str | None = None, title: str = "সভার কার্যবিবরণী"):
    """POST the sample minutes, with an Idempotency-Key when ``key`` is given."""
    headers = {"Idempotency-Key": key} if key else {}
    fields = {"kind": "minutes", "title": title,
              "file": ("minutes.pdf", MINUTES_PDF.read_bytes(), "application/pdf")}
    return process.request("POST", "/api/v1/documents", token, headers=headers, fields=fields)


def sign(process: AppProcess, token: str, document_id: str):
    """Sign the document's current revision invisibly in the next role of its signing order."""
    return process.request("POST", f"/api/v1/documents/{document_id}/signatures", token, body=b"{}",
                           headers={"Content-Type": "application/json"})


def body(response) -> dict:
    return json.loads(response.data)


def assert_retry_later(response, code: str) -> None:
    """Check that a request during an outage got a 503 problem with Retry-After, not a 500."""
    assert response.status == 503, response.data
    assert response.headers["Content-Type"] == "application/problem+json"
    assert body(response)["code"] == code
    assert int(response.headers["Retry-After"]) > 0


def kill_worker(process: AppProcess, pid: int) -> None:
    """SIGKILL one gunicorn worker of ``process``, after checking that it is one."""
    assert process.process is not None and pid != process.process.pid
    assert os.getpgid(pid) == process.process.pid, f"pid {pid} is not a worker of gunicorn {process.process.pid}"
    os.kill(pid, signal.SIGKILL)
