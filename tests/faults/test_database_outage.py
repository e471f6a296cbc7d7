"""The test's own PostgreSQL cluster crashes between the object write and the commit."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

from service.faults import BEFORE_COMMIT

from tests.helpers import bearer

from .harness import assert_retry_later, body, sign, upload


def _crashed_in_flight(deployment, cluster, process, request, *arguments, **keywords):
    """Send a request, crash the database while it waits to commit, and return its response."""
    deployment.faults.arm(BEFORE_COMMIT)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(request, process, *arguments, **keywords)
        deployment.faults.wait_reached(BEFORE_COMMIT)
        cluster.crash()
        deployment.faults.release(BEFORE_COMMIT)
        return pending.result(timeout=60)


def test_database_crash_before_commit(make_deployment, postgres_cluster, seaweedfs, make_bucket_name):
    deployment = make_deployment(seaweedfs, make_bucket_name())
    process = deployment.start_process()
    officer = deployment.tokens["officer"]
    first = upload(process, officer)
    assert first.status == 201
    first_id = body(first)["id"]

    try:
        # An upload waiting to commit when the database goes down.
        response = _crashed_in_flight(deployment, postgres_cluster, process, upload, officer, key="db-crash")
        assert_retry_later(response, "database_unavailable")
        # Requests during the outage.
        assert_retry_later(upload(process, officer), "database_unavailable")
        assert_retry_later(process.request("GET", f"/api/v1/documents/{first_id}", officer), "database_unavailable")
        assert_retry_later(sign(process, officer, first_id), "database_unavailable")
    finally:
        postgres_cluster.start()

    # The upload was not committed: its retry stores it once.
    retried = upload(process, officer, key="db-crash")
    assert retried.status == 201
    assert "Idempotent-Replayed" not in retried.headers
    again = upload(process, officer, key="db-crash")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert body(again)["id"] == body(retried)["id"]

    # A signature waiting to commit when the database goes down.
    try:
        assert_retry_later(_crashed_in_flight(deployment, postgres_cluster, process, sign, officer, first_id),
                           "database_unavailable")
    finally:
        postgres_cluster.start()
    document = body(process.request("GET", f"/api/v1/documents/{first_id}", officer))
    assert document["revision"] == 1
    assert document["signatures"] == []
    assert sign(process, officer, first_id).status == 201

    # The service could not tell whether the two commits happened, so it kept
    # their objects: the upload's PDF, and the signed PDF with its
    # validation-data bundle. The reconciler finds that they have no row and
    # discards them.
    listed = deployment.reconcile()
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert listed.stdout.count("ORPHAN ") == 3
    discarded = deployment.reconcile("--discard", separate_process=True)
    assert discarded.returncode == 0, discarded.stdout + discarded.stderr
    assert "3 orphaned versions, 3 discarded, 0 missing objects" in discarded.stdout
    assert "0 orphaned versions" in deployment.reconcile().stdout

    deployment.assert_consistent(process, {first_id: 2, body(retried)["id"]: 1})


def test_unresponsive_database_answers_503(make_app, tokens):
    # A server that accepts connections and never responds, like a host behind
    # a dropped route. The request must end in a 503 instead of waiting for ever.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        app = make_app(database_url=f"postgresql://dolil@127.0.0.1:{port}/dolil", database_connect_timeout=2,
                       create_bucket=False)
        with app.app_context():
            response = app.test_client().get("/api/v1/documents", headers=bearer(tokens["auditor"]))

    assert response.status_code == 503
    assert response.get_json()["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
