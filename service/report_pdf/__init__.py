"""The validation report as an A4 PDF in Bengali and English, for auditors to read and file.

:func:`render_report_pdf` takes a :class:`~signing.report.ValidationReport` or
its dictionary, so a report stored with a verification renders as well, and a
:class:`ReportContext` with what is known about the document (id, revision,
SHA-256, fixity). Every label is in Bengali with the English below it; values
such as distinguished names and hashes are shown as they are, and times both in
Bangladesh time and in UTC.
"""

from __future__ import annotations

from signing.report import ValidationReport

from .render import ReportContext, render

__all__ = ["PDF_MEDIA_TYPE", "ReportContext", "render_report_pdf"]

PDF_MEDIA_TYPE = "application/pdf"


def render_report_pdf(report: ValidationReport | dict, context: ReportContext | None = None) -> bytes:
    """Render a validation report as PDF bytes."""
    data = report.to_dict() if isinstance(report, ValidationReport) else report
    return render(data, context or ReportContext())
