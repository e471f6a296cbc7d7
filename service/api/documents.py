"""Document endpoints of API v1: upload, list, read, sign, content and verification."""

from __future__ import annotations

import base64
import binascii
import io
import json
from datetime import datetime

from flask import Response, current_app, g, request, url_for
from sqlalchemy.orm import joinedload
from werkzeug.wsgi import wrap_file

from config import PADES_LEVELS
from signing.sign import SigningProfile
from signing.stamp import StampPlacement, VisibleStamp

from .. import archive, external_signing, signers
from ..auth import require_permission
from ..bengali import normalise_memo_number, normalise_memo_search, parse_date
from ..components import components
from ..extensions import db
from ..i18n import negotiate_language, report_notices
from ..models import DOCUMENT_KINDS, Document
from ..problems import ApiProblem
from ..validation_data import read_validation_data
from ..report_pdf import ReportContext
from . import bp
from .inputs import invalid_field, json_object, query_arg, read_upload
from .report_format import pdf_report_response, wants_pdf
from .serializers import document_dict, iso, signature_dict

MAX_TITLE_LENGTH = 1000
MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_USERNAME_LENGTH = 64
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Levels that the signing endpoint offers. All but B-B need a time-stamping
# service, and B-LT and B-LTA embed revocation data gathered under the policy.
SUPPORTED_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


def _optional_text(name: str) -> str | None:
    value = request.form.get(name, "").strip()
    return value or None


def _parse_upload_fields() -> archive.DocumentFields:
    kind = _optional_text("kind")
    if kind is None:
        raise ApiProblem("field_missing", field="kind")
    if kind not in DOCUMENT_KINDS:
        raise invalid_field("kind", "use 'minutes' or 'evidence'", "'minutes' (কার্যবিবরণী) অথবা 'evidence' (প্রমাণক) দিন")

    title = _optional_text("title")
    if title is None:
        raise ApiProblem("field_missing", field="title")
    if len(title) > MAX_TITLE_LENGTH:
        raise invalid_field("title", f"at most {MAX_TITLE_LENGTH} characters", "সর্বোচ্চ ১০০০ অক্ষর")

    memo_number = _optional_text("memo_number")
    if memo_number is not None:
        try:
            memo_number = normalise_memo_number(memo_number)
        except ValueError:
            raise invalid_field(
                "memo_number",
                "use the 2014 form of the Secretariat Instructions (e.g. 56.03.0000.003.05.007.21.158) "
                "or the 2024 form (e.g. 56.03.0000.001.003.05.0007.24.12)",
                "সচিবালয় নির্দেশমালার ২০১৪ সালের রূপ (যেমন ৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.১৫৮) "
                "বা ২০২৪ সালের রূপ (যেমন ৫৬.০৩.০০০০.০০১.০০৩.০৫.০০০৭.২৪.১২) ব্যবহার করুন",
            ) from None

    dates = {}
    for name in ("document_date", "meeting_date"):
        raw = _optional_text(name)
        if raw is None:
            dates[name] = None
            continue
        try:
            dates[name] = parse_date(raw)
        except ValueError:
            raise invalid_field(name, "use YYYY-MM-DD or DD/MM/YYYY", "YYYY-MM-DD অথবা দিন/মাস/বছর (যেমন ২০/০৯/২০২১) রূপে দিন") from None

    return archive.DocumentFields(kind=kind, title=title, memo_number=memo_number, signers=_parse_signers(), **dates)


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a role is named twice")
    return dict(pairs)


def _parse_signers() -> tuple[tuple[str, str], ...]:
    """Return the roles and usernames of the optional ``signers`` field, a JSON object such as {"chair": "rahim"}.

    Roles and users are checked later, against the document kind and the users table.
    """
    raw = _optional_text("signers")
    if raw is None:
        return ()
    reason_en = 'a JSON object of roles and usernames, such as {"chair": "rahim"}, each role once'
    reason_bn = 'ভূমিকা ও ব্যবহারকারীর নামের একটি JSON অবজেক্ট, যেমন {"chair": "rahim"}; প্রতিটি ভূমিকা একবার'
    try:
        named = json.loads(raw, object_pairs_hook=_reject_duplicate_keys)
    except ValueError:
        raise invalid_field("signers", reason_en, reason_bn) from None
    if not isinstance(named, dict) or not all(
            isinstance(username, str) and 0 < len(username) <= MAX_USERNAME_LENGTH for username in named.values()):
        raise invalid_field("signers", reason_en, reason_bn)
    return tuple(named.items())


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip().strip('"')
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise invalid_field("Idempotency-Key", f"use 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters",
                       "১ থেকে ২০০টি ছাপার যোগ্য ASCII অক্ষর দিন")
    return key


