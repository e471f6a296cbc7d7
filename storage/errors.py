"""Storage exceptions and the translation of minio and urllib3 errors into them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import urllib3.exceptions
from minio.error import InvalidResponseError, S3Error, ServerError

# S3 error codes for a missing key or version.
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchVersion"})

# S3 error codes for a body that does not match the checksum sent with it. AWS and
# SeaweedFS return BadDigest; MinIO returns XAmzContentChecksumMismatch.
_CHECKSUM_CODES = frozenset({"BadDigest", "XAmzContentChecksumMismatch"})

# S3 error codes after which no request can succeed until the configuration is fixed.
_UNAVAILABLE_CODES = frozenset({"NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch"})


class StorageError(Exception):
    """Root of the errors raised by the storage package.

    ``code`` is the S3 error code when the store returned one, else None.
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ObjectNotFound(StorageError):
    """The key, or the requested version of it, does not exist in the bucket."""

    def __init__(self, key: str, version_id: str | None, *, code: str | None = None) -> None:
        if version_id is None:
            message = f"object {key!r} not found"
        else:
            message = f"version {version_id!r} of object {key!r} not found"
        super().__init__(message, code=code)
        self.key = key
        self.version_id = version_id


class ChecksumMismatch(StorageError):
    """The store rejected an upload because its SHA-256 did not match the bytes received."""

    def __init__(self, key: str, sha256: str | None, *, code: str | None = None) -> None:
        super().__init__(
            f"the store rejected object {key!r}: the body does not match "
            f"the SHA-256 sent with it ({sha256})",
            code=code,
        )
        self.key = key
        self.sha256 = sha256


class StorageUnavailable(StorageError):
    """The store cannot serve requests: unreachable, bucket missing, or misconfigured."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"object storage unavailable: {reason}", code=code)
        self.reason = reason


def translate_error(
    exc: Exception,
    *,
    bucket: str,
    key: str | None = None,
    version_id: str | None = None,
    sha256: str | None = None,
) -> StorageError:
    """Map a minio or urllib3 exception to the matching StorageError."""
    if isinstance(exc, S3Error):
        code = exc.code
        if code in _NOT_FOUND_CODES and key is not None:
            return ObjectNotFound(key, version_id, code=code)
        if code in _CHECKSUM_CODES and key is not None:
            return ChecksumMismatch(key, sha256, code=code)
        if code == "NoSuchBucket":
            return StorageUnavailable(f"bucket {bucket!r} does not exist", code=code)
        if code in _UNAVAILABLE_CODES:
            return StorageUnavailable(f"the store rejected the credentials ({code})", code=code)
        status = exc.response.status if exc.response is not None else None
        if status is not None and status >= 500:
            return StorageUnavailable(f"the store failed with {code} (HTTP {status})", code=code)
        target = f"object {key!r}" if key is not None else f"bucket {bucket!r}"
        return StorageError(f"S3 request on {target} failed: {code}: {exc.message}", code=code)

    if isinstance(exc, ServerError):
        return StorageUnavailable(f"the store failed with HTTP {exc.status_code}")
    if isinstance(exc, InvalidResponseError):
        # The message carries the response body, so only its start is kept.
        return StorageUnavailable(f"the endpoint did not return an S3 response: {str(exc)[:200]}")
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return StorageUnavailable(f"cannot reach the store: {exc}")
    raise TypeError(f"not a minio or urllib3 error: {exc!r}")


@contextlib.contextmanager
def translated_errors(
    *,
    bucket: str,
    key: str | None = None,
    version_id: str | None = None,
    sha256: str | None = None,
) -> Iterator[None]:
    """Re-raise minio and urllib3 errors from the block as StorageError subclasses."""
    try:
        yield
    except (S3Error, ServerError, InvalidResponseError, urllib3.exceptions.HTTPError) as exc:
        raise translate_error(
            exc, bucket=bucket, key=key, version_id=version_id, sha256=sha256
        ) from exc
