"""POST /api/v1/verifications with signed PDFs in the shapes other tools write.

The files and their expected verdicts come from ``tests.signing.test_realworld``;
here they go through the upload checks and the bounded validation worker.
"""

from __future__ import annotations

import io

import pytest

from tests.helpers import bearer
from tests.signing import realworld_files as realworld
from tests.signing.test_realworld import EXPECTED, NON_STRICT, assert_complete


@pytest.fixture(scope="module")
def corpus(live_pki) -> dict[str, bytes]:
    return realworld.build_corpus(live_pki)


@pytest.fixture
def live_client(app, live_pki):
    """A client of an app that validates under the test PKI's hard-fail policy."""
    parts = app.extensions["dolil"]
    parts.__dict__["policy"] = live_pki.policy()
    parts.__dict__.pop("policy_fingerprint", None)
    return app.test_client()


def _verify(client, token: str, data: bytes, language: str = "en"):
    return client.post("/api/v1/verifications", data={"file": (io.BytesIO(data), "handed-in.pdf")},
                       headers=bearer(token, language), content_type="multipart/form-data")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdicts_over_api(live_client, tokens, corpus, name: str) -> None:
    response = _verify(live_client, tokens["auditor"], corpus[name])

    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    verdicts = [(signature["indication"], signature["sub_indication"]) for signature in report["signatures"]]
    assert verdicts == EXPECTED[name]
    assert_complete(report)
    assert report["size"] == len(corpus[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reading_reported_over_api(live_client, tokens, corpus, name: str) -> None:
    report = _verify(live_client, tokens["auditor"], corpus[name]).get_json()

    if name in NON_STRICT:
        assert report["reading"] == "non-strict"
        assert report["strict_reading_error"]
        assert [notice["code"] for notice in report["notices"]] == ["non_strict_reading"]
    else:
        assert report["reading"] == "strict"
        assert report["notices"] == []


def test_non_strict_notice_in_bengali(live_client, tokens, corpus) -> None:
    report = _verify(live_client, tokens["auditor"], corpus["shifted_startxref"], "bn").get_json()

    (notice,) = report["notices"]
    assert "মেরামত" in notice["message"]
    assert any("non-strict" in warning for warning in report["warnings"])


def test_changed_byte_fails_over_api(live_client, tokens, corpus) -> None:
    data = realworld.flip_signed_byte(corpus["shifted_startxref"])

    report = _verify(live_client, tokens["auditor"], data).get_json()

    assert report["indication"] == "TOTAL_FAILED"
    assert report["signatures"][0]["sub_indication"] == "HASH_FAILURE"
    assert report["reading"] == "non-strict"


def test_junk_before_header_reported_over_api(live_client, tokens, corpus) -> None:
    data = realworld.JUNK_LINE + corpus["acrobat_pkcs7_detached"]

    response = _verify(live_client, tokens["auditor"], data, "bn")

    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    (signature,) = report["signatures"]
    assert (signature["indication"], signature["sub_indication"]) == ("INDETERMINATE", "FORMAT_FAILURE")
    assert report["leading_bytes"] == len(realworld.JUNK_LINE)
    assert report["size"] == len(data)
    assert [notice["code"] for notice in report["notices"]] == ["non_strict_reading", "leading_bytes"]
    assert "৪১" in report["notices"][1]["message"]
    assert_complete(report)


def test_junk_before_header_rejected_for_archive(live_client, tokens, corpus) -> None:
    response = live_client.post(
        "/api/v1/documents", headers=bearer(tokens["officer"], "en"), content_type="multipart/form-data",
        data={"kind": "evidence", "title": "প্রমাণক",
              "file": (io.BytesIO(realworld.JUNK_LINE + realworld.plain_pdf()), "forwarded.pdf")},
    )

    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "pdf_header_offset"
    assert "%PDF-" in problem["detail"]


def test_damaged_upload_still_rejected_for_archive(live_client, tokens, corpus) -> None:
    # Repairable damage is accepted for validation only: the archive keeps
    # files whose structure both parsers read without repairs.
    response = live_client.post(
        "/api/v1/documents", headers=bearer(tokens["officer"], "en"), content_type="multipart/form-data",
        data={"kind": "evidence", "title": "প্রমাণক",
              "file": (io.BytesIO(realworld.shifted_startxref_pdf()), "damaged.pdf")},
    )

    assert response.status_code == 422
    assert response.get_json()["code"] == "malformed_pdf"


def test_x509_rsa_sha1_over_api(client, tokens, officer_signer) -> None:
    # The app trusts the development PKI, whose officer key is RSA.
    data = realworld.sign_x509_rsa_sha1(realworld.plain_pdf(), officer_signer)

    response = _verify(client, tokens["auditor"], data)

    assert response.status_code == 200, response.get_json()
    (signature,) = response.get_json()["signatures"]
    assert (signature["indication"], signature["sub_indication"]) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    assert signature["signer_subject"] is not None