@bp.post("/documents")
@require_permission("document:create")
def create_document() -> tuple[dict, int, dict]:
    if request.mimetype != "multipart/form-data":
        raise invalid_field("request", "send the file and fields as multipart/form-data",
                       "ফাইল ও তথ্যগুলো multipart/form-data হিসেবে পাঠান")
    idempotency_key = _idempotency_key()
    fields = _parse_upload_fields()
    upload = read_upload()
    document, replayed = archive.upload_document(g.user, upload, fields, idempotency_key)
    headers = {"Location": url_for("api.get_document", document_id=document.id)}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return document_dict(document, detailed=True), 201, headers


def _encode_cursor(document: Document) -> str:
    raw = json.dumps([iso(document.created_at), document.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, document_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created_at.replace("Z", "+00:00")), str(document_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid_field("cursor", "use the next_cursor value of a previous page", "আগের পৃষ্ঠার next_cursor মানটি ব্যবহার করুন") from None


def query_documents(kind: str, memo: str, limit_text: str, cursor: str | None) -> tuple[list[Document], str | None]:
    """Return one page of documents, newest first, and the cursor of the next page (None on the last).

    The list endpoint and the web pages' list share this query. ``kind`` and
    ``memo`` filter when not empty; a bad value raises a ``field_invalid`` problem.
    """
    query = db.select(Document)

    if kind:
        if kind not in DOCUMENT_KINDS:
            raise invalid_field("kind", "use 'minutes' or 'evidence'", "'minutes' (কার্যবিবরণী) অথবা 'evidence' (প্রমাণক) দিন")
        query = query.where(Document.kind == kind)

    if memo:
        try:
            prefix = normalise_memo_search(memo)
        except ValueError:
            raise invalid_field("memo_number", "use digits separated by dots", "বিন্দু দিয়ে আলাদা করা অঙ্ক দিন") from None
        # A full memo number matches itself; leading groups match every letter of that file.
        query = query.where(db.or_(Document.memo_number == prefix.rstrip("."),
                                   Document.memo_number.startswith(prefix if prefix.endswith(".") else prefix + ".")))

    try:
        limit = int(limit_text)
    except ValueError:
        limit = -1
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise invalid_field("limit", f"use a number from 1 to {MAX_PAGE_SIZE}", "১ থেকে ১০০-এর মধ্যে একটি সংখ্যা দিন")

    if cursor:
        created_at, document_id = _decode_cursor(cursor)
        if db.engine.dialect.name == "sqlite":
            # SQLite stores datetimes without a zone; compare like with like.
            created_at = created_at.replace(tzinfo=None)
        query = query.where(
            db.or_(
                Document.created_at < created_at,
                db.and_(Document.created_at == created_at, Document.id < document_id),
            )
        )

    # The page's serialiser reads each document's creator and current revision:
    # load them with the page instead of one query per document.
    query = query.options(joinedload(Document.current_revision), joinedload(Document.created_by))
    query = query.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit + 1)
    documents = list(db.session.execute(query).scalars())
    page, more = documents[:limit], len(documents) > limit
    return page, _encode_cursor(page[-1]) if more else None


@bp.get("/documents")
@require_permission("document:read")
def list_documents() -> dict:
    page, next_cursor = query_documents(query_arg("kind"), query_arg("memo_number"),
                                        request.args.get("limit", str(DEFAULT_PAGE_SIZE)), request.args.get("cursor"))
    return {
        "items": [document_dict(document) for document in page],
        "next_cursor": next_cursor,
    }


@bp.get("/documents/<document_id>")
@require_permission("document:read")
def get_document(document_id: str) -> dict:
    return document_dict(archive.get_document(document_id), detailed=True)


def _signature_response(signature, report) -> dict:
    """Return the body of a 201 for a new signature: the signature, its validation and the document."""
    own = next((entry for entry in report.signatures if entry.field_name == signature.field_name),
               report.signatures[-1])
    return {
        "signature": signature_dict(signature),
        "validation": own.to_dict(),
        "document": document_dict(signature.document, detailed=True),
    }


def _requested_stamp(body: dict) -> VisibleStamp | None:
    """Return the visible stamp a signing request names, or None for an invisible signature."""
    visible = body.get("visible", False)
    if not isinstance(visible, bool):
        raise invalid_field("visible", "use true or false", "true অথবা false দিন")
    if not visible:
        return None

    page = body.get("page")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 1):
        raise invalid_field("page", "a page number from 1", "১ বা তার বেশি পৃষ্ঠা নম্বর")
    box = body.get("box")
    if box is not None and (not isinstance(box, list) or len(box) != 4
                            or not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in box)):
        raise invalid_field("box", "four numbers [x1, y1, x2, y2] in PDF points",
                            "PDF পয়েন্টে চারটি সংখ্যা [x1, y1, x2, y2]")
    placement = StampPlacement(page=page - 1 if page else -1, box=tuple(box) if box else None)
    return archive.signature_stamp(g.user, placement)


