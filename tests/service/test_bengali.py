from datetime import date

import pytest

from service.bengali import normalise_memo_number, normalise_memo_search, parse_date, to_bengali_digits


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
