"""The archive workflow: upload, sign, retrieve and verify documents.

Each function owns its transaction and the order of its side effects. Objects
are written before rows: if the database commit fails, the new object version
is discarded, so no row ever points at a missing object and no object is left
without a row. A version is locked with its final retention only after its row
is committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from pyhanko.sign.signers import Signer
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import joinedload

from signing.credentials import load_pkcs12_signer
from signing.errors import CredentialError
from signing.intake import PreparedFile, prepare_upload_file
from signing.worker import validate_pdf_file_within_limits
from signing.pkcs11 import open_pkcs11_signer, parse_pkcs11_uri
from signing.sign import SigningProfile, sign_pdf_file
from signing.stamp import StampPlacement, VisibleStamp, stamp_lines
from signing.report import TOTAL_PASSED
from signing.validation import ValidationReport, validate_pdf
from storage import ObjectNotFound, StoredObject, new_object_key

from . import validation_data
from .audit import record_event
from .bengali import format_dual_date_bn
from .components import components
from .credentials import check_credential_certificate
from .extensions import db
from .faults import AFTER_COMMIT, BEFORE_COMMIT, pause_point
from .models import (
    Document,
    IdempotencyKey,
    Revision,
    Signature,
    SigningCredential,
    User,
    Verification,
    new_id,
)
from .problems import ApiProblem
from .signers import assignment_rows, resolve_signers
from .signing_order import check_next_signature, check_role_holder, signature_fields
from .spool import UploadSpool, new_spool_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentFields:
    kind: str
    title: str
    memo_number: str | None = None
    document_date: date | None = None
    meeting_date: date | None = None
    signers: tuple[tuple[str, str], ...] = ()
    """Roles and the usernames named to hold them, as the upload gave them."""


# Stored PDFs up to this size are validated in this process from memory;
# larger ones in a bounded worker process that reads their spool file.
IN_PROCESS_VALIDATION_BYTES = 16 * 1024 * 1024
# Stored revisions up to this size are read into memory rather than into a
# spool file. Validation reads them into memory anyway (see above), so this
# does not raise a read's peak memory, and a small file is sent from memory.
IN_MEMORY_BYTES = IN_PROCESS_VALIDATION_BYTES
# Chunk size when hashing or sending a spool file.
CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class RetrievedContent:
    """A verified revision ready to send; plain values, because the read's commit expires the rows."""

    document_id: str
    revision_number: int
    sha256: str
    file: BinaryIO
    """A spool file or ``io.BytesIO`` holding the verified bytes, positioned at its start; the caller closes it."""
    size: int
    report: ValidationReport
    verified_at: datetime


@dataclass(frozen=True)
class VerificationResult:
    document: Document
    revision: Revision
    actual_sha256: str
    fixity_ok: bool
    report: ValidationReport | None
    verification: Verification


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get_document(document_id: str) -> Document:
    # Every caller reads the current revision, so it comes with the same query.
    document = db.session.get(Document, document_id, options=[joinedload(Document.current_revision)])
    if document is None:
        raise ApiProblem("document_not_found", document_id=document_id)
    return document


def lock_document(document: Document) -> None:
    """Lock the document's row until the transaction ends and reload it.

    On PostgreSQL this is SELECT ... FOR UPDATE, so concurrent changes of one
    document (signatures, legal holds), from any process or host, run one
    after the other and each sees the state the one before it committed.
    SQLite ignores FOR UPDATE; there the database lock serialises writers and
    the unique revision number catches a lost race.
    """
    db.session.execute(
        db.select(Document).where(Document.id == document.id).with_for_update()
        .execution_options(populate_existing=True)
    )


def _store_with_row(stored: StoredObject, add_rows, companions: tuple[StoredObject, ...] = ()) -> None:
    """Commit the rows created by ``add_rows`` for an already stored object and its companions.

    Companions are objects stored with it, such as its validation-data bundle.
    When the rows were certainly not committed, the session is rolled back,
    every object version discarded and the error propagates. A commit that
    failed on the connection may still have been applied: the objects are then
    discarded only if the database, asked again, has no row for the main one.
    Otherwise they are kept, and `flask storage reconcile` later finds them, as
    orphans or as stored revisions, so no row ever points at a discarded object.
    """
    committing = False
    try:
        add_rows()
        db.session.flush()
        pause_point(BEFORE_COMMIT)
        committing = True
        db.session.commit()
    except BaseException as error:
        db.session.rollback()
        if committing and isinstance(error, DBAPIError) and not isinstance(error, IntegrityError):
            if _row_exists(stored) is not False:
                log.error("commit outcome unknown: object %s version %s kept for 'flask storage reconcile'",
                          stored.key, stored.version_id)
                raise
        for item in (stored, *companions):
            _discard_quietly(item)
        raise

    pause_point(AFTER_COMMIT)
    finish_retention(stored, companions)


