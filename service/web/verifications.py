"""The page where an auditor validates any PDF, as POST /api/v1/verifications does; nothing is stored."""

from __future__ import annotations

from flask import current_app, render_template, request

from ..api.inputs import read_upload
from ..api.report_format import pdf_report_response
from ..api.verifications import verification_report_filename, verify_upload
from ..components import components
from ..i18n import report_notices
from ..report_pdf import ReportContext
from . import bp
from .documents import FORM_ERRORS, _problem_view
from .language import page_language
from .pages import page


@bp.route("/verify", methods=["GET", "POST"])
@page("verification:create")
def verify() -> object:
    problem = None
    report = None
    checked = None
    status = 200
    if request.method == "POST":
        try:
            data = read_upload().read()
            digest, result = verify_upload(data)
        except FORM_ERRORS as error:
            failure, problem = _problem_view(error)
            status = failure.status
        else:
            report = result.to_dict()
            upload_name = request.files["file"].filename or None
            if request.form.get("format") == "pdf":
                context = ReportContext(file_name=upload_name, sha256=digest, size=len(data),
                                        trust_anchors=len(components().policy.trust_roots))
                return pdf_report_response(report, context, verification_report_filename(upload_name))
            report["notices"] = report_notices(report, page_language())
            checked = {"name": upload_name, "sha256": digest, "size": len(data)}
    settings = current_app.config["DOLIL_SETTINGS"]
    return render_template("web/verify.html", problem=problem, report=report, checked=checked,
                           max_bytes=settings.max_upload_bytes), status
