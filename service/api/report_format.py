"""Content negotiation of validation reports: JSON by default, or the PDF report.

A client asks for the PDF with ``Accept: application/pdf``; a browser link can
use ``?format=pdf`` instead. ``?format=json`` forces JSON whatever the Accept
header contains.
"""

from __future__ import annotations

from flask import Response, request

from ..report_pdf import PDF_MEDIA_TYPE, ReportContext, render_report_pdf
from .inputs import invalid_field

JSON_MEDIA_TYPE = "application/json"
FORMATS = ("json", "pdf")


def wants_pdf() -> bool:
    """Return whether the request wants the PDF report; raise a problem for an unknown ``format``."""
    requested = request.args.get("format")
    if requested is not None:
        if requested not in FORMATS:
            raise invalid_field("format", "use json or pdf", "json অথবা pdf দিন")
        return requested == "pdf"
    best = request.accept_mimetypes.best_match((JSON_MEDIA_TYPE, PDF_MEDIA_TYPE), default=JSON_MEDIA_TYPE)
    return best == PDF_MEDIA_TYPE


def pdf_report_response(report: dict, context: ReportContext, filename: str) -> Response:
    """Render ``report`` as the PDF report and return it for display or download as ``filename``."""
    response = Response(render_report_pdf(report, context), mimetype=PDF_MEDIA_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept")
    return response
