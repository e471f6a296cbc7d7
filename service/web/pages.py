"""The frame of the web pages: sign-in and sign-out, the language switch, fonts,
the permission check of every page, security headers and error pages."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Response, g, redirect, render_template, request, send_from_directory, url_for

from config import PROJECT_ROOT

from ..audit import record_event
from ..auth import PERMISSIONS, PUBLIC, public
from ..extensions import db
from ..i18n import LANGUAGES, problem_text
from ..models import User
from ..passwords import verify_password
from ..problems import ApiProblem, audit_refusal, to_problem
from . import bp
from .language import LANGUAGE_COOKIE, LANGUAGE_COOKIE_MAX_AGE, TEMPLATE_HELPERS, page_language, text
from .sessions import (
    CSRF_FIELD,
    clear_session_cookie,
    current_session,
    end_session,
    session_csrf_valid,
    set_session_cookie,
    sign_in_csrf_token,
    sign_in_csrf_valid,
    start_session,
    store_sign_in_csrf_token,
)

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., object])

FONTS_DIR = PROJECT_ROOT / "signing" / "fonts"
FONT_FILES = frozenset({"NotoSansBengali-Regular.ttf", "NotoSansBengali-Bold.ttf",
                        "NotoSans-Regular.ttf", "NotoSans-Bold.ttf"})
MAX_USERNAME_LENGTH = 64

# No scripts at all, and nothing from another origin: fonts, styles, images
# and form targets are the service's own.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def page(permission: str) -> Callable[[F], F]:
    """Require a signed-in user whose role has ``permission``, and a valid CSRF token on POST.

    An anonymous visitor is sent to the sign-in page, and back after signing
    in. A refused role gets a 403 page and an ``authorization.denied`` audit
    event, as in the API.
    """
    allowed = PERMISSIONS[permission]

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: object, **kwargs: object) -> object:
            row = current_session()
            if row is None:
                target = request.full_path if request.method == "GET" else None
                expired = 1 if g.get("session_expired") else None
                response = redirect(url_for("web.sign_in", next=target.rstrip("?") if target else None,
                                            expired=expired))
                if expired:
                    clear_session_cookie(response)
                return response
            user = row.user
            g.user = user
            g.username = user.username
            if user.role not in allowed:
                record_event("authorization.denied", "failure", actor=user,
                             details={"permission": permission, "method": request.method, "path": request.path,
                                      "via": "web"})
                db.session.commit()
                raise ApiProblem("forbidden", role=user.role)
            if request.method == "POST" and not session_csrf_valid(row):
                log.warning("web form rejected: CSRF token invalid: user=%s path=%s", user.username, request.path)
                raise ApiProblem("csrf_invalid")
            return view(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


# Values that one request caches in ``g``. An app context, and so ``g``, can
# outlive a request (a test client inside an app context reuses it), so each
# request starts without them.
REQUEST_CACHE_KEYS = ("web_session", "page_language", "session_expired", "new_sign_in_token")


@bp.before_request
def reset_request_cache() -> None:
    for key in REQUEST_CACHE_KEYS:
        g.pop(key, None)


@bp.app_template_global()
def csrf_field_name() -> str:
    return CSRF_FIELD


@bp.context_processor
def page_context() -> dict:
    row = current_session()
    return {
        **TEMPLATE_HELPERS,
        "lang": page_language(),
        "other_lang": "en" if page_language() == "bn" else "bn",
        "current_user": row.user if row else None,
        "csrf_token": row.csrf_token if row else None,
        "permissions": PERMISSIONS,
    }


@bp.after_request
def page_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint not in ("web.static", "web.font"):
        # Pages show what one user may see: no shared or back-button caches.
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Content-Language", page_language())
        response.vary.update(("Cookie", "Accept-Language"))
    store_sign_in_csrf_token(response)
    return response


def _error_page(error: Exception) -> Response | tuple[str, int, dict]:
    problem = to_problem(error)
    audit_refusal(problem)
    title, detail = problem_text(problem.code, page_language(), problem.params)
    body = render_template("web/error.html", problem=problem, title=title, detail=detail,
                           request_id=g.get("request_id"))
    return body, problem.status, problem.headers


bp.register_error_handler(Exception, _error_page)


def safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path of this site, else the document list.

    Only local paths are followed, so the sign-in page cannot redirect to another site.
    """
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("web.documents")