def _discard_quietly(stored: StoredObject) -> None:
    try:
        components().store.discard(stored)
    except Exception:
        log.exception("could not discard object %s version %s after a failed commit; "
                      "'flask storage reconcile' will list it", stored.key, stored.version_id)


def put_revision_objects(document: Document, number: int, content: bytes | BinaryIO, digest: str,
                         report: ValidationReport, *, size: int | None = None,
                         ) -> tuple[StoredObject, tuple[StoredObject, ...]]:
    """Store a new revision's PDF and the validation-data bundle of its report.

    ``content`` is the PDF's bytes, or a file of ``size`` bytes that is
    streamed to the store. Returns the PDF's object and the bundle's (none
    when the report collected no validation data). If the bundle cannot be
    stored, the PDF is discarded.
    """
    parts = components()
    retention_days = parts.settings.retention_days_for(document.kind)
    key = new_object_key(document.id)
    if isinstance(content, bytes):
        stored = parts.store.put(key, content, sha256=digest, retention_days=retention_days)
    else:
        if size is None:
            raise ValueError("size is required when content is a file")
        content.seek(0)
        stored = parts.store.put_file(key, content, size, sha256=digest, retention_days=retention_days)
    try:
        if document.legal_hold:
            # A hold covers every version of the document, including new ones.
            parts.store.set_legal_hold(stored.key, stored.version_id, True)
        bundle = validation_data.build_bundle(document, number, digest, report)
        if bundle is None:
            return stored, ()
        return stored, (validation_data.put_bundle(document, bundle),)
    except BaseException:
        _discard_quietly(stored)
        raise


def _row_exists(stored: StoredObject) -> bool | None:
    """Return whether a revision row records ``stored``, or None when the database cannot be reached."""
    try:
        found = db.session.execute(
            db.select(Revision.id).where(Revision.object_key == stored.key, Revision.version_id == stored.version_id)
        ).first()
        db.session.rollback()
    except DBAPIError:
        db.session.rollback()
        return None
    return found is not None


def finish_retention(stored: StoredObject, companions: tuple[StoredObject, ...] = ()) -> bool:
    """Set the final retention on a committed revision's object and companions, then clear its pending mark.

    Returns whether all of it happened. The revision's mark covers its
    companions too, so it is cleared only when every object has its final
    retention. A failure is logged, not raised: the rows are committed and the
    objects exist under their provisional retention, so failing the request
    would hide a stored document. The revision stays marked, and
    `flask storage reconcile` finishes it.
    """
    for item in (stored, *companions):
        try:
            components().store.commit_retention(item)
        except Exception:
            log.exception("could not set final retention on %s version %s; left for 'flask storage reconcile'",
                          item.key, item.version_id)
            return False
    try:
        db.session.execute(
            db.update(Revision)
            .where(Revision.object_key == stored.key, Revision.version_id == stored.version_id)
            .values(retention_pending=False)
        )
        db.session.commit()
    except DBAPIError:
        db.session.rollback()
        log.exception("could not clear the retention mark of %s version %s; left for 'flask storage reconcile'",
                      stored.key, stored.version_id)
        return False
    return True


def _request_fingerprint(upload: UploadSpool, fields: DocumentFields) -> str:
    """Return a SHA-256 over the uploaded bytes and every form field.

    It continues the digest computed while the upload was spooled, so the
    file is not read again.
    """
    digest = upload.digest_state()
    for value in (fields.kind, fields.title, fields.memo_number, fields.document_date, fields.meeting_date):
        digest.update(b"\x00" + str(value).encode("utf-8"))
    # Added only when present, so that uploads without signers keep the fingerprints they had.
    for role, username in sorted(fields.signers):
        digest.update(b"\x00signer\x00" + role.encode("utf-8") + b"\x00" + username.encode("utf-8"))
    return digest.hexdigest()


