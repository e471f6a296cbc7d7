"""Two gunicorn processes serve one PostgreSQL database and one bucket, as two hosts would."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg

from service.faults import BEFORE_COMMIT

from .harness import body, sign, upload

# Codes a signature that lost a race may get; each is a clean 409.
RACE_LOST_CODES = {"revision_conflict", "signature_role_taken", "duplicate_signer", "signing_complete"}


def _at_once(calls):
    """Run the calls in threads that start together, and return their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=30)
        function, *arguments = call
        return function(*arguments)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _waiting_for_lock(deployment, condition: str) -> bool:
    """Return whether a transaction waits for a lock that matches the pg_locks ``condition``."""
    with psycopg.connect(deployment.settings.database_url, autocommit=True) as connection:
        row = connection.execute(f"SELECT count(*) FROM pg_locks WHERE {condition}").fetchone()
    return row[0] > 0


def _wait_for(condition, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def _keyed_upload(process, token: str, key: str):
    return upload(process, token, key=key)


def test_two_processes_keep_uploads_and_signatures_serial(make_deployment, seaweedfs, make_bucket_name):
    deployment = make_deployment(seaweedfs, make_bucket_name())
    first, second = deployment.start_process(), deployment.start_process()
    tokens = deployment.tokens

    # One process keeps its upload's transaction open after writing its audit
    # event. The other process's upload waits for it instead of linking to the
    # same predecessor.
    deployment.faults.arm(BEFORE_COMMIT)
    with ThreadPoolExecutor(2) as pool:
        paused = pool.submit(_keyed_upload, first, tokens["officer"], "held")
        deployment.faults.wait_reached(BEFORE_COMMIT)
        queued = pool.submit(_keyed_upload, second, tokens["officer"], "queued")
        _wait_for(lambda: queued.done() or _waiting_for_lock(deployment, "locktype = 'advisory' AND NOT granted"))
        deployment.faults.release(BEFORE_COMMIT)
        assert paused.result(timeout=60).status == 201
        assert queued.result(timeout=60).status == 201
    assert deployment.cli("audit", "verify").returncode == 0

    # Uploads from both processes at once, two with the same Idempotency-Key.
    calls = [(_keyed_upload, (first, second)[index % 2], tokens["officer"], f"scale-{index}") for index in range(8)]
    calls.append((_keyed_upload, second, tokens["officer"], "scale-0"))
    responses = _at_once(calls)
    assert [response.status for response in responses] == [201] * 9
    ids = [body(response)["id"] for response in responses]
    assert len(set(ids[:8])) == 8
    assert ids[8] == ids[0]

    # The member secretary, who uploaded the minutes, sends one signature to
    # both processes at the same moment: one stores it, the other gets a 409.
    documents = ids[:2]
    for document_id in documents:
        results = _at_once([(sign, first, tokens["officer"], document_id),
                            (sign, second, tokens["officer"], document_id)])
        statuses = sorted(response.status for response in results)
        assert statuses == [201, 409], [response.data for response in results]
        loser = next(response for response in results if response.status == 409)
        assert body(loser)["code"] in RACE_LOST_CODES
        # The chair's role has no holder: two other officers sign at the same
        # moment, each through another process, and one of them becomes the chair.
        results = _at_once([(sign, first, tokens["officer2"], document_id),
                            (sign, second, tokens["officer3"], document_id)])
        assert sorted(response.status for response in results) == [201, 409], [r.data for r in results]
        assert body(next(r for r in results if r.status == 409))["code"] in RACE_LOST_CODES

    for document_id in documents:
        document = body(first.request("GET", f"/api/v1/documents/{document_id}", tokens["auditor"]))
        assert [revision["number"] for revision in document["revisions"]] == [1, 2, 3]
        assert [signature["role"] for signature in document["signatures"]] == ["member_secretary", "chair"]
        assert document["signing"]["complete"]

    # Every stored object has its row: the losers' objects were never written
    # or were discarded. And every row has its object.
    reconciled = deployment.reconcile()
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "0 orphaned versions, 0 discarded, 0 missing objects" in reconciled.stdout
    audit = deployment.cli("audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "audit log intact" in audit.stdout
    # A legal hold placed through one process while a signature is about to
    # commit in the other must cover the new revision too.
    held_id = ids[3]
    deployment.faults.arm(BEFORE_COMMIT)
    with ThreadPoolExecutor(2) as pool:
        signing = pool.submit(sign, first, tokens["officer"], held_id)
        deployment.faults.wait_reached(BEFORE_COMMIT)
        hold = pool.submit(second.request, "PUT", f"/api/v1/documents/{held_id}/legal-hold", tokens["auditor"],
                           body=b'{"hold": true, "reason": "audit 2021-09"}',
                           headers={"Content-Type": "application/json"})
        _wait_for(lambda: hold.done() or _waiting_for_lock(deployment, "NOT granted"))
        deployment.faults.release(BEFORE_COMMIT)
        assert signing.result(timeout=60).status == 201
        assert hold.result(timeout=60).status == 200
    with deployment.app.app_context():
        from service.extensions import db
        from service.models import Revision

        store = deployment.app.extensions["dolil"].store
        revisions = db.session.execute(db.select(Revision).where(Revision.document_id == held_id)).scalars().all()
        assert sorted(revision.number for revision in revisions) == [1, 2]
        for revision in revisions:
            assert store.legal_hold(revision.object_key, revision.version_id), revision.number
        db.session.remove()

    acknowledged = {document_id: 1 for document_id in ids[:8]} | {document_id: 3 for document_id in documents}
    acknowledged[held_id] = 2
    deployment.assert_consistent(second, acknowledged)