@bp.get("/")
@public
def home() -> Response:
    return redirect(url_for("web.documents"))


@bp.get("/language/<language>")
@public
def set_language(language: str) -> Response:
    """Remember the visitor's choice of language in a cookie and go back to the page they were on."""
    if language not in LANGUAGES:
        raise ApiProblem("not_found")
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=LANGUAGE_COOKIE_MAX_AGE, httponly=True,
                        samesite="Lax", path="/")
    return response


@bp.get("/static/web/fonts/<name>")
@public
def font(name: str) -> Response:
    """Serve a bundled Noto font (SIL OFL), so pages render alike without fonts installed or fetched."""
    if name not in FONT_FILES:
        raise ApiProblem("not_found")
    response = send_from_directory(FONTS_DIR, name, mimetype="font/ttf", max_age=7 * 24 * 3600)
    return response


def _render_sign_in(status: int = 200, message: str | None = None, username: str = "") -> tuple[str, int]:
    return render_template("web/sign_in.html", message=message, username=username,
                           sign_in_token=sign_in_csrf_token(),
                           next_path=request.values.get("next", "")), status


@bp.get("/sign-in")
@public
def sign_in() -> object:
    if current_session() is not None:
        return redirect(safe_next(request.args.get("next")))
    message = text("session_expired") if request.args.get("expired") else None
    if message is None and request.args.get("next"):
        message = text("sign_in_required")
    if request.args.get("signed_out"):
        message = text("signed_out")
    return _render_sign_in(message=message)


@bp.post("/sign-in")
@public
def sign_in_submit() -> object:
    if not sign_in_csrf_valid():
        log.warning("sign-in rejected: CSRF token invalid")
        raise ApiProblem("csrf_invalid")
    username = request.form.get("username", "").strip()[:MAX_USERNAME_LENGTH]
    password = request.form.get("password", "")
    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none() \
        if username else None

    # One message for every failure, so that the page does not tell whether
    # the user exists; the audit log records the reason.
    matched = verify_password(user, password)
    if not matched or not user.active:
        if user is None:
            reason = "unknown_user"
        elif not matched:
            reason = "no_password" if user.password_hash is None else "wrong_password"
        else:
            reason = "inactive_user"
        record_event("authentication.failed", "failure", actor=user,
                     details={"reason": reason, "method": request.method, "path": request.path, "via": "web"})
        db.session.commit()
        log.info("sign-in failed: reason=%s user=%s", reason, user.username if user else "-")
        return _render_sign_in(401, text("sign_in_failed"), username)

    token = start_session(user)
    record_event("authentication.sign_in", "success", actor=user, details={"via": "web"})
    db.session.commit()
    g.username = user.username
    log.info("signed in: user=%s", user.username)
    response = redirect(safe_next(request.form.get("next")))
    set_session_cookie(response, token)
    return response


@bp.post("/sign-out")
@public
def sign_out() -> Response:
    """End the session; without a valid session or CSRF token only the cookie is cleared."""
    row = current_session()
    if row is not None:
        if not session_csrf_valid(row):
            raise ApiProblem("csrf_invalid")
        user = row.user
        end_session(row)
        record_event("authentication.sign_out", "success", actor=user, details={"via": "web"})
        db.session.commit()
        log.info("signed out: user=%s", user.username)
    response = redirect(url_for("web.sign_in", signed_out=1))
    clear_session_cookie(response)
    return response


__all__ = ["PUBLIC", "page", "safe_next"]
