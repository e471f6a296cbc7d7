"""Configuration of a run and the resources that every case shares."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from minio import Minio

from bench.deployment import Deployment
from bench.pdfs import MIB, describe_size, generate_pdf, read_sample
from signing.devpki import DevPki

logger = logging.getLogger(__name__)

SAMPLE_LABEL = "sample minutes"


def describe_document(label: str, size_bytes: int) -> str:
    """Return a case name for a document, e.g. ``sample minutes (29 KiB)`` or ``generated PDF (10.0 MiB)``."""
    kind = label if label == SAMPLE_LABEL else "generated PDF"
    return f"{kind} ({describe_size(size_bytes)})"


@dataclass(frozen=True)
class RunConfig:
    """File sizes, repetitions and load of a run, as built by :func:`full_config` or :func:`smoke_config`."""

    smoke: bool
    repetitions: int
    """Repetitions of fast cases; cases on files of 10 MiB and more use fewer, stated in their section."""
    sign_sizes: tuple[tuple[str, int], ...]
    e2e_sizes: tuple[tuple[str, int], ...]
    retrieval_sizes: tuple[tuple[str, int], ...]
    memory_sizes: tuple[tuple[str, int], ...]
    throughput_uploads: int
    throughput_reads: int
    throughput_clients: int
    throughput_workers: int
    listing_documents: int
    listing_requests: int
    postgres_url: str | None

    def repetitions_for(self, size_bytes: int) -> int:
        """Return the repetitions for a file of ``size_bytes``."""
        if self.smoke:
            return 1
        if size_bytes < 10 * MIB:
            return self.repetitions
        if size_bytes < 50 * MIB:
            return max(3, self.repetitions // 2)
        return max(3, self.repetitions // 4)


def full_config(repetitions: int, postgres_url: str | None) -> RunConfig:
    return RunConfig(
        smoke=False,
        repetitions=repetitions,
        sign_sizes=(("10 MiB", 10 * MIB), ("100 MiB", 100 * MIB)),
        e2e_sizes=(("10 MiB", 10 * MIB),),
        retrieval_sizes=(("10 MiB", 10 * MIB), ("100 MiB", 100 * MIB)),
        memory_sizes=(("10 MiB", 10 * MIB), ("100 MiB", 100 * MIB), ("200 MiB", 200 * MIB)),
        throughput_uploads=32,
        throughput_reads=64,
        throughput_clients=8,
        throughput_workers=2,
        listing_documents=100_000,
        listing_requests=500,
        postgres_url=postgres_url,
    )


def smoke_config(postgres_url: str | None) -> RunConfig:
    """Tiny sizes and one repetition: checks that every case runs, in seconds, and measures nothing useful."""
    return RunConfig(
        smoke=True,
        repetitions=1,
        sign_sizes=(("256 KiB", 256 * 1024),),
        e2e_sizes=(),
        retrieval_sizes=(("256 KiB", 256 * 1024),),
        memory_sizes=(("1 MiB", MIB),),
        throughput_uploads=4,
        throughput_reads=8,
        throughput_clients=4,
        throughput_workers=2,
        listing_documents=1000,
        listing_requests=5,
        postgres_url=postgres_url,
    )


@dataclass
class RunContext:
    """Resources shared by the cases of one run."""

    config: RunConfig
    work_dir: Path
    pki: DevPki
    s3: Minio
    plain_bucket: str
    """A bucket without object lock for the plain S3 baselines."""
    deployments: list[Deployment] = field(default_factory=list)
    _documents: dict[str, bytes] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    @property
    def officer_passphrase(self) -> bytes:
        return self.pki.read_officer_passphrase()

    def sample(self) -> bytes:
        return read_sample()

    def generated(self, label: str, size_bytes: int) -> bytes:
        """Return a generated PDF of ``size_bytes``, the same bytes for every call with this label."""
        if label not in self._documents:
            logger.info("generating a %s PDF", label)
            self._documents[label] = generate_pdf(size_bytes)
        return self._documents[label]

    def documents(self, sizes: tuple[tuple[str, int], ...]) -> list[tuple[str, bytes]]:
        """Return the sample followed by a generated PDF for each (label, size)."""
        return [(SAMPLE_LABEL, self.sample())] + [(label, self.generated(label, size)) for label, size in sizes]
