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

from .. import archive, external_signing
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

    return archive.DocumentFields(kind=kind, title=title, memo_number=memo_number, **dates)


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


@bp.get("/documents")
@require_permission("document:read")
def list_documents() -> dict:
    query = db.select(Document)

    kind = query_arg("kind")
    if kind:
        if kind not in DOCUMENT_KINDS:
            raise invalid_field("kind", "use 'minutes' or 'evidence'", "'minutes' (কার্যবিবরণী) অথবা 'evidence' (প্রমাণক) দিন")
        query = query.where(Document.kind == kind)

    memo = query_arg("memo_number")
    if memo:
        try:
            prefix = normalise_memo_search(memo)
        except ValueError:
            raise invalid_field("memo_number", "use digits separated by dots", "বিন্দু দিয়ে আলাদা করা অঙ্ক দিন") from None
        # A full memo number matches itself; leading groups match every letter of that file.
        query = query.where(db.or_(Document.memo_number == prefix.rstrip("."),
                                   Document.memo_number.startswith(prefix if prefix.endswith(".") else prefix + ".")))

    try:
        limit = int(request.args.get("limit", DEFAULT_PAGE_SIZE))
    except ValueError:
        limit = -1
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise invalid_field("limit", f"use a number from 1 to {MAX_PAGE_SIZE}", "১ থেকে ১০০-এর মধ্যে একটি সংখ্যা দিন")

    cursor = request.args.get("cursor")
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
    return {
        "items": [document_dict(document) for document in page],
        "next_cursor": _encode_cursor(page[-1]) if more else None,
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


@bp.post("/documents/<document_id>/signatures")
@require_permission("document:sign")
def create_signature(document_id: str) -> tuple[dict, int]:
    body = request.get_json(silent=True) if request.content_length else {}
    if body is None or not isinstance(body, dict):
        raise invalid_field("request", "send a JSON object or an empty body", "একটি JSON অবজেক্ট অথবা খালি বডি পাঠান")

    settings = current_app.config["DOLIL_SETTINGS"]
    level = body.get("level") or ("B-LTA" if settings.tsa_url else "B-B")
    if level not in PADES_LEVELS or level not in SUPPORTED_LEVELS:
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
    profile = SigningProfile(level=level, reason=reason, location=location, stamp=stamp)
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
    settings = current_app.config["DOLIL_SETTINGS"]
    level = body.get("level") or ("B-LTA" if settings.tsa_url else "B-B")
    if level not in external_signing.EXTERNAL_LEVELS or (level != "B-B" and not settings.tsa_url):
        raise invalid_field("level", "use B-B, or B-T, B-LT or B-LTA when a timestamp service is configured",
                            "B-B, অথবা টাইমস্ট্যাম্প সেবা থাকলে B-T, B-LT বা B-LTA দিন")
    role = body.get("role")
    if role is not None and not isinstance(role, str):
        raise invalid_field("role", "a role name such as 'chair'", "'chair'-এর মতো একটি ভূমিকার নাম")
    profile = SigningProfile(level=level, reason=body.get("reason") if isinstance(body.get("reason"), str) else None)
    prepared = external_signing.prepare(document_id, g.user, profile, _certificates_field(body), role)
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


@bp.get("/documents/<document_id>/content")
@require_permission("document:read")
def get_content(document_id: str) -> Response:
    content = archive.retrieve_content(document_id, g.user)
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
    response.headers[VERIFICATION_HEADERS["report"]] = url_for("api.get_verification", document_id=document_id)
    return response


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


@bp.get("/documents/<document_id>/verification")
@require_permission("document:verify")
def get_verification(document_id: str) -> dict | Response:
    as_pdf = wants_pdf()
    result = archive.verify_document(document_id, g.user)
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
        body["notices"] = report_notices(body, negotiate_language())
    body["policy_trust_anchors"] = len(components().policy.trust_roots)
    if not as_pdf:
        return body

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
