"""Run every case against one SeaweedFS, SQLite and (when reachable) PostgreSQL, and write the report."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

from bench.cases import http_latency, listing, memory, signing_speed, throughput, validation_speed
from bench.client import DolilClient
from bench.context import RunConfig, RunContext
from bench.deployment import (
    Deployment,
    TemporaryPostgresDatabase,
    build_settings,
    postgres_reachable,
    prepare_deployment,
)
from bench.machine import machine_facts, software_versions
from bench.report import RunSummary, render
from bench.results import Section
from bench.servers import GunicornServer
from signing.devpki import ensure_dev_pki
from storage import make_client
from storage.seaweedfs import EmbeddedSeaweedFS, free_port

logger = logging.getLogger(__name__)

PLAIN_BUCKET = "bench-plain"


class SuiteResult:
    """The sections of a run and the cases that raised instead of finishing."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.failures: list[str] = []

    def guarded(self, section: Section, case: str, func: Callable[[], object]) -> None:
        """Run ``func``; on an exception log it, note it in ``section`` and carry on with the next case."""
        try:
            func()
        except Exception as error:
            logger.error("case %s failed: %s\n%s", case, error, traceback.format_exc())
            section.notes.append(f"**{case} failed**: {type(error).__name__}: {error}")
            self.failures.append(case)


def _deployment(name: str, work_dir: Path, database_url: str, seaweedfs: EmbeddedSeaweedFS, context: RunContext,
                bucket: str) -> Deployment:
    settings = build_settings(work_dir / name.lower(), database_url, seaweedfs, context.pki, bucket)
    return prepare_deployment(name, settings, work_dir / name.lower() / "settings.json", context.pki)


def _latency_cases(context: RunContext, deployment: Deployment, result: SuiteResult,
                   sections: dict[str, Section]) -> None:
    with GunicornServer(f"{deployment.name}-latency", deployment.settings_path, context.log_dir) as server:
        officer = DolilClient(server.base_url, deployment.officer_token)
        auditor = DolilClient(server.base_url, deployment.auditor_token)
        result.guarded(sections["e2e"], f"end to end on {deployment.name}",
                       lambda: http_latency.run_end_to_end(context, deployment, officer, sections["e2e"]))
        result.guarded(sections["retrieval"], f"retrieval on {deployment.name}",
                       lambda: http_latency.run_retrieval(context, deployment, officer, auditor,
                                                          sections["retrieval"]))


def _throughput_case(context: RunContext, deployment: Deployment, section: Section) -> None:
    config = context.config
    with GunicornServer(f"{deployment.name}-throughput", deployment.settings_path, context.log_dir,
                        workers=config.throughput_workers) as server:
        officer = DolilClient(server.base_url, deployment.officer_token, connections=config.throughput_clients)
        auditor = DolilClient(server.base_url, deployment.auditor_token, connections=config.throughput_clients)
        throughput.run(context, deployment, officer, auditor, section)


def _listing_case(context: RunContext, deployment: Deployment, section: Section) -> None:
    with GunicornServer(f"{deployment.name}-listing", deployment.settings_path, context.log_dir) as server:
        auditor = DolilClient(server.base_url, deployment.auditor_token)
        listing.run(context, deployment, auditor, section)


def _http_cases(context: RunContext, result: SuiteResult, sections: dict[str, Section],
                postgres: Deployment | None) -> None:
    """Run the cases that go through gunicorn; a server that fails to start fails only its cases."""
    for deployment in context.deployments:
        result.guarded(sections["e2e"], f"latency server on {deployment.name}",
                       lambda: _latency_cases(context, deployment, result, sections))
        result.guarded(sections["throughput"], f"throughput on {deployment.name}",
                       lambda: _throughput_case(context, deployment, sections["throughput"]))

    sqlite = context.deployments[0]
    result.guarded(sections["memory"], "memory", lambda: memory.run(context, sqlite, sections["memory"]))

    if postgres is None:
        sections["listing"].notes.append("Skipped: PostgreSQL was not reachable or was disabled.")
        return
    result.guarded(sections["listing"], "listing", lambda: _listing_case(context, postgres, sections["listing"]))


