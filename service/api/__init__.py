"""API v1: JSON endpoints under /api/v1, errors as problem details."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import audit_events, documents, exports, openapi, verifications  # noqa: E402,F401  (registers the views on bp)
