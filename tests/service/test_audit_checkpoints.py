"""Audit checkpoints in the object store, and 'flask audit verify' against tampering.

Each tampering test changes the database as someone with write access to it
could, and checks that verification fails and names the first bad event.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil

import pytest
from sqlalchemy import delete, update

from service.audit import GENESIS_HASH, check_chain, record_event
from service.audit_checkpoints import write_checkpoint
from service.components import components
from service.extensions import db
from service.models import AuditChainHead, AuditEvent


def _append(count: int) -> None:
    for number in range(count):
        record_event("test.event", "success", details={"number": number})
        db.session.commit()


def _verify(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def _set_head(sequence: int) -> None:
    """Point the chain head at an event, as someone covering removed events would."""
    event_hash = db.session.query(AuditEvent.event_hash).filter_by(sequence=sequence).scalar() if sequence else None
    db.session.execute(update(AuditChainHead).values(sequence=sequence, event_hash=event_hash or GENESIS_HASH))
    db.session.commit()


def _checkpoint_objects() -> list[dict]:
    store = components().store
    prefix = components().settings.audit_checkpoint_prefix
    return [json.loads(store.get(version.key, version.version_id)) for version in store.all_versions(prefix)]


@pytest.fixture
def checkpointed(make_app):
    """An application that checkpoints every third event, with 7 events: checkpoints at 3 and 6."""
    app = make_app(audit_checkpoint_every=3)
    with app.app_context():
        _append(7)
        yield app


@pytest.fixture
def timestamped_app(make_app, live_pki, dev_pki, tmp_path):
    """An application whose checkpoints are timestamped by the test PKI's TSA, which it trusts."""
    trust, intermediates = tmp_path / "trust", tmp_path / "intermediates"
    shutil.copytree(dev_pki.trust_dir, trust)
    shutil.copytree(dev_pki.intermediates_dir, intermediates)
    (trust / "live-root.der").write_bytes(live_pki.root.dump())
    for number, certificate in enumerate(live_pki.intermediates):
        (intermediates / f"live-{number}.der").write_bytes(certificate.dump())
    app = make_app(tsa_url=live_pki.tsa_url, trust_anchors_dir=trust, intermediates_dir=intermediates,
                   audit_checkpoint_every=0)
    with app.app_context():
        yield app


def test_checkpoint_command_writes_timestamped_locked_object(timestamped_app):
    _append(3)

    result = timestamped_app.test_cli_runner().invoke(args=["audit", "checkpoint"])

    assert result.exit_code == 0, result.output
    assert "checkpoint of event 3" in result.output
    assert "timestamped" in result.output
    store = components().store
    (version,) = store.all_versions(components().settings.audit_checkpoint_prefix)
    retention = store.retention_of(version.key, version.version_id)
    assert retention is not None
    assert retention.mode == "GOVERNANCE"
    (stored,) = _checkpoint_objects()
    head = db.session.query(AuditEvent).filter_by(sequence=3).one()
    assert stored["checkpoint"]["sequence"] == 3
    assert stored["checkpoint"]["event_hash"] == head.event_hash
    assert stored["timestamp_token"]

    verified = _verify(timestamped_app)
    assert verified.exit_code == 0, verified.output
    assert "checked 1 checkpoints, 1 with a timestamp token" in verified.output
    assert "outside the trust anchors" not in verified.output
    assert "audit log intact" in verified.output


def test_token_of_another_checkpoint_is_caught(timestamped_app):
    _append(2)
    write_checkpoint(db.session)
    (genuine,) = _checkpoint_objects()
    # A checkpoint made up for a rewritten log, carrying the genuine token.
    forged = {"checkpoint": dict(genuine["checkpoint"], event_hash="f" * 64), "hash_algorithm": "sha256",
              "timestamp_token": genuine["timestamp_token"]}
    body = json.dumps(forged).encode()
    prefix = components().settings.audit_checkpoint_prefix
    components().store.put(f"{prefix}000000000002-forged.json", body, sha256=hashlib.sha256(body).hexdigest(),
                           content_type="application/json")

    result = _verify(timestamped_app)

    assert result.exit_code == 1
    assert "forged.json" in result.output
    assert "timestamp token does not match" in result.output


