import calendar
from datetime import date, timedelta

import pytest

from service.bengali import (
    BanglaDate,
    format_dual_date_bn,
    from_bangla_date,
    normalise_memo_number,
    normalise_memo_search,
    parse_date,
    to_bangla_date,
    to_bengali_digits,
)


def test_memo_2014_bengali_digits_normalised():
    assert normalise_memo_number("৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.১৫৮") == "56.03.0000.003.05.007.21.158"


def test_memo_2014_ascii_digits_unchanged():
    assert normalise_memo_number("56.03.0000.003.05.007.21.158") == "56.03.0000.003.05.007.21.158"


def test_memo_2024_form_accepted():
    assert normalise_memo_number("৫৬.০৩.০০০০.০০১.০০৩.০৫.০০০৭.২৪.১২") == "56.03.0000.001.003.05.0007.24.12"


def test_memo_spaces_removed():
    assert normalise_memo_number(" 56.03.0000.003.05.007.21. 158 ") == "56.03.0000.003.05.007.21.158"


@pytest.mark.parametrize("value", ["", "158", "56.03.0000.003.05.007.21", "56-03-0000-003-05-007-21-158", "ab.cd"])
def test_memo_invalid_rejected(value):
    with pytest.raises(ValueError):
        normalise_memo_number(value)


def test_memo_search_accepts_file_prefix():
    assert normalise_memo_search("৫৬.০৩.০০০০") == "56.03.0000"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-09-20", date(2021, 9, 20)),
        ("২০২১-০৯-২০", date(2021, 9, 20)),
        ("২০/০৯/২০২১", date(2021, 9, 20)),
        ("20.09.2021", date(2021, 9, 20)),
    ],
)
def test_parse_date_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2021-02-30", "09/2021", "yesterday", "২০২১/০৯"])
def test_parse_date_invalid(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_bengali_digits_roundtrip():
    assert to_bengali_digits("2021-09-20") == "২০২১-০৯-২০"


def test_bangla_date_sample_meeting():
    assert str(to_bangla_date(date(2021, 9, 26))) == "১১ আশ্বিন ১৪২৮"


@pytest.mark.parametrize(
    ("gregorian", "expected"),
    [
        # The dates the 2019 revision keeps fixed every year.
        (date(2022, 4, 14), BanglaDate(1429, 1, 1)),
        (date(2021, 2, 21), BanglaDate(1427, 11, 8)),
        (date(2024, 2, 21), BanglaDate(1430, 11, 8)),
        (date(2023, 3, 26), BanglaDate(1429, 12, 12)),
        (date(2024, 3, 26), BanglaDate(1430, 12, 12)),
        (date(2021, 12, 16), BanglaDate(1428, 9, 1)),
        (date(2022, 4, 13), BanglaDate(1428, 12, 30)),
    ],
)
def test_bangla_date_fixed_days(gregorian, expected):
    assert to_bangla_date(gregorian) == expected


@pytest.mark.parametrize("gregorian_year", [2019, 2020, 2023, 2024, 2099, 2100])
def test_bangla_calendar_month_boundaries(gregorian_year):
    """Every month of a Bangla year starts the day after the previous one ends, both ways."""
    bangla_year = gregorian_year - 593
    day = date(gregorian_year, 4, 14)
    for month in range(1, 13):
        first = to_bangla_date(day)
        assert first == BanglaDate(bangla_year, month, 1)
        assert from_bangla_date(first) == day
        length = 31 if month <= 6 else 30
        if month == 11:
            length = 30 if calendar.isleap(gregorian_year + 1) else 29
        last = day + timedelta(days=length - 1)
        assert to_bangla_date(last) == BanglaDate(bangla_year, month, length)
        assert from_bangla_date(BanglaDate(bangla_year, month, length)) == last
        day = last + timedelta(days=1)
    assert day == date(gregorian_year + 1, 4, 14)


def test_bangla_date_roundtrip_every_day():
    day = date(2015, 1, 1)
    while day < date(2035, 1, 1):
        assert from_bangla_date(to_bangla_date(day)) == day
        day += timedelta(days=1)


@pytest.mark.parametrize("bangla", [BanglaDate(1428, 6, 32), BanglaDate(1428, 13, 1), BanglaDate(1429, 11, 30)])
def test_bangla_date_invalid(bangla):
    with pytest.raises(ValueError):
        from_bangla_date(bangla)


def test_dual_date_format():
    assert format_dual_date_bn(date(2021, 9, 26)) == "১১ আশ্বিন ১৪২৮ / ২৬ সেপ্টেম্বর ২০২১"


def test_number_lakh_grouping():
    from service.bengali import format_number_bn

    assert format_number_bn(0) == "০"
    assert format_number_bn(999) == "৯৯৯"
    assert format_number_bn(1000) == "১,০০০"
    assert format_number_bn(70386) == "৭০,৩৮৬"
    assert format_number_bn(1234567) == "১২,৩৪,৫৬৭"
    assert format_number_bn(52428800) == "৫,২৪,২৮,৮০০"
    assert format_number_bn(-123456) == "-১,২৩,৪৫৬"