def _signing_request(body: dict, levels: tuple[str, ...]) -> tuple[SigningProfile, str | None]:
    """Return the profile and role a signing request names; server-side and two-phase signing share these options.

    The stamp's date line is today's date in Bangladesh when the request is
    handled, so a two-phase stamp carries the date of its preparation.
    """
    settings = current_app.config["DOLIL_SETTINGS"]
    level = body.get("level") or ("B-LTA" if settings.tsa_url else "B-B")
    if level not in PADES_LEVELS or level not in levels:
        raise invalid_field("level", "use B-B, B-T, B-LT or B-LTA", "B-B, B-T, B-LT অথবা B-LTA দিন")
    if level != "B-B" and not settings.tsa_url:
        raise invalid_field("level", f"{level} needs a timestamp service, and none is configured",
                            f"{level}-এর জন্য টাইমস্ট্যাম্প সেবা প্রয়োজন, কিন্তু কোনোটি কনফিগার করা নেই")
    reason = body.get("reason")
    location = body.get("location")
    for name, value in (("reason", reason), ("location", location)):
        if value is not None and (not isinstance(value, str) or len(value) > 200):
            raise invalid_field(name, "a text of at most 200 characters", "সর্বোচ্চ ২০০ অক্ষরের লেখা")

    role = body.get("role")
    if role is not None and not isinstance(role, str):
        raise invalid_field("role", "a role name such as 'chair'", "'chair'-এর মতো একটি ভূমিকার নাম")

    stamp = _requested_stamp(body)
    return SigningProfile(level=level, reason=reason, location=location, stamp=stamp), role


@bp.post("/documents/<document_id>/signatures")
@require_permission("document:sign")
def create_signature(document_id: str) -> tuple[dict, int]:
    body = request.get_json(silent=True) if request.content_length else {}
    if body is None or not isinstance(body, dict):
        raise invalid_field("request", "send a JSON object or an empty body", "একটি JSON অবজেক্ট অথবা খালি বডি পাঠান")

    profile, role = _signing_request(body, SUPPORTED_LEVELS)
    pin = body.get("pin")
    if pin is not None and (not isinstance(pin, str) or not pin):
        raise invalid_field("pin", "the token PIN as a text", "টোকেনের পিন লেখা হিসেবে দিন")
    signature, report = archive.sign_document(document_id, g.user, profile, role, pin)
    return _signature_response(signature, report), 201


def _base64_field(body: dict, name: str) -> bytes:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiProblem("field_missing", field=name)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_field(name, "base64 text", "base64 লেখা") from None


def _certificates_field(body: dict) -> list[bytes]:
    values = body.get("certificates")
    if not isinstance(values, list) or not values or not all(isinstance(value, str) for value in values):
        raise invalid_field("certificates", "a list of base64 DER certificates, the signer's first",
                            "base64 DER সার্টিফিকেটের তালিকা, স্বাক্ষরকারীরটি প্রথমে")
    return [_base64_field({"certificate": value}, "certificate") for value in values]


