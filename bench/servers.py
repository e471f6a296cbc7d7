"""Gunicorn serving the Dolil app on 127.0.0.1, and memory readings of its processes.

Each server runs in its own session, is stopped by its master's pid, and
writes its output to a log file in the run's temporary directory.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from bench.errors import ServerStartFailed
from config import PROJECT_ROOT
from storage.seaweedfs import HOST, free_port

logger = logging.getLogger(__name__)

SETTINGS_VARIABLE = "DOLIL_BENCH_SETTINGS"
WSGI_APP = "bench.wsgi:app"

_START_TIMEOUT_SECONDS = 60
_STOP_TIMEOUT_SECONDS = 30
# Long uploads of 200 MiB files must not hit gunicorn's worker timeout.
_WORKER_TIMEOUT_SECONDS = 600


class GunicornServer:
    """A gunicorn master with ``workers`` sync workers serving :mod:`bench.wsgi`."""

    def __init__(self, name: str, settings_path: Path, log_dir: Path, *, workers: int = 1) -> None:
        self.name = name
        self.settings_path = settings_path
        self.log_path = log_dir / f"gunicorn-{name}.log"
        self.workers = workers
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"gunicorn {self.name} is not running")
        return self._process.pid

    def start(self) -> None:
        """Start gunicorn and wait until all its workers run and ``/healthz`` returns 200."""
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"{HOST}:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", "sync",
            "--timeout", str(_WORKER_TIMEOUT_SECONDS),
            "--chdir", str(PROJECT_ROOT),
            WSGI_APP,
        ]
        environment = dict(os.environ, **{SETTINGS_VARIABLE: str(self.settings_path)})
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                command,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        logger.info("gunicorn %s starting: pid=%d url=%s workers=%d", self.name, self._process.pid,
                    self.base_url, self.workers)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise ServerStartFailed(f"gunicorn {self.name}",
                                        f"exited with code {self._process.returncode}; see {self.log_path}")
            if len(self.worker_pids()) == self.workers and self._healthy():
                return
            time.sleep(0.1)
        raise ServerStartFailed(f"gunicorn {self.name}",
                                f"not ready within {_START_TIMEOUT_SECONDS} s; see {self.log_path}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's worker processes."""
        if self._process is None:
            return []
        return child_pids(self._process.pid)

    def stop(self) -> None:
        """Send SIGTERM to the master, which stops its workers; SIGKILL the session after a timeout."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("gunicorn %s still running %d s after SIGTERM, sending SIGKILL: pid=%d",
                               self.name, _STOP_TIMEOUT_SECONDS, process.pid)
                # start_new_session made the master the leader of a process group with its workers.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        logger.info("gunicorn %s stopped: pid=%d exit_code=%s", self.name, process.pid, process.returncode)

    def __enter__(self) -> GunicornServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def child_pids(parent: int) -> list[int]:
    """Return the pids of the direct children of ``parent``, read from /proc."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may contain spaces; the fields after it are fixed.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent:
            children.append(int(entry.name))
    return sorted(children)


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(f"{key} not found in /proc/{pid}/status")


def resident_bytes(pid: int) -> int:
    """Return the process's current resident set size (VmRSS)."""
    return _status_kib(pid, "VmRSS") * 1024


def peak_resident_bytes(pid: int) -> int:
    """Return the process's peak resident set size (VmHWM) since start or the last reset."""
    return _status_kib(pid, "VmHWM") * 1024


def reset_peak_resident(pid: int) -> None:
    """Reset VmHWM to the current RSS by writing 5 to /proc/PID/clear_refs (Linux 4.0 and later)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
