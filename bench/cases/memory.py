"""Peak resident memory of a gunicorn worker while it uploads, signs and serves large files."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bench.client import DolilClient
from bench.context import RunContext, describe_document
from bench.deployment import Deployment
from bench.pdfs import MIB, describe_size
from bench.results import Row, Section, Target
from bench.servers import GunicornServer, peak_resident_bytes, reset_peak_resident, resident_bytes
from bench.stats import Stats

logger = logging.getLogger(__name__)

MEMORY_TARGET_BYTES = 64 * MIB
TARGET_LABEL = "200 MiB"

METHOD = """\
Each figure comes from a freshly started gunicorn with one sync worker (SQLite
deployment). The worker first handles one upload, signature and read of the
sample minutes, so that its imports and caches are warm. Its VmRSS after that is
the idle figure. The suite resets the worker's VmHWM (`echo 5 > /proc/PID/clear_refs`),
sends one request and reads VmHWM from `/proc/PID/status`. Growth is peak minus
idle, in MiB, measured once per size. The baseline is the size of the file
itself, so the ratio is the number of file-sized copies the worker held at its
peak. Upload is `POST /api/v1/documents`; sign is `POST .../signatures` on that
document; download is the first `GET .../content` of the signed revision
(fixity check and validation) and then a repeat read. The server's upload limit
is raised to 256 MiB for this case (the service's default is 50 MiB).
"""


def _measure_request(server: GunicornServer, request: Callable[[], object]) -> tuple[int, int]:
    """Run ``request`` and return the worker's idle RSS before it and its peak RSS during it."""
    (worker,) = server.worker_pids()
    idle = resident_bytes(worker)
    reset_peak_resident(worker)
    request()
    return idle, peak_resident_bytes(worker)


def _warm_up(officer: DolilClient, auditor: DolilClient, sample: bytes) -> None:
    document = officer.upload(sample, title="Memory warm-up")
    officer.sign(document["id"])
    auditor.content(document["id"])


def run(context: RunContext, deployment: Deployment, section: Section) -> None:
    sample = context.sample()
    for label, size in context.config.memory_sizes:
        data = context.generated(label, size)
        measurements: dict[str, tuple[int, int]] = {}
        document_id: str | None = None

        for phase in ("upload", "sign", "download"):
            server = GunicornServer(f"memory-{phase}", deployment.settings_path, context.log_dir, workers=1)
            with server:
                officer = DolilClient(server.base_url, deployment.officer_token)
                auditor = DolilClient(server.base_url, deployment.auditor_token)
                _warm_up(officer, auditor, sample)
                if phase == "upload":
                    def upload() -> None:
                        nonlocal document_id
                        document_id = officer.upload(data, title=f"Memory {label}")["id"]
                    measurements["upload"] = _measure_request(server, upload)
                elif phase == "sign":
                    measurements["sign"] = _measure_request(server, lambda: officer.sign(document_id))
                else:
                    measurements["download, first read"] = _measure_request(
                        server, lambda: auditor.content(document_id))
                    measurements["download, repeat read"] = _measure_request(
                        server, lambda: auditor.content(document_id))

        for operation, (idle, peak) in measurements.items():
            growth = (peak - idle) / MIB
            logger.info("memory %s %s: idle %.0f MiB, peak %.0f MiB, growth %.0f MiB",
                        operation, label, idle / MIB, peak / MIB, growth)
            target = None
            if label == TARGET_LABEL and operation in ("upload", "download, first read", "download, repeat read"):
                target = Target("growth < 64 MiB", MEMORY_TARGET_BYTES / MIB, statistic="median", inclusive=False)
            section.rows.append(Row(
                f"{operation} {describe_document(label, len(data))}", "MiB", Stats.of([growth]),
                "file size", Stats.of([len(data) / MIB]), target,
                note=f"idle {idle / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB",
            ))
