"""Export of a document as a BagIt package, zipped."""

from __future__ import annotations

from flask import Response, g, send_file

from .. import export
from ..auth import require_permission
from . import bp


@bp.get("/documents/<document_id>/export")
@require_permission("document:export")
def export_document(document_id: str) -> Response:
    archive, filename = export.export_zip(document_id, g.user)
    response = send_file(archive, mimetype="application/zip", as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "no-store"
    return response
