"""Bearer-token authentication and role-based permissions for the API."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from flask import g, request
from sqlalchemy.orm import joinedload

from .audit import record_event
from .extensions import db
from .models import ApiToken, User, as_utc, utcnow
from .problems import ApiProblem

F = TypeVar("F", bound=Callable[..., object])

TOKEN_PREFIX = "dolil_"
# Maximum age of a token's recorded last use before a request updates it.
LAST_USED_PRECISION = timedelta(minutes=1)

# Every API action and the roles allowed to perform it. A view names exactly
# one permission; a role missing from a set gets 403.
PERMISSIONS: dict[str, frozenset[str]] = {
    "document:create": frozenset({"officer"}),
    "document:sign": frozenset({"officer"}),
    # Officers may change only the holders of documents they uploaded (service.signers).
    "document:assign-signer": frozenset({"officer", "admin"}),
    "document:read": frozenset({"officer", "auditor", "service", "admin"}),
    "document:verify": frozenset({"officer", "auditor", "service", "admin"}),
    "verification:create": frozenset({"auditor"}),
    "document:legal-hold": frozenset({"auditor", "admin"}),
    "audit:read": frozenset({"auditor", "admin"}),
    "document:validation-data": frozenset({"auditor", "admin"}),
    # The export contains the document's audit events, so it is for those who read the log.
    "document:export": frozenset({"auditor", "admin"}),
    # Prometheus scrapes with a service account's token.
    "metrics:read": frozenset({"service", "admin"}),
}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User, label: str = "") -> str:
    """Create a token for ``user`` and return its value; only its hash is stored.

    The caller commits the session.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=hash_token(token), label=label))
    return token


# A token's use is audited on its first request and then at most once per
# this interval, so that reads do not each append an event.
TOKEN_USE_AUDIT_INTERVAL = timedelta(hours=1)


def _refuse(reason: str, api_token: ApiToken | None = None) -> ApiProblem:
    """Audit a failed authentication and return the 401 problem to raise."""
    details = {"reason": reason, "method": request.method, "path": request.path}
    if api_token is not None:
        details["token_id"] = api_token.id
    record_event("authentication.failed", "failure", actor=api_token.user if api_token is not None else None,
                 details=details)
    db.session.commit()
    if reason == "missing":
        return ApiProblem("unauthorized", headers={"WWW-Authenticate": 'Bearer realm="dolil"'})
    return ApiProblem("unauthorized", headers={"WWW-Authenticate": 'Bearer realm="dolil", error="invalid_token"'})


def authenticate() -> User:
    """Return the user of the request's bearer token or raise a 401 problem.

    Refusals are audited, and so is the token's use: on its first request and
    then once per TOKEN_USE_AUDIT_INTERVAL.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse("missing")

    api_token = db.session.execute(
        db.select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == hash_token(token.strip()))
    ).scalar_one_or_none()
    if api_token is None:
        raise _refuse("unknown")
    if api_token.revoked_at is not None:
        raise _refuse("revoked", api_token)
    if not api_token.user.active:
        raise _refuse("inactive_user", api_token)
    now = utcnow()
    if api_token.last_used_at is None or as_utc(api_token.last_used_at) <= now - TOKEN_USE_AUDIT_INTERVAL:
        api_token.last_used_at = now
        record_event("authentication.token_used", "success", actor=api_token.user,
                     details={"token_id": api_token.id, "label": api_token.label,
                              "method": request.method, "path": request.path})
        db.session.commit()
    elif now - as_utc(api_token.last_used_at) > LAST_USED_PRECISION:
        api_token.last_used_at = now
        # Committed at once: an open UPDATE would hold the token's row lock for
        # the whole request on PostgreSQL and queue every other request made
        # with the same token, on every process.
        db.session.commit()
    return api_token.user


PUBLIC = "public"


def public(view: F) -> F:
    """Mark a view as open to anonymous callers, which is its authorisation rule."""
    view.permission = PUBLIC  # type: ignore[attr-defined]
    return view


def require_permission(permission: str) -> Callable[[F], F]:
    """Authenticate the request and check that the user's role has ``permission``."""
    allowed = PERMISSIONS[permission]

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: object, **kwargs: object) -> object:
            user = authenticate()
            g.user = user
            # Kept apart from the ORM object, which a rolled-back session expires:
            # the request log must not need the database after it failed.
            g.username = user.username
            if user.role not in allowed:
                record_event("authorization.denied", "failure", actor=user,
                             details={"permission": permission, "method": request.method, "path": request.path})
                db.session.commit()
                raise ApiProblem("forbidden", role=user.role)
            return view(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
