"""Database models: users and tokens, documents with their revisions and signatures,
verification results and the audit log.

Rows describe objects in the object store; the PDF bytes themselves live only
there. Text metadata (Bengali titles, memo numbers) lives only here, because S3
user metadata is restricted to US-ASCII.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

ROLES = ("officer", "auditor", "service", "admin")
DOCUMENT_KINDS = ("minutes", "evidence")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Attach UTC to a naive datetime read back from SQLite, which drops the zone."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # Shown in visible signature stamps, e.g. "উপ-নিয়ন্ত্রক (সাইবার অপরাধ ও নিরাপত্তা)".
    designation: Mapped[str | None] = mapped_column(String(200))
    office: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # An Argon2id hash in PHC string form, for signing in to the web pages;
    # None until an administrator sets a password (`flask users set-password`).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")
    credentials: Mapped[list[SigningCredential]] = relationship(back_populates="user")


class ApiToken(db.Model):
    """A bearer token, stored as the SHA-256 of its value.

    Tokens carry 256 bits of randomness, so a plain SHA-256 is enough to make
    the stored value useless to a reader of the table. A slow password hash
    would only slow down every request.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="tokens")


class WebSession(db.Model):
    """A signed-in browser: the web pages' server-side session.

    The cookie carries a random value and the row stores only its SHA-256, so
    a reader of the table cannot take over a session. Signing out deletes the
    row. ``csrf_token`` is the value that every form of the session posts back.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class SigningCredential(db.Model):
    """The location of a user's signing key and how to unlock it.

    For ``pkcs12`` the location is the file path and ``secret_file`` names a
    file that contains the passphrase. For ``pkcs11`` the location is an
    RFC 7512 URI, and for ``external`` the SHA-256 of the certificate whose key
    stays on the officer's token. Passphrases and PINs are never stored in the
    database.

    ``certificate_sha256`` binds the credential to one certificate, recorded
    when an administrator registers it (``flask credentials add...``). A
    signature is made only with that certificate, so a replaced PKCS#12 file
    or token object is refused. ``binding`` records why the certificate
    belongs to the user: ``name`` (its subject common name equals the user's
    name) or ``confirmed`` (the administrator confirmed the holder). A
    credential without a binding cannot sign.
    """

    __tablename__ = "signing_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16), default="pkcs12")
    location: Mapped[str] = mapped_column(Text)
    secret_file: Mapped[str | None] = mapped_column(Text)
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    certificate_subject: Mapped[str | None] = mapped_column(Text)
    binding: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(back_populates="credentials")


class Document(db.Model):
    __tablename__ = "documents"
    __table_args__ = (
        # Prefix searches (LIKE 'x%') can use this index on PostgreSQL whatever
        # the database collation; elsewhere it is a plain index.
        Index("ix_documents_memo_number_prefix", "memo_number", postgresql_ops={"memo_number": "text_pattern_ops"}),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(Text)
    # Normalised to ASCII digits, so Bengali and ASCII input find the same record.
    memo_number: Mapped[str | None] = mapped_column(String(100), index=True)
    document_date: Mapped[date | None] = mapped_column(Date)
    meeting_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # Mirrors the object-lock legal hold on every stored version of the document.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    current_revision_id: Mapped[str | None] = mapped_column(
        ForeignKey("revisions.id", use_alter=True, name="fk_documents_current_revision")
    )

    created_by: Mapped[User] = relationship()
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="document", foreign_keys="Revision.document_id", order_by="Revision.number"
    )
    current_revision: Mapped[Revision | None] = relationship(foreign_keys=[current_revision_id], post_update=True)
    signatures: Mapped[list[Signature]] = relationship(back_populates="document", order_by="Signature.id")
    signer_assignments: Mapped[list[SignerAssignment]] = relationship(back_populates="document",
                                                                      order_by="SignerAssignment.id")


class Revision(db.Model):
    """One immutable stored state of a document's PDF."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(200), unique=True)
    version_id: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    source_type: Mapped[str] = mapped_column(String(16), default="pdf")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # True until the object version's final object-lock retention is confirmed.
    # A row is committed with True and cleared after the retention is set, so a
    # process that dies in between leaves a mark that `flask storage reconcile`
    # finds and completes.
    retention_pending: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    document: Mapped[Document] = relationship(back_populates="revisions", foreign_keys=[document_id])
    created_by: Mapped[User] = relationship()


