"""The signing order of each kind of document: the required roles and their sequence.

Minutes are certified first by the member secretary who prepared them, with
DocMDP permissions that allow later signatures, and then signed by the chair.
Evidence needs one signature from the officer who submits it. A document is
complete when every required role has signed and its signatures validate.

A role may have a holder (:class:`~service.models.SignerAssignment`), the
only officer who may sign in it. The uploader holds the first role unless the
upload names another officer for it; a role without a holder may be signed by
any officer who has not signed the document yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from .extensions import db
from .models import Document, Signature, SignerAssignment, User, Verification
from .problems import ApiProblem

# Roles in the order they sign. The first role of a kind with more than one
# role makes a certification signature.
REQUIRED_ROLES: dict[str, tuple[str, ...]] = {
    "minutes": ("member_secretary", "chair"),
    "evidence": ("submitter",),
}

ROLE_LABELS = {
    "member_secretary": {"en": "member secretary", "bn": "সদস্য সচিব"},
    "chair": {"en": "chair", "bn": "সভাপতি"},
    "submitter": {"en": "submitter", "bn": "দাখিলকারী"},
}

KIND_LABELS = {
    "minutes": {"en": "minutes", "bn": "কার্যবিবরণী"},
    "evidence": {"en": "evidence", "bn": "প্রমাণক"},
}


@dataclass(frozen=True)
class SigningState:
    required: tuple[str, ...]
    signed: tuple[str, ...]
    valid: bool = False
    """Whether the latest verification of the current revision passed: fixity and TOTAL_PASSED."""
    holders: tuple[str | None, ...] = ()
    """Username of each required role's holder, in the order of ``required``: the named holder,
    else the officer who signed the role, else None for a role open to any officer."""

    @property
    def next_role(self) -> str | None:
        remaining = [role for role in self.required if role not in self.signed]
        return remaining[0] if remaining else None

    @property
    def all_signed(self) -> bool:
        return self.next_role is None

    @property
    def complete(self) -> bool:
        """Every required role has signed and the signatures validate."""
        return self.all_signed and self.valid

    def to_dict(self) -> dict:
        holders = self.holders or (None,) * len(self.required)
        roles = [{"role": role, "holder": holder, "signed": role in self.signed}
                 for role, holder in zip(self.required, holders)]
        return {"required": list(self.required), "signed": list(self.signed), "next": self.next_role,
                "valid": self.valid, "complete": self.complete, "roles": roles}


@dataclass(frozen=True)
class SignatureFields:
    field_name: str | None
    """The signature's own field: the role's name for a role after the first, None for a new default field."""
    reserved_fields: tuple[str, ...]
    """Fields a certification creates for the roles after it."""


def signing_state(document: Document, latest: Verification | None = None) -> SigningState:
    """Return the document's signing state; ``latest`` is its most recent verification, if any."""
    signed = tuple(signature.role for signature in document.signatures if signature.role)
    current = document.current_revision
    valid = (latest is not None and current is not None and latest.revision_id == current.id
             and latest.fixity_ok and latest.indication == "TOTAL_PASSED")
    required = REQUIRED_ROLES.get(document.kind, ())
    named = {assignment.role: assignment.user.username for assignment in document.signer_assignments}
    signers = {signature.role: signature.signed_by.username for signature in document.signatures if signature.role}
    holders = tuple(named.get(role) or signers.get(role) for role in required)
    return SigningState(required, signed, valid, holders)


def signature_fields(document: Document, role: str, certify: bool) -> SignatureFields:
    """Return the field a role signs in and the fields its signature reserves for later roles.

    Each role after the first signs in a field named after the role. The
    certification reserves those fields, so later signers fill them with their
    stamps without breaking the certification's DocMDP permissions.
    """
    roles = REQUIRED_ROLES.get(document.kind, ())
    if len(roles) < 2:
        return SignatureFields(None, ())
    position = roles.index(role)
    reserved = roles[position + 1:] if certify else ()
    return SignatureFields(role if position > 0 else None, reserved)


def check_next_signature(document: Document, user: User, role: str | None) -> tuple[str, bool]:
    """Return the role the user signs in and whether it is a certification signature.

    Raises a problem for an unknown role, a role signed already or out of
    turn, a user who has signed this document before, a role held by another
    officer, or a complete document. Without ``role`` the user signs in the
    role they were named for, else in the next role, which must then have no
    holder.
    """
    state = signing_state(document)
    if state.all_signed:
        raise ApiProblem("signing_complete")
    if role is None:
        # An officer named for a role signs in it, so one who comes before
        # their turn hears that it is not their turn yet.
        held = [assignment.role for assignment in document.signer_assignments
                if assignment.user_id == user.id and assignment.role not in state.signed]
        role = held[0] if held else state.next_role
    if role not in state.required:
        raise ApiProblem("field_invalid", field="role",
                         reason_en="use one of: " + ", ".join(state.required),
                         reason_bn="এর যেকোনো একটি দিন: " + ", ".join(state.required))
    if role in state.signed:
        raise ApiProblem("signature_role_taken", role=role)
    if role != state.next_role:
        raise ApiProblem("signature_out_of_order", role=role, expected=state.next_role,
                         role_en=ROLE_LABELS[role]["en"], expected_en=ROLE_LABELS[state.next_role]["en"],
                         role_bn=ROLE_LABELS[role]["bn"], expected_bn=ROLE_LABELS[state.next_role]["bn"])
    if any(_signed_by(signature, user) for signature in document.signatures):
        raise ApiProblem("duplicate_signer")
    check_role_holder(document, user, role)
    certify = len(state.required) > 1 and role == state.required[0]
    return role, certify


def check_role_holder(document: Document, user: User, role: str) -> None:
    """Raise ``signature_role_not_assigned`` when another officer holds ``role`` of the document.

    The holder is read from the database rather than from the loaded document,
    so a check made under the document's lock sees a holder changed meanwhile.
    """
    holder = db.session.execute(
        db.select(SignerAssignment).where(SignerAssignment.document_id == document.id,
                                          SignerAssignment.role == role)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if holder is not None and holder.user_id != user.id:
        raise ApiProblem("signature_role_not_assigned", role=role, holder=holder.user.username,
                         role_en=ROLE_LABELS[role]["en"], role_bn=ROLE_LABELS[role]["bn"])


def _signed_by(signature: Signature, user: User) -> bool:
    return signature.signed_by_id == user.id
