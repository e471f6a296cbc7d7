"""Document pages: the list, one document, its verified download and reports, upload and signing."""

from __future__ import annotations

import dataclasses
import logging
import secrets

from flask import Response, current_app, g, redirect, render_template, request, url_for
from sqlalchemy.exc import OperationalError

from signing.errors import SigningError
from signing.sign import SigningProfile
from signing.stamp import StampPlacement
from storage import StorageError

from .. import archive
from ..api.documents import (
    DEFAULT_PAGE_SIZE,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    _parse_upload_fields,
    content_response,
    query_documents,
    verification_body,
    verification_pdf_response,
)
from ..api.inputs import invalid_field, query_arg, read_upload
from ..api.serializers import document_dict, latest_verification
from ..auth import PERMISSIONS
from ..extensions import db
from ..i18n import problem_text
from ..models import DOCUMENT_KINDS, SigningCredential, User
from ..problems import ApiProblem, audit_refusal, to_problem
from ..signing_order import check_next_signature, signing_state
from . import bp
from .language import page_language
from .pages import page

log = logging.getLogger(__name__)

# Failures of a form's workflow call that the form page shows beside the form.
FORM_ERRORS = (ApiProblem, SigningError, StorageError, OperationalError)
MAX_SIGNING_TEXT = 200


def _problem_view(error: Exception, *, audit: bool = True) -> tuple[ApiProblem, dict]:
    """Return the problem of a failed form submission and what its template shows of it.

    With ``audit``, a refused upload or signature becomes an audit event, as in the API.
    """
    problem = to_problem(error)
    if audit:
        audit_refusal(problem)
    title, detail = problem_text(problem.code, page_language(), problem.params)
    return problem, {"code": problem.code, "title": title, "detail": detail,
                     "field": problem.params.get("field"), "request_id": g.get("request_id")}


@bp.get("/documents")
@page("document:read")
def documents() -> str:
    kind = query_arg("kind")
    memo = query_arg("memo_number")
    cursor = request.args.get("cursor") or None
    problem = None
    try:
        page_items, next_cursor = query_documents(kind, memo, str(DEFAULT_PAGE_SIZE), cursor)
    except ApiProblem as error:
        page_items, next_cursor = [], None
        status, problem = 422, _problem_view(error, audit=False)[1]
    else:
        status = 200
    items = [document_dict(document) for document in page_items]
    names = _display_names(item["created_by"] for item in items)
    return render_template("web/documents.html", items=items, names=names, kind=kind, memo=memo,
                           kinds=DOCUMENT_KINDS, next_cursor=next_cursor, cursor=cursor,
                           problem=problem), status


def _display_names(usernames) -> dict[str, str]:  # noqa: ANN001
    wanted = set(usernames)
    if not wanted:
        return {}
    rows = db.session.execute(db.select(User.username, User.display_name).where(User.username.in_(wanted)))
    return {username: display_name for username, display_name in rows}


@bp.get("/documents/<document_id>")
@page("document:read")
def document(document_id: str) -> str:
    record = archive.get_document(document_id)
    latest = latest_verification(record.id)
    if (latest is None or latest.revision_id != record.current_revision_id) \
            and g.user.role in PERMISSIONS["document:verify"]:
        # A revision that no one verified yet, such as a fresh upload, is
        # verified on its first view, so the page always shows a verdict.
        archive.verify_document(document_id, g.user)
        record = archive.get_document(document_id)
        latest = latest_verification(record.id)

    body = document_dict(record, detailed=True)
    # Only a verification of the current revision describes what a download gives.
    check = latest if latest is not None and latest.revision_id == record.current_revision_id else None
    report = check.report if check is not None else None
    verdicts = {entry["field_name"]: entry for entry in (report or {}).get("signatures", [])}
    signers = {role: signature for signature in body["signatures"] if (role := signature["role"])}
    usernames = [body["created_by"], *(revision["created_by"] for revision in body["revisions"]),
                 *(signature["signed_by"] for signature in body["signatures"])]
    can_sign = g.user.role in PERMISSIONS["document:sign"] and _may_sign_now(record)
    return render_template("web/document.html", document=body, check=check, report=report,
                           verdicts=verdicts, signers=signers, names=_display_names(usernames),
                           can_sign=can_sign, done=request.args.get("done"))


def _may_sign_now(record) -> bool:  # noqa: ANN001
    """Return whether the signing order lets the user sign the document now, so the page shows the sign button."""
    try:
        check_next_signature(record, g.user, None)
    except ApiProblem:
        return False
    return True


