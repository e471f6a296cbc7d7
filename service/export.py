"""Export of one document as a BagIt package (RFC 8493) for preservation elsewhere.

The bag's payload contains every stored revision's PDF exactly as read back from
the store (after checking it against the recorded SHA-256), the document's
metadata, the stored validation reports and the document's audit events with
their hashes. Manifests use SHA-256. bag-info.txt names the source
organisation, the bagging date and the document id as External-Identifier.

Layout of ``data/``::

    document.json            metadata, revisions, signatures
    revisions/r001-uploaded.pdf, r002-signed.pdf, ...
    verifications.json       the Verification rows, reports included
    audit-events.json        the document's audit events, in chain order
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import bagit

from .archive import read_revision, record_fixity_failure
from .api.audit_events import event_dict
from .api.serializers import iso, revision_dict, signature_dict
from .audit import record_event
from .components import components
from .extensions import db
from .models import AuditEvent, Document, User, Verification
from .problems import ApiProblem

log = logging.getLogger(__name__)

CHECKSUMS = ["sha256"]


@dataclass(frozen=True)
class ExportedBag:
    path: Path
    document: Document
    payload_oxum: str
    manifest_sha256: str
    """SHA-256 of manifest-sha256.txt, recorded in the export's audit event."""


def _json_file(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _verification_dict(verification: Verification, numbers: dict[str, int]) -> dict:
    return {
        "id": verification.id,
        "revision": numbers.get(verification.revision_id),
        "verified_at": iso(verification.verified_at),
        "fixity_ok": verification.fixity_ok,
        "actual_sha256": verification.actual_sha256,
        "indication": verification.indication,
        "policy_fingerprint": verification.policy_fingerprint,
        "requested_by_id": verification.requested_by_id,
        "report": verification.report,
    }


def _event_dict(event: AuditEvent, usernames: dict[int, str]) -> dict:
    # The API's form plus the actor's id, which the event hash covers.
    return {**event_dict(event, usernames), "actor_id": event.actor_id}


def _write_payload(document: Document, user: User | None, directory: Path) -> None:
    revisions_dir = directory / "revisions"
    revisions_dir.mkdir()
    for revision in document.revisions:
        # Records and raises a missing object, as retrieval does.
        data, digest = read_revision(document, revision, user)
        if digest != revision.sha256:
            record_fixity_failure(document, revision, digest, user)
            raise ApiProblem("fixity_mismatch", revision=revision.number)
        (revisions_dir / f"r{revision.number:03d}-{revision.reason}.pdf").write_bytes(data)

    _json_file(directory / "document.json", {
        "id": document.id,
        "kind": document.kind,
        "title": document.title,
        "memo_number": document.memo_number,
        "document_date": iso(document.document_date),
        "meeting_date": iso(document.meeting_date),
        "created_by": document.created_by.username,
        "created_at": iso(document.created_at),
        "legal_hold": document.legal_hold,
        "current_revision": document.current_revision.number if document.current_revision else None,
        "revisions": [dict(revision_dict(revision),
                           file=f"revisions/r{revision.number:03d}-{revision.reason}.pdf")
                      for revision in document.revisions],
        "signatures": [signature_dict(signature) for signature in document.signatures],
    })

    numbers = {revision.id: revision.number for revision in document.revisions}
    verifications = db.session.execute(
        db.select(Verification).where(Verification.document_id == document.id).order_by(Verification.id)
    ).scalars()
    _json_file(directory / "verifications.json", [_verification_dict(item, numbers) for item in verifications])

    events = list(db.session.execute(
        db.select(AuditEvent).where(AuditEvent.document_id == document.id).order_by(AuditEvent.sequence)
    ).scalars())
    actor_ids = {event.actor_id for event in events if event.actor_id is not None}
    usernames = dict(db.session.execute(db.select(User.id, User.username).where(User.id.in_(actor_ids))).all())
    _json_file(directory / "audit-events.json", {
        "note": "Events of this document only; each event_hash covers previous_hash, which is the hash "
                "of the event before it in the whole log (see 'flask audit verify').",
        "events": [_event_dict(event, usernames) for event in events],
    })


def export_bag(document_id: str, user: User | None, target: Path, *, via: str) -> ExportedBag:
    """Write the document's bag to the directory ``target``, which must not exist, and audit it.

    Raises ApiProblem when the document does not exist or a stored revision is
    missing or does not match its recorded SHA-256; nothing is left behind then.
    """
    document = db.session.get(Document, document_id)
    if document is None:
        raise ApiProblem("document_not_found", document_id=document_id)
    settings = components().settings
    target.mkdir()
    try:
        _write_payload(document, user, target)
        bag = bagit.make_bag(str(target), checksums=CHECKSUMS, bag_info={
            "Source-Organization": settings.organization,
            "External-Identifier": document.id,
            "External-Description": document.title,
            "Internal-Sender-Identifier": document.memo_number or document.id,
            "Bag-Group-Identifier": f"dolil-{document.kind}",
        })
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    manifest_sha256 = hashlib.sha256((target / "manifest-sha256.txt").read_bytes()).hexdigest()
    payload_oxum = bag.info["Payload-Oxum"]
    record_event("document.export", "success", actor=user, document_id=document.id,
                 details={"via": via, "format": "bagit", "revisions": len(document.revisions),
                          "payload_oxum": payload_oxum, "manifest_sha256": manifest_sha256})
    db.session.commit()
    log.info("document exported: document=%s via=%s payload_oxum=%s", document.id, via, payload_oxum)
    return ExportedBag(target, document, payload_oxum, manifest_sha256)


def export_zip(document_id: str, user: User) -> tuple[IO[bytes], str]:
    """Return a temporary file holding the bag zipped under one top-level directory, and its name.

    The file is removed when closed.
    """
    name = f"dolil-{document_id}"
    with tempfile.TemporaryDirectory(prefix="dolil-export-") as work:
        bag_dir = Path(work) / name
        export_bag(document_id, user, bag_dir, via="api")
        archive = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response)
        try:
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
                for path in sorted(bag_dir.rglob("*")):
                    if path.is_file():
                        zipped.write(path, arcname=f"{name}/{path.relative_to(bag_dir).as_posix()}")
        except BaseException:
            archive.close()
            raise
    archive.seek(0)
    return archive, f"{name}.zip"