def test_damaged_token_is_caught(timestamped_app):
    _append(1)
    write_checkpoint(db.session)
    (genuine,) = _checkpoint_objects()
    token = bytearray(base64.b64decode(genuine["timestamp_token"]))
    token[-10] ^= 0x01  # inside the signature value at the end of the token
    copy = dict(genuine, timestamp_token=base64.b64encode(bytes(token)).decode())
    body = json.dumps(copy).encode()
    prefix = components().settings.audit_checkpoint_prefix
    components().store.put(f"{prefix}000000000001-damaged.json", body, sha256=hashlib.sha256(body).hexdigest(),
                           content_type="application/json")

    result = _verify(timestamped_app)

    assert result.exit_code == 1
    assert "damaged.json" in result.output


def test_checkpoints_are_written_every_n_events(checkpointed):
    stored = sorted(item["checkpoint"]["sequence"] for item in _checkpoint_objects())

    assert stored == [3, 6]
    for item in _checkpoint_objects():
        assert item["timestamp_token"] is None
    result = _verify(checkpointed)
    assert result.exit_code == 0, result.output
    assert "checked 7 events" in result.output
    assert "checked 2 checkpoints" in result.output


def test_altered_event_is_named(checkpointed):
    event = db.session.query(AuditEvent).filter_by(sequence=4).one()
    event.details = {"number": 99}
    db.session.commit()

    result = _verify(checkpointed)

    assert result.exit_code == 1
    assert f"first bad event: 4 (id {event.id})" in result.output


def test_deleted_event_is_named(checkpointed):
    db.session.execute(delete(AuditEvent).where(AuditEvent.sequence == 5))
    db.session.commit()

    result = _verify(checkpointed)

    assert result.exit_code == 1
    assert "first bad event: 6" in result.output
    assert "numbered 6 where 5 was expected" in result.output


def test_reordered_events_are_named(checkpointed):
    first, second = db.session.query(AuditEvent).filter(AuditEvent.sequence.in_((2, 3))).order_by(AuditEvent.sequence)
    first_sequence, second_sequence = first.sequence, second.sequence
    first.sequence, second.sequence = -1, -2
    db.session.flush()
    first.sequence, second.sequence = second_sequence, first_sequence
    db.session.commit()

    result = _verify(checkpointed)

    assert result.exit_code == 1
    assert "first bad event: 2" in result.output


def test_truncated_tail_is_caught_by_checkpoint(checkpointed):
    db.session.execute(delete(AuditEvent).where(AuditEvent.sequence > 4))
    db.session.commit()
    _set_head(4)
    assert check_chain().problems == []

    result = _verify(checkpointed)

    assert result.exit_code == 1
    assert "names event 6, which the log no longer has" in result.output
    assert "first bad event: 5" in result.output


def test_replaced_tail_is_caught_by_checkpoint(checkpointed):
    db.session.execute(delete(AuditEvent).where(AuditEvent.sequence > 4))
    db.session.commit()
    _set_head(4)
    _append(3)
    assert check_chain().problems == []

    result = _verify(checkpointed)

    assert result.exit_code == 1
    assert "names event 6 with another hash" in result.output
    assert "first bad event: 4" in result.output


def test_chain_rewritten_from_scratch_is_caught_by_checkpoints(checkpointed):
    db.session.execute(delete(AuditEvent))
    db.session.commit()
    _set_head(0)
    _append(7)
    assert check_chain().problems == []
    assert _verify(checkpointed, "--no-checkpoints").exit_code == 0

    result = _verify(checkpointed)

    assert result.exit_code == 1
    assert "first bad event: 1" in result.output


def test_checkpoint_of_empty_log_is_refused(app):
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])

    assert result.exit_code == 1
    assert "the audit log is empty" in result.output


def test_untrusted_tsa_is_reported(make_app, live_pki):
    app = make_app(tsa_url=live_pki.tsa_url, audit_checkpoint_every=0)
    with app.app_context():
        _append(1)
        write_checkpoint(db.session)

        result = _verify(app)

    assert result.exit_code == 0, result.output
    assert "(1 from a TSA outside the trust anchors)" in result.output


def test_failed_automatic_checkpoint_keeps_event(make_app, unused_port, caplog):
    from storage import ObjectStore, make_client

    app = make_app(audit_checkpoint_every=1)
    with app.app_context():
        parts = app.extensions["dolil"]
        parts.__dict__["store"] = ObjectStore(make_client(f"127.0.0.1:{unused_port}", "key", "secret"),
                                              parts.store.bucket)

        record_event("test.event", "success")
        db.session.commit()

        assert db.session.query(AuditEvent).count() == 1
    assert "audit checkpoint at sequence 1 not written" in caplog.text
