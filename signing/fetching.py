"""HTTP fetching of CRLs, OCSP responses and certificates, limited by the policy.

:func:`open_fetcher_backend` returns a pyhanko-certvalidator fetcher backend.
With fetching disabled in the policy it returns one that rejects every call.
Otherwise the backend connects only to the policy's allowed hosts and records
what it fetched, so that reports can tell fetched revocation data apart from
data embedded in the document.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import aiohttp
from asn1crypto import crl, ocsp, x509
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import FetcherBackend, Fetchers, FetchLimits

if TYPE_CHECKING:
    from signing.policy import ValidationPolicy

__all__ = ["FETCH_LIMITS", "FETCH_TIMEOUT_SECONDS", "FetchRecord", "open_fetcher_backend"]

logger = logging.getLogger(__name__)

# Bounds for fetching when a policy allows it. The per-request timeout is in seconds.
FETCH_TIMEOUT_SECONDS = 5
FETCH_LIMITS = FetchLimits(max_requests=50, max_cert_requests=10, max_aia_urls_per_object=3)


class _HostAllowlistConnector(aiohttp.TCPConnector):
    """TCP connector that rejects connections to hosts outside an allowlist.

    The check runs for every connection, so redirects to other hosts are rejected too.
    """

    def __init__(self, allowed_hosts: tuple[str, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self._allowed_hosts = frozenset(allowed_hosts)

    async def connect(self, req, traces, timeout):
        host = (req.url.host or "").lower()
        if host not in self._allowed_hosts:
            logger.warning("rejected fetch of %s: host %r is not in allowed_hosts", req.url, host)
            raise aiohttp.ClientConnectionError(f"host {host!r} is not in the policy's allowed_hosts")
        return await super().connect(req, traces, timeout)


class _NoFetcherBackend(FetcherBackend):
    """Fetcher backend for policies without fetching, so any call to it is a defect."""

    def get_fetchers(self):
        raise RuntimeError("fetching is disabled by the validation policy")


class FetchRecord:
    """CRLs and OCSP responses fetched through one backend."""

    def __init__(self) -> None:
        self._fetchers: list[Fetchers] = []

    def add(self, fetchers: Fetchers) -> None:
        self._fetchers.append(fetchers)

    def ocsp_responses(self) -> list[ocsp.OCSPResponse]:
        return [
            response
            for fetchers in self._fetchers
            for response in fetchers.ocsp_fetcher.fetched_responses()
        ]

    def crls(self) -> list[crl.CertificateList]:
        return [item for fetchers in self._fetchers for item in fetchers.crl_fetcher.fetched_crls()]

    def certificates(self) -> list[x509.Certificate]:
        return [cert for fetchers in self._fetchers for cert in fetchers.cert_fetcher.fetched_certs()]


class _RecordingFetcherBackend(FetcherBackend):
    def __init__(self, backend: FetcherBackend, record: FetchRecord) -> None:
        self._backend = backend
        self._record = record

    def get_fetchers(self) -> Fetchers:
        fetchers = self._backend.get_fetchers()
        self._record.add(fetchers)
        return fetchers

    async def close(self) -> None:
        await self._backend.close()


@asynccontextmanager
async def open_fetcher_backend(
    policy: ValidationPolicy,
) -> AsyncIterator[tuple[FetcherBackend, FetchRecord | None]]:
    """Yield a fetcher backend for the policy and, when fetching is allowed, its record.

    The HTTP session is opened only when the policy allows fetching, and closed on exit.
    """
    if not policy.allow_fetching:
        yield _NoFetcherBackend(), None
        return

    session = aiohttp.ClientSession(connector=_HostAllowlistConnector(policy.allowed_hosts))
    record = FetchRecord()
    backend = _RecordingFetcherBackend(
        AIOHttpFetcherBackend(session, per_request_timeout=FETCH_TIMEOUT_SECONDS, limits=FETCH_LIMITS),
        record,
    )
    try:
        yield backend, record
    finally:
        await session.close()
