"""Validation of any PDF an auditor hands in; nothing is archived."""

from __future__ import annotations

import hashlib
import re

from flask import Response, g, request

from signing.intake import pdf_header_offset, prepare_upload, sniff_type
from signing.report import ValidationReport
from signing.worker import validate_pdf_within_limits

from ..audit import record_event
from ..auth import require_permission
from ..components import components
from ..extensions import db
from ..i18n import negotiate_language, report_notices
from ..problems import ApiProblem
from ..report_pdf import ReportContext
from . import bp
from .inputs import invalid_field, read_upload
from .report_format import pdf_report_response, wants_pdf

# Characters kept from an uploaded file's name in the report's own file name.
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def verify_upload(data: bytes) -> tuple[str, ValidationReport]:
    """Validate the bytes of a PDF that a user handed in, audit it and return its SHA-256 and report.

    Raises a problem for a file that is not a PDF or fails the upload checks;
    nothing is stored.
    """
    # Bytes before the %PDF- header are accepted here, as Acrobat accepts
    # them, and the report counts them. Archive uploads reject them.
    header = pdf_header_offset(data) or 0
    if data and sniff_type(data[header:]) != "pdf":
        raise ApiProblem("unsupported_type")
    # The same structural checks and limits as an upload, so an encrypted or
    # unreadable file gets the same problem code. Damage that the non-strict
    # readers repair is accepted here, because the report states how the file
    # was read. The bytes themselves are validated unchanged.
    prepare_upload(data[header:], repairable=True)

    digest = hashlib.sha256(data).hexdigest()
    # Anyone with an auditor token can send a file here, so validation runs in
    # a worker process bounded in time and memory, like the upload checks.
    report = validate_pdf_within_limits(data, components().policy)
    record_event("verification.create", "success", actor=g.user,
                 details={"sha256": digest, "size": len(data), "indication": report.indication})
    db.session.commit()
    return digest, report


def verification_report_filename(upload_name: str | None) -> str:
    """Return the file name of the PDF report about an uploaded file, from the characters of its name that are safe."""
    stem = _FILENAME_UNSAFE.sub("-", (upload_name or "document").rsplit(".", 1)[0]).strip("-.")[:80]
    return f"dolil-verification-{stem or 'document'}.pdf"


@bp.post("/verifications")
@require_permission("verification:create")
def create_verification() -> dict | Response:
    as_pdf = wants_pdf()
    if request.mimetype != "multipart/form-data":
        raise invalid_field("request", "send the PDF as the multipart/form-data field 'file'",
                       "PDF ফাইলটি multipart/form-data-এর 'file' ঘরে পাঠান")
    # Auditors hand in single files to check, so the bytes are read into memory.
    data = read_upload().read()
    digest, report = verify_upload(data)
    body = report.to_dict()
    if not as_pdf:
        return {"sha256": digest, "size": len(data), **body, "notices": report_notices(body, negotiate_language())}

    upload_name = request.files["file"].filename or None
    context = ReportContext(file_name=upload_name, sha256=digest, size=len(data),
                            trust_anchors=len(components().policy.trust_roots))
    return pdf_report_response(body, context, verification_report_filename(upload_name))
