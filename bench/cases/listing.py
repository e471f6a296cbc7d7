"""Listing and filtering documents with many rows in PostgreSQL."""

from __future__ import annotations

import logging
import random
import time

import sqlalchemy as sa

from bench.client import DolilClient
from bench.context import RunContext
from bench.deployment import Deployment
from bench.results import Row, Section, Target
from bench.stats import Stats
from service.models import Document

DOCUMENTS_TABLE = Document.__table__

logger = logging.getLogger(__name__)

# Memo numbers of the inserted rows follow the 2014 form. Branch (10 values)
# and file (100 values) make 1000 files of 100 letters each; the letter serial
# makes every memo number unique.
_BRANCHES = 10
_FILES = 100

INSERT_DOCUMENTS = sa.text("""
INSERT INTO documents (id, kind, title, memo_number, document_date, meeting_date, created_by_id, created_at)
SELECT md5('document-' || i)::uuid::text,
       CASE WHEN i % 4 = 0 THEN 'evidence' ELSE 'minutes' END,
       'সভার কার্যবিবরণী ' || i,
       '56.03.0000.' || lpad((i % 10)::text, 3, '0') || '.05.' || lpad(((i / 10) % 100)::text, 3, '0')
           || '.21.' || (i / 1000 + 1),
       DATE '2021-01-01' + (i % 1500),
       DATE '2021-01-01' + (i % 1500),
       :user_id,
       now() - make_interval(secs => i * 60)
FROM generate_series(1, :count) AS i
""")

INSERT_REVISIONS = sa.text("""
INSERT INTO revisions (id, document_id, number, object_key, version_id, sha256, size, reason, source_type,
                       created_by_id, created_at)
SELECT md5('revision-' || i)::uuid::text,
       md5('document-' || i)::uuid::text,
       1,
       'documents/' || md5('document-' || i)::uuid::text || '/' || md5('object-' || i) || '.pdf',
       md5('version-' || i),
       encode(sha256(('content-' || i)::bytea), 'hex'),
       30178,
       'uploaded',
       'pdf',
       :user_id,
       now() - make_interval(secs => i * 60)
FROM generate_series(1, :count) AS i
""")

LINK_REVISIONS = sa.text("""
UPDATE documents SET current_revision_id = revisions.id
FROM revisions
WHERE revisions.document_id = documents.id AND documents.current_revision_id IS NULL
""")

METHOD = """\
{count:,} documents, each with one revision row, are inserted with SQL
(`generate_series`) into the PostgreSQL deployment and the tables analysed;
their objects are not stored, because listing reads only rows. A quarter are
`evidence`, the rest `minutes`; memo numbers follow the 2014 form with 1,000 files
of 100 letters. Every query runs {requests} times with random values through
gunicorn with one worker, and the figure is the latency of
`GET /api/v1/documents` (default page size 20) as the client sees it. The
baseline is the statement that the view builds (filter, order by `created_at`
and `id` descending, limit 21), built the same way with SQLAlchemy Core and run
on a kept-open connection from the benchmark process, fetching the rows. The
baseline connection never prepares statements (psycopg's `prepare_threshold=None`),
so each execution is planned for its own values. The service keeps psycopg's
default (`prepare_threshold=5`): a statement that has run 5 times on a connection
is prepared, and PostgreSQL may then switch it to a generic plan. The target applies
to the p95, shown in the Met column.
"""


def _memo(rng: random.Random, *, file_only: bool) -> str:
    branch, file, serial = rng.randrange(_BRANCHES), rng.randrange(_FILES), rng.randrange(1, 101)
    prefix = f"56.03.0000.{branch:03d}.05.{file:03d}"
    return prefix if file_only else f"{prefix}.21.{serial}"


