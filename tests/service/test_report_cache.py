"""The report cache behind /content: expiry by age and nextUpdate, and policy changes.

The revocation case uses the live test PKI: its ``revocable`` certificate is
good at the first read and revoked afterwards, as a revocation published
between two reads would be. The cache's clock is replaced, so no test waits
for wall-clock time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from service.components import ReportCache, earliest_fetched_next_update
from signing.report import ValidationReport
from signing.sign import SigningProfile, sign_pdf
from tests.helpers import MINUTES_PDF, bearer, upload


class Clock:
    """A settable clock for the cache."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def _empty_report(fingerprint: str) -> ValidationReport:
    return ValidationReport(indication="NO_SIGNATURE", signatures=(), policy="test", policy_fingerprint=fingerprint,
                            validated_at=datetime(2030, 1, 1, tzinfo=timezone.utc), trailing_bytes=0)


def test_entry_expires_after_max_age():
    clock = Clock()
    cache = ReportCache(max_age=timedelta(minutes=10), clock=clock)
    report = _empty_report("policy-a")
    cache.put("a" * 64, "policy-a", report)

    clock.now += timedelta(minutes=9)
    assert cache.get("a" * 64, "policy-a") is report
    clock.now += timedelta(minutes=1)
    assert cache.get("a" * 64, "policy-a") is None


def test_policy_change_drops_entries():
    cache = ReportCache(max_age=timedelta(hours=1), clock=Clock())
    cache.put("a" * 64, "policy-a", _empty_report("policy-a"))
    cache.put("b" * 64, "policy-a", _empty_report("policy-a"))

    assert cache.get("a" * 64, "policy-b") is None
    # The switch to policy-b dropped every entry of policy-a, not only the one asked for.
    assert cache.get("b" * 64, "policy-a") is None
    assert cache.expires_at("b" * 64) is None


def test_zero_max_age_caches_nothing():
    cache = ReportCache(max_age=timedelta(0), clock=Clock())
    cache.put("a" * 64, "policy-a", _empty_report("policy-a"))

    assert cache.get("a" * 64, "policy-a") is None


@pytest.fixture
def live_app(app, live_pki):
    """The test application validating under the live test PKI's hard-fail, fetching policy."""
    parts = app.extensions["dolil"]
    policy = live_pki.policy()
    parts.__dict__["policy"] = policy
    parts.__dict__["policy_fingerprint"] = policy.fingerprint()
    return app


def _content_indication(client, token: str, document_id: str) -> str:
    response = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.headers["Dolil-Validation"]


def test_revocation_seen_once_entry_expires(live_app, live_pki, tokens):
    client = live_app.test_client()
    parts = live_app.extensions["dolil"]
    clock = Clock()
    clock.now = datetime.now(timezone.utc)
    parts.reports.clock = clock
    parts.reports.max_age = timedelta(days=30)

    signed = sign_pdf(MINUTES_PDF.read_bytes(), live_pki.signer("revocable"), SigningProfile(),
                      policy=live_pki.policy())
    created = upload(client, tokens["officer"], data=signed, filename="signed.pdf")
    assert created.status_code == 201, created.get_json()
    document_id = created.get_json()["id"]
    digest = created.get_json()["sha256"]

    assert _content_indication(client, tokens["auditor"], document_id) == "TOTAL_PASSED"
    cached = parts.reports.get(digest, parts.policy_fingerprint)
    next_update = earliest_fetched_next_update(cached)
    assert next_update is not None
    assert parts.reports.expires_at(digest) == min(next_update, clock.now + timedelta(days=30))

    live_pki.revoke("revocable", datetime.now(timezone.utc) - timedelta(seconds=5))
    # The revocation is published, but the cached report has not expired yet.
    assert _content_indication(client, tokens["auditor"], document_id) == "TOTAL_PASSED"

    clock.now = parts.reports.expires_at(digest)
    assert _content_indication(client, tokens["auditor"], document_id) == "INDETERMINATE"
    verification = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"]))
    (signature,) = verification.get_json()["signatures"]
    assert signature["sub_indication"] == "REVOKED_NO_POE"
