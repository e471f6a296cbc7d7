"""Request parsing shared by the API views."""

from __future__ import annotations

from flask import current_app, request

from ..problems import ApiProblem
from ..spool import UploadSpool


def invalid_field(field: str, reason_en: str, reason_bn: str) -> ApiProblem:
    return ApiProblem("field_invalid", field=field, reason_en=reason_en, reason_bn=reason_bn)


def json_object() -> dict:
    """Return the request's JSON body, which must be an object."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise invalid_field("request", "send a JSON object", "একটি JSON অবজেক্ট পাঠান")
    return body


def read_upload() -> UploadSpool:
    """Return the spool file of the upload's ``file`` field, written out and positioned at its start.

    :class:`~service.spool.SpoolingRequest` wrote it while parsing the form,
    hashing it and refusing more than ``DOLIL_MAX_UPLOAD_BYTES``.
    """
    upload = request.files.get("file")
    if upload is None:
        raise ApiProblem("field_missing", field="file")
    spool = upload.stream
    if not isinstance(spool, UploadSpool):
        raise TypeError("uploads must be parsed by SpoolingRequest")
    max_bytes = current_app.config["DOLIL_SETTINGS"].max_upload_bytes
    if spool.size > max_bytes:
        raise ApiProblem("file_too_large", max_bytes=max_bytes)
    spool.flush()
    spool.seek(0)
    return spool


def query_arg(name: str) -> str:
    """Return a query parameter, repairing raw UTF-8 that arrived decoded as Latin-1.

    Clients such as curl send Bengali digits typed into a URL as raw UTF-8
    bytes; Werkzeug's development server (3.1) then hands them over as one
    Latin-1 character per byte. A value that is not such a sequence is
    returned unchanged.
    """
    value = request.args.get(name, "")
    try:
        value = value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return value.strip()
