"""Checkpoints of the audit log: its head, written to the object store under object lock.

A checkpoint names one event by sequence number and hash. It is stored as a
new object version under the configured prefix with the archive's retention.
Under COMPLIANCE retention the store rejects every change or deletion until the
retention ends (GOVERNANCE lets a user with the bypass permission delete it).
When a time-stamping authority is configured, the checkpoint also carries an
RFC 3161 token over the SHA-256 of its canonical JSON. A chain rewritten in the
database from the start, with every link intact, still does not match the
checkpoints.

Object content::

    {"checkpoint": {"format": ..., "sequence": 41, "event_hash": "...",
                    "event_occurred_at": "...", "created_at": "..."},
     "hash_algorithm": "sha256",
     "timestamp_token": "<base64 DER of the RFC 3161 TimeStampToken>" | null}
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field

from asn1crypto import cms
from sqlalchemy.orm import Session

from storage import StorageError

from .audit import ChainResult, Problem
from .components import components
from .extensions import db
from .models import AuditEvent, as_utc, utcnow

log = logging.getLogger(__name__)

FORMAT = "dolil-audit-checkpoint/1"


class CheckpointError(Exception):
    """A checkpoint could not be written."""


@dataclass(frozen=True)
class Checkpoint:
    key: str
    version_id: str | None
    sequence: int
    event_hash: str
    timestamped: bool


def canonical_bytes(checkpoint: dict) -> bytes:
    return json.dumps(checkpoint, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _retention_days() -> int:
    settings = components().settings
    return max(days for days in (settings.retention_days, settings.retention_days_minutes,
                                 settings.retention_days_evidence) if days)


def write_checkpoint(session: Session, sequence: int | None = None) -> Checkpoint:
    """Write a checkpoint of the event at ``sequence``, or of the newest event.

    Raises CheckpointError when the log is empty, the event does not exist, the
    time-stamping authority fails or the store refuses the object.
    """
    query = session.query(AuditEvent.sequence, AuditEvent.event_hash, AuditEvent.occurred_at)
    if sequence is None:
        row = query.order_by(AuditEvent.sequence.desc()).first()
    else:
        row = query.filter(AuditEvent.sequence == sequence).first()
    if row is None:
        raise CheckpointError("the audit log is empty" if sequence is None else f"no audit event {sequence}")

    checkpoint = {
        "format": FORMAT,
        "sequence": row.sequence,
        "event_hash": row.event_hash,
        "event_occurred_at": as_utc(row.occurred_at).isoformat(),
        "created_at": utcnow().isoformat(),
    }
    digest = hashlib.sha256(canonical_bytes(checkpoint)).digest()
    parts = components()
    token = None
    if parts.timestamper is not None:
        try:
            token = asyncio.run(parts.timestamper.async_timestamp(digest, "sha256"))
        except Exception as error:  # pyHanko raises IOError, TimestampRequestError and aiohttp errors
            raise CheckpointError(f"the time-stamping authority returned no timestamp token: {error}") from error

    body = json.dumps({
        "checkpoint": checkpoint,
        "hash_algorithm": "sha256",
        "timestamp_token": base64.b64encode(token.dump()).decode("ascii") if token is not None else None,
    }, ensure_ascii=False, indent=1).encode("utf-8")
    key = f"{parts.settings.audit_checkpoint_prefix}{row.sequence:012d}-{uuid.uuid4().hex}.json"
    try:
        store = parts.store
        stored = store.put(key, body, sha256=hashlib.sha256(body).hexdigest(), content_type="application/json",
                           retention_days=_retention_days())
        store.commit_retention(stored)
    except StorageError as error:
        raise CheckpointError(f"the object store rejected the checkpoint: {error}") from error
    log.info("audit checkpoint written: sequence=%d hash=%s key=%s version=%s timestamped=%s",
             row.sequence, row.event_hash, key, stored.version_id, token is not None)
    return Checkpoint(key, stored.version_id, row.sequence, row.event_hash, token is not None)


@dataclass
class CheckpointResult:
    checked: int = 0
    timestamped: int = 0
    untrusted_timestamps: int = 0
    problems: list[Problem] = field(default_factory=list)


def _check_token(token_b64: str, checkpoint: dict) -> tuple[str | None, bool]:
    """Validate a timestamp token over the checkpoint; return (problem or None, trusted)."""
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    try:
        token = cms.ContentInfo.load(base64.b64decode(token_b64, validate=True))
        signed_data = token["content"]
        signed_data.native  # noqa: B018 (parses the whole structure, so damage shows here)
    except (ValueError, TypeError) as error:
        return f"its timestamp token cannot be read: {error}", False

    policy = components().policy
    context = ValidationContext(trust_roots=list(policy.trust_roots), other_certs=list(policy.intermediates),
                                allow_fetching=False, revocation_mode="soft-fail")
    content = canonical_bytes(checkpoint)

    def expected_imprint(algorithm: str) -> bytes:
        return hashlib.new(algorithm, content).digest()

    try:
        status = asyncio.run(validate_tst_signed_data(signed_data, context, expected_imprint))
    except Exception as error:  # pyHanko raises several error types for malformed tokens
        return f"its timestamp token does not validate: {error}", False
    if not status.get("intact") or not status.get("valid"):
        return "its timestamp token does not match the checkpoint or its signature is broken", False
    return None, status.get("trust_problem_indic") is None


def check_checkpoints(session: Session, chain: ChainResult | None = None) -> CheckpointResult:
    """Compare every stored checkpoint with the event at its sequence number.

    A checkpoint whose event is missing means events were removed from the end.
    A checkpoint whose hash differs means the events up to it were changed or rewritten.
    Such a problem names the first event that can be wrong: the first break
    ``chain`` found after the last checkpoint that still matches, else the
    event right after that checkpoint (or after the log's last event, when
    events were removed).
    """
    broken = sorted(problem.sequence for problem in chain.problems
                    if problem.event_id is not None) if chain is not None else []
    result = CheckpointResult()
    store = components().store
    prefix = components().settings.audit_checkpoint_prefix
    entries: list[tuple[int, str, str]] = []
    for version in store.all_versions(prefix):
        label = f"checkpoint {version.key} version {version.version_id}"
        try:
            document = json.loads(store.get(version.key, version.version_id))
            checkpoint = document["checkpoint"]
            sequence, expected_hash = int(checkpoint["sequence"]), str(checkpoint["event_hash"])
        except (StorageError, ValueError, KeyError, TypeError) as error:
            result.problems.append(Problem(None, None, f"{label} cannot be read: {error}"))
            continue
        result.checked += 1
        if document.get("timestamp_token"):
            result.timestamped += 1
            problem, trusted = _check_token(document["timestamp_token"], checkpoint)
            if problem:
                result.problems.append(Problem(sequence, None, f"{label}: {problem}"))
                continue
            if not trusted:
                result.untrusted_timestamps += 1
        entries.append((sequence, expected_hash, label))

    last_sequence = session.query(db.func.max(AuditEvent.sequence)).scalar() or 0
    actual = {sequence: session.query(AuditEvent.event_hash).filter(AuditEvent.sequence == sequence).scalar()
              for sequence in {entry[0] for entry in entries}}
    matching = [sequence for sequence, expected_hash, _ in entries if actual[sequence] == expected_hash]
    for sequence, expected_hash, label in sorted(entries):
        if actual[sequence] == expected_hash:
            continue
        # Only a checkpoint of an earlier event vouches for the events before this one.
        good_up_to = max((number for number in matching if number < sequence), default=0)
        if actual[sequence] is None:
            first = max(good_up_to, last_sequence) + 1
            reason = f"{label} names event {sequence}, which the log no longer has: events were removed"
        else:
            first = next((number for number in broken if good_up_to < number <= sequence), good_up_to + 1)
            reason = (f"{label} names event {sequence} with another hash: "
                      f"events {good_up_to + 1} to {sequence} were changed")
        result.problems.append(Problem(first, None, reason))
    return result
