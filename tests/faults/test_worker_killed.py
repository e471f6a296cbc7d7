"""A gunicorn worker killed with SIGKILL around the commit of an upload or a signature."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3

from service.faults import AFTER_COMMIT, BEFORE_COMMIT

from .harness import body, kill_worker, sign, upload


def _killed_in_flight(deployment, process, point: str, request, *arguments, **keywords) -> None:
    """Send a request, kill the worker that serves it at ``point`` and wait for its replacement."""
    deployment.faults.arm(point)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(request, process, *arguments, **keywords)
        kill_worker(process, deployment.faults.wait_reached(point))
        with pytest.raises(urllib3.exceptions.ProtocolError):
            pending.result(timeout=60)
    process.wait_ready()


def test_worker_killed_between_object_write_and_commit(make_deployment, seaweedfs, make_bucket_name):
    deployment = make_deployment(seaweedfs, make_bucket_name())
    process = deployment.start_process()
    officer = deployment.tokens["officer"]
    signed = upload(process, officer)
    assert signed.status == 201
    signed_id = body(signed)["id"]

    _killed_in_flight(deployment, process, BEFORE_COMMIT, upload, officer, key="killed-before-commit")
    _killed_in_flight(deployment, process, BEFORE_COMMIT, sign, officer, signed_id)

    # Neither request committed: the retry stores the upload once, and the
    # document is still unsigned.
    retried = upload(process, officer, key="killed-before-commit")
    assert retried.status == 201
    assert "Idempotent-Replayed" not in retried.headers
    again = upload(process, officer, key="killed-before-commit")
    assert again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert body(again)["id"] == body(retried)["id"]
    document = body(process.request("GET", f"/api/v1/documents/{signed_id}", officer))
    assert document["revision"] == 1
    assert document["signatures"] == []
    assert sign(process, officer, signed_id).status == 201

    # The objects written before the kills have no row: the upload's PDF, and
    # the signed PDF with its validation-data bundle. The reconciler lists
    # them, discards them and then finds nothing.
    listed = deployment.reconcile()
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert listed.stdout.count("ORPHAN ") == 3
    discarded = deployment.reconcile("--discard", separate_process=True)
    assert discarded.returncode == 0, discarded.stdout + discarded.stderr
    assert "3 orphaned versions, 3 discarded" in discarded.stdout
    clean = deployment.reconcile()
    assert clean.returncode == 0
    assert "0 orphaned versions" in clean.stdout

    deployment.assert_consistent(process, {signed_id: 2, body(retried)["id"]: 1})


def test_worker_killed_after_commit(make_deployment, seaweedfs, make_bucket_name):
    deployment = make_deployment(seaweedfs, make_bucket_name())
    process = deployment.start_process()
    officer = deployment.tokens["officer"]
    signed = upload(process, officer)
    assert signed.status == 201
    signed_id = body(signed)["id"]

    _killed_in_flight(deployment, process, AFTER_COMMIT, upload, officer, key="killed-after-commit")
    _killed_in_flight(deployment, process, AFTER_COMMIT, sign, officer, signed_id)

    # Both were committed before the kill: the retry returns the stored
    # document instead of a copy, and the signature is there.
    retried = upload(process, officer, key="killed-after-commit")
    assert retried.status == 201
    assert retried.headers["Idempotent-Replayed"] == "true"
    listing = body(process.request("GET", "/api/v1/documents", officer))
    assert len(listing["items"]) == 2
    document = body(process.request("GET", f"/api/v1/documents/{signed_id}", officer))
    assert document["revision"] == 2
    assert [signature["role"] for signature in document["signatures"]] == ["member_secretary"]

    # The kill came before the final retention: the reconciler sets it.
    reconciled = deployment.reconcile()
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert f"RETENTION SET document {body(retried)['id']} revision 1" in reconciled.stdout
    assert f"RETENTION SET document {signed_id} revision 2" in reconciled.stdout
    assert "0 orphaned versions" in reconciled.stdout
    assert "0 retentions set" in deployment.reconcile().stdout

    deployment.assert_consistent(process, {signed_id: 2, body(retried)["id"]: 1})
