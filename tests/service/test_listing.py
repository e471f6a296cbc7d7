"""Listing documents: cursor pagination and filters."""

from __future__ import annotations

import pytest

from tests.helpers import EVIDENCE_JPEG, MINUTES_PDF, bearer, upload

MEMO_BN = "৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.১৫৮"
MEMO_ASCII = "56.03.0000.003.05.007.21.158"


@pytest.fixture
def documents(client, tokens) -> list[str]:
    ids = [
        upload(client, tokens["officer"], MINUTES_PDF, memo_number=MEMO_BN).get_json()["id"],
        upload(client, tokens["officer"], MINUTES_PDF, memo_number="56.03.0000.003.05.007.21.159").get_json()["id"],
        upload(client, tokens["officer"], EVIDENCE_JPEG, kind="evidence", title="প্রমাণক").get_json()["id"],
    ]
    return ids


def _list(client, token, **params):
    response = client.get("/api/v1/documents", query_string=params, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_list_pages_by_cursor(client, tokens, documents):
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = _list(client, tokens["service"], **params)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(documents))


def test_list_filters_by_kind(client, tokens, documents):
    page = _list(client, tokens["auditor"], kind="evidence")

    assert [item["id"] for item in page["items"]] == [documents[2]]


@pytest.mark.parametrize("memo", [MEMO_BN, MEMO_ASCII])
def test_list_memo_digits_match_either_set(client, tokens, documents, memo):
    page = _list(client, tokens["auditor"], memo_number=memo)

    assert [item["id"] for item in page["items"]] == [documents[0]]


def test_list_memo_file_prefix_finds_letters(client, tokens, documents):
    page = _list(client, tokens["auditor"], memo_number="৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১")

    assert {item["id"] for item in page["items"]} == {documents[0], documents[1]}


def test_list_memo_without_match_is_empty(client, tokens, documents):
    page = _list(client, tokens["auditor"], memo_number="৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.৯৯৯")

    assert page["items"] == []
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [({"cursor": "not-a-cursor"}, "cursor"), ({"limit": "0"}, "limit"), ({"limit": "many"}, "limit"),
     ({"kind": "letter"}, "kind"), ({"memo_number": "abc"}, "memo_number")],
)
def test_list_invalid_parameters(client, tokens, params, field):
    response = client.get("/api/v1/documents", query_string=params, headers=bearer(tokens["auditor"]))

    assert response.status_code == 422
    assert response.get_json()["field"] == field


def test_list_memo_raw_utf8_query(client, tokens, documents):
    """Bengali digits typed into a URL reach the view as one Latin-1 character per UTF-8 byte.

    This is what Werkzeug's development server passes on for raw UTF-8 in a
    request line: the WSGI string contains the bytes encoded twice.
    """
    raw_query = ("memo_number=" + MEMO_BN).encode("utf-8").decode("latin-1").encode("utf-8").decode("latin-1")

    response = client.get("/api/v1/documents", headers=bearer(tokens["auditor"]),
                          environ_overrides={"QUERY_STRING": raw_query})

    assert response.status_code == 200, response.get_json()
    assert [item["id"] for item in response.get_json()["items"]] == [documents[0]]
