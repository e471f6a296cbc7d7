"""The sections of the PDF validation report, drawn from a report dictionary.

The input is the dictionary of :meth:`signing.report.ValidationReport.to_dict`
(datetimes as ISO 8601 text), so reports stored with a verification years ago
render as well as fresh ones. Keys that older reports lack are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fpdf.enums import XPos, YPos

from ..bengali import format_gregorian_bn, format_number_bn, to_bengali_digits
from ..signing_order import ROLE_LABELS
from . import texts
from .layout import Line, ReportDocument

BANGLADESH_TIME = timezone(timedelta(hours=6))  # Bangladesh Standard Time, no daylight saving since 2009

INDICATION_COLOURS = {
    "TOTAL_PASSED": (27, 122, 61),
    "TOTAL_FAILED": (176, 32, 38),
    "INDETERMINATE": (176, 106, 0),
    "NO_SIGNATURE": (90, 90, 90),
}


@dataclass(frozen=True)
class ReportContext:
    """Facts about the document that the report shows beside the validation itself."""

    document_id: str | None = None
    file_name: str | None = None
    title: str | None = None
    revision: int | None = None
    sha256: str | None = None
    size: int | None = None
    fixity_ok: bool | None = None
    trust_anchors: int | None = None


# --- values -----------------------------------------------------------------------


def _pair(pair: tuple[str, str]) -> list[Line]:
    return [Line(pair[0]), Line(pair[1], "muted")]


def _looked_up(table: dict, key, fallback_code: bool = True) -> list[Line]:
    if key in table:
        lines = _pair(table[key])
        if fallback_code and isinstance(key, str) and key != table[key][1]:
            lines[-1] = Line(f"{table[key][1]} ({key})", "muted")
        return lines
    return [Line(str(key))]


def _parse_time(value) -> datetime | None:  # noqa: ANN001
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def _time(value) -> list[Line]:  # noqa: ANN001
    """Show a time in Bangladesh time in Bengali, and in UTC as ISO 8601."""
    moment = _parse_time(value)
    if moment is None:
        return [Line(str(value))] if value else _pair(texts.LABELS["none"])
    local = moment.astimezone(BANGLADESH_TIME)
    bengali = (f"{format_gregorian_bn(local.date())}, {to_bengali_digits(local.strftime('%H:%M:%S'))} "
               f"({texts.BANGLADESH_TIME[0]})")
    return [Line(bengali), Line(moment.strftime("%Y-%m-%d %H:%M:%S UTC"), "muted")]


def _number(value: int) -> list[Line]:
    return [Line(format_number_bn(value)), Line(f"{value:,}", "muted")]


def _archive(record: dict) -> list[Line]:
    """Name the archive revision a signature created, its role and its signer."""
    label_bn, label_en = texts.LABELS["archive_revision"]
    role = ROLE_LABELS.get(record.get("role") or "", {})
    bengali = [f"{label_bn} {format_number_bn(record['revision'])}", role.get("bn"), record.get("signed_by")]
    english = [f"{label_en} {record['revision']}", role.get("en"), record.get("signed_by")]
    return [Line(", ".join(part for part in bengali if part)),
            Line(", ".join(part for part in english if part), "muted")]


def _values(items: list[str]) -> list[Line]:
    return [Line(item) for item in items] if items else _pair(texts.LABELS["none"])


# --- sections ---------------------------------------------------------------------


def _title(pdf: ReportDocument) -> None:
    bengali, english = texts.LABELS["title"]
    pdf.use_font(bengali, "strong", 18)
    pdf.cell(text=bengali, h=10, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use_font(english, "text", 13)
    pdf.set_text_color(70, 70, 70)
    pdf.cell(text=english, h=7, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.paragraph([Line(texts.LABELS["subtitle"][0], "muted"), Line(texts.LABELS["subtitle"][1], "muted")], 9)


def _document_section(pdf: ReportDocument, report: dict, context: ReportContext) -> None:
    labels = texts.LABELS
    pdf.heading(*labels["section_document"])
    if context.file_name:
        pdf.row(labels["file_name"], [Line(context.file_name)])
    if context.document_id:
        pdf.row(labels["document_id"], [Line(context.document_id)])
    if context.title:
        pdf.row(labels["document_title"], [Line(context.title)])
    if context.revision is not None:
        pdf.row(labels["revision"], _number(context.revision))
    if context.sha256:
        pdf.row(labels["sha256"], [Line(context.sha256)])
    if context.size is not None:
        pdf.row(labels["size"], [Line(format_number_bn(context.size) + " বাইট"),
                                 Line(f"{context.size:,} bytes", "muted")])
    if context.fixity_ok is not None:
        pdf.row(labels["fixity"], _pair(texts.FIXITY[context.fixity_ok]))
    if report.get("validated_at"):
        pdf.row(labels["validated_at"], _time(report["validated_at"]))
    if report.get("policy"):
        pdf.row(labels["policy"], [Line(report["policy"])])
    if report.get("policy_fingerprint"):
        pdf.row(labels["policy_fingerprint"], [Line("SHA-256 " + report["policy_fingerprint"])])
    if context.trust_anchors is not None:
        pdf.row(labels["trust_anchors"], _number(context.trust_anchors))
    if report.get("trailing_bytes"):
        pdf.row(labels["trailing_bytes"], _number(report["trailing_bytes"]))


def _result_section(pdf: ReportDocument, report: dict) -> None:
    indication = report.get("indication", "INDETERMINATE")
    sub_indication = report.get("sub_indication")
    pdf.heading(*texts.LABELS["section_result"])
    _indication_badge(pdf, indication, sub_indication)
    key = sub_indication if sub_indication in texts.DOCUMENT_EXPLANATIONS else indication
    explanation = texts.DOCUMENT_EXPLANATIONS.get(key)
    if explanation:
        pdf.paragraph([Line(explanation[0]), Line(explanation[1], "muted")])
    signatures = report.get("signatures") or []
    pdf.row(texts.LABELS["signature_count"], _number(len(signatures)))


def _indication_badge(pdf: ReportDocument, indication: str, sub_indication: str | None) -> None:
    bengali, english = texts.INDICATIONS.get(indication, (indication, indication))
    text = f"{bengali} · {english} ({indication})"
    pdf.badge(text, INDICATION_COLOURS.get(indication, (90, 90, 90)))
    if sub_indication:
        sub = texts.SUB_INDICATIONS.get(sub_indication)
        lines = [Line(sub[0], "strong"), Line(f"{sub[1]} ({sub_indication})", "muted")] if sub \
            else [Line(sub_indication, "strong")]
        pdf.paragraph(lines)


def _signature_section(pdf: ReportDocument, number: int, signature: dict) -> None:
    labels = texts.LABELS
    bengali_title = f"{labels['section_signature'][0]} {to_bengali_digits(str(number))}"
    english_title = f"{labels['section_signature'][1]} {number}"
    pdf.heading(bengali_title, english_title)

    indication = signature.get("indication", "INDETERMINATE")
    sub_indication = signature.get("sub_indication")
    _indication_badge(pdf, indication, sub_indication)
    explanation = (texts.SUB_INDICATIONS.get(sub_indication, (None, None, None, None))[2:]
                   if sub_indication else texts.SIGNATURE_EXPLANATIONS.get(indication))
    if explanation and explanation[0]:
        pdf.row(labels["explanation"], [Line(explanation[0]), Line(explanation[1], "muted")])

    pdf.row(labels["field_name"], [Line(signature.get("field_name") or "?")])
    pdf.row(labels["signer_subject"], [Line(signature.get("signer_subject") or "?")])
    pdf.row(labels["issuer"], [Line(signature.get("signer_issuer") or "?")])
    pdf.row(labels["serial"], [Line(signature.get("signer_serial") or "?")])
    certificates = signature.get("certificates") or []
    if certificates:
        pdf.row(labels["validity"], _validity(certificates[0]))
    pdf.row(labels["signing_time"], _time(signature.get("signing_time")))
    pdf.row(labels["timestamps"], _timestamps(signature))
    pdf.row(labels["poe_time"], _time(signature.get("poe_time")))
    pdf.row(labels["level"], [Line(signature.get("level") or "?")])
    pdf.row(labels["coverage"], _coverage(signature))
    if signature.get("signed_revision") is not None:
        pdf.row(labels["signed_revision"], _number(signature["signed_revision"]))
    if signature.get("archive"):
        pdf.row(labels["archive"], _archive(signature["archive"]))
    if "docmdp_permissions" in signature:
        pdf.row(labels["docmdp"], _pair(texts.DOCMDP.get(signature["docmdp_permissions"],
                                                         (signature["docmdp_permissions"],) * 2)))
    _modifications(pdf, signature)
    _revocation(pdf, signature)
    _chain(pdf, signature)
    warnings = list(signature.get("warnings") or [])
    pdf.row(labels["warnings"], [Line(texts.LABELS["english_note"][0], "muted")] + _values(warnings)
            if warnings else _pair(labels["none"]))


def _validity(certificate: dict) -> list[Line]:
    start = _parse_time(certificate.get("not_before"))
    end = _parse_time(certificate.get("not_after"))
    if start is None or end is None:
        return [Line("?")]
    start_bd, end_bd = start.astimezone(BANGLADESH_TIME), end.astimezone(BANGLADESH_TIME)
    return [
        Line(f"বৈধ: {format_gregorian_bn(start_bd.date())} থেকে {format_gregorian_bn(end_bd.date())} পর্যন্ত"),
        Line(f"valid from {start:%Y-%m-%d %H:%M:%S} UTC to {end:%Y-%m-%d %H:%M:%S} UTC", "muted"),
    ]


def _timestamps(signature: dict) -> list[Line]:
    entries = signature.get("timestamps") or []
    if not entries and signature.get("timestamp_time"):
        entries = [{"type": "signature", "time": signature["timestamp_time"], "tsa": None}]
    if not entries:
        return _pair(texts.LABELS["none"])
    lines: list[Line] = []
    for entry in entries:
        kind = texts.TIMESTAMP_TYPES.get(entry.get("type"), (entry.get("type"), entry.get("type")))
        revision = entry.get("revision")
        suffix_bn = f", PDF সংস্করণ {to_bengali_digits(str(revision))}" if revision is not None else ""
        suffix_en = f", PDF revision {revision}" if revision is not None else ""
        lines.append(Line(f"{kind[0]}{suffix_bn}", "strong"))
        lines.append(Line(f"{kind[1]}{suffix_en}", "muted"))
        lines.extend(_time(entry.get("time")))
        lines.append(Line(f"TSA: {entry.get('tsa') or '?'}"))
    return lines


def _coverage(signature: dict) -> list[Line]:
    lines = _looked_up(texts.COVERAGE, signature.get("coverage"))
    byte_range = signature.get("byte_range")
    if byte_range:
        lines.append(Line("/ByteRange [" + " ".join(str(value) for value in byte_range) + "]"))
    return lines


def _modifications(pdf: ReportDocument, signature: dict) -> None:
    labels = texts.LABELS
    modified = bool(signature.get("modified_after_signing"))
    revisions_after = signature.get("revisions_after") or 0
    lines = _pair(texts.YES_NO[modified])
    lines.append(Line(f"পরে যোগ হওয়া সংস্করণ: {to_bengali_digits(str(revisions_after))}"))
    lines.append(Line(f"revisions added after signing: {revisions_after}", "muted"))
    pdf.row(labels["modified"], lines)
    if signature.get("modification_level"):
        pdf.row(labels["modification_level"], _looked_up(texts.MODIFICATION_LEVELS, signature["modification_level"]))
    changes = list(signature.get("changes") or [])
    if changes:
        note = labels["pdf_revision_note"]
        pdf.row(labels["changes"], [Line(labels["english_note"][0], "muted"), Line(note[0], "muted"),
                                    Line(note[1], "muted")] + _values(changes))
    visual = signature.get("visual_check") or {}
    if visual.get("status"):
        lines = _looked_up(texts.VISUAL_CHECK, visual["status"])
        compared = visual.get("revisions_compared")
        if compared:
            lines.append(Line("revisions compared: " + ", ".join(str(item) for item in compared), "muted"))
        pdf.row(labels["visual_check"], lines)
    differences = signature.get("visual_differences") or []
    if differences:
        pdf.row(labels["visual_differences"], [Line(_difference_text(item)) for item in differences])


def _difference_text(item: dict) -> str:
    page = item.get("page")
    revision = item.get("revision")
    where = f"page {page}" if page is not None else "page count"
    seen = f"revision {revision}" if revision is not None else "the complete file"
    return f"{where}: {item.get('kind')}, first seen in {seen}, {item.get('changed_pixels', 0)} pixels changed"


def _revocation(pdf: ReportDocument, signature: dict) -> None:
    revocation = signature.get("revocation") or {}
    if not revocation:
        return
    lines = _looked_up(texts.REVOCATION_STATUS, revocation.get("status"))
    mode = texts.REVOCATION_MODES.get(revocation.get("mode"))
    if mode:
        lines.extend([Line(mode[0]), Line(mode[1], "muted")])
    if revocation.get("revoked_at"):
        lines.append(Line("বাতিলের সময় · revoked at", "strong"))
        lines.extend(_time(revocation["revoked_at"]))
    if revocation.get("reason"):
        lines.append(Line(f"reason: {revocation['reason']}", "muted"))
    if revocation.get("note"):
        lines.append(Line(revocation["note"], "muted"))
    pdf.row(texts.LABELS["revocation"], lines)


def _chain(pdf: ReportDocument, signature: dict) -> None:
    labels = texts.LABELS
    certificates = signature.get("certificates") or []
    if not certificates:
        # Reports stored before certificates were described list the subjects only.
        pdf.row(labels["chain"], _values(list(signature.get("chain") or [])))
        return
    if signature.get("chain"):
        count = len(certificates)
        pdf.row(labels["chain"], [Line(f"{to_bengali_digits(str(count))}টি সার্টিফিকেট, স্বাক্ষরকারীরটি প্রথমে"),
                                  Line(f"{count} certificates, the signer's first", "muted")])
    else:
        pdf.row(labels["chain"], [Line("সার্টিফিকেট চেইন পাওয়া যায়নি; শুধু স্বাক্ষরকারীর সার্টিফিকেট দেখানো হলো।"),
                                  Line("No certificate chain was found; only the signer's certificate is shown.",
                                       "muted")])
    for index, certificate in enumerate(certificates, start=1):
        role = texts.CERTIFICATE_ROLES.get(certificate.get("role"), ("?", "?"))
        pdf.keep_together(40)
        pdf.ln(1)
        pdf.paragraph([
            Line(f"{labels['section_certificate'][0]} {to_bengali_digits(str(index))} — {role[0]}", "strong"),
            Line(f"{labels['section_certificate'][1]} {index}, {role[1]}", "muted"),
        ])
        indent = 4.0
        pdf.row(labels["subject"], [Line(certificate.get("subject") or "?")], indent)
        pdf.row(labels["issuer"], [Line(certificate.get("issuer") or "?")], indent)
        pdf.row(labels["serial"], [Line(certificate.get("serial") or "?")], indent)
        pdf.row(labels["validity"], _validity(certificate), indent)
        pdf.row(labels["revocation_status"],
                _looked_up(texts.REVOCATION_STATUS, certificate.get("revocation_status")), indent)
        evidence = certificate.get("evidence") or []
        if certificate.get("role") != "trust_anchor":
            pdf.row(labels["revocation_data"], _evidence_lines(evidence), indent)


def _evidence_lines(evidence: list[dict]) -> list[Line]:
    if not evidence:
        return _pair(texts.LABELS["none"])
    lines: list[Line] = []
    for item in evidence:
        source = texts.REVOCATION_SOURCES.get(item.get("source"), (item.get("source"),) * 2)
        status = texts.REVOCATION_STATUS.get(item.get("status"), (item.get("status"),) * 2)
        lines.append(Line(f"{item.get('type')}: {source[0]} — {status[0]}", "strong"))
        lines.append(Line(f"{item.get('type')}, {source[1]}: {status[1]}", "muted"))
        issued = _parse_time(item.get("issued_at"))
        next_update = _parse_time(item.get("next_update"))
        times = f"issued {issued:%Y-%m-%d %H:%M:%S} UTC" if issued else "issued ?"
        if next_update:
            times += f", next update {next_update:%Y-%m-%d %H:%M:%S} UTC"
        lines.append(Line(times, "muted"))
    return lines


# --- the document -------------------------------------------------------------------


def _page_label(number: int, total: int) -> str:
    return f"পৃষ্ঠা {to_bengali_digits(str(number))} / {to_bengali_digits(str(total))} · Page {number} of {total}"


def render(report: dict, context: ReportContext,
           page_label: Callable[[int, int], str] = _page_label) -> bytes:
    pdf = ReportDocument()
    title = texts.LABELS["title"]
    pdf.set_title(f"{title[0]} / {title[1]}")
    pdf.set_subject(context.document_id or context.sha256 or "")
    pdf.set_creator("Dolil")
    pdf.add_page()

    _title(pdf)
    _document_section(pdf, report, context)
    _result_section(pdf, report)
    for number, signature in enumerate(report.get("signatures") or [], start=1):
        _signature_section(pdf, number, signature)

    reference = context.document_id or (f"SHA-256 {context.sha256[:16]}…" if context.sha256 else None)
    suffix = f" · {reference}" if reference else ""
    pdf.page_furniture(f"{title[0]} · {title[1]}{suffix}", f"দলিল · Dolil{suffix}", page_label)
    return bytes(pdf.output())
