"""Server-side sessions of the web pages and their CSRF tokens.

A session is a row in ``web_sessions``, and the browser stores a random value in
an HttpOnly, SameSite=Lax cookie (Secure, with the ``__Host-`` prefix, when
``DOLIL_SESSION_COOKIE_SECURE`` or production asks for it). The row keeps
only the value's SHA-256. A session ends after ``DOLIL_SESSION_IDLE_MINUTES``
without a request, after ``DOLIL_SESSION_MAX_HOURS`` in any case, at sign-out,
when the user is deactivated, and when the user's password is set again.

Every POST form carries a CSRF token. Signed in, it is the session's own
token. The sign-in form, which has no session yet, uses a double-submit
token: a random value in a SameSite=Strict cookie that the form repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Response, current_app, g, request
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import User, WebSession, as_utc, utcnow

CSRF_FIELD = "csrf_token"
# A session's last request is written at most this often, not on every page.
LAST_SEEN_PRECISION = timedelta(minutes=1)


def _secure() -> bool:
    return current_app.config["DOLIL_SETTINGS"].secure_cookies


def session_cookie_name() -> str:
    # The __Host- prefix makes browsers accept the cookie only when it is
    # Secure, set by this host itself and valid for every path.
    return "__Host-dolil_session" if _secure() else "dolil_session"


def sign_in_cookie_name() -> str:
    return "__Host-dolil_sign_in" if _secure() else "dolil_sign_in"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(user: User) -> str:
    """Create a session for ``user`` and return the cookie value; the caller commits.

    A new value is issued at every sign-in, so a value planted in the browser
    before it cannot become a signed-in session.
    """
    settings = current_app.config["DOLIL_SETTINGS"]
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # Sessions past their absolute limit that no request came back for are
    # removed here, since nothing else reads them again.
    db.session.execute(db.delete(WebSession).where(WebSession.expires_at < now))
    db.session.add(WebSession(token_hash=_hash(token), user=user, csrf_token=secrets.token_urlsafe(32),
                              created_at=now, last_seen_at=now,
                              expires_at=now + timedelta(hours=settings.session_max_hours)))
    return token


def current_session() -> WebSession | None:
    """Return the request's live session, or None; an expired one is deleted.

    ``g.session_expired`` marks a session that ran out, so the redirect to sign-in can say so.
    """
    if "web_session" in g:
        return g.web_session
    g.web_session = None
    token = request.cookies.get(session_cookie_name())
    if not token:
        return None
    row = db.session.execute(
        db.select(WebSession).options(joinedload(WebSession.user)).where(WebSession.token_hash == _hash(token))
    ).scalar_one_or_none()
    if row is None:
        return None

    settings = current_app.config["DOLIL_SETTINGS"]
    now = utcnow()
    idle_limit = as_utc(row.last_seen_at) + timedelta(minutes=settings.session_idle_minutes)
    if now >= as_utc(row.expires_at) or now >= idle_limit or not row.user.active:
        db.session.delete(row)
        db.session.commit()
        g.session_expired = True
        return None
    if now - as_utc(row.last_seen_at) > LAST_SEEN_PRECISION:
        row.last_seen_at = now
        # Committed at once, like a token's last use, so that the row is not
        # held locked for the rest of the request.
        db.session.commit()
    g.web_session = row
    return row


def end_session(row: WebSession) -> None:
    """Delete a session; the caller commits."""
    db.session.delete(row)
    g.web_session = None


def end_user_sessions(user: User) -> int:
    """Delete every session of ``user`` and return how many there were; the caller commits."""
    result = db.session.execute(db.delete(WebSession).where(WebSession.user_id == user.id))
    return result.rowcount or 0


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(session_cookie_name(), token, httponly=True, samesite="Lax", secure=_secure(), path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(session_cookie_name(), httponly=True, samesite="Lax", secure=_secure(), path="/")


def sign_in_csrf_token() -> str:
    """Return the sign-in form's token: the one in the request's cookie, or a new one.

    A new token is kept in ``g`` so that :func:`store_sign_in_csrf_token` sets its cookie.
    """
    token = request.cookies.get(sign_in_cookie_name())
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
        g.new_sign_in_token = token
    return token


def store_sign_in_csrf_token(response: Response) -> None:
    token = g.get("new_sign_in_token")
    if token:
        response.set_cookie(sign_in_cookie_name(), token, httponly=True, samesite="Strict", secure=_secure(), path="/")


def sign_in_csrf_valid() -> bool:
    """Return whether the sign-in form's token matches its cookie."""
    cookie = request.cookies.get(sign_in_cookie_name(), "")
    sent = request.form.get(CSRF_FIELD, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


def session_csrf_valid(row: WebSession) -> bool:
    """Return whether a POST form of the session carries the session's CSRF token."""
    sent = request.form.get(CSRF_FIELD, "")
    return hmac.compare_digest(row.csrf_token.encode(), sent.encode())
