"""Versioned, optionally object-locked storage of immutable objects in one S3 bucket."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import logging
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree import ElementTree

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, ENABLED, GOVERNANCE
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.helpers import MAX_PART_SIZE
from minio.retention import Retention
from minio.sse import SseS3
from minio.time import to_iso8601utc
from minio.versioningconfig import VersioningConfig
from minio.xml import marshal

from .errors import ChecksumMismatch, StorageError, StorageUnavailable, translated_errors

logger = logging.getLogger(__name__)

# Objects larger than this are uploaded in parts of this size, and one part is
# in memory while it is sent. S3 requires every part but the last to be at
# least 5 MiB.
DEFAULT_PART_SIZE = 16 * 1024 * 1024
# Chunk size of reads from a file or an object stream.
CHUNK_SIZE = 1024 * 1024

# Timeouts in seconds. A short connect timeout makes an unreachable store fail fast;
# the read timeout leaves room for large objects.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0

RETENTION_MODES = frozenset({COMPLIANCE, GOVERNANCE})

# Error codes for "no object lock configuration": AWS uses the first for a bucket and
# the second for an object version; SeaweedFS 4.48 uses the first for both.
_NO_LOCK_CONFIG_CODES = frozenset(
    {"ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"}
)

_DOCUMENT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}\Z")
_SUFFIX_PATTERN = re.compile(r"[A-Za-z0-9]{1,16}\Z")
_SHA256_HEX_PATTERN = re.compile(r"[0-9a-fA-F]{64}\Z")

SSE_HEADER = "x-amz-server-side-encryption"
SSE_ALGORITHM = "AES256"
# The object ``ensure_bucket`` writes and deletes to check that the store encrypts.
_SSE_PROBE_PREFIX = "dolil-probe/sse-"


@dataclass(frozen=True)
class StoredObject:
    """One stored object version and the digest its bytes were uploaded with."""

    key: str
    version_id: str | None
    sha256: str
    size: int
    provisional_until: dt.datetime | None = None
    """The retain-until date of the provisional GOVERNANCE retention ``put`` wrote, if it wrote one."""


@dataclass(frozen=True)
class VersionInfo:
    """One stored version as listed by the store."""

    key: str
    version_id: str | None
    size: int
    last_modified: dt.datetime | None


@dataclass(frozen=True)
class RetentionPolicy:
    """Object lock retention applied to every stored version: a mode and a period in days."""

    mode: str
    days: int

    def __post_init__(self) -> None:
        if self.mode not in RETENTION_MODES:
            raise ValueError(
                f"invalid retention mode {self.mode!r}; expected COMPLIANCE or GOVERNANCE"
            )
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
            raise ValueError(f"invalid retention period {self.days!r}; expected whole days >= 1")


def new_object_key(document_id: str, suffix: str = "pdf") -> str:
    """Return a fresh key ``documents/<document_id>/<uuid4 hex>.<suffix>``.

    Every call returns a new key, so an object is never overwritten by a later upload.
    """
    if not _DOCUMENT_ID_PATTERN.match(document_id):
        raise ValueError(
            f"invalid document id {document_id!r} for an object key; expected 1-200 "
            "letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if not _SUFFIX_PATTERN.match(suffix):
        raise ValueError(f"invalid key suffix {suffix!r}; expected 1-16 letters or digits")
    return f"documents/{document_id}/{uuid.uuid4().hex}.{suffix}"


def make_client(
    endpoint: str,
    access_key: str,
    secret_key: str,
    *,
    secure: bool = False,
    region: str = "us-east-1",
) -> Minio:
    """Create a minio client that fails fast when the store is unreachable.

    The SDK's default pool waits 5 minutes to connect and retries 5 times with backoff.
    This pool uses CONNECT_TIMEOUT and READ_TIMEOUT and at most 2 retries. Setting the
    region skips the GetBucketLocation request before the first call on each bucket.
    """
    if not access_key or not secret_key:
        raise ValueError("an S3 access key and secret key are required")
    http_client = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(
            total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
        ),
    )
    return Minio(
        endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=secure,
        region=region,
        http_client=http_client,
    )


def _sha256_base64(sha256: str) -> str:
    """Convert a hex SHA-256 digest to the base64 form of the x-amz-checksum-sha256 header."""
    if not _SHA256_HEX_PATTERN.match(sha256):
        raise ValueError(f"invalid SHA-256 hex digest {sha256!r}; expected 64 hex digits")
    return base64.b64encode(binascii.unhexlify(sha256)).decode("ascii")


def _retain_until(days: int) -> dt.datetime:
    # S3 stores retain-until dates with second precision at best.
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return now + dt.timedelta(days=days)


class ObjectStore:
    """Immutable objects in one bucket, each read back by its exact version id.

    With ``object_lock`` (the default) the bucket is created with S3 object lock, which
    also enables versioning. With a ``retention`` policy, ``put`` writes each version
    under a provisional GOVERNANCE retention. After the caller has committed its
    database row, ``commit_retention`` switches that version to the policy's mode. If
    the commit failed, ``discard`` deletes the version instead.

    ``object_lock=False`` creates a plain bucket with versioning enabled.
    ``object_lock=False, versioning=False`` creates a bucket where a second PUT under a
    key replaces the bytes in place; only tests that tamper with stored bytes use it.

    With ``sse`` every upload requests server-side encryption with keys the store
    manages (SSE-S3, AES256), and an upload the store does not report as encrypted
    is deleted again and raises StorageUnavailable. SeaweedFS 4.48 encrypts such
    objects at rest and reports AES256 on PUT and HEAD.
    """

    def __init__(
        self,
        client: Minio,
        bucket: str,
        *,
        object_lock: bool = True,
        retention: RetentionPolicy | None = None,
        versioning: bool = True,
        sse: bool = False,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if part_size < 1 or part_size > MAX_PART_SIZE:
            raise ValueError(f"invalid part size {part_size!r}; expected 1 byte to 5 GiB")
        if retention is not None and not object_lock:
            raise ValueError("a retention policy requires object_lock=True")
        if object_lock and not versioning:
            raise ValueError("object lock always enables versioning; versioning=False needs object_lock=False")
        self.client = client
        self.bucket = bucket
        self.object_lock = object_lock
        self.retention = retention
        self.versioning = versioning
        self.sse = sse
        self.part_size = part_size

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist, then check it as ``check`` does.

        Calling it again is harmless. An existing bucket without object lock is not
        changed: ``check`` then raises StorageUnavailable. With ``sse``, a small
        probe object is written and deleted, so that a store without server-side
        encryption is found here rather than at the first upload.
        """
        with translated_errors(bucket=self.bucket):
            try:
                self.client.make_bucket(self.bucket, object_lock=self.object_lock)
            except S3Error as exc:
                if exc.code != "BucketAlreadyOwnedByYou":
                    raise
            else:
                logger.info(
                    "bucket created: bucket=%s object_lock=%s", self.bucket, self.object_lock
                )
            if self.versioning and not self.object_lock:
                self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
        self.check()
        if self.sse:
            self.check_encryption()

    def check_encryption(self) -> None:
        """Raise StorageUnavailable unless the store accepts and reports SSE-S3.

        Writes a probe object without retention, reads its encryption back with a
        HEAD request and deletes it.
        """
        key = f"{_SSE_PROBE_PREFIX}{uuid.uuid4().hex}"
        data = b"server-side encryption probe"
        with translated_errors(bucket=self.bucket, key=key):
            try:
                result = self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), sse=SseS3())
            except S3Error as exc:
                raise StorageUnavailable(
                    f"the store rejected server-side encryption ({SSE_HEADER}: {SSE_ALGORITHM}): "
                    f"{exc.code}: {exc.message}; set DOLIL_S3_SSE=0 to store objects unencrypted",
                    code=exc.code,
                ) from exc
            try:
                reported = self.client.stat_object(self.bucket, key, version_id=result.version_id).metadata.get(SSE_HEADER)
            finally:
                self.client.remove_object(self.bucket, key, version_id=result.version_id)
        if reported != SSE_ALGORITHM:
            raise StorageUnavailable(
                f"the store accepted but did not apply server-side encryption ({SSE_HEADER} is "
                f"{reported!r} on HEAD); set DOLIL_S3_SSE=0 to store objects unencrypted"
            )

    def check(self) -> None:
        """Raise StorageUnavailable unless the bucket exists and is configured as expected.

        Expected: versioning Enabled (unless built with versioning=False) and an object
        lock configuration when object_lock is set.
        """
        try:
            self._check_bucket()
        except StorageUnavailable:
            raise
        except StorageError as exc:
            raise StorageUnavailable(str(exc), code=exc.code) from exc

    def _check_bucket(self) -> None:
        with translated_errors(bucket=self.bucket):
            if not self.versioning:
                if not self.client.bucket_exists(self.bucket):
                    raise StorageUnavailable(f"bucket {self.bucket!r} does not exist")
                return

            status = self.client.get_bucket_versioning(self.bucket).status
            if status != ENABLED:
                raise StorageUnavailable(
                    f"versioning on bucket {self.bucket!r} is {status or 'Off'}, expected Enabled"
                )

            if self.object_lock:
                try:
                    self.client.get_object_lock_config(self.bucket)
                except S3Error as exc:
                    if exc.code not in _NO_LOCK_CONFIG_CODES:
                        raise
                    raise StorageUnavailable(
                        f"bucket {self.bucket!r} has no object lock configuration",
                        code=exc.code,
                    ) from exc

    def put(
        self,
        key: str,
        data: bytes,
        *,
        sha256: str,
        content_type: str = "application/pdf",
        retention_days: int | None = None,
    ) -> StoredObject:
        """Upload ``data`` as a new version of ``key`` and return that version.

        ``sha256`` is the caller's hex digest of ``data``. It is sent as
        x-amz-checksum-sha256, so the store rejects bytes altered in transit and
        ChecksumMismatch is raised. No user metadata is stored.
        ``retention_days`` replaces the policy's period for this version.
        """
        if len(data) > self.part_size:
            return self.put_file(key, io.BytesIO(data), len(data), sha256=sha256,
                                 content_type=content_type, retention_days=retention_days)
        checksum = _sha256_base64(sha256)
        headers, retain_until = self._write_headers(content_type, retention_days)
        headers["x-amz-checksum-sha256"] = checksum
        with translated_errors(bucket=self.bucket, key=key, sha256=sha256):
            # One request with the whole object, so the checksum covers all of it.
            result = self.client._put_object(self.bucket, key, data, headers)  # noqa: SLF001
        return self._stored(key, result.version_id, sha256, len(data), retain_until, parts=1,
                            reported_sse=result.http_headers.get(SSE_HEADER))

    def put_file(
        self,
        key: str,
        source: BinaryIO,
        size: int,
        *,
        sha256: str,
        content_type: str = "application/pdf",
        retention_days: int | None = None,
    ) -> StoredObject:
        """Upload ``size`` bytes read from ``source`` as a new version of ``key``.

        Up to ``part_size`` bytes go out as one PUT with x-amz-checksum-sha256.
        A larger object is uploaded in parts of ``part_size``, read one at a
        time: each part carries its own x-amz-checksum-sha256, which the store
        checks, and the whole object's SHA-256 is computed over the parts as
        they are read. The upload is completed only when that digest equals
        ``sha256`` and the store's composite checksum equals the one computed
        from the parts. Otherwise it is aborted, nothing is stored and
        ChecksumMismatch is raised.
        """
        _sha256_base64(sha256)
        if size <= self.part_size:
            data = source.read(size)
            if len(data) != size:
                raise ValueError(f"{key!r}: the source ended after {len(data)} of {size} bytes")
            return self.put(key, data, sha256=sha256, content_type=content_type, retention_days=retention_days)

        part_count = -(-size // self.part_size)
        if part_count > 10000:
            raise ValueError(f"object of {size} bytes needs {part_count} parts; S3 allows 10000")
        headers, retain_until = self._write_headers(content_type, retention_days)
        headers["x-amz-checksum-algorithm"] = "SHA256"
        client = self.client
        with translated_errors(bucket=self.bucket, key=key, sha256=sha256):
            upload_id = client._create_multipart_upload(self.bucket, key, dict(headers))  # noqa: SLF001
            try:
                whole = hashlib.sha256()
                part_digests: list[bytes] = []
                etags: list[str] = []
                remaining = size
                for number in range(1, part_count + 1):
                    data = source.read(min(self.part_size, remaining))
                    if not data or len(data) != min(self.part_size, remaining):
                        raise ValueError(f"{key!r}: the source ended before {size} bytes")
                    remaining -= len(data)
                    whole.update(data)
                    digest = hashlib.sha256(data).digest()
                    part_digests.append(digest)
                    result = client._put_object(  # noqa: SLF001
                        self.bucket, key, data,
                        {"x-amz-checksum-sha256": base64.b64encode(digest).decode("ascii")},
                        query_params={"partNumber": str(number), "uploadId": upload_id},
                    )
                    etags.append(result.etag)
                    del data
                if whole.hexdigest() != sha256.lower():
                    # The source changed after the caller hashed it.
                    raise ChecksumMismatch(key, sha256, code="SourceChecksumMismatch")
                version_id = self._complete_multipart(key, upload_id, etags, part_digests)
            except BaseException:
                try:
                    client._abort_multipart_upload(self.bucket, key, upload_id)  # noqa: SLF001
                except Exception:
                    logger.exception("could not abort multipart upload %s of %s", upload_id, key)
                raise
        # The response to CompleteMultipartUpload need not repeat the
        # encryption header, so it is read back with HEAD.
        reported_sse = None
        if self.sse:
            with translated_errors(bucket=self.bucket, key=key):
                reported_sse = client.stat_object(self.bucket, key, version_id=version_id).metadata.get(SSE_HEADER)
        return self._stored(key, version_id, sha256, size, retain_until, parts=part_count, reported_sse=reported_sse)

    def _complete_multipart(self, key: str, upload_id: str, etags: list[str], part_digests: list[bytes]) -> str | None:
        # minio 7.2.20's _complete_multipart_upload sends no part checksums,
        # which a multipart upload created with a checksum algorithm needs.
        namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
        element = ElementTree.Element("CompleteMultipartUpload", xmlns=namespace)
        for number, (etag, digest) in enumerate(zip(etags, part_digests), start=1):
            part = ElementTree.SubElement(element, "Part")
            ElementTree.SubElement(part, "PartNumber").text = str(number)
            ElementTree.SubElement(part, "ETag").text = f'"{etag}"'
            ElementTree.SubElement(part, "ChecksumSHA256").text = base64.b64encode(digest).decode("ascii")
        body = ElementTree.tostring(element)
        response = self.client._execute(  # noqa: SLF001
            "POST", self.bucket, key, body=body,
            headers={"Content-Type": "application/xml",
                     "Content-MD5": base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode("ascii")},
            query_params={"uploadId": upload_id},
        )
        # The composite checksum is the SHA-256 of the parts' SHA-256 digests,
        # followed by the number of parts. A store that does not report one has
        # still checked every part's checksum.
        reported = ElementTree.fromstring(response.data).findtext(f"{{{namespace}}}ChecksumSHA256")
        expected = base64.b64encode(hashlib.sha256(b"".join(part_digests)).digest()).decode("ascii")
        expected += f"-{len(part_digests)}"
        if reported is not None and reported != expected:
            logger.error("composite checksum of %s is %s, expected %s", key, reported, expected)
            raise ChecksumMismatch(key, None, code="CompositeChecksumMismatch")
        return response.headers.get("x-amz-version-id")

    def _write_headers(self, content_type: str,
                       retention_days: int | None) -> tuple[dict[str, str], dt.datetime | None]:
        """Return the headers of a new version and the retain-until date of its provisional retention."""
        headers = {"Content-Type": content_type}
        if self.sse:
            headers[SSE_HEADER] = SSE_ALGORITHM
        retain_until = None
        if self.object_lock and self.retention is not None:
            # Provisional: a GOVERNANCE version can still be deleted with the bypass
            # header if the caller's database commit fails.
            retain_until = _retain_until(retention_days or self.retention.days)
            headers["x-amz-object-lock-mode"] = GOVERNANCE
            headers["x-amz-object-lock-retain-until-date"] = to_iso8601utc(retain_until) or ""
        return headers, retain_until

    def _stored(self, key: str, version_id: str | None, sha256: str, size: int,
                retain_until: dt.datetime | None, *, parts: int, reported_sse: str | None) -> StoredObject:
        if self.versioning and not version_id:
            raise StorageUnavailable(
                f"the store assigned no version id to {key!r}: "
                f"versioning on bucket {self.bucket!r} is off"
            )
        stored = StoredObject(key=key, version_id=version_id, sha256=sha256.lower(), size=size,
                              provisional_until=retain_until)
        if self.sse and reported_sse != SSE_ALGORITHM:
            self.discard(stored)
            raise StorageUnavailable(
                f"the store did not report server-side encryption for {key!r} "
                f"({SSE_HEADER}: {reported_sse!r}); the version was deleted"
            )
        logger.info(
            "object stored: bucket=%s key=%s version_id=%s sha256=%s size=%d parts=%d retain_until=%s sse=%s",
            self.bucket,
            key,
            version_id,
            stored.sha256,
            stored.size,
            parts,
            retain_until.isoformat() if retain_until else None,
            SSE_ALGORITHM if self.sse else None,
        )
        return stored

    def commit_retention(self, obj: StoredObject) -> None:
        """Set the policy's final retention mode on exactly ``obj``'s version.

        The retain-until date of the provisional retention is kept. Calling it again
        is harmless. Does nothing without object lock or a retention policy.
        """
        if not self.object_lock or self.retention is None:
            return
        if obj.version_id is None:
            raise ValueError(f"cannot set retention on {obj.key!r} without a version id")
        if obj.provisional_until is not None and self.retention.mode == GOVERNANCE:
            # ``put`` wrote this version under GOVERNANCE, which is already final.
            return

        with translated_errors(bucket=self.bucket, key=obj.key, version_id=obj.version_id):
            current = self._get_retention(obj)
            if current is not None and current.mode in (self.retention.mode, COMPLIANCE):
                # Already final, or COMPLIANCE, which S3 never lets anyone weaken.
                return
            if current is not None:
                retain_until = current.retain_until_date
            else:
                retain_until = _retain_until(self.retention.days)
            self._put_retention(obj, Retention(self.retention.mode, retain_until))

        logger.info(
            "retention committed: bucket=%s key=%s version_id=%s mode=%s retain_until=%s",
            self.bucket,
            obj.key,
            obj.version_id,
            self.retention.mode,
            retain_until.isoformat(),
        )

    def _get_retention(self, obj: StoredObject) -> Retention | None:
        try:
            return self.client.get_object_retention(self.bucket, obj.key, version_id=obj.version_id)
        except S3Error as exc:
            # minio 7.2.20 only maps NoSuchObjectLockConfiguration to None.
            if exc.code in _NO_LOCK_CONFIG_CODES:
                return None
            raise

    def _put_retention(self, obj: StoredObject, retention: Retention) -> None:
        # PutObjectRetention with x-amz-bypass-governance-retention. SeaweedFS 4.48
        # returns AccessDenied for a GOVERNANCE -> COMPLIANCE change without that header.
        # minio 7.2.20's set_object_retention cannot send extra headers, so this builds
        # the same request through the client's internal _execute.
        body = marshal(retention)
        headers = {
            "Content-MD5": base64.b64encode(
                hashlib.md5(body, usedforsecurity=False).digest()
            ).decode("ascii"),
            "x-amz-bypass-governance-retention": "true",
        }
        self.client._execute(  # noqa: SLF001
            "PUT",
            self.bucket,
            obj.key,
            body=body,
            headers=headers,
            query_params={"versionId": obj.version_id, "retention": ""},
        )

    def discard(self, obj: StoredObject) -> None:
        """Delete exactly ``obj``'s version, bypassing a GOVERNANCE retention.

        Used when the caller's database commit failed after ``put``. The store rejects
        deleting a COMPLIANCE version, and this raises StorageError with the store's
        error code (AccessDenied on SeaweedFS 4.48). Deleting a version that no longer
        exists succeeds.
        """
        if not self.versioning:
            with translated_errors(bucket=self.bucket, key=obj.key):
                self.client.remove_object(self.bucket, obj.key)
            logger.info("object discarded: bucket=%s key=%s", self.bucket, obj.key)
            return

        if obj.version_id is None:
            # Without a version id, S3 would add a delete marker and keep the bytes.
            raise ValueError(f"cannot discard {obj.key!r} without a version id")
        with translated_errors(bucket=self.bucket, key=obj.key, version_id=obj.version_id):
            errors = list(
                self.client.remove_objects(
                    self.bucket,
                    [DeleteObject(obj.key, obj.version_id)],
                    bypass_governance_mode=True,
                )
            )

        if errors:
            error = errors[0]
            raise StorageError(
                f"deleting version {obj.version_id!r} of object {obj.key!r} failed: "
                f"{error.code}: {error.message}",
                code=error.code,
            )
        logger.info(
            "object version discarded: bucket=%s key=%s version_id=%s",
            self.bucket,
            obj.key,
            obj.version_id,
        )

    def get(self, key: str, version_id: str | None) -> bytes:
        """Return the bytes of exactly that version of ``key``.

        ``version_id=None`` reads the current version; use it only for unversioned
        buckets. Raises ObjectNotFound if the key or the version does not exist.
        """
        with translated_errors(bucket=self.bucket, key=key, version_id=version_id):
            response = self.client.get_object(self.bucket, key, version_id=version_id)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def get_to_file(self, key: str, version_id: str | None, target: BinaryIO) -> tuple[str, int]:
        """Copy exactly that version of ``key`` into ``target`` and return its hex SHA-256 and size.

        The object is read in chunks of CHUNK_SIZE, hashed and written as it
        arrives, so memory does not grow with its size. ``target`` is left at
        its end. Raises ObjectNotFound as ``get`` does.
        """
        digest = hashlib.sha256()
        size = 0
        with translated_errors(bucket=self.bucket, key=key, version_id=version_id):
            response = self.client.get_object(self.bucket, key, version_id=version_id)
            try:
                for chunk in response.stream(CHUNK_SIZE):
                    digest.update(chunk)
                    target.write(chunk)
                    size += len(chunk)
            finally:
                response.close()
                response.release_conn()
        return digest.hexdigest(), size

    def set_legal_hold(self, key: str, version_id: str, enabled: bool) -> None:
        """Place or release an object-lock legal hold on exactly that version.

        While a hold is on, the store rejects deleting the version, whatever its
        retention.
        """
        if not self.object_lock:
            raise ValueError(f"bucket {self.bucket!r} has no object lock, which legal holds require")
        with translated_errors(bucket=self.bucket, key=key, version_id=version_id):
            if enabled:
                self.client.enable_object_legal_hold(self.bucket, key, version_id=version_id)
            else:
                self.client.disable_object_legal_hold(self.bucket, key, version_id=version_id)
        logger.info("legal hold %s: bucket=%s key=%s version_id=%s",
                    "placed" if enabled else "released", self.bucket, key, version_id)

    def legal_hold(self, key: str, version_id: str) -> bool:
        """Return whether a legal hold is on for exactly that version."""
        with translated_errors(bucket=self.bucket, key=key, version_id=version_id):
            try:
                return self.client.is_object_legal_hold_enabled(self.bucket, key, version_id=version_id)
            except S3Error as exc:
                # minio 7.2.20 returns False only for NoSuchObjectLockConfiguration;
                # SeaweedFS 4.48 returns NoSuchObjectLegalHold for a version never held.
                if exc.code == "NoSuchObjectLegalHold":
                    return False
                raise

    def retention_of(self, key: str, version_id: str) -> Retention | None:
        """Return the object-lock retention of exactly that version, or None."""
        with translated_errors(bucket=self.bucket, key=key, version_id=version_id):
            return self._get_retention(StoredObject(key, version_id, "0" * 64, 0))

    def all_versions(self, prefix: str = "") -> Iterator[VersionInfo]:
        """Yield every stored version under ``prefix``; delete markers are skipped."""
        with translated_errors(bucket=self.bucket):
            for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True,
                                                 include_version=self.versioning):
                if not item.is_delete_marker:
                    yield VersionInfo(item.object_name, item.version_id, item.size, item.last_modified)

    def object_versions(self, key: str) -> list[str]:
        """Return the version ids stored under exactly ``key``, newest first.

        Delete markers are left out. An unversioned bucket lists its object as "null".
        """
        with translated_errors(bucket=self.bucket, key=key):
            return [
                item.version_id if item.version_id is not None else "null"
                for item in self.client.list_objects(
                    self.bucket, prefix=key, include_version=True
                )
                if item.object_name == key and not item.is_delete_marker
            ]