class Signature(db.Model):
    """A signature made through Dolil, recorded with the revision it created."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    revision_id: Mapped[str] = mapped_column(ForeignKey("revisions.id"))
    field_name: Mapped[str] = mapped_column(String(200))
    # The role the signer signed in, from the document kind's signing order.
    role: Mapped[str | None] = mapped_column(String(32))
    signer_subject: Mapped[str | None] = mapped_column(Text)
    signer_issuer: Mapped[str | None] = mapped_column(Text)
    signer_serial: Mapped[str | None] = mapped_column(String(100))
    signing_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    level: Mapped[str | None] = mapped_column(String(8))
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document: Mapped[Document] = relationship(back_populates="signatures")
    revision: Mapped[Revision] = relationship()
    signed_by: Mapped[User] = relationship()


class SignerAssignment(db.Model):
    """The officer who holds one signing role of one document.

    Only that officer may sign in the role. A role without a row may be
    signed by any officer who has not signed the document yet. Each role has
    at most one holder, and each officer holds at most one role of a document.
    """

    __tablename__ = "signer_assignments"
    __table_args__ = (
        UniqueConstraint("document_id", "role", name="uq_signer_assignments_role"),
        UniqueConstraint("document_id", "user_id", name="uq_signer_assignments_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The uploader for holders named at upload, the first role's default included,
    # or the user who changed the holder later; None when it was changed with `flask signers set`.
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document: Mapped[Document] = relationship(back_populates="signer_assignments")
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Verification(db.Model):
    """The outcome of one fixity check and validation of a stored revision."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    revision_id: Mapped[str] = mapped_column(ForeignKey("revisions.id"))
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    fixity_ok: Mapped[bool] = mapped_column(Boolean)
    actual_sha256: Mapped[str | None] = mapped_column(String(64))
    indication: Mapped[str | None] = mapped_column(String(32))
    policy_fingerprint: Mapped[str | None] = mapped_column(String(64))
    report: Mapped[dict | None] = mapped_column(JSON)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class IdempotencyKey(db.Model):
    """The first result of an upload sent with an ``Idempotency-Key`` header.

    A retry with the same key and the same request returns that document
    instead of storing a duplicate. The same key with a different request is
    rejected. Keys are scoped to the user who sent them.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PendingSignature(db.Model):
    """A two-phase signature prepared for a key the service never holds.

    The officer signs the prepared signed attributes on their own token and
    completes it with the handle; only the handle's SHA-256 is stored. It is
    bound to the user, the document and the revision it was prepared from,
    expires, and can be completed once.
    """

    __tablename__ = "pending_signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    revision_id: Mapped[str] = mapped_column(ForeignKey("revisions.id"))
    role: Mapped[str | None] = mapped_column(String(32))
    certificate_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobCursor(db.Model):
    """The position at which a resumable background job (such as the fixity audit) stopped."""

    __tablename__ = "job_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class AuditEvent(db.Model):
    """An append-only audit record, chained to its predecessor by SHA-256.

    ``sequence`` numbers the events 1, 2, 3... without gaps, in chain order;
    checkpoints name events by it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("sequence", name="uq_audit_events_sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    document_id: Mapped[str | None] = mapped_column(String(36), index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    previous_hash: Mapped[str] = mapped_column(String(64))
    event_hash: Mapped[str] = mapped_column(String(64), unique=True)


class ValidationData(db.Model):
    """The validation-data bundle of a revision: the certificates, CRLs and OCSP responses
    that its validation at archive time used (format in :mod:`signing.validation_data`).

    The bundle is one JSON object in the locked bucket beside the revision's PDF,
    under the same retention, and is checked against ``sha256`` when read.
    """

    __tablename__ = "validation_data"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    revision_id: Mapped[str] = mapped_column(ForeignKey("revisions.id"), unique=True)
    object_key: Mapped[str] = mapped_column(String(200), unique=True)
    version_id: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    revision: Mapped[Revision] = relationship()


class AuditChainHead(db.Model):
    """The one row that names the last audit event; appenders lock it in turn.

    Its ``sequence`` and ``event_hash`` are those of the newest event, or 0 and
    the genesis hash while the log is empty.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    event_hash: Mapped[str] = mapped_column(String(64))