@bp.get("/documents/<document_id>/content")
@page("document:read")
def content(document_id: str) -> Response:
    retrieved = archive.retrieve_content(document_id, g.user)
    response = content_response(retrieved, url_for("web.document", document_id=document_id))
    # The page's link offers a download, while the API sends the same bytes inline.
    response.headers["Content-Disposition"] = response.headers["Content-Disposition"].replace("inline", "attachment", 1)
    return response


@bp.get("/documents/<document_id>/report.pdf")
@page("document:verify")
def report_pdf(document_id: str) -> Response:
    result = archive.verify_document(document_id, g.user)
    return verification_pdf_response(result, verification_body(result, page_language()))


@bp.post("/documents/<document_id>/verification")
@page("document:verify")
def verify_again(document_id: str) -> Response:
    archive.verify_document(document_id, g.user)
    return redirect(url_for("web.document", document_id=document_id, _anchor="verification"))


def _upload_form_key() -> str | None:
    """Return the upload form's idempotency key: a resent form stores its document once."""
    key = request.form.get("upload_key", "").strip()
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not key.isascii() or not key.isprintable():
        return None
    return "web-" + key


def _with_chair(fields: archive.DocumentFields) -> archive.DocumentFields:
    """Add the chair named in the upload form to the roles of minutes; the uploader holds the first role."""
    chair = request.form.get("chair", "").strip()
    if not chair or fields.kind != "minutes":
        return fields
    return dataclasses.replace(fields, signers=(*fields.signers, ("chair", chair)))


@bp.route("/upload", methods=["GET", "POST"])
@page("document:create")
def upload() -> object:
    problem = None
    status = 200
    if request.method == "POST":
        try:
            fields = _with_chair(_parse_upload_fields())
            spool = read_upload()
            created, _ = archive.upload_document(g.user, spool, fields, _upload_form_key())
        except FORM_ERRORS as error:
            failure, problem = _problem_view(error)
            status = failure.status
        else:
            return redirect(url_for("web.document", document_id=created.id, done="uploaded"))
    settings = current_app.config["DOLIL_SETTINGS"]
    return render_template("web/upload.html", problem=problem, form=request.form, kinds=DOCUMENT_KINDS,
                           max_bytes=settings.max_upload_bytes, upload_key=secrets.token_urlsafe(16)), status


def _active_credential(user: User) -> SigningCredential | None:
    return db.session.execute(
        db.select(SigningCredential)
        .where(SigningCredential.user_id == user.id, SigningCredential.active.is_(True))
        .order_by(SigningCredential.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _signing_text(name: str) -> str | None:
    value = request.form.get(name, "").strip()
    if len(value) > MAX_SIGNING_TEXT:
        raise invalid_field(name, "a text of at most 200 characters", "সর্বোচ্চ ২০০ অক্ষরের লেখা")
    return value or None


@bp.route("/documents/<document_id>/sign", methods=["GET", "POST"])
@page("document:sign")
def sign(document_id: str) -> object:
    record = archive.get_document(document_id)
    problem = None
    status = 200
    if request.method == "POST":
        try:
            settings = current_app.config["DOLIL_SETTINGS"]
            # The API's default level: B-LTA when a time-stamping service is configured.
            level = "B-LTA" if settings.tsa_url else "B-B"
            stamp = archive.signature_stamp(g.user, StampPlacement()) if request.form.get("stamp") else None
            profile = SigningProfile(level=level, reason=_signing_text("reason"), location=_signing_text("location"),
                                     stamp=stamp)
            secret = request.form.get("passphrase") or None
            archive.sign_document(document_id, g.user, profile, None, secret)
        except FORM_ERRORS as error:
            failure, problem = _problem_view(error)
            status = failure.status
            record = archive.get_document(document_id)
        else:
            return redirect(url_for("web.document", document_id=document_id, done="signed"))

    # The same checks the signature makes, so the page shows at once why the
    # user cannot sign, instead of after the form is sent.
    blocked = None
    role = None
    try:
        role, _ = check_next_signature(record, g.user, None)
    except ApiProblem as error:
        blocked = _problem_view(error, audit=False)[1]
    credential = _active_credential(g.user)
    state = signing_state(record, latest_verification(record.id)).to_dict()
    return render_template("web/sign.html", document=document_dict(record), state=state, role=role,
                           credential=credential, blocked=blocked, problem=problem, form=request.form,
                           needs_secret=credential is not None and not credential.secret_file
                           and credential.kind in ("pkcs12", "pkcs11")), status
