"""Bengali digits, memo numbers, dates and the revised Bangladesh calendar.

Bengali digits (০-৯) and ASCII digits are equivalent in every input; stored
values use ASCII digits, and the Bengali interface displays Bengali digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

BENGALI_DIGITS = "০১২৩৪৫৬৭৮৯"
_TO_ASCII = str.maketrans(BENGALI_DIGITS, "0123456789")
_TO_BENGALI = str.maketrans("0123456789", BENGALI_DIGITS)

# Memo numbers under the Secretariat Instructions. The 2014 form is an 18-digit
# file number in 7 groups (ministry 2, office 2, area 4, branch 3, subject 2,
# file 3, year 2); the 2024 form has 22 digits in 8 groups (ministry 2, office 2,
# area 4, subordinate office 3, branch 3, subject 2, file 4, year 2). Both are
# followed by the letter serial.
MEMO_2014 = re.compile(r"^\d{2}\.\d{2}\.\d{4}\.\d{3}\.\d{2}\.\d{3}\.\d{2}\.\d{1,6}$")
MEMO_2024 = re.compile(r"^\d{2}\.\d{2}\.\d{4}\.\d{3}\.\d{3}\.\d{2}\.\d{4}\.\d{2}\.\d{1,6}$")
# A search may give only the leading groups (for example the file number), so
# it accepts any dotted run of digits.
MEMO_SEARCH = re.compile(r"^\d+(\.\d+)*\.?$")

_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATE_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def to_ascii_digits(text: str) -> str:
    return text.translate(_TO_ASCII)


def to_bengali_digits(text: str) -> str:
    return text.translate(_TO_BENGALI)


def format_number_bn(value: int) -> str:
    """Format an integer with Bengali digits and lakh grouping, as CLDR's bn pattern #,##,##0 does.

    The last three digits form one group and the rest groups of two:
    ``12345678`` becomes ``১,২৩,৪৫,৬৭৮``.
    """
    sign, digits = ("-", str(-value)) if value < 0 else ("", str(value))
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while head:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return to_bengali_digits(sign + ",".join([*groups, tail]))


def _compact(text: str) -> str:
    # Officers paste memo numbers from Word and e-Nothi, which may add spaces
    # around the dots or use the full stop of a Bengali sentence.
    return re.sub(r"\s+", "", to_ascii_digits(text)).replace("।", ".")


def normalise_memo_number(text: str) -> str:
    """Return a memo number with ASCII digits, or raise ValueError.

    Accepts the 2014 and 2024 forms in either digit set.
    """
    compact = _compact(text)
    if MEMO_2014.match(compact) or MEMO_2024.match(compact):
        return compact
    raise ValueError(text)


def normalise_memo_search(text: str) -> str:
    """Return a memo number prefix for searching, or raise ValueError."""
    compact = _compact(text)
    if MEMO_SEARCH.match(compact):
        return compact
    raise ValueError(text)


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` or ``DD/MM/YYYY`` in either digit set; ValueError otherwise."""
    compact = to_ascii_digits(text.strip())
    match = _DATE_ISO.match(compact)
    if match:
        year, month, day = (int(part) for part in match.groups())
        return date(year, month, day)
    match = _DATE_DMY.match(compact)
    if match:
        day, month, year = (int(part) for part in match.groups())
        return date(year, month, day)
    raise ValueError(text)


# The revised Bangladesh calendar (in force since 2019): 1 Boishakh is
# 14 April, Boishakh to Ashwin have 31 days, Falgun has 29 days or 30 when the
# Gregorian year in which it falls is a leap year, and the other months 30.
BANGLA_MONTHS = (
    "বৈশাখ", "জ্যৈষ্ঠ", "আষাঢ়", "শ্রাবণ", "ভাদ্র", "আশ্বিন",
    "কার্তিক", "অগ্রহায়ণ", "পৌষ", "মাঘ", "ফাল্গুন", "চৈত্র",
)
GREGORIAN_MONTHS_BN = (
    "জানুয়ারি", "ফেব্রুয়ারি", "মার্চ", "এপ্রিল", "মে", "জুন",
    "জুলাই", "আগস্ট", "সেপ্টেম্বর", "অক্টোবর", "নভেম্বর", "ডিসেম্বর",
)
BANGLA_ERA_OFFSET = 593  # 1 Boishakh 1428 is 14 April 2021


@dataclass(frozen=True)
class BanglaDate:
    year: int
    month: int  # 1 = Boishakh ... 12 = Chaitra
    day: int

    def __str__(self) -> str:
        return to_bengali_digits(f"{self.day} {BANGLA_MONTHS[self.month - 1]} {self.year}")


def _is_gregorian_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_lengths(bangla_year: int) -> tuple[int, ...]:
    # Falgun of Bangla year Y starts in February of Gregorian year Y + 594.
    falgun = 30 if _is_gregorian_leap(bangla_year + BANGLA_ERA_OFFSET + 1) else 29
    return (31, 31, 31, 31, 31, 31, 30, 30, 30, 30, falgun, 30)


def to_bangla_date(value: date) -> BanglaDate:
    """Convert a Gregorian date to the revised Bangladesh calendar."""
    new_year = date(value.year, 4, 14)
    if value < new_year:
        new_year = date(value.year - 1, 4, 14)
    bangla_year = new_year.year - BANGLA_ERA_OFFSET
    remaining = (value - new_year).days
    for month, length in enumerate(_month_lengths(bangla_year), start=1):
        if remaining < length:
            return BanglaDate(bangla_year, month, remaining + 1)
        remaining -= length
    raise AssertionError("a Bangla year has as many days as the Gregorian year from 14 April")


def from_bangla_date(bangla: BanglaDate) -> date:
    """Convert a revised Bangladesh calendar date to Gregorian; ValueError if it does not exist."""
    lengths = _month_lengths(bangla.year)
    if not 1 <= bangla.month <= 12 or not 1 <= bangla.day <= lengths[bangla.month - 1]:
        raise ValueError(f"{bangla.day} {bangla.month} {bangla.year} is not a date of the Bangla calendar")
    offset = sum(lengths[: bangla.month - 1]) + bangla.day - 1
    return date(bangla.year + BANGLA_ERA_OFFSET, 4, 14) + timedelta(days=offset)


def format_gregorian_bn(value: date) -> str:
    """Format a date as Bengali text, e.g. ২৬ সেপ্টেম্বর ২০২১."""
    return to_bengali_digits(f"{value.day} {GREGORIAN_MONTHS_BN[value.month - 1]} {value.year}")


def format_dual_date_bn(value: date) -> str:
    """Format a date in both calendars, as on office documents: ১১ আশ্বিন ১৪২৮ / ২৬ সেপ্টেম্বর ২০২১."""
    return f"{to_bangla_date(value)} / {format_gregorian_bn(value)}"
