"""RFC 9457 problem details: the one place where exceptions become HTTP errors.

Every error response carries a stable ``code``, a title and detail in the
caller's language and the request id. Unknown exceptions are logged with their
traceback and returned as a generic 500 that reveals nothing of the error.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, json, request
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from signing.errors import (
    CredentialError,
    DocumentLocked,
    InvalidDocument,
    SignatureFieldInUse,
    SignerCertificateRejected,
    SigningError,
    SigningProfileError,
    TimestampFailed,
)
from signing.external import ExternalSignatureInvalid
from signing.pkcs11 import Pkcs11CredentialError
from signing.stamp import StampPlacementError, StampTextError
from storage import ChecksumMismatch, StorageError, StorageUnavailable

from . import i18n
from .extensions import db

log = logging.getLogger(__name__)

PROBLEM_TYPE_PREFIX = "urn:dolil:problem:"
# Seconds a client should wait before retrying after a 503 from an outage of
# the object store or the database.
RETRY_AFTER_SECONDS = "5"

# Statuses for the codes the workflow raises; a code not listed here is a 400.
STATUS_BY_CODE = {
    "unauthorized": 401,
    "forbidden": 403,
    "document_not_found": 404,
    "revision_not_found": 404,
    "validation_data_not_found": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "bad_request": 400,
    "field_missing": 422,
    "field_invalid": 422,
    "file_empty": 422,
    "idempotency_key_reused": 422,
    "unsupported_type": 415,
    "pdf_header_offset": 422,
    "malformed_pdf": 422,
    "encrypted_pdf": 422,
    "image_invalid": 422,
    "file_too_large": 413,
    "too_many_pages": 422,
    "too_many_objects": 422,
    "too_many_revisions": 422,
    "nesting_too_deep": 422,
    "decompression_limit": 413,
    "image_too_large": 413,
    "memory_limit": 413,
    "processing_timeout": 422,
    "signing_credential_missing": 409,
    "signing_credential_unavailable": 500,
    "signer_certificate_rejected": 422,
    "document_not_signable": 409,
    "signing_complete": 409,
    "signature_breaks_earlier": 409,
    "pin_required": 422,
    "certificate_not_registered": 422,
    "pending_signature_not_found": 404,
    "signature_value_invalid": 422,
    "pin_incorrect": 422,
    "pin_locked": 422,
    "passphrase_required": 422,
    "passphrase_incorrect": 422,
    "csrf_invalid": 403,
    "stamp_text_unsupported": 422,
    "stamp_placement_failed": 422,
    "stamp_position_fixed": 409,
    "stamp_field_invisible": 409,
    "signature_role_taken": 409,
    "signature_out_of_order": 409,
    "duplicate_signer": 409,
    "signature_role_not_assigned": 403,
    "signer_role_unknown": 422,
    "signer_user_not_found": 422,
    "signer_user_inactive": 422,
    "signer_not_officer": 422,
    "signer_assigned_twice": 422,
    "signer_change_forbidden": 403,
    "signing_failed": 500,
    "timestamp_unavailable": 503,
    # The store returned bytes that differ from what was archived: a server-side
    # integrity failure, not a fault of the request.
    "revision_conflict": 409,
    "storage_write_failed": 503,
    "fixity_mismatch": 500,
    "stored_object_missing": 500,
    "storage_unavailable": 503,
    "database_unavailable": 503,
    "internal_error": 500,
}


class ApiProblem(Exception):
    """An error returned as a problem-details response.

    ``params`` fill the localised detail text and are also returned as
    extension members, so clients can act on them (for example ``field``).
    """

    def __init__(self, code: str, status: int | None = None, headers: dict[str, str] | None = None, **params: object):
        super().__init__(code)
        self.code = code
        self.status = status or STATUS_BY_CODE.get(code, 400)
        self.headers = headers or {}
        self.params = params


# Endpoints whose refused requests are audit events too, with the action that
# a success records. Authentication and permission failures are recorded where
# they are decided (service.auth), and 5xx responses are not: the database may
# be the failing part.
AUDITED_REFUSALS = {
    "api.create_document": "document.upload",
    "api.create_signature": "document.sign",
    "api.prepare_signature": "document.sign_prepare",
    "api.complete_signature": "document.sign",
    "api.put_legal_hold": "document.legal_hold",
    "api.put_signer": "document.signer_change",
    "web.upload": "document.upload",
    "web.sign": "document.sign",
}


def audit_refusal(problem: ApiProblem) -> None:
    """Record a refused upload, signature or legal hold as an audit event (see AUDITED_REFUSALS)."""
    action = AUDITED_REFUSALS.get(request.endpoint or "")
    user = g.get("user")
    if action is None or user is None or problem.status >= 500 or problem.code in ("unauthorized", "forbidden"):
        return
    from .audit import record_event
    from .extensions import db

    document_id = (request.view_args or {}).get("document_id")
    if document_id is not None and len(document_id) > 36:
        # Longer than any document id, and than the column.
        document_id = None
    try:
        # The request's own changes, if any, were not committed; only the event is.
        db.session.rollback()
        details: dict[str, object] = {"code": problem.code, "status": problem.status}
        # Codes with several causes, such as signer_certificate_rejected, carry the cause in "reason".
        if isinstance(problem.params.get("reason"), str):
            details["reason"] = problem.params["reason"]
        record_event(action, "refused", actor=user, document_id=document_id or None, details=details)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("audit event for a refused %s request failed: document=%s code=%s", action, document_id, problem.code)


def problem_response(problem: ApiProblem) -> Response:
    audit_refusal(problem)
    language = i18n.negotiate_language()
    title, detail = i18n.problem_text(problem.code, language, problem.params)
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_PREFIX + problem.code.replace("_", "-"),
        "title": title,
        "status": problem.status,
        "detail": detail,
        "code": problem.code,
        "instance": request.path,
        "request_id": g.get("request_id"),
    }
    for key, value in problem.params.items():
        if not key.endswith(("_en", "_bn")) and key not in body:
            body[key] = value
    response = Response(
        json.dumps(body, ensure_ascii=False), status=problem.status, mimetype="application/problem+json"
    )
    response.headers["Content-Language"] = language
    response.vary.add("Accept-Language")
    response.headers.update(problem.headers)
    return response


def _http_problem(error: HTTPException) -> ApiProblem:
    if isinstance(error, RequestEntityTooLarge):
        from flask import current_app

        # MAX_CONTENT_LENGTH adds room for the multipart framing; the file limit is the setting.
        return ApiProblem("file_too_large", max_bytes=current_app.config["DOLIL_SETTINGS"].max_upload_bytes)
    if error.code == 404:
        return ApiProblem("not_found")
    if error.code == 405:
        problem = ApiProblem("method_not_allowed", method=request.method)
        if error.valid_methods:
            problem.headers["Allow"] = ", ".join(error.valid_methods)
        return problem
    if error.code == 401:
        return ApiProblem("unauthorized")
    if error.code is not None and error.code < 500:
        log.info("bad request on %s %s: %s %s", request.method, request.path, error.code, error.description)
        return ApiProblem("bad_request", status=error.code)
    log.error("HTTP error %s on %s %s", error.code, request.method, request.path)
    return ApiProblem("internal_error")


# Upload checks name their reason; each reason is a problem code of its own.
INVALID_DOCUMENT_CODES = {
    "empty": "file_empty",
    "unsupported_type": "unsupported_type",
    "pdf_header_offset": "pdf_header_offset",
    "malformed_pdf": "malformed_pdf",
    "encrypted_pdf": "encrypted_pdf",
    "image_invalid": "image_invalid",
    "too_many_pages": "too_many_pages",
    "too_many_objects": "too_many_objects",
    "too_many_revisions": "too_many_revisions",
    "nesting_too_deep": "nesting_too_deep",
    "decompression_limit": "decompression_limit",
    "image_too_large": "image_too_large",
    "memory_limit": "memory_limit",
    "processing_timeout": "processing_timeout",
}

CERTIFICATE_REJECTION_TEXT = {
    "expired": ("the certificate has expired", "সার্টিফিকেটের মেয়াদোত্তীর্ণ"),
    "not_yet_valid": ("the certificate is not valid yet", "সার্টিফিকেট তখনো কার্যকর হয়নি"),
    "key_usage": (
        "the certificate does not allow non-repudiation signatures",
        "সার্টিফিকেটটি অস্বীকার-অযোগ্য (non-repudiation) স্বাক্ষরের জন্য ইস্যু করা হয়নি",
    ),
    "revoked": ("the certificate is revoked", "সার্টিফিকেট বাতিলকৃত"),
    "not_bound": (
        "the credential no longer presents the certificate registered to you; ask an administrator to register it again",
        "আপনার নামে নিবন্ধিত সার্টিফিকেট দিয়ে এখন আর স্বাক্ষর হচ্ছে না; প্রশাসককে সার্টিফিকেটটি আবার নিবন্ধন করতে বলুন",
    ),
    "untrusted": ("the certificate does not chain to a trusted root", "সার্টিফিকেটটি কোনো বিশ্বস্ত রুট সার্টিফিকেটের সঙ্গে যুক্ত নয়"),
    "revocation_unknown": (
        "its revocation status could not be checked",
        "সার্টিফিকেটটি বাতিল কি না তা যাচাই করা যায়নি",
    ),
    "weak_key": ("its key is too short for the validation policy", "এর কী যাচাই নীতির তুলনায় দুর্বল"),
    "weak_algorithm": ("its algorithm is not allowed by the validation policy", "এর অ্যালগরিদম যাচাই নীতিতে অনুমোদিত নয়"),
}


# English and Bengali reasons for DocumentLocked, shown in document_not_signable.
_LOCKED_REASONS = {
    "no_changes": ("its certification signature permits no changes",
                   "এর প্রত্যয়নকারী স্বাক্ষর কোনো পরিবর্তনের অনুমতি দেয় না"),
    "already_signed": ("a certification signature must be the first signature, and the document is already signed",
                       "প্রত্যয়নকারী স্বাক্ষর প্রথম স্বাক্ষর হতে হয়, অথচ দলিলে আগেই স্বাক্ষর আছে"),
}


def _signing_problem(error: SigningError) -> ApiProblem:
    if isinstance(error, InvalidDocument):
        log.info("upload rejected: reason=%s detail=%s", error.reason, error.detail)
        return ApiProblem(INVALID_DOCUMENT_CODES.get(error.reason, "unsupported_type"))
    if isinstance(error, SignerCertificateRejected):
        reason_en, reason_bn = CERTIFICATE_REJECTION_TEXT.get(error.reason, (error.reason, error.reason))
        log.warning("signing rejected: signer certificate not accepted (%s)", error.reason)
        return ApiProblem("signer_certificate_rejected", reason=error.reason,
                          reason_en=reason_en, reason_bn=reason_bn)
    if isinstance(error, SigningProfileError):
        return ApiProblem("field_invalid", field=error.field,
                          reason_en=str(error.detail), reason_bn=str(error.detail))
    if isinstance(error, StampTextError):
        log.info("stamp text rejected: %s", error.detail)
        return ApiProblem("stamp_text_unsupported", characters="".join(error.characters))
    if isinstance(error, StampPlacementError):
        log.info("stamp placement failed: %s %s", error.reason, error.detail)
        if error.reason == "field_position_fixed":
            return ApiProblem("stamp_position_fixed", page=(error.page or 0) + 1)
        if error.reason == "field_invisible":
            return ApiProblem("stamp_field_invisible")
        return ApiProblem("stamp_placement_failed", reason=error.reason)
    if isinstance(error, ExternalSignatureInvalid):
        log.warning("two-phase signature rejected: %s", error.reason)
        return ApiProblem("signature_value_invalid", reason=error.reason)
    if isinstance(error, DocumentLocked):
        reason_en, reason_bn = _LOCKED_REASONS[error.reason]
        return ApiProblem("document_not_signable", reason_en=reason_en, reason_bn=reason_bn)
    if isinstance(error, SignatureFieldInUse):
        return ApiProblem("document_not_signable", reason_en="the signature field is already in use",
                          reason_bn="স্বাক্ষরের ঘরটি আগেই ব্যবহৃত হয়েছে")
    if isinstance(error, TimestampFailed):
        log.error("timestamp service failed: %s", error)
        return ApiProblem("timestamp_unavailable")
    if isinstance(error, Pkcs11CredentialError) and error.reason in ("pin_incorrect", "pin_locked"):
        log.warning("signing rejected: token PIN %s", "incorrect" if error.reason == "pin_incorrect" else "locked")
        return ApiProblem(error.reason)
    if isinstance(error, CredentialError):
        log.error("signing credential unavailable: %s", error)
        return ApiProblem("signing_credential_unavailable")
    log.error("signing failed: %s", error)
    return ApiProblem("signing_failed")


def _storage_problem(error: StorageError) -> ApiProblem:
    if isinstance(error, ChecksumMismatch):
        log.error("object store rejected a write: %s", error)
        return ApiProblem("storage_write_failed", headers={"Retry-After": RETRY_AFTER_SECONDS})
    if isinstance(error, StorageUnavailable):
        log.error("object store unavailable: %s", error)
        return ApiProblem("storage_unavailable", headers={"Retry-After": RETRY_AFTER_SECONDS})
    log.exception("object store error on %s %s", request.method, request.path)
    return ApiProblem("internal_error")


def _database_problem(error: OperationalError) -> ApiProblem:
    # OperationalError covers a lost or refused connection and a locked SQLite
    # file: conditions that pass, unlike a constraint violation.
    log.error("database unavailable on %s %s: %s", request.method, request.path, error.orig)
    try:
        db.session.rollback()
    except Exception:
        log.exception("rollback after a database error failed")
    return ApiProblem("database_unavailable", headers={"Retry-After": RETRY_AFTER_SECONDS})


def to_problem(error: Exception) -> ApiProblem:
    """Return the problem that ``error`` is reported as, logging what needs logging.

    An exception that is none of the known kinds is logged with its traceback
    and becomes a generic ``internal_error``.
    """
    if isinstance(error, ApiProblem):
        return error
    if isinstance(error, SigningError):
        return _signing_problem(error)
    if isinstance(error, StorageError):
        return _storage_problem(error)
    if isinstance(error, OperationalError):
        return _database_problem(error)
    if isinstance(error, HTTPException):
        return _http_problem(error)
    log.exception("unhandled error on %s %s (request %s)", request.method, request.path, g.get("request_id"),
                  exc_info=error)
    return ApiProblem("internal_error")


def _handle_error(error: Exception) -> Response:
    return problem_response(to_problem(error))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(Exception, _handle_error)
