"""A small HTTP client for the Dolil API, on urllib3, for use from several threads."""

from __future__ import annotations

import json

import urllib3

from bench.errors import RequestFailed

# Generous, because a 200 MiB upload is signed and stored within one request.
_TIMEOUT = urllib3.Timeout(connect=5, read=600)


class DolilClient:
    """Calls the API of one server with one bearer token; safe to share between threads."""

    def __init__(self, base_url: str, token: str, *, connections: int = 8) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        self._pool = urllib3.PoolManager(maxsize=connections, block=True, timeout=_TIMEOUT, retries=False)

    def _request(self, method: str, path: str, expected: int, **kwargs) -> urllib3.BaseHTTPResponse:
        headers = dict(self._headers, **kwargs.pop("headers", {}))
        response = self._pool.request(method, self.base_url + path, headers=headers, **kwargs)
        if response.status != expected:
            raise RequestFailed(method, path, response.status, response.data)
        return response

    def upload(self, data: bytes, *, title: str, kind: str = "minutes", memo_number: str | None = None,
               filename: str = "minutes.pdf") -> dict:
        """POST a PDF to /api/v1/documents and return the document."""
        fields: dict[str, object] = {"kind": kind, "title": title, "file": (filename, data, "application/pdf")}
        if memo_number is not None:
            fields["memo_number"] = memo_number
        response = self._request("POST", "/api/v1/documents", 201, fields=fields)
        return json.loads(response.data)

    def sign(self, document_id: str, *, reason: str = "Benchmark") -> dict:
        """Sign the current revision with the caller's credential and return the response body."""
        response = self._request("POST", f"/api/v1/documents/{document_id}/signatures", 201,
                                 body=json.dumps({"reason": reason}).encode(),
                                 headers={"Content-Type": "application/json"})
        return json.loads(response.data)

    def content(self, document_id: str) -> tuple[bytes, dict[str, str]]:
        """GET the verified content and return the body and the response headers."""
        response = self._request("GET", f"/api/v1/documents/{document_id}/content", 200)
        return response.data, dict(response.headers)

    def list_documents(self, **params: str) -> dict:
        """GET /api/v1/documents with query parameters and return the page."""
        response = self._request("GET", "/api/v1/documents", 200, fields=params)
        return json.loads(response.data)
