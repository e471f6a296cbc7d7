"""Validation of any PDF an auditor hands in; nothing is archived."""

from __future__ import annotations

import hashlib

from flask import g, request

from signing.intake import prepare_upload, sniff_type
from signing.limits import validate_pdf_within_limits

from ..audit import record_event
from ..auth import require_permission
from ..components import components
from ..extensions import db
from ..problems import ApiProblem
from . import bp
from .inputs import invalid_field, read_upload


@bp.post("/verifications")
@require_permission("verification:create")
def create_verification() -> dict:
    if request.mimetype != "multipart/form-data":
        raise invalid_field("request", "send the PDF as the multipart/form-data field 'file'",
                       "PDF ফাইলটি multipart/form-data-এর 'file' ঘরে পাঠান")
    # Auditors hand in single files to check, so the bytes are read into memory.
    data = read_upload().read()
    if data and sniff_type(data) != "pdf":
        raise ApiProblem("unsupported_type")
    # The same structural checks as an upload, so a damaged or encrypted file
    # gets the same problem code. The bytes themselves are validated unchanged.
    prepare_upload(data)

    digest = hashlib.sha256(data).hexdigest()
    # Anyone with an auditor token can send a file here, so validation runs in
    # a worker process bounded in time and memory, like the upload checks.
    report = validate_pdf_within_limits(data, components().policy)
    record_event("verification.create", "success", actor=g.user,
                 details={"sha256": digest, "size": len(data), "indication": report.indication})
    db.session.commit()
    return {"sha256": digest, "size": len(data), **report.to_dict()}
