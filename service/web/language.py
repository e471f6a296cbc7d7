"""The language of a web page, and numbers, dates and labels in it.

A page is Bengali unless the visitor chose English with the language switch
(remembered in a cookie) or, without a choice, their browser's
``Accept-Language`` prefers English. Bengali pages show Bengali digits, with
lakh grouping for numbers, and Bangladesh time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flask import g, request

from ..bengali import format_gregorian_bn, format_number_bn, to_bengali_digits
from ..i18n import LANGUAGES, negotiate_language
from ..models import as_utc
from ..report_pdf import texts as report_texts
from ..signing_order import ROLE_LABELS
from .texts import TEXTS

LANGUAGE_COOKIE = "dolil_lang"
# A year: the choice outlives sessions, and changing it is one click.
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
BANGLADESH_TIME = timezone(timedelta(hours=6))  # Bangladesh Standard Time, no daylight saving since 2009
ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")


def page_language() -> str:
    """Return ``bn`` or ``en``: the cookie's choice, else ``Accept-Language``, else Bengali."""
    if "page_language" not in g:
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        g.page_language = chosen if chosen in LANGUAGES else negotiate_language()
    return g.page_language


def _index() -> int:
    return 0 if page_language() == "bn" else 1


def text(key: str, **values: object) -> str:
    """Return the page's text for ``key``, with ``values`` filled in (numbers localised)."""
    template = TEXTS[key][_index()]
    if not values:
        return template
    return template.format(**{name: number(value) if isinstance(value, int) else value
                              for name, value in values.items()})


def pair(labels: tuple[str, str]) -> str:
    """Return the page language's half of a (Bengali, English) pair."""
    return labels[_index()]


def number(value: int | None) -> str:
    if value is None:
        return ""
    return format_number_bn(value) if page_language() == "bn" else f"{value:,}"


_SIZE_UNITS = ((1024 * 1024, ("মেগাবাইট", "MiB")), (1024, ("কিলোবাইট", "KiB")), (1, ("বাইট", "bytes")))


def file_size(value: int) -> str:
    """Return a size in the largest unit that divides it, e.g. ৫০ মেগাবাইট for 50 MiB."""
    for unit, names in _SIZE_UNITS:
        if value >= unit and value % unit == 0:
            return f"{number(value // unit)} {pair(names)}"
    return f"{number(value)} {pair(_SIZE_UNITS[-1][1])}"


def digits(value: object) -> str:
    """Return ``value`` as text, with Bengali digits on a Bengali page (memo numbers, ids of revisions)."""
    if value is None:
        return ""
    return to_bengali_digits(str(value)) if page_language() == "bn" else str(value)


def _as_datetime(value: datetime | str) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def format_date(value: date | str | None) -> str:
    """Format a calendar date as DD/MM/YYYY, in Bengali digits on a Bengali page."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return digits(value.strftime("%d/%m/%Y"))


def format_time(value: datetime | str | None) -> str:
    """Format a moment in Bangladesh time, e.g. ২০ সেপ্টেম্বর ২০২১, ১৪:০৫ or 20 September 2021, 14:05."""
    if value is None:
        return ""
    moment = _as_datetime(value)
    if moment is None:
        return str(value)
    local = moment.astimezone(BANGLADESH_TIME)
    if page_language() == "bn":
        return f"{format_gregorian_bn(local.date())}, {to_bengali_digits(local.strftime('%H:%M'))}"
    return f"{local.day} {ENGLISH_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def role_label(role: str | None) -> str:
    """Return a signing role's name (সদস্য সচিব, সভাপতি, দাখিলকারী)."""
    if role is None:
        return ""
    labels = ROLE_LABELS.get(role)
    return labels[page_language()] if labels else role


def user_role_label(role: str) -> str:
    key = f"role_{role}"
    return text(key) if key in TEXTS else role


def kind_label(kind: str) -> str:
    key = f"kind_{kind}"
    return text(key) if key in TEXTS else kind


def indication_label(indication: str | None) -> str:
    if indication is None:
        return ""
    labels = report_texts.INDICATIONS.get(indication)
    return pair(labels) if labels else indication


def sub_indication_label(sub_indication: str | None) -> str:
    if not sub_indication:
        return ""
    entry = report_texts.SUB_INDICATIONS.get(sub_indication)
    return entry[_index()] if entry else sub_indication


def explanation(indication: str | None) -> str:
    entry = report_texts.DOCUMENT_EXPLANATIONS.get(indication or "")
    return pair(entry) if entry else ""


def looked_up(table: str, key: object) -> str:
    """Return a label from one of the PDF report's tables (COVERAGE, DOCMDP, REVOCATION_STATUS...)."""
    entry = getattr(report_texts, table).get(key)
    return pair(entry) if entry else str(key)


TEMPLATE_HELPERS = {
    "t": text,
    "pair": pair,
    "number": number,
    "file_size": file_size,
    "digits": digits,
    "format_date": format_date,
    "format_time": format_time,
    "role_label": role_label,
    "user_role_label": user_role_label,
    "kind_label": kind_label,
    "indication_label": indication_label,
    "sub_indication_label": sub_indication_label,
    "explanation": explanation,
    "looked_up": looked_up,
}
