"""The signing order of each kind of document: the required roles and their sequence.

Minutes are certified first by the member secretary who prepared them, with
DocMDP permissions that allow later signatures, and then signed by the chair.
Evidence needs one signature from the officer who submits it. A document is
complete when every required role has signed and its signatures validate.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Document, Signature, User, Verification
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


@dataclass(frozen=True)
class SigningState:
    required: tuple[str, ...]
    signed: tuple[str, ...]
    valid: bool = False
    """Whether the latest verification of the current revision passed: fixity and TOTAL_PASSED."""

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
        return {"required": list(self.required), "signed": list(self.signed), "next": self.next_role,
                "valid": self.valid, "complete": self.complete}


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
    return SigningState(REQUIRED_ROLES.get(document.kind, ()), signed, valid)


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
    turn, a user who has signed this document before, or a complete document.
    """
    state = signing_state(document)
    if state.all_signed:
        raise ApiProblem("signing_complete")
    # NOTE: nothing ties a user to a role, so an officer who signs without
    # naming one takes the next role, the member secretary's included.
    role = role or state.next_role
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
    certify = len(state.required) > 1 and role == state.required[0]
    return role, certify


def _signed_by(signature: Signature, user: User) -> bool:
    return signature.signed_by_id == user.id