@bp.post("/documents/<document_id>/signatures/prepare")
@require_permission("document:sign")
def prepare_signature(document_id: str) -> tuple[dict, int]:
    body = json_object()
    certificates = _certificates_field(body)
    profile, role = _signing_request(body, external_signing.EXTERNAL_LEVELS)
    prepared = external_signing.prepare(document_id, g.user, profile, certificates, role)
    return {
        "handle": prepared.handle,
        "signed_attributes": base64.b64encode(prepared.signed_attributes).decode(),
        "digest_algorithm": prepared.digest_algorithm,
        "signature_mechanism": prepared.signature_mechanism,
        "expires_at": iso(prepared.expires_at),
    }, 201


@bp.post("/documents/<document_id>/signatures/complete")
@require_permission("document:sign")
def complete_signature(document_id: str) -> tuple[dict, int]:
    body = json_object()
    handle = body.get("handle")
    if not isinstance(handle, str) or not handle:
        raise ApiProblem("field_missing", field="handle")
    signature_value = _base64_field(body, "signature_value")
    certificates = _certificates_field(body) if body.get("certificates") is not None else []
    signature, report = external_signing.complete(document_id, g.user, handle, signature_value, certificates)
    return _signature_response(signature, report), 201


@bp.put("/documents/<document_id>/signers/<role>")
@require_permission("document:assign-signer")
def put_signer(document_id: str, role: str) -> dict:
    body = json_object()
    username = body.get("user")
    if username is None:
        raise ApiProblem("field_missing", field="user")
    if not isinstance(username, str) or not 0 < len(username) <= MAX_USERNAME_LENGTH:
        raise invalid_field("user", "the username of an active officer", "একজন সক্রিয় কর্মকর্তার ব্যবহারকারীর নাম")
    document = signers.change_signer(document_id, g.user, role, username)
    return document_dict(document, detailed=True)


@bp.put("/documents/<document_id>/legal-hold")
@require_permission("document:legal-hold")
def put_legal_hold(document_id: str) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("hold"), bool):
        raise invalid_field("hold", "send a JSON object with \"hold\": true or false",
                            "\"hold\": true অথবা false সহ একটি JSON অবজেক্ট পাঠান")
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise invalid_field("reason", "a text of at most 500 characters", "সর্বোচ্চ ৫০০ অক্ষরের লেখা")
    document = archive.set_legal_hold(document_id, g.user, body["hold"], reason)
    return document_dict(document, detailed=True)


# Response headers that carry the verification result of a content download.
VERIFICATION_HEADERS = {
    "fixity": "Dolil-Fixity",
    "sha256": "Dolil-Content-SHA256",
    "revision": "Dolil-Revision",
    "indication": "Dolil-Validation",
    "signatures": "Dolil-Signature-Count",
    "policy": "Dolil-Validation-Policy",
    "validated_at": "Dolil-Validated-At",
    "report": "Dolil-Validation-Report",
}


def content_response(content: archive.RetrievedContent, report_url: str) -> Response:
    """Return the response that sends a verified revision, with its verification result in headers.

    ``report_url`` is where the caller finds the full validation report.
    """
    report = content.report
    digest = content.sha256
    if isinstance(content.file, io.BytesIO):
        # A small revision was verified in memory and is sent from there.
        body: object = [content.file.getvalue()]
        content.file.close()
    else:
        # The WSGI server sends the spool file in chunks (gunicorn with sendfile).
        # Closing the response closes the file, which deletes it.
        body = wrap_file(request.environ, content.file, archive.CHUNK_SIZE)
    response = Response(body, mimetype="application/pdf", direct_passthrough=True)
    response.content_length = content.size
    response.headers["Content-Disposition"] = f'inline; filename="{content.document_id}-r{content.revision_number}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = f'"{digest}"'
    response.headers["Repr-Digest"] = "sha-256=:" + base64.b64encode(bytes.fromhex(digest)).decode() + ":"
    response.headers[VERIFICATION_HEADERS["fixity"]] = "passed"
    response.headers[VERIFICATION_HEADERS["sha256"]] = digest
    response.headers[VERIFICATION_HEADERS["revision"]] = str(content.revision_number)
    response.headers[VERIFICATION_HEADERS["indication"]] = report.indication
    response.headers[VERIFICATION_HEADERS["signatures"]] = str(len(report.signatures))
    response.headers[VERIFICATION_HEADERS["policy"]] = report.policy
    response.headers[VERIFICATION_HEADERS["validated_at"]] = iso(report.validated_at)
    response.headers[VERIFICATION_HEADERS["report"]] = report_url
    return response


