"""Holders of a document's signing roles: named at upload, changed until the role is signed.

The upload may name an officer for each role of the document's kind. The
uploader holds the first role (member secretary of minutes, submitter of
evidence) unless the upload names another officer for it. A role without a
holder stays open to any officer who has not signed the document yet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .audit import record_event
from .extensions import db
from .models import Document, Signature, SignerAssignment, User, utcnow
from .problems import ApiProblem
from .signing_order import KIND_LABELS, REQUIRED_ROLES, ROLE_LABELS

log = logging.getLogger(__name__)


def check_role(kind: str, role: str) -> None:
    """Raise ``signer_role_unknown`` unless ``role`` is a signing role of the document kind."""
    roles = REQUIRED_ROLES.get(kind, ())
    if role not in roles:
        raise ApiProblem("signer_role_unknown", role=role, kind=kind, roles=", ".join(roles),
                         kind_en=KIND_LABELS[kind]["en"], kind_bn=KIND_LABELS[kind]["bn"])


def signer_for_role(role: str, username: str) -> User:
    """Return the active officer with ``username``, to hold ``role``, or raise the problem that explains why not."""
    labels = {"role": role, "role_en": ROLE_LABELS[role]["en"], "role_bn": ROLE_LABELS[role]["bn"]}
    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise ApiProblem("signer_user_not_found", username=username, **labels)
    if not user.active:
        raise ApiProblem("signer_user_inactive", username=username, **labels)
    if user.role != "officer":
        raise ApiProblem("signer_not_officer", username=username, user_role=user.role, **labels)
    return user


def _assigned_twice(user: User, role: str, other: str) -> ApiProblem:
    return ApiProblem("signer_assigned_twice", username=user.username, role=role, other_role=other,
                      role_en=ROLE_LABELS[role]["en"], role_bn=ROLE_LABELS[role]["bn"],
                      other_en=ROLE_LABELS[other]["en"], other_bn=ROLE_LABELS[other]["bn"])


def resolve_signers(kind: str, named: Iterable[tuple[str, str]], uploader: User) -> dict[str, User]:
    """Return the holder of each role that gets one at upload, in the kind's signing order.

    ``named`` pairs roles with usernames as the upload gave them. Every role is
    checked before any user, so an unknown role is reported first.
    """
    named = dict(named)
    for role in named:
        check_role(kind, role)
    roles = REQUIRED_ROLES[kind]
    holders = {role: signer_for_role(role, named[role]) for role in roles if role in named}
    if roles[0] not in holders:
        holders[roles[0]] = uploader
    holders = {role: holders[role] for role in roles if role in holders}

    seen: dict[int, str] = {}
    for role, user in holders.items():
        if user.id in seen:
            raise _assigned_twice(user, seen[user.id], role)
        seen[user.id] = role
    return holders


def assignment_rows(document: Document, holders: dict[str, User], assigned_by: User) -> list[SignerAssignment]:
    return [SignerAssignment(document=document, role=role, user_id=user.id, assigned_by_id=assigned_by.id)
            for role, user in holders.items()]


def change_signer(document_id: str, actor: User | None, role: str, username: str) -> Document:
    """Make ``username`` the holder of a role that is not signed yet, and audit the change.

    ``actor`` is the uploader or an administrator, or None for the command
    line. The new holder must be an active officer who holds no other role of
    the document and has not signed it.
    """
    # archive imports this module for uploads.
    from .archive import get_document, lock_document

    document = get_document(document_id)
    if actor is not None and actor.role != "admin" and document.created_by_id != actor.id:
        raise ApiProblem("signer_change_forbidden")
    check_role(document.kind, role)
    user = signer_for_role(role, username)

    # Locked like a signature's store, so that a signature in this role either
    # lands first and the change is refused, or sees the new holder.
    lock_document(document)
    signatures = list(db.session.execute(
        db.select(Signature).where(Signature.document_id == document.id)
    ).scalars())
    if any(signature.role == role for signature in signatures):
        raise ApiProblem("signature_role_taken", role=role)
    assignments = {assignment.role: assignment for assignment in db.session.execute(
        db.select(SignerAssignment).where(SignerAssignment.document_id == document.id)
        .execution_options(populate_existing=True)
    ).scalars()}
    for other, assignment in assignments.items():
        if other != role and assignment.user_id == user.id:
            raise _assigned_twice(user, role, other)
    for signature in signatures:
        if signature.signed_by_id == user.id and signature.role:
            raise _assigned_twice(user, role, signature.role)

    current = assignments.get(role)
    previous = current.user.username if current is not None else None
    if current is None:
        db.session.add(SignerAssignment(document_id=document.id, role=role, user_id=user.id,
                                        assigned_by_id=actor.id if actor else None))
    else:
        current.user_id = user.id
        current.assigned_by_id = actor.id if actor else None
        current.assigned_at = utcnow()
    record_event("document.signer_change", "success", actor=actor, document_id=document.id,
                 details={"role": role, "user": user.username, "previous": previous,
                          "via": "api" if actor else "cli"})
    db.session.commit()
    log.info("signer changed: document=%s role=%s user=%s previous=%s", document.id, role, user.username, previous)
    return document