def _replayed_upload(user: User, key: str, fingerprint: str) -> Document | None:
    """Return the document of an earlier upload with this key, or None if there was none."""
    record = db.session.execute(
        db.select(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
    ).scalar_one_or_none()
    if record is None:
        return None
    if record.request_sha256 != fingerprint:
        raise ApiProblem("idempotency_key_reused")
    log.info("upload replayed: document=%s user=%s", record.document_id, user.username)
    return db.session.get(Document, record.document_id)


def _file_digest(stream: BinaryIO) -> tuple[str, int]:
    """Return the hex SHA-256 and size of a file read from its start, leaving it at its start."""
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def upload_document(user: User, upload: UploadSpool, fields: DocumentFields,
                    idempotency_key: str | None = None) -> tuple[Document, bool]:
    """Check a spooled upload and store it as revision 1 of a new document.

    Returns the document and whether it is the result of an earlier request
    with the same ``idempotency_key``, in which case nothing new is stored.
    """
    fingerprint = _request_fingerprint(upload, fields) if idempotency_key is not None else None
    if idempotency_key is not None:
        earlier = _replayed_upload(user, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier, True

    # Checked before anything is stored, so a refused signer leaves no object behind.
    holders = resolve_signers(fields.kind, fields.signers, user)
    parts = components()
    with new_spool_file(parts.settings, "converted-") as converted:
        upload.flush()
        prepared = prepare_upload_file(upload.path, Path(converted.name))
        if prepared.converted:
            source: BinaryIO = converted
            digest, size = _file_digest(converted)
        else:
            source = upload
            source.seek(0)
            digest, size = upload.sha256, upload.size
        document_id = new_id()
        stored = parts.store.put_file(new_object_key(document_id), source, size, sha256=digest,
                                      retention_days=parts.settings.retention_days_for(fields.kind))
    return _add_uploaded_document(user, fields, idempotency_key, fingerprint, document_id, stored, prepared,
                                  holders)


def _add_uploaded_document(user: User, fields: DocumentFields, idempotency_key: str | None,
                           fingerprint: str | None, document_id: str, stored: StoredObject,
                           prepared: PreparedFile, holders: dict[str, User]) -> tuple[Document, bool]:
    """Commit the rows and audit event of an uploaded document whose object is stored."""
    digest, size = stored.sha256, stored.size
    document = Document(
        id=document_id,
        kind=fields.kind,
        title=fields.title,
        memo_number=fields.memo_number,
        document_date=fields.document_date,
        meeting_date=fields.meeting_date,
        created_by=user,
    )

    def add_rows() -> None:
        revision = Revision(
            document=document,
            number=1,
            object_key=stored.key,
            version_id=stored.version_id,
            sha256=digest,
            size=size,
            reason="uploaded",
            source_type=prepared.source_type,
            created_by=user,
        )
        db.session.add_all([document, revision, *assignment_rows(document, holders, user)])
        db.session.flush()
        document.current_revision = revision
        if idempotency_key is not None:
            db.session.add(IdempotencyKey(user_id=user.id, key=idempotency_key,
                                          request_sha256=fingerprint, document_id=document_id))
        record_event(
            "document.upload",
            "success",
            actor=user,
            document_id=document_id,
            details={"sha256": digest, "size": size, "source_type": prepared.source_type,
                     "signers": {role: holder.username for role, holder in holders.items()}},
        )

    try:
        _store_with_row(stored, add_rows)
    except IntegrityError:
        # A concurrent request with the same key committed first; its object
        # stays and this one was discarded.
        if idempotency_key is None:
            raise
        earlier = _replayed_upload(user, idempotency_key, fingerprint)
        if earlier is None:
            raise
        return earlier, True

    log.info(
        "document uploaded: document=%s sha256=%s size=%d source_type=%s version=%s",
        document_id, digest, size, prepared.source_type, stored.version_id,
    )
    return document, False


def _spool_revision(document: Document, revision: Revision, user: User | None) -> tuple[BinaryIO, str, int]:
    """Copy exactly the recorded version of a revision into a new spool file.

    Returns the file, positioned at its start, with the SHA-256 and size of
    its bytes; the caller closes it. A revision of up to IN_MEMORY_BYTES is
    held in memory (an ``io.BytesIO``) instead of a file on disk.
    """
    store = components().store
    spool: BinaryIO
    try:
        if revision.size <= IN_MEMORY_BYTES:
            spool = io.BytesIO()
            try:
                digest, size = store.get_to_file(revision.object_key, revision.version_id,
                                                 _BoundedBuffer(spool, revision.size))
            except _BufferFull:
                # More bytes than recorded, so the fixity check will fail; the
                # spool file keeps them out of memory.
                spool = new_spool_file(components().settings, "object-")
                digest, size = store.get_to_file(revision.object_key, revision.version_id, spool)
        else:
            spool = new_spool_file(components().settings, "object-")
            digest, size = store.get_to_file(revision.object_key, revision.version_id, spool)
    except ObjectNotFound:
        spool.close()
        log.error(
            "stored object missing: document=%s revision=%d key=%s version=%s",
            document.id, revision.number, revision.object_key, revision.version_id,
        )
        record_event("document.fixity", "missing", actor=user, document_id=document.id,
                     details={"revision": revision.number, "key": revision.object_key})
        db.session.commit()
        raise ApiProblem("stored_object_missing", revision=revision.number) from None
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    spool.seek(0)
    return spool, digest, size


class _BufferFull(Exception):
    """A revision's object holds more bytes than its recorded size."""


class _BoundedBuffer:
    """Writes to an in-memory buffer and raises _BufferFull past ``limit`` bytes."""

    def __init__(self, target: io.BytesIO, limit: int) -> None:
        self.target = target
        self.limit = limit

    def write(self, chunk: bytes) -> int:
        if self.target.tell() + len(chunk) > self.limit:
            raise _BufferFull
        return self.target.write(chunk)


def read_revision(document: Document, revision: Revision, user: User | None) -> tuple[bytes, str]:
    """Read exactly the recorded version of a revision into memory and return its bytes and SHA-256.

    For callers that need the bytes anyway; large reads use the spool file of
    :func:`_spool_revision`.
    """
    spool, digest, _ = _spool_revision(document, revision, user)
    with spool:
        return spool.read(), digest


def record_fixity_failure(document: Document, revision: Revision, actual: str, user: User | None) -> Verification:
    log.error(
        "fixity mismatch: document=%s revision=%d key=%s version=%s expected=%s actual=%s",
        document.id, revision.number, revision.object_key, revision.version_id, revision.sha256, actual,
    )
    verification = Verification(
        document_id=document.id,
        revision_id=revision.id,
        fixity_ok=False,
        actual_sha256=actual,
        indication=None,
        requested_by_id=user.id if user else None,
    )
    db.session.add(verification)
    record_event("document.fixity", "failure", actor=user, document_id=document.id,
                 details={"revision": revision.number, "expected_sha256": revision.sha256, "actual_sha256": actual})
    db.session.commit()
    return verification


def _validate(data: bytes | BinaryIO, digest: str, *, fresh: bool) -> tuple[ValidationReport, bool]:
    """Validate bytes or a spool file, reusing a cached report unless ``fresh``; return (report, computed).

    A spool file larger than IN_PROCESS_VALIDATION_BYTES is validated by a
    worker process that reads the file, so this process never loads it.
    """
    parts = components()
    policy = parts.policy
    fingerprint = parts.policy_fingerprint
    if not fresh:
        cached = parts.reports.get(digest, fingerprint)
        if cached is not None:
            return cached, False
    if isinstance(data, bytes):
        report = validate_pdf(data, policy)
    else:
        size = data.seek(0, 2)
        data.seek(0)
        if size > IN_PROCESS_VALIDATION_BYTES:
            # NOTE: the worker's limits (InputLimits: 120 s, 2 GiB) apply to stored
            # PDFs too, so a larger or slower one gets processing_timeout or memory_limit.
            data.flush()
            report = validate_pdf_file_within_limits(Path(data.name), policy)
        else:
            report = validate_pdf(data.read(), policy)
            data.seek(0)
    parts.reports.put(digest, fingerprint, report)
    return report, True


def _record_verification(document: Document, revision: Revision, digest: str, report: ValidationReport,
                         user: User | None) -> Verification:
    verification = Verification(
        document_id=document.id,
        revision_id=revision.id,
        fixity_ok=True,
        actual_sha256=digest,
        indication=report.indication,
        policy_fingerprint=report.policy_fingerprint,
        report=report.to_dict(),
        requested_by_id=user.id if user else None,
    )
    db.session.add(verification)
    return verification


def retrieve_content(document_id: str, user: User) -> RetrievedContent:
    """Return the current revision in a spool file after checking fixity and validating signatures.

    The object is copied into the spool file while it is hashed. A fixity
    mismatch is recorded and raised as a problem, and the file is then
    deleted unread. The caller sends and closes the returned file.
    """
    document = get_document(document_id)
    revision = document.current_revision
    spool, digest, size = _spool_revision(document, revision, user)
    with ExitStack() as cleanup:
        cleanup.callback(spool.close)
        if digest != revision.sha256:
            record_fixity_failure(document, revision, digest, user)
            raise ApiProblem("fixity_mismatch", revision=revision.number)
        # Read before the commit, which expires the rows' attributes.
        document_id, revision_number = document.id, revision.number
        report, computed = _validate(spool, digest, fresh=False)
        if computed:
            _record_verification(document, revision, digest, report, user)
        record_event("document.read", "success", actor=user, document_id=document.id,
                     details={"revision": revision.number, "indication": report.indication})
        db.session.commit()
        cleanup.pop_all()
    return RetrievedContent(document_id, revision_number, digest, spool, size, report, report.validated_at)


def verify_document(document_id: str, user: User) -> VerificationResult:
    """Check fixity and validate the current revision afresh, and record the result.

    Unlike retrieval, a fixity mismatch is returned as a result rather than
    raised, because the report is what an auditor asked for.
    """
    document = get_document(document_id)
    revision = document.current_revision
    spool, digest, _ = _spool_revision(document, revision, user)
    with spool:
        if digest != revision.sha256:
            verification = record_fixity_failure(document, revision, digest, user)
            return VerificationResult(document, revision, digest, False, None, verification)
        report, _ = _validate(spool, digest, fresh=True)
    verification = _record_verification(document, revision, digest, report, user)
    record_event("document.verify", "success", actor=user, document_id=document.id,
                 details={"revision": revision.number, "indication": report.indication})
    db.session.commit()
    return VerificationResult(document, revision, digest, True, report, verification)


def _signing_credential(user: User) -> SigningCredential:
    credential = db.session.execute(
        db.select(SigningCredential)
        .where(SigningCredential.user_id == user.id, SigningCredential.active.is_(True))
        .order_by(SigningCredential.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if credential is None:
        raise ApiProblem("signing_credential_missing")
    return credential


def _read_secret(credential: SigningCredential) -> bytes | None:
    if not credential.secret_file:
        return None
    try:
        return Path(credential.secret_file).read_bytes().strip()
    except OSError as error:
        raise CredentialError(Path(credential.location), f"cannot read the secret file: {error.strerror}") from None


@contextmanager
def _open_signer(credential: SigningCredential, pin: str | None) -> Iterator[Signer]:
    """Open a user's signing credential for one signature.

    A PKCS#12 passphrase and a PKCS#11 PIN come from the credential's secret
    file or, when the credential has none, from the request (``pin``). A
    secret from the request is used for this signature only and never stored.
    """
    if credential.kind == "pkcs12":
        secret = _read_secret(credential)
        if secret is not None:
            yield load_pkcs12_signer(Path(credential.location), secret)
            return
        if not pin:
            raise ApiProblem("passphrase_required")
        path = Path(credential.location)
        if not path.is_file():
            raise CredentialError(path, "file cannot be read")
        try:
            signer = load_pkcs12_signer(path, pin.encode("utf-8"))
        except CredentialError:
            # The file opened when it was registered, so a failure here means a wrong passphrase.
            log.info("signing rejected: PKCS#12 passphrase incorrect for credential %d", credential.id)
            raise ApiProblem("passphrase_incorrect") from None
        yield signer
        return
    if credential.kind == "pkcs11":
        settings = parse_pkcs11_uri(credential.location)
        secret = _read_secret(credential)
        if secret is None and not pin:
            raise ApiProblem("pin_required")
        intermediates = components().policy.intermediates
        with open_pkcs11_signer(settings, secret if secret is not None else pin,
                                ca_certificates=intermediates) as signer:
            yield signer
        return
    raise CredentialError(Path(credential.location), f"credential kind {credential.kind!r} is not supported")


BANGLADESH_TIME = timezone(timedelta(hours=6))  # Bangladesh Standard Time, no daylight saving since 2009


def signature_stamp(user: User, placement: StampPlacement) -> VisibleStamp:
    """Build the visible stamp of a user's signature: name, designation, office and today's date.

    The date is the day in Bangladesh, in both the Bangla and the Gregorian calendar.
    """
    date_line = format_dual_date_bn(datetime.now(BANGLADESH_TIME).date())
    if user.designation and user.office:
        lines = stamp_lines(user.display_name, user.designation, user.office, date_line)
    else:
        lines = (user.display_name, date_line)
    return VisibleStamp(lines, placement)


def open_current_revision(document: Document, user: User) -> tuple[Revision, BinaryIO]:
    """Spool the current revision after checking its fixity; a mismatch is recorded and raised.

    The caller closes the returned file.
    """
    revision = document.current_revision
    spool, digest, _ = _spool_revision(document, revision, user)
    if digest != revision.sha256:
        spool.close()
        record_fixity_failure(document, revision, digest, user)
        raise ApiProblem("fixity_mismatch", revision=revision.number)
    return revision, spool


def read_current_revision(document: Document, user: User) -> tuple[Revision, bytes]:
    """Read the current revision's bytes after checking their fixity; a mismatch is recorded and raised."""
    revision, spool = open_current_revision(document, user)
    with spool:
        return revision, spool.read()


def sign_document(document_id: str, user: User, profile: SigningProfile,
                  role: str | None = None, pin: str | None = None) -> tuple[Signature, ValidationReport]:
    """Sign the current revision with the user's credential and store the result as a new revision.

    ``role`` is the signer's role in the document kind's signing order; by
    default the next role that has not signed. ``pin`` is the PIN or PKCS#12
    passphrase that the signer sent, for a credential without a secret file.
    The revision is read from a spool file and signed into another, so the
    PDF is never held in memory.
    """
    document = get_document(document_id)
    role, certify = check_next_signature(document, user, role)
    signature_field = signature_fields(document, role, certify)
    profile = dataclasses.replace(profile, certify=certify, field_name=signature_field.field_name,
                                  reserved_fields=signature_field.reserved_fields)
    credential = _signing_credential(user)
    revision, source = open_current_revision(document, user)

    parts = components()
    with source, new_spool_file(parts.settings, "signed-") as signed:
        with _open_signer(credential, pin) as signer:
            check_credential_certificate(credential, signer.signing_cert)
            sign_pdf_file(source, signed, signer, profile, timestamper=parts.timestamper, policy=parts.policy)
        return store_signed_revision(document, revision, user, signed, role)


def lost_verdict(previous: ValidationReport, report: ValidationReport) -> str | None:
    """Return the field of a signature that passed in ``previous`` and does not pass in ``report``, if any."""
    after = {entry.field_name: entry.indication for entry in report.signatures}
    for entry in previous.signatures:
        if entry.indication == TOTAL_PASSED and after.get(entry.field_name) != TOTAL_PASSED:
            return entry.field_name
    return None


def store_next_revision(document: Document, revision: Revision, user: User, content: bytes | BinaryIO,
                        digest: str, size: int, report: ValidationReport, *, reason: str,
                        event: tuple[str, dict], extra_rows: Callable[[Revision], list] = lambda _: [],
                        check_locked: Callable[[], None] = lambda: None) -> Revision:
    """Store a validated PDF as the revision after ``revision``, with its validation data, rows and audit event.

    The document's row is locked first; if another revision became current
    since ``revision`` was read, or ``check_locked`` raises, nothing is
    stored. ``extra_rows`` returns rows to commit with the new revision, and
    ``event`` is the audit action and its details, to which the revision
    number is added. Losing a race for the revision number raises
    ``revision_conflict``.
    """
    lock_document(document)
    if document.current_revision_id != revision.id:
        # Another revision was stored since this one read the document.
        log.info("lost a race: document=%s revision %d is no longer current", document.id, revision.number)
        raise ApiProblem("revision_conflict")
    check_locked()
    number = revision.number + 1
    stored, companions = put_revision_objects(document, number, content, digest, report, size=size)
    new_revision = Revision(
        document_id=document.id,
        number=number,
        object_key=stored.key,
        version_id=stored.version_id,
        sha256=digest,
        size=size,
        reason=reason,
        source_type="pdf",
        created_by=user,
    )
    action, details = event

    def add_rows() -> None:
        db.session.add(new_revision)
        db.session.add_all(extra_rows(new_revision))
        db.session.add_all([validation_data.validation_data_row(document, new_revision, item) for item in companions])
        db.session.flush()
        document.current_revision = new_revision
        _record_verification(document, new_revision, digest, report, user)
        record_event(action, "success", actor=user, document_id=document.id,
                     details={"revision": number, **details})

    try:
        _store_with_row(stored, add_rows, companions)
    except IntegrityError:
        # Another process created the same revision number first.
        raise ApiProblem("revision_conflict") from None
    return new_revision


def store_signed_revision(document: Document, revision: Revision, user: User, signed: bytes | BinaryIO,
                          role: str | None) -> tuple[Signature, ValidationReport]:
    """Validate a newly signed PDF, as bytes or a spool file, and store it as the revision after ``revision``.

    The certificates, CRLs and OCSP responses that this validation used are
    stored beside it (:mod:`service.validation_data`).
    """
    if isinstance(signed, bytes):
        signed_digest, signed_size = sha256_hex(signed), len(signed)
    else:
        signed.flush()
        signed_digest, signed_size = _file_digest(signed)

    # Validate before storing: a signature the archive itself would not accept
    # must never become a revision.
    report, _ = _validate(signed, signed_digest, fresh=True)
    own = report.signatures[-1]
    if own.indication == "TOTAL_FAILED":
        log.error("refusing to store a failed signature: document=%s sub_indication=%s", document.id, own.sub_indication)
        raise ApiProblem("signing_failed")

    # A new signature must not cost an earlier one its verdict, for example a
    # visible stamp added after a certification that does not permit it.
    # Only when an earlier signature does not pass now is the revision before
    # it read and validated again.
    if any(entry.indication != TOTAL_PASSED for entry in report.signatures[:-1]):
        previous_file, previous_digest, _ = _spool_revision(document, revision, None)
        with previous_file:
            previous, _ = _validate(previous_file, previous_digest, fresh=False)
        lost = lost_verdict(previous, report)
        if lost is not None:
            log.error("refusing a signature that invalidates %s: document=%s", lost, document.id)
            raise ApiProblem("signature_breaks_earlier", field_name=lost)

    def check_locked() -> None:
        if role is not None:
            # The role's holder may have changed since the signing order was checked.
            check_role_holder(document, user, role)

    signature = Signature(
        document_id=document.id,
        field_name=own.field_name,
        role=role,
        signer_subject=own.signer_subject,
        signer_issuer=own.signer_issuer,
        signer_serial=own.signer_serial,
        signing_time=own.signing_time,
        level=own.level,
        signed_by=user,
    )

    def signature_row(new_revision: Revision) -> list:
        signature.revision = new_revision
        return [signature]

    new_revision = store_next_revision(
        document, revision, user, signed, signed_digest, signed_size, report, reason="signed",
        extra_rows=signature_row, check_locked=check_locked,
        event=("document.sign", {
            "sha256": signed_digest,
            "field": own.field_name,
            "role": role,
            "signer_serial": own.signer_serial,
            "level": own.level,
            "indication": own.indication,
        }),
    )
    log.info(
        "document signed: document=%s revision=%d sha256=%s signer_serial=%s level=%s indication=%s",
        document.id, new_revision.number, signed_digest, own.signer_serial, own.level, own.indication,
    )
    return signature, report


def set_legal_hold(document_id: str, user: User, enabled: bool, reason: str | None) -> Document:
    """Place or release the legal hold on every stored version of a document.

    The store is changed first: if it fails part way, the row still shows the
    previous state and repeating the request completes it.
    """
    document = get_document(document_id)
    # Locked, so that a signature stored meanwhile either comes first and is
    # listed below, or comes after and sees the hold.
    lock_document(document)
    revisions = list(db.session.execute(
        db.select(Revision).where(Revision.document_id == document.id).order_by(Revision.number)
    ).scalars())
    store = components().store
    for revision in revisions:
        store.set_legal_hold(revision.object_key, revision.version_id, enabled)
    for row in validation_data.rows_of(document):
        store.set_legal_hold(row.object_key, row.version_id, enabled)
    document.legal_hold = enabled
    record_event("document.legal_hold", "placed" if enabled else "released", actor=user, document_id=document.id,
                 details={"reason": reason, "revisions": [revision.number for revision in revisions]})
    db.session.commit()
    log.info("legal hold %s: document=%s user=%s", "placed" if enabled else "released", document.id, user.username)
    return document