@bp.get("/documents/<document_id>/content")
@require_permission("document:read")
def get_content(document_id: str) -> Response:
    content = archive.retrieve_content(document_id, g.user)
    return content_response(content, url_for("api.get_verification", document_id=document_id))


@bp.get("/documents/<document_id>/revisions/<int:number>/validation-data")
@require_permission("document:validation-data")
def get_validation_data(document_id: str, number: int) -> Response:
    document = archive.get_document(document_id)
    row, data = read_validation_data(document, number, g.user)
    response = Response(data, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{document.id}-r{number}-validation-data.json"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = f'"{row.sha256}"'
    response.headers["Repr-Digest"] = "sha-256=:" + base64.b64encode(bytes.fromhex(row.sha256)).decode() + ":"
    response.headers[VERIFICATION_HEADERS["fixity"]] = "passed"
    response.headers[VERIFICATION_HEADERS["sha256"]] = row.sha256
    response.headers[VERIFICATION_HEADERS["revision"]] = str(number)
    return response


def _add_archive_signatures(signatures: list[dict], document: Document) -> None:
    """Add to each validated signature the archive's record of it, matched by field name.

    ``signed_revision`` counts the PDF's own incremental updates from 0. The
    record names the archive revision the signature created, its role and the
    user who made it. A signature made before the upload gets None.
    """
    made_here = {signature.field_name: signature for signature in document.signatures}
    for entry in signatures:
        signature = made_here.get(entry.get("field_name"))
        entry["archive"] = None if signature is None else {
            "revision": signature.revision.number,
            "role": signature.role,
            "signed_by": signature.signed_by.username,
        }


def verification_body(result: archive.VerificationResult, language: str | None = None) -> dict:
    """Return the JSON report of a document's verification: fixity, then the validation report.

    Its notices are in ``language``, by default the request's ``Accept-Language``.
    """
    body: dict[str, object] = {
        "document_id": result.document.id,
        "revision": result.revision.number,
        "verified_at": iso(result.verification.verified_at),
        "fixity": {
            "ok": result.fixity_ok,
            "expected_sha256": result.revision.sha256,
            "actual_sha256": result.actual_sha256,
        },
    }
    if result.report is None:
        # The stored bytes are not the archived ones: validating them would
        # describe some other file, so the report stops at the fixity failure.
        body.update({"indication": "TOTAL_FAILED", "sub_indication": "FIXITY_FAILURE", "signatures": []})
    else:
        body.update(result.report.to_dict())
        _add_archive_signatures(body["signatures"], result.document)
        body["notices"] = report_notices(body, language or negotiate_language())
    body["policy_trust_anchors"] = len(components().policy.trust_roots)
    return body


def verification_pdf_response(result: archive.VerificationResult, body: dict) -> Response:
    """Return the PDF report of a document's verification; ``body`` is its :func:`verification_body`."""
    context = ReportContext(
        document_id=result.document.id,
        title=result.document.title,
        revision=result.revision.number,
        sha256=result.actual_sha256,
        size=result.revision.size,
        fixity_ok=result.fixity_ok,
        trust_anchors=len(components().policy.trust_roots),
    )
    report = body if result.report is not None else {**body, "validated_at": body["verified_at"]}
    filename = f"dolil-verification-{result.document.id}-r{result.revision.number}.pdf"
    return pdf_report_response(report, context, filename)


@bp.get("/documents/<document_id>/verification")
@require_permission("document:verify")
def get_verification(document_id: str) -> dict | Response:
    as_pdf = wants_pdf()
    result = archive.verify_document(document_id, g.user)
    body = verification_body(result)
    if not as_pdf:
        return body
    return verification_pdf_response(result, body)