def run_suite(config: RunConfig, output: Path, command: str) -> SuiteResult:
    """Run every case and write the Markdown report to ``output``."""
    started = time.monotonic()
    started_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_at_start = os.getloadavg()
    result = SuiteResult()
    postgres_version = postgres_reachable(config.postgres_url) if config.postgres_url else None

    with tempfile.TemporaryDirectory(prefix="dolil-bench-") as temporary, ExitStack() as stack:
        work_dir = Path(temporary)
        (work_dir / "logs").mkdir()
        pki = ensure_dev_pki(work_dir / "pki")
        seaweedfs = EmbeddedSeaweedFS(work_dir / "seaweedfs", access_key=secrets.token_hex(10),
                                      secret_key=secrets.token_urlsafe(30), s3_port=free_port(),
                                      log_dir=work_dir / "logs")
        stack.enter_context(seaweedfs)
        s3 = make_client(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key)
        s3.make_bucket(PLAIN_BUCKET)
        context = RunContext(config, work_dir, pki, s3, PLAIN_BUCKET)

        signing_section = Section("In-process signing", signing_speed.METHOD)
        result.sections.append(signing_section)
        result.guarded(signing_section, "in-process signing", lambda: signing_speed.run(context, signing_section))
        validation_section = Section("In-process validation", validation_speed.METHOD)
        result.sections.append(validation_section)
        result.guarded(validation_section, "in-process validation",
                       lambda: validation_speed.run(context, validation_section))

        sections = {
            "e2e": Section("Upload + sign + store, end to end", http_latency.E2E_METHOD),
            "retrieval": Section("Verified retrieval", http_latency.RETRIEVAL_METHOD),
            "throughput": Section("Throughput", throughput.method(context)),
            "memory": Section("Peak memory of the service process", memory.METHOD),
            "listing": Section("Listing and filtering", listing.method(context)),
        }
        result.sections.extend(sections.values())

        context.deployments.append(_deployment(
            "SQLite", work_dir, f"sqlite:///{work_dir / 'sqlite.db'}", seaweedfs, context, "dolil-bench-sqlite"))
        postgres: Deployment | None = None
        if postgres_version is not None:
            database = stack.enter_context(TemporaryPostgresDatabase(config.postgres_url))
            postgres = _deployment("PostgreSQL", work_dir, database.url, seaweedfs, context, "dolil-bench-postgresql")
            context.deployments.append(postgres)
        else:
            for key in ("e2e", "retrieval", "throughput"):
                sections[key].notes.append("PostgreSQL: skipped, the server was not reachable or was disabled.")

        _http_cases(context, result, sections, postgres)

        summary = RunSummary(
            command=command,
            started_at=started_at,
            duration_seconds=time.monotonic() - started,
            mode=_describe_mode(config),
            machine=machine_facts(),
            versions=software_versions(postgres_version),
            notes=_run_notes(load_at_start, os.getloadavg()),
        )
        output.write_text(render(summary, result.sections))
        logger.info("report written to %s", output)
        if result.failures:
            # The temporary directory goes away with the servers' logs in it.
            kept_logs = Path(tempfile.mkdtemp(prefix="dolil-bench-logs-"))
            shutil.copytree(work_dir / "logs", kept_logs, dirs_exist_ok=True)
            logger.error("%d case(s) failed; server logs copied to %s", len(result.failures), kept_logs)
    return result


def _describe_mode(config: RunConfig) -> str:
    if config.smoke:
        return ("**smoke** (tiny files, one repetition): these numbers only show that every case runs "
                "and say nothing about performance")
    return (f"full, {config.repetitions} repetitions of fast cases; cases on 10 MiB files use "
            f"{config.repetitions_for(10 * 1024 * 1024)} and on 100 MiB files "
            f"{config.repetitions_for(100 * 1024 * 1024)}, chosen to keep the run within about 15 minutes "
            "on a 2-core machine")


def _run_notes(load_at_start: tuple[float, float, float], load_at_end: tuple[float, float, float]) -> list[str]:
    return [
        f"Load average (1, 5, 15 min) at the start: {', '.join(f'{value:.2f}' for value in load_at_start)}; "
        f"at the end: {', '.join(f'{value:.2f}' for value in load_at_end)}. The suite does not stop other "
        "processes on the machine, and its own servers and clients share the same cores.",
        "Every server (SeaweedFS `weed mini`, gunicorn) binds 127.0.0.1 on a free port, runs from a "
        "temporary directory and is stopped by the suite at the end.",
        "Generated PDFs are pages of uncompressed random grey images, up to 1 MiB each "
        "(`bench.pdfs.generate_pdf`); sizes are in MiB (2^20 bytes).",
        "PostgreSQL cases use a database created for the run (`dolil_bench_<random>`) and dropped at the end.",
    ]
