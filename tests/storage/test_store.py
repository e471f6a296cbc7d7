"""ObjectStore against a real S3 store (the session's embedded SeaweedFS by default)."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Callable

import pytest
from minio import Minio
from minio.error import S3Error

from storage import (
    ChecksumMismatch,
    ObjectNotFound,
    ObjectStore,
    RetentionPolicy,
    StorageError,
    StorageUnavailable,
    StoredObject,
    make_client,
    new_object_key,
)
from storage.seaweedfs import free_port
from tests.fixtures.seaweedfs import S3Endpoint


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pdf_bytes(label: str) -> bytes:
    return f"%PDF-1.7\n% {label} {uuid.uuid4()}\n%%EOF\n".encode()


@pytest.fixture
def locked_store(s3_client: Minio, make_bucket_name: Callable[[], str]) -> ObjectStore:
    store = ObjectStore(
        s3_client,
        make_bucket_name(),
        object_lock=True,
        retention=RetentionPolicy(mode="COMPLIANCE", days=1),
    )
    store.ensure_bucket()
    return store


def put_pdf(store: ObjectStore, key: str, label: str = "document") -> tuple[StoredObject, bytes]:
    data = pdf_bytes(label)
    return store.put(key, data, sha256=sha256_hex(data)), data


# Keys


def test_new_object_key_layout() -> None:
    key = new_object_key("doc-42")

    assert re.fullmatch(r"documents/doc-42/[0-9a-f]{32}\.pdf", key)
    assert new_object_key("doc-42", suffix="json").endswith(".json")


def test_new_object_key_never_repeats() -> None:
    keys = {new_object_key("doc-42") for _ in range(1000)}

    assert len(keys) == 1000


@pytest.mark.parametrize("document_id", ["", "a/b", "../etc", ".hidden", "x" * 201])
def test_new_object_key_rejects_document_id(document_id: str) -> None:
    with pytest.raises(ValueError, match="invalid document id"):
        new_object_key(document_id)


@pytest.mark.parametrize("suffix", ["", "p.df", "pdf/", "p df"])
def test_new_object_key_rejects_suffix(suffix: str) -> None:
    with pytest.raises(ValueError, match="invalid key suffix"):
        new_object_key("doc-42", suffix=suffix)


# Settings


@pytest.mark.parametrize(("mode", "days"), [("LEGAL_HOLD", 1), ("COMPLIANCE", 0), ("GOVERNANCE", True)])
def test_retention_policy_rejects_invalid(mode: str, days: int) -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(mode=mode, days=days)


def test_store_rejects_retention_without_lock(s3_client: Minio) -> None:
    with pytest.raises(ValueError, match="requires object_lock"):
        ObjectStore(s3_client, "any", object_lock=False, retention=RetentionPolicy("COMPLIANCE", 1))


def test_store_rejects_lock_without_versioning(s3_client: Minio) -> None:
    with pytest.raises(ValueError, match="versioning"):
        ObjectStore(s3_client, "any", object_lock=True, versioning=False)


# Put and get


def test_put_get_roundtrip(locked_store: ObjectStore) -> None:
    key = new_object_key("doc-1")
    data = pdf_bytes("roundtrip")

    stored = locked_store.put(key, data, sha256=sha256_hex(data))

    assert stored.key == key
    assert stored.version_id
    assert stored.sha256 == sha256_hex(data)
    assert stored.size == len(data)
    assert locked_store.get(key, stored.version_id) == data
    assert locked_store.object_versions(key) == [stored.version_id]


def test_put_stores_no_user_metadata(locked_store: ObjectStore, s3_client: Minio) -> None:
    stored, _ = put_pdf(locked_store, new_object_key("doc-1"))

    stat = s3_client.stat_object(locked_store.bucket, stored.key, version_id=stored.version_id)

    assert stat.content_type == "application/pdf"
    user_metadata = [name for name in stat.metadata if name.lower().startswith("x-amz-meta-")]
    assert user_metadata == []


def test_second_put_keeps_old_version(locked_store: ObjectStore) -> None:
    key = new_object_key("doc-1")
    first, first_data = put_pdf(locked_store, key, "first")
    second, second_data = put_pdf(locked_store, key, "second")

    assert first.version_id != second.version_id
    assert locked_store.get(key, first.version_id) == first_data
    assert locked_store.get(key, second.version_id) == second_data
    assert locked_store.object_versions(key) == [second.version_id, first.version_id]


def test_wrong_sha256_raises_checksum_mismatch(locked_store: ObjectStore) -> None:
    key = new_object_key("doc-1")
    data = pdf_bytes("corrupted in transit")
    digest_of_other_bytes = sha256_hex(data + b"x")

    with pytest.raises(ChecksumMismatch) as caught:
        locked_store.put(key, data, sha256=digest_of_other_bytes)

    assert caught.value.key == key
    assert caught.value.sha256 == digest_of_other_bytes
    assert locked_store.object_versions(key) == []
    with pytest.raises(ObjectNotFound):
        locked_store.get(key, None)


@pytest.mark.parametrize("sha256", ["", "abc", "z" * 64, "a" * 63])
def test_put_rejects_malformed_sha256(locked_store: ObjectStore, sha256: str) -> None:
    key = new_object_key("doc-1")

    with pytest.raises(ValueError, match="invalid SHA-256"):
        locked_store.put(key, b"%PDF-1.7", sha256=sha256)

    assert locked_store.object_versions(key) == []


def test_get_missing_key_raises_not_found(locked_store: ObjectStore) -> None:
    key = new_object_key("doc-1")

    with pytest.raises(ObjectNotFound) as caught:
        locked_store.get(key, None)

    assert caught.value.key == key
    assert caught.value.version_id is None


# Streaming from and to files, multipart uploads

# S3's minimum part size, which SeaweedFS enforces as well.
PART_SIZE = 5 * 1024 * 1024


@pytest.fixture
def multipart_store(s3_client: Minio, make_bucket_name: Callable[[], str]) -> ObjectStore:
    """A locked store with the smallest parts S3 allows."""
    store = ObjectStore(s3_client, make_bucket_name(), object_lock=True,
                        retention=RetentionPolicy(mode="GOVERNANCE", days=1), part_size=PART_SIZE)
    store.ensure_bucket()
    return store


def test_put_file_uploads_parts_and_round_trips(multipart_store: ObjectStore, s3_client: Minio,
                                                tmp_path) -> None:
    key = new_object_key("doc-1")
    data = b"%PDF-1.7\n" + bytes(range(256)) * (2 * PART_SIZE // 256) + b"tail"
    source = tmp_path / "source.pdf"
    source.write_bytes(data)

    with source.open("rb") as stream:
        stored = multipart_store.put_file(key, stream, len(data), sha256=sha256_hex(data))

    # A multipart object's ETag ends with the number of parts.
    stat = s3_client.stat_object(multipart_store.bucket, key, version_id=stored.version_id)
    assert stat.etag.endswith("-3")
    assert stored.version_id and stored.size == len(data)
    assert multipart_store.retention_of(key, stored.version_id).mode == "GOVERNANCE"
    copy = tmp_path / "copy.pdf"
    with copy.open("w+b") as target:
        digest, size = multipart_store.get_to_file(key, stored.version_id, target)
    assert (digest, size) == (sha256_hex(data), len(data))
    assert copy.read_bytes() == data


def test_put_file_aborts_when_source_differs_from_digest(multipart_store: ObjectStore, s3_client: Minio) -> None:
    key = new_object_key("doc-1")
    data = b"%PDF-1.7\n" + b"x" * (PART_SIZE + 1)

    with pytest.raises(ChecksumMismatch):
        multipart_store.put_file(key, io.BytesIO(data), len(data), sha256=sha256_hex(data + b"changed"))

    assert multipart_store.object_versions(key) == []
    uploads = s3_client._list_multipart_uploads(multipart_store.bucket, prefix=key)  # noqa: SLF001
    assert list(uploads.uploads) == []


# Retention, commit and discard


def test_put_writes_provisional_governance(locked_store: ObjectStore, s3_client: Minio) -> None:
    stored, _ = put_pdf(locked_store, new_object_key("doc-1"))

    retention = s3_client.get_object_retention(
        locked_store.bucket, stored.key, version_id=stored.version_id
    )

    assert retention is not None
    assert retention.mode == "GOVERNANCE"


def test_commit_retention_sets_compliance(locked_store: ObjectStore, s3_client: Minio) -> None:
    stored, data = put_pdf(locked_store, new_object_key("doc-1"))
    provisional = s3_client.get_object_retention(
        locked_store.bucket, stored.key, version_id=stored.version_id
    )

    locked_store.commit_retention(stored)
    locked_store.commit_retention(stored)

    final = s3_client.get_object_retention(
        locked_store.bucket, stored.key, version_id=stored.version_id
    )
    assert final.mode == "COMPLIANCE"
    assert final.retain_until_date == provisional.retain_until_date
    assert locked_store.get(stored.key, stored.version_id) == data


def test_committed_version_cannot_be_deleted(locked_store: ObjectStore, s3_client: Minio) -> None:
    stored, data = put_pdf(locked_store, new_object_key("doc-1"))
    locked_store.commit_retention(stored)

    with pytest.raises(StorageError) as caught:
        locked_store.discard(stored)
    assert caught.value.code == "AccessDenied"

    with pytest.raises(S3Error) as direct:
        s3_client.remove_object(locked_store.bucket, stored.key, version_id=stored.version_id)
    assert direct.value.code == "AccessDenied"

    assert locked_store.object_versions(stored.key) == [stored.version_id]
    assert locked_store.get(stored.key, stored.version_id) == data


def test_discard_removes_provisional_version(locked_store: ObjectStore) -> None:
    stored, _ = put_pdf(locked_store, new_object_key("doc-1"))

    locked_store.discard(stored)

    assert locked_store.object_versions(stored.key) == []
    with pytest.raises(ObjectNotFound) as caught:
        locked_store.get(stored.key, stored.version_id)
    assert caught.value.version_id == stored.version_id


def test_discard_keeps_other_versions(locked_store: ObjectStore) -> None:
    key = new_object_key("doc-1")
    kept, kept_data = put_pdf(locked_store, key, "kept")
    discarded, _ = put_pdf(locked_store, key, "discarded")

    locked_store.discard(discarded)
    locked_store.discard(discarded)

    assert locked_store.object_versions(key) == [kept.version_id]
    assert locked_store.get(key, kept.version_id) == kept_data


def test_lock_without_policy_skips_retention(
    s3_client: Minio, make_bucket_name: Callable[[], str]
) -> None:
    store = ObjectStore(s3_client, make_bucket_name(), object_lock=True, retention=None)
    store.ensure_bucket()
    stored, _ = put_pdf(store, new_object_key("doc-1"))

    store.commit_retention(stored)
    store.discard(stored)

    assert store.object_versions(stored.key) == []


# Bucket setup and readiness


def test_ensure_bucket_idempotent(locked_store: ObjectStore, s3_client: Minio) -> None:
    locked_store.ensure_bucket()
    locked_store.ensure_bucket()
    locked_store.check()

    assert s3_client.get_bucket_versioning(locked_store.bucket).status == "Enabled"
    assert s3_client.get_object_lock_config(locked_store.bucket) is not None


def test_ensure_bucket_plain_enables_versioning(
    s3_client: Minio, make_bucket_name: Callable[[], str]
) -> None:
    store = ObjectStore(s3_client, make_bucket_name(), object_lock=False)

    store.ensure_bucket()
    store.ensure_bucket()

    assert s3_client.get_bucket_versioning(store.bucket).status == "Enabled"
    with pytest.raises(S3Error):
        s3_client.get_object_lock_config(store.bucket)


def test_check_rejects_bucket_without_lock(
    s3_client: Minio, make_bucket_name: Callable[[], str]
) -> None:
    bucket = make_bucket_name()
    ObjectStore(s3_client, bucket, object_lock=False).ensure_bucket()

    with pytest.raises(StorageUnavailable, match="no object lock configuration"):
        ObjectStore(s3_client, bucket, object_lock=True).check()


def test_check_rejects_unversioned_bucket(
    s3_client: Minio, make_bucket_name: Callable[[], str]
) -> None:
    bucket = make_bucket_name()
    ObjectStore(s3_client, bucket, object_lock=False, versioning=False).ensure_bucket()

    with pytest.raises(StorageUnavailable, match="expected Enabled"):
        ObjectStore(s3_client, bucket, object_lock=False).check()


def test_check_missing_bucket(s3_client: Minio, make_bucket_name: Callable[[], str]) -> None:
    bucket = make_bucket_name()

    for store in (
        ObjectStore(s3_client, bucket),
        ObjectStore(s3_client, bucket, object_lock=False, versioning=False),
    ):
        with pytest.raises(StorageUnavailable) as caught:
            store.check()
        assert bucket in caught.value.reason


def test_put_to_missing_bucket_fails(s3_client: Minio, make_bucket_name: Callable[[], str]) -> None:
    bucket = make_bucket_name()
    store = ObjectStore(s3_client, bucket)

    with pytest.raises(StorageUnavailable, match="does not exist"):
        put_pdf(store, new_object_key("doc-1"))

    assert not s3_client.bucket_exists(bucket)


def test_unreachable_endpoint_unavailable() -> None:
    # Nothing listens on a port that was free a moment ago, so connecting is refused.
    client = make_client(f"127.0.0.1:{free_port()}", "access-key", "secret-key")
    store = ObjectStore(client, "dolil-unreachable")

    with pytest.raises(StorageUnavailable, match="cannot reach the store"):
        store.check()
    with pytest.raises(StorageUnavailable):
        put_pdf(store, new_object_key("doc-1"))
    with pytest.raises(StorageUnavailable):
        store.get("documents/doc-1/missing.pdf", "version")


# Credentials


def test_anonymous_request_rejected(
    locked_store: ObjectStore, s3_endpoint: S3Endpoint
) -> None:
    anonymous = Minio(s3_endpoint.endpoint, secure=False, region="us-east-1")
    anonymous_store = ObjectStore(anonymous, locked_store.bucket)
    key = new_object_key("doc-1")

    with pytest.raises(StorageError) as caught:
        put_pdf(anonymous_store, key)
    assert caught.value.code == "AccessDenied"

    with pytest.raises(StorageUnavailable):
        anonymous_store.check()
    assert locked_store.object_versions(key) == []


def test_wrong_secret_key_unavailable(locked_store: ObjectStore, s3_endpoint: S3Endpoint) -> None:
    client = make_client(s3_endpoint.endpoint, s3_endpoint.access_key, "wrong-secret-key")
    store = ObjectStore(client, locked_store.bucket)

    with pytest.raises(StorageUnavailable, match="rejected the credentials"):
        store.check()


# Unversioned bucket for tests that tamper with stored bytes


def test_unversioned_store_overwrites_in_place(
    s3_client: Minio, make_bucket_name: Callable[[], str]
) -> None:
    store = ObjectStore(s3_client, make_bucket_name(), object_lock=False, versioning=False)
    store.ensure_bucket()
    key = new_object_key("doc-1")

    original, _ = put_pdf(store, key, "original")
    tampered, tampered_data = put_pdf(store, key, "tampered")

    assert original.version_id in (None, "null")
    assert tampered.version_id in (None, "null")
    assert store.get(key, None) == tampered_data
    assert store.object_versions(key) == ["null"]

    store.discard(tampered)
    with pytest.raises(ObjectNotFound):
        store.get(key, None)


# Server-side encryption


def test_sse_upload_is_encrypted_and_reported_on_head(s3_client: Minio, make_bucket_name: Callable[[], str]) -> None:
    store = ObjectStore(s3_client, make_bucket_name(), retention=RetentionPolicy("GOVERNANCE", 1), sse=True)
    store.ensure_bucket()

    stored, data = put_pdf(store, new_object_key("doc-sse"))

    head = s3_client.stat_object(store.bucket, stored.key, version_id=stored.version_id)
    assert head.metadata.get("x-amz-server-side-encryption") == "AES256"
    assert store.get(stored.key, stored.version_id) == data


def test_upload_without_sse_is_not_encrypted(locked_store: ObjectStore, s3_client: Minio) -> None:
    stored, _ = put_pdf(locked_store, new_object_key("doc-plain"))

    head = s3_client.stat_object(locked_store.bucket, stored.key, version_id=stored.version_id)
    assert head.metadata.get("x-amz-server-side-encryption") is None


def test_ensure_bucket_probes_encryption_and_leaves_nothing(s3_client: Minio, make_bucket_name: Callable[[], str]) -> None:
    store = ObjectStore(s3_client, make_bucket_name(), sse=True)

    store.ensure_bucket()
    store.check_encryption()

    assert list(store.all_versions()) == []


def test_legal_hold_false_for_version_never_held(locked_store: ObjectStore) -> None:
    stored, _ = put_pdf(locked_store, new_object_key("doc-never-held"))

    assert locked_store.legal_hold(stored.key, stored.version_id) is False
