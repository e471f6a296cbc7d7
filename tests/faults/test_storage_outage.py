"""A SeaweedFS of the test's own is killed with SIGKILL while requests run, then started again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from service.faults import BEFORE_COMMIT

from .harness import assert_retry_later, body, sign, upload


def _store_killed_in_flight(deployment, server, process, request, *arguments, **keywords):
    """Send a request, kill the store after its object write, and return the response."""
    deployment.faults.arm(BEFORE_COMMIT)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(request, process, *arguments, **keywords)
        deployment.faults.wait_reached(BEFORE_COMMIT)
        server.kill()
        deployment.faults.release(BEFORE_COMMIT)
        return pending.result(timeout=60)


def _assert_outage(process, tokens, document_id: str, signer: str) -> None:
    """Check that an upload, a signature by ``signer`` (the next role's holder) and a read get 503."""
    officer = tokens["officer"]
    assert_retry_later(upload(process, officer), "storage_unavailable")
    assert_retry_later(sign(process, tokens[signer], document_id), "storage_unavailable")
    assert_retry_later(process.request("GET", f"/api/v1/documents/{document_id}/content", tokens["auditor"]),
                       "storage_unavailable")


def test_store_killed_during_upload_and_signing(make_deployment, dedicated_seaweedfs):
    server = dedicated_seaweedfs
    # COMPLIANCE, so that a version left under the provisional GOVERNANCE
    # retention differs from a finished one.
    deployment = make_deployment(server, "dolil-faults", retention_mode="COMPLIANCE")
    process = deployment.start_process()
    tokens = deployment.tokens
    first = upload(process, tokens["officer"])
    assert first.status == 201
    first_id = body(first)["id"]

    # The object is written when the store dies: the commit goes through and
    # the upload is acknowledged, its final retention still to be set.
    try:
        second = _store_killed_in_flight(deployment, server, process, upload, tokens["officer"], key="store-crash")
        assert second.status == 201, second.data
        # The uploader holds the member secretary's role of the unsigned minutes.
        _assert_outage(process, tokens, first_id, "officer")
    finally:
        server.start()
    second_id = body(second)["id"]
    retried = upload(process, tokens["officer"], key="store-crash")
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert body(retried)["id"] == second_id

    # The same for a signature: stored and acknowledged.
    try:
        signed = _store_killed_in_flight(deployment, server, process, sign, tokens["officer"], first_id)
        assert signed.status == 201, signed.data
        assert body(signed)["document"]["revision"] == 2
        # The chair's role has no holder.
        _assert_outage(process, tokens, first_id, "officer2")
    finally:
        server.start()

    reconciled = deployment.reconcile(separate_process=True)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert f"RETENTION SET document {second_id} revision 1" in reconciled.stdout
    assert f"RETENTION SET document {first_id} revision 2" in reconciled.stdout
    assert "0 orphaned versions, 0 discarded, 0 missing objects" in reconciled.stdout
    with deployment.app.app_context():
        from service.extensions import db
        from service.models import Revision, ValidationData

        store = deployment.app.extensions["dolil"].store
        for revision in db.session.execute(db.select(Revision)).scalars():
            assert not revision.retention_pending
            assert store.retention_of(revision.object_key, revision.version_id).mode == "COMPLIANCE"
        # The signed revision's validation-data bundle was stored with it and
        # takes its final retention with the revision.
        bundles = db.session.execute(db.select(ValidationData)).scalars().all()
        assert bundles
        for bundle in bundles:
            assert store.retention_of(bundle.object_key, bundle.version_id).mode == "COMPLIANCE"
        db.session.remove()

    # The archive serves and signs again.
    assert sign(process, tokens["officer2"], first_id).status == 201
    deployment.assert_consistent(process, {first_id: 3, second_id: 1})
