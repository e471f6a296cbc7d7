"""Exceptions raised by the benchmark suite."""

from __future__ import annotations


class BenchError(Exception):
    """Root of all errors raised by the benchmark suite."""


class ServerStartFailed(BenchError):
    """A server started by the suite exited or did not become ready in time."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name} did not start: {detail}")
        self.name = name
        self.detail = detail


class RequestFailed(BenchError):
    """An HTTP request to the service returned an unexpected status."""

    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        excerpt = body[:300].decode("utf-8", errors="replace")
        super().__init__(f"{method} {path} returned HTTP {status}: {excerpt}")
        self.method = method
        self.path = path
        self.status = status