def insert_documents(engine: sa.Engine, count: int) -> None:
    with engine.begin() as connection:
        user_id = connection.execute(sa.text("SELECT id FROM users WHERE role = 'officer' ORDER BY id LIMIT 1")
                                     ).scalar_one()
        started = time.perf_counter()
        connection.execute(INSERT_DOCUMENTS, {"user_id": user_id, "count": count})
        connection.execute(INSERT_REVISIONS, {"user_id": user_id, "count": count})
        connection.execute(LINK_REVISIONS)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE documents"))
        connection.execute(sa.text("ANALYZE revisions"))
    logger.info("inserted %d documents in %.1f s", count, time.perf_counter() - started)


def _baseline_query(params: dict[str, str]) -> sa.Select:
    """Build the SQL statement of ``GET /api/v1/documents`` for ``params``, as the view builds it."""
    query = sa.select(DOCUMENTS_TABLE)
    if "kind" in params:
        query = query.where(DOCUMENTS_TABLE.c.kind == params["kind"])
    if "memo_number" in params:
        prefix = params["memo_number"]
        query = query.where(sa.or_(
            DOCUMENTS_TABLE.c.memo_number == prefix.rstrip("."),
            DOCUMENTS_TABLE.c.memo_number.startswith(prefix if prefix.endswith(".") else prefix + "."),
        ))
    return query.order_by(DOCUMENTS_TABLE.c.created_at.desc(), DOCUMENTS_TABLE.c.id.desc()).limit(21)


def run(context: RunContext, deployment: Deployment, auditor: DolilClient, section: Section) -> None:
    count = context.config.listing_documents
    requests = context.config.listing_requests
    # With prepare_threshold=None psycopg never prepares the statement, so
    # PostgreSQL plans every execution for its actual parameters. A generic plan
    # for a memo number filter can be several times slower.
    engine = sa.create_engine(deployment.settings.sqlalchemy_url, poolclass=sa.NullPool,
                              connect_args={"prepare_threshold": None})
    try:
        insert_documents(engine, count)
        rng = random.Random(20210920)
        queries = {
            "no filter": lambda: {},
            "kind=evidence": lambda: {"kind": "evidence"},
            "kind=minutes": lambda: {"kind": "minutes"},
            "memo_number, full (1 match)": lambda: {"memo_number": _memo(rng, file_only=False)},
            "memo_number, file prefix (100 matches)": lambda: {"memo_number": _memo(rng, file_only=True)},
            "kind=minutes and memo_number prefix": lambda: {"kind": "minutes",
                                                            "memo_number": _memo(rng, file_only=True)},
        }
        with engine.connect() as connection:
            for name, make_params in queries.items():
                http_times: list[float] = []
                sql_times: list[float] = []
                found = 0
                for index in range(requests + 1):
                    params = make_params()
                    started = time.perf_counter()
                    page = auditor.list_documents(**params)
                    http_ms = (time.perf_counter() - started) * 1000
                    statement = _baseline_query(params)
                    started = time.perf_counter()
                    rows = connection.execute(statement).fetchall()
                    sql_ms = (time.perf_counter() - started) * 1000
                    # The first request of each query warms the worker and the plan cache.
                    if index == 0:
                        continue
                    http_times.append(http_ms)
                    sql_times.append(sql_ms)
                    found += len(page["items"])
                    if len(page["items"]) != min(20, len(rows)):
                        raise AssertionError(f"listing {params} returned {len(page['items'])} items, SQL {len(rows)}")
                http = Stats.of(http_times)
                section.rows.append(Row(
                    f"list, {name}", "ms", http, "SQL query", Stats.of(sql_times),
                    Target("p95 < 50 ms", 50.0, statistic="p95", inclusive=False),
                    note=f"p95 {http.percentile(95):.1f} ms (SQL p95 {Stats.of(sql_times).percentile(95):.1f} ms); "
                         f"{found / requests:.1f} items per page on average",
                ))
    finally:
        engine.dispose()


def method(context: RunContext) -> str:
    return METHOD.format(count=context.config.listing_documents, requests=context.config.listing_requests)
