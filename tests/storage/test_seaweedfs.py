"""EmbeddedSeaweedFS: start, stop, restart and configuration of ``weed mini``."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
from pathlib import Path

import pytest
from minio.error import S3Error

from storage import ObjectStore, RetentionPolicy, StorageUnavailable, make_client, new_object_key
from storage.seaweedfs import EmbeddedSeaweedFS, find_weed_binary, free_port
from tests.fixtures.seaweedfs import new_credentials


def test_find_weed_binary() -> None:
    path = find_weed_binary()

    assert os.path.isfile(path)
    assert os.access(path, os.X_OK)


def test_identities_file_private(seaweedfs: EmbeddedSeaweedFS) -> None:
    mode = stat.S_IMODE(seaweedfs.identities_path.stat().st_mode)

    assert mode == 0o600


def test_session_server_binds_loopback(seaweedfs: EmbeddedSeaweedFS) -> None:
    assert seaweedfs.running
    assert seaweedfs.endpoint == f"127.0.0.1:{seaweedfs.s3_port}"
    assert len(set(seaweedfs.ports.values())) == len(seaweedfs.ports)
    assert seaweedfs.ports["admin.grpc"] == seaweedfs.ports["admin"] + 10000


def test_restart_keeps_objects(tmp_path: Path) -> None:
    access_key, secret_key = new_credentials()
    data_dir = tmp_path / "data"
    first = EmbeddedSeaweedFS(
        data_dir, access_key=access_key, secret_key=secret_key, s3_port=free_port()
    )
    data = b"%PDF-1.7\n% kept across restarts\n%%EOF\n"

    with first:
        client = make_client(first.endpoint, access_key, secret_key)
        store = ObjectStore(client, "dolil-restart", retention=RetentionPolicy("COMPLIANCE", 1))
        store.ensure_bucket()
        stored = store.put(new_object_key("doc-1"), data, sha256=hashlib.sha256(data).hexdigest())
        store.commit_retention(stored)
    assert not first.running
    first.stop()

    # A new instance on the same data directory and HTTP ports, as after a reboot.
    second = EmbeddedSeaweedFS(
        data_dir,
        access_key=access_key,
        secret_key=secret_key,
        s3_port=first.s3_port,
        master_port=first.ports["master"],
        volume_port=first.ports["volume"],
        filer_port=first.ports["filer"],
    )
    with second:
        client = make_client(second.endpoint, access_key, secret_key)
        store = ObjectStore(client, "dolil-restart", retention=RetentionPolicy("COMPLIANCE", 1))
        store.check()
        assert store.get(stored.key, stored.version_id) == data
        assert store.object_versions(stored.key) == [stored.version_id]
        retention = client.get_object_retention(store.bucket, stored.key, version_id=stored.version_id)
        assert retention.mode == "COMPLIANCE"
        with pytest.raises(S3Error):
            client.remove_object(store.bucket, stored.key, version_id=stored.version_id)


def test_start_fails_when_port_taken(tmp_path: Path) -> None:
    access_key, secret_key = new_credentials()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = EmbeddedSeaweedFS(
            tmp_path / "data",
            access_key=access_key,
            secret_key=secret_key,
            s3_port=taken.getsockname()[1],
        )

        with pytest.raises(StorageUnavailable, match="exited with code"):
            server.start(timeout=30)

    assert not server.running
    assert server.log_path.is_file()


def test_stop_without_start_does_nothing(tmp_path: Path) -> None:
    access_key, secret_key = new_credentials()
    server = EmbeddedSeaweedFS(tmp_path / "data", access_key=access_key, secret_key=secret_key)

    server.stop()
    server.stop()

    assert not server.running


def test_credentials_required() -> None:
    with pytest.raises(ValueError, match="access key and secret key"):
        EmbeddedSeaweedFS(Path("unused"), access_key="", secret_key="secret")
