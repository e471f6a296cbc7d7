"""Prometheus metrics at ``/metrics``.

Three kinds of figures:

- requests, counted and timed per route pattern (``/api/v1/documents/<document_id>``,
  never the raw path, so the number of series stays bounded);
- the archive's outcomes: audit events by action and outcome, revisions
  stored by reason, verifications by indication and fixity, signatures by
  PAdES level. Each is counted when the transaction that records it commits,
  so an action that was rolled back is never counted;
- state read from the database at scrape time: documents by kind and revisions
  still waiting for their final object-lock retention.

Each gunicorn worker counts in its own memory. When the environment variable
``PROMETHEUS_MULTIPROC_DIR`` names a directory that all workers share (empty
at start, as prometheus_client requires), counts are written there and every
scrape sums them over the workers, whichever worker answers.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import event as sa_event
from sqlalchemy import func

from .auth import require_permission
from .extensions import db
from .models import AuditEvent, Document, Revision, Signature, Verification

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("dolil_http_requests", "HTTP requests answered.", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "dolil_http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
AUDIT_EVENTS = Counter("dolil_audit_events", "Committed audit events.", ["action", "outcome"])
REVISIONS = Counter("dolil_revisions_stored", "Committed revisions.", ["reason"])
SIGNATURES = Counter("dolil_signatures_stored", "Committed signatures made in the archive.", ["level"])
VERIFICATIONS = Counter("dolil_verifications", "Committed verifications of stored revisions.",
                        ["indication", "fixity"])

_PENDING = "dolil_metrics_pending"

bp = Blueprint("metrics", __name__)


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def register_request_metrics(app: Flask) -> None:
    """Count and time every request; the start time is the one the request log records in ``g.started``."""

    @app.after_request
    def count_request(response: Response) -> Response:
        route = _route()
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        started = g.get("started")
        if started is not None:
            REQUEST_SECONDS.labels(request.method, route).observe(time.perf_counter() - started)
        return response


@sa_event.listens_for(db.session, "after_flush")
def _note_new_rows(session, flush_context) -> None:  # noqa: ANN001
    pending = session.info.setdefault(_PENDING, [])
    for item in session.new:
        if isinstance(item, AuditEvent):
            pending.append((AUDIT_EVENTS, (item.action, item.outcome)))
        elif isinstance(item, Revision):
            pending.append((REVISIONS, (item.reason,)))
        elif isinstance(item, Signature):
            pending.append((SIGNATURES, (item.level or "unknown",)))
        elif isinstance(item, Verification):
            pending.append((VERIFICATIONS, (item.indication or "none", "ok" if item.fixity_ok else "failed")))


@sa_event.listens_for(db.session, "after_commit")
def _count_committed(session) -> None:  # noqa: ANN001
    for counter, labels in session.info.pop(_PENDING, ()):
        counter.labels(*labels).inc()


@sa_event.listens_for(db.session, "after_rollback")
def _forget_rolled_back(session) -> None:  # noqa: ANN001
    session.info.pop(_PENDING, None)


class _DatabaseState:
    """Figures read from the database when Prometheus scrapes."""

    def collect(self):
        documents = GaugeMetricFamily("dolil_documents", "Documents in the archive.", labels=["kind"])
        for kind, count in db.session.execute(
            db.select(Document.kind, func.count()).group_by(Document.kind)
        ):
            documents.add_metric([kind], count)
        yield documents
        pending = db.session.execute(
            db.select(func.count()).select_from(Revision).where(Revision.retention_pending.is_(True))
        ).scalar_one()
        yield GaugeMetricFamily(
            "dolil_revisions_retention_pending",
            "Revisions whose final object-lock retention is not yet set ('flask storage reconcile' sets it).",
            value=pending,
        )


@bp.get("/metrics")
@require_permission("metrics:read")
def metrics() -> Response:
    if os.environ.get(MULTIPROCESS_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    state = CollectorRegistry()
    state.register(_DatabaseState())
    return Response(generate_latest(registry) + generate_latest(state), mimetype=CONTENT_TYPE_LATEST)
