"""Throughput of gunicorn with several workers under concurrent clients."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import urllib3

from bench.client import DolilClient
from bench.context import RunContext
from bench.deployment import Deployment
from bench.errors import RequestFailed
from bench.results import Row, Section
from bench.stats import Stats

logger = logging.getLogger(__name__)

# Documents that the read phase spreads its requests over.
READ_DOCUMENTS = 8
# Rounds of sequential and concurrent runs, alternated.
ROUNDS = 5

METHOD = """\
The same app on gunicorn with {workers} sync workers. A run sends a fixed number
of operations; the figure is operations per second over the run's wall-clock
time, with {clients} client threads in the benchmark process, and the baseline is
the same operations sent one after another by one client to the same server.
Sequential and concurrent runs alternate, {rounds} of each. One upload + sign
operation is the upload of the sample minutes followed by its signature (two
requests). Reads are `GET .../content` spread over {documents} signed documents,
each read {warm} times before timing so that both workers have usually cached
their validation reports. Clients, workers and SeaweedFS share the machine's
cores. Errors are responses other than the expected status, and connection
failures; failed operations count in the wall-clock time but not in the rate.
A ratio above 1 means that the concurrent clients completed more operations per
second than one client did.
"""


def _run_operations(operation: Callable[[int], None], count: int, clients: int) -> tuple[float, Counter, list[float]]:
    """Run ``count`` operations on ``clients`` threads; return the elapsed seconds, errors and latencies."""
    errors: Counter = Counter()
    latencies: list[float] = []

    def one(index: int) -> None:
        started = time.perf_counter()
        try:
            operation(index)
        except RequestFailed as error:
            errors[f"HTTP {error.status}"] += 1
            return
        except urllib3.exceptions.HTTPError as error:
            errors[type(error).__name__] += 1
            return
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(count)))
    return time.perf_counter() - started, errors, latencies


def _measure(name: str, operation: Callable[[int], None], count: int, clients: int, rounds: int) -> Row:
    rates: dict[int, list[float]] = {1: [], clients: []}
    errors: dict[int, Counter] = {1: Counter(), clients: Counter()}
    latencies: list[float] = []
    for _ in range(rounds):
        for threads in (1, clients):
            seconds, run_errors, run_latencies = _run_operations(operation, count, threads)
            succeeded = count - sum(run_errors.values())
            rates[threads].append(succeeded / seconds)
            errors[threads].update(run_errors)
            if threads == clients:
                latencies.extend(run_latencies)

    def describe(counter: Counter, threads: int) -> str:
        total = count * rounds
        details = ", ".join(f"{kind} x{number}" for kind, number in sorted(counter.items()))
        return f"{sum(counter.values())}/{total} errors with {threads} client(s)" + (f" ({details})" if details else "")

    latency = Stats.of(latencies) if latencies else None
    note = f"{describe(errors[clients], clients)}; {describe(errors[1], 1)}"
    if latency is not None:
        note += f"; latency under load p50 {latency.median:.0f} ms, p95 {latency.percentile(95):.0f} ms"
    return Row(name, "ops/s", Stats.of(rates[clients]), "1 client, sequential", Stats.of(rates[1]), note=note)


def run(context: RunContext, deployment: Deployment, officer: DolilClient, auditor: DolilClient,
        section: Section) -> None:
    config = context.config
    sample = context.sample()
    rounds = 1 if config.smoke else ROUNDS

    def upload_and_sign(index: int) -> None:
        document = officer.upload(sample, title=f"Throughput minutes {index}")
        officer.sign(document["id"])

    documents = []
    for index in range(READ_DOCUMENTS):
        document = officer.upload(sample, title=f"Throughput read {index}")
        officer.sign(document["id"])
        documents.append(document["id"])
    for _ in range(2 * config.throughput_workers):
        for document_id in documents:
            auditor.content(document_id)

    def read(index: int) -> None:
        auditor.content(documents[index % len(documents)])

    logger.info("throughput on %s: %d upload+sign and %d reads, %d clients, %d rounds", deployment.name,
                config.throughput_uploads, config.throughput_reads, config.throughput_clients, rounds)
    for name, operation, count in (
        (f"{deployment.name}: upload + sign sample, {config.throughput_uploads} ops", upload_and_sign,
         config.throughput_uploads),
        (f"{deployment.name}: GET content sample, {config.throughput_reads} ops", read, config.throughput_reads),
    ):
        row = _measure(name, operation, count, config.throughput_clients, rounds)
        section.rows.append(row)
        logger.info("%s: %.1f ops/s (%s)", name, row.value.median, row.note)


def method(context: RunContext) -> str:
    config = context.config
    return METHOD.format(workers=config.throughput_workers, clients=config.throughput_clients,
                         rounds=1 if config.smoke else ROUNDS, documents=READ_DOCUMENTS,
                         warm=2 * config.throughput_workers)
