"""Bengali digits, memo numbers and dates.

Bengali digits (০-৯) and ASCII digits are equivalent in every input; stored
values use ASCII digits, and the Bengali interface displays Bengali digits.
"""

from __future__ import annotations

import re
from datetime import date

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
