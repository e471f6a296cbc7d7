"""Bearer-token authentication and role-based permissions for the API."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta, timezone
from typing import TypeVar

from flask import g, request
from sqlalchemy.orm import joinedload

from .audit import record_event
from .extensions import db
from .models import ApiToken, User, utcnow
from .problems import ApiProblem

F = TypeVar("F", bound=Callable[..., object])

TOKEN_PREFIX = "dolil_"
# A token's last use is updated at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Every API action and the roles allowed to perform it. A view names exactly
# one permission; a role missing from a set gets 403.
PERMISSIONS: dict[str, frozenset[str]] = {
    "document:create": frozenset({"officer"}),
    "document:sign": frozenset({"officer"}),
    "document:read": frozenset({"officer", "auditor", "service", "admin"}),
    "document:verify": frozenset({"officer", "auditor", "service", "admin"}),
    "verification:create": frozenset({"auditor"}),
    "document:legal-hold": frozenset({"auditor", "admin"}),
    "audit:read": frozenset({"auditor", "admin"}),
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


def authenticate() -> User:
    """Return the user of the request's bearer token or raise a 401 problem."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem("unauthorized", headers={"WWW-Authenticate": 'Bearer realm="dolil"'})

    api_token = db.session.execute(
        db.select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == hash_token(token.strip()))
    ).scalar_one_or_none()
    if api_token is None or api_token.revoked_at is not None or not api_token.user.active:
        raise ApiProblem(
            "unauthorized", headers={"WWW-Authenticate": 'Bearer realm="dolil", error="invalid_token"'}
        )
    now = utcnow()
    last_used = api_token.last_used_at
    if last_used is not None and last_used.tzinfo is None:
        # SQLite returns stored datetimes without their zone; they are UTC.
        last_used = last_used.replace(tzinfo=timezone.utc)
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        # Recorded to the minute: an UPDATE on every request would cost each
        # read a row write for a figure that only `tokens list` shows.
        api_token.last_used_at = now
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
            # Kept for the request log, which runs after the view's commit has
            # expired the user's attributes.
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
