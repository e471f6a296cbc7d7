"""Smoke test of the benchmark suite: every case runs on tiny files and the report gets its tables.

It runs ``python -m bench --smoke`` in a subprocess, which starts its own
SeaweedFS and gunicorn servers on 127.0.0.1. PostgreSQL cases run only when
DOLIL_TEST_DATABASE_URL names a PostgreSQL database. Timings are not checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TABLE_HEADER = "| Case | Dolil median | min–max | Baseline | Baseline median |"


def test_bench_smoke_writes_report(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    command = [sys.executable, "-m", "bench", "--smoke", "--output", str(output)]
    database_url = os.environ.get("DOLIL_TEST_DATABASE_URL", "")
    if database_url.startswith("postgresql"):
        command += ["--postgres-url", database_url]
    else:
        command.append("--no-postgres")

    completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False)

    assert completed.returncode == 0, completed.stderr[-4000:]
    report = output.read_text(encoding="utf-8")
    assert TABLE_HEADER in report
    signing_rows = [line for line in report.splitlines() if line.startswith("| sign sample")]
    assert signing_rows, report
