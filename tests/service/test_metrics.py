"""Prometheus metrics: request counts, outcomes counted at commit, database state."""

from __future__ import annotations

import os
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import MINUTES_PDF, bearer, upload


def _samples(client, token) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=bearer(token))
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def _value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_by_route(client, tokens):
    before = _samples(client, tokens["service"])
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    client.get(f"/api/v1/documents/{document_id}", headers=bearer(tokens["auditor"]))
    client.get("/api/v1/documents/no-such-document", headers=bearer(tokens["auditor"]))

    after = _samples(client, tokens["service"])

    route = "/api/v1/documents/<document_id>"
    assert _value(after, "dolil_http_requests_total", method="GET", route=route, status="200") == (
        _value(before, "dolil_http_requests_total", method="GET", route=route, status="200") + 1)
    assert _value(after, "dolil_http_requests_total", method="GET", route=route, status="404") == (
        _value(before, "dolil_http_requests_total", method="GET", route=route, status="404") + 1)
    # Raw paths never become labels.
    assert not any(document_id in str(labels) for _, labels in after)
    assert _value(after, "dolil_http_request_duration_seconds_count", method="POST", route="/api/v1/documents") >= 1


def test_metrics_count_committed_outcomes_only(client, tokens):
    before = _samples(client, tokens["admin"])
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    signed = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))
    assert signed.status_code == 201, signed.get_json()
    refused = upload(client, tokens["officer"], data=b"not a pdf", filename="minutes.pdf")
    assert refused.status_code >= 400

    after = _samples(client, tokens["admin"])

    def grew(name, **labels) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("dolil_revisions_stored_total", reason="uploaded") == 1
    assert grew("dolil_revisions_stored_total", reason="signed") == 1
    assert grew("dolil_signatures_stored_total", level="B-B") == 1
    assert grew("dolil_verifications_total", indication="TOTAL_PASSED", fixity="ok") == 1
    assert grew("dolil_audit_events_total", action="document.sign", outcome="success") == 1
    assert grew("dolil_audit_events_total", action="document.upload", outcome="refused") == 1
    # The refused upload stored nothing and counted no revision.
    assert _value(after, "dolil_documents", kind="minutes") == _value(before, "dolil_documents", kind="minutes") + 1
    assert _value(after, "dolil_revisions_retention_pending") == 0


def test_metrics_refused_without_permission(client, tokens):
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", headers=bearer(tokens["officer"]))

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_metrics_multiprocess_directory_sums_workers(client, tokens, tmp_path, monkeypatch):
    """Two worker processes count into one directory; a scrape served by another process sums them."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    count = ("from service.metrics import AUDIT_EVENTS; "
             "AUDIT_EVENTS.labels('document.read', 'success').inc()")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], check=True, env=environment)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    samples = _samples(client, tokens["service"])

    assert _value(samples, "dolil_audit_events_total", action="document.read", outcome="success") == 2
    # The database state comes with it.
    assert ("dolil_revisions_retention_pending", ()) in samples
