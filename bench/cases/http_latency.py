"""Upload + sign + store end to end, and verified retrieval, through gunicorn with one worker."""

from __future__ import annotations

import hashlib
import io
import logging
import statistics
import time
import uuid

from bench.client import DolilClient
from bench.context import SAMPLE_LABEL, RunContext, describe_document
from bench.deployment import Deployment
from bench.results import Row, Section, Target
from bench.stats import Stats, interleaved
from bench.threads import on_worker_thread
from signing.credentials import load_pkcs12_signer
from signing.sign import SigningProfile, sign_pdf

logger = logging.getLogger(__name__)

# Repeat reads and plain GETs per document in the retrieval case.
REPEAT_READS = 3

E2E_METHOD = """\
The real app (`service.create_app`) served by gunicorn with one sync worker on
127.0.0.1, SeaweedFS (`weed mini`) as the object store with object lock and
GOVERNANCE retention, the development PKI, revocation soft-fail. One repetition
is `POST /api/v1/documents` (multipart upload: intake checks, SHA-256, a PUT with
`x-amz-checksum-sha256` and retention, database rows, audit event) followed by
`POST /api/v1/documents/{id}/signatures` (a GET of the stored revision, fixity
check, signing, validation of the result, a PUT of the signed revision, rows,
retention commit). The baseline, alternated with it, is `signing.sign.sign_pdf`
on a worker thread of the benchmark process plus one plain `put_object` of the
signed bytes to a bucket without object lock.
"""

RETRIEVAL_METHOD = f"""\
For each repetition a PDF signed in-process with a unique reason (so its SHA-256
and the validation report cache key are new) is uploaded as revision 1 without
timing. Then `GET /api/v1/documents/{{id}}/content` is timed once (first read:
fixity check and full validation) and {REPEAT_READS} more times (repeat reads:
fixity check, validation report from the worker's in-memory cache). The baseline,
alternated with the repeat reads, is a plain `get_object` of exactly that object
version from SeaweedFS plus SHA-256 over the bytes in the benchmark process. The
HTTP times include reading the whole body in the client.
"""


def _plain_put(context: RunContext, data: bytes) -> None:
    context.s3.put_object(context.plain_bucket, f"baseline/{uuid.uuid4().hex}.pdf", io.BytesIO(data), len(data),
                          content_type="application/pdf")


def _plain_get_and_hash(context: RunContext, bucket: str, key: str, version_id: str | None) -> str:
    response = context.s3.get_object(bucket, key, version_id=version_id)
    try:
        return hashlib.sha256(response.read()).hexdigest()
    finally:
        response.close()
        response.release_conn()


def run_end_to_end(context: RunContext, deployment: Deployment, client: DolilClient, section: Section) -> None:
    signer_path = context.pki.officer_p12_path
    passphrase = context.officer_passphrase
    for label, data in context.documents(context.config.e2e_sizes):
        upload_times: list[float] = []
        sign_times: list[float] = []

        def dolil(data: bytes = data) -> None:
            started = time.perf_counter()
            document = client.upload(data, title="Benchmark minutes")
            uploaded = time.perf_counter()
            client.sign(document["id"])
            upload_times.append((uploaded - started) * 1000)
            sign_times.append((time.perf_counter() - uploaded) * 1000)

        def baseline(data: bytes = data) -> None:
            signed = on_worker_thread(
                lambda: sign_pdf(data, load_pkcs12_signer(signer_path, passphrase), SigningProfile()))
            _plain_put(context, signed)

        repetitions = context.config.repetitions_for(len(data))
        logger.info("end to end %s on %s: %d repetitions", label, deployment.name, repetitions)
        timings = interleaved({"dolil": dolil, "baseline": baseline}, repetitions, warmup=1)
        # The first entries come from the warm-up round.
        upload_times, sign_times = upload_times[1:], sign_times[1:]
        section.rows.append(Row(
            f"{deployment.name}: upload + sign {describe_document(label, len(data))}", "ms", timings["dolil"],
            "in-process sign + plain PUT", timings["baseline"], Target("≤ 2x", 2.0),
            note=(f"median upload {statistics.median(upload_times):.0f} ms "
                  f"+ sign {statistics.median(sign_times):.0f} ms"),
        ))


def run_retrieval(context: RunContext, deployment: Deployment, officer: DolilClient, auditor: DolilClient,
                  section: Section) -> None:
    signer = load_pkcs12_signer(context.pki.officer_p12_path, context.officer_passphrase)
    bucket = deployment.settings.s3_bucket
    for label, data in context.documents(context.config.retrieval_sizes):
        repetitions = context.config.repetitions_for(len(data))
        logger.info("retrieval %s on %s: %d repetitions", label, deployment.name, repetitions)
        first_reads: list[float] = []
        repeat_reads: list[float] = []
        plain_reads: list[float] = []
        indications: set[str] = set()
        size = 0
        for _ in range(repetitions):
            reason = f"benchmark {uuid.uuid4().hex}"
            signed = on_worker_thread(lambda: sign_pdf(data, signer, SigningProfile(reason=reason)))
            size = len(signed)
            document = officer.upload(signed, title="Benchmark signed minutes")
            revision = document["revisions"][-1]

            started = time.perf_counter()
            body, headers = auditor.content(document["id"])
            first_reads.append((time.perf_counter() - started) * 1000)
            indications.add(headers.get("Dolil-Validation", "missing"))
            if hashlib.sha256(body).hexdigest() != revision["sha256"]:
                raise AssertionError(f"content of {document['id']} does not match the uploaded bytes")

            timings = interleaved(
                {
                    "repeat": lambda: auditor.content(document["id"]),
                    "plain": lambda: _plain_get_and_hash(context, bucket, revision["object_key"],
                                                         revision["version_id"]),
                },
                REPEAT_READS,
                warmup=0,
            )
            repeat_reads.extend(timings["repeat"].samples)
            plain_reads.extend(timings["plain"].samples)

        plain = Stats.of(plain_reads)
        case = f"{deployment.name}: GET content, {describe_document(label, size)}"
        note = "Dolil-Validation: " + ", ".join(sorted(indications))
        section.rows.append(Row(f"{case}, first read", "ms", Stats.of(first_reads), "plain GET + SHA-256", plain,
                                note=note))
        section.rows.append(Row(f"{case}, repeat read", "ms", Stats.of(repeat_reads), "plain GET + SHA-256", plain,
                                Target("≤ 1.25x", 1.25)))
