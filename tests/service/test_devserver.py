"""The development runner behind ./run.sh, started as a user starts it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from storage.seaweedfs import free_port
from tests.helpers import MINUTES_PDF

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BANNER_END = "Stop with Ctrl-C."
START_TIMEOUT_SECONDS = 120


def _start(data_dir: Path, port: int, s3_port: int) -> tuple[subprocess.Popen, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOLIL_")}
    env.update(DOLIL_DATA_DIR=str(data_dir), DOLIL_DEV_PORT=str(port), DOLIL_DEV_S3_PORT=str(s3_port),
               PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.devserver"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if BANNER_END in line:
            return process, "".join(output)
    process.kill()
    pytest.fail("development server did not start:\n" + "".join(output))


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    remaining, _ = process.communicate(timeout=60)
    return remaining


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _request(url: str, token: str, data: bytes | None = None, content_type: str | None = None):
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {token}"})
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def _multipart(fields: dict[str, str], file_path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_path.name}"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode() + file_path.read_bytes() + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _web_sign_in(url: str, username: str, password: str) -> str:
    """Sign in to the web pages with a cookie jar and return the document list's HTML."""
    import http.cookiejar
    import urllib.parse

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{url}/sign-in", timeout=30) as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    with opener.open(f"{url}/sign-in", data=form, timeout=30) as response:
        assert response.url == f"{url}/documents"
        return response.read().decode()


def test_devserver_runs_main_job_and_restarts(tmp_path):
    data_dir = tmp_path / "var"
    port, s3_port = free_port(), free_port()

    process, banner = _start(data_dir, port, s3_port)
    try:
        url = re.search(r"URL:\s+(\S+)", banner).group(1)
        officer = re.search(r"officer token:\s+(\S+)", banner).group(1)
        auditor = re.search(r"auditor token:\s+(\S+)", banner).group(1)
        assert url == f"http://127.0.0.1:{port}"
        body, content_type = _multipart({"kind": "minutes", "title": "সভার কার্যবিবরণী"}, MINUTES_PDF)
        status, _, created = _request(f"{url}/api/v1/documents", officer, body, content_type)
        document_id = json.loads(created)["id"]
        chair = re.search(r"chair token:\s+(\S+)", banner).group(1)
        status, _, _ = _request(f"{url}/api/v1/documents/{document_id}/signatures", officer, b"{}", "application/json")
        assert status == 201
        # The minutes need the chair's signature after the member secretary's.
        status, _, signed = _request(f"{url}/api/v1/documents/{document_id}/signatures", chair,
                                     b'{"visible": true}', "application/json")
        assert status == 201, signed
        assert json.loads(signed)["document"]["signing"]["complete"] is True
        status, headers, _ = _request(f"{url}/api/v1/documents/{document_id}/content", auditor)
        assert headers["Dolil-Validation"] == "TOTAL_PASSED"
        password = re.search(r"sign-in as officer / (\S+),", banner).group(1)
        assert "সভার কার্যবিবরণী" in _web_sign_in(url, "officer", password)
    finally:
        _stop(process)

    assert process.returncode == 0
    assert not _port_open(s3_port), "SeaweedFS still listens after the server stopped"
    assert (data_dir / "dolil.sqlite3").exists()
    assert (data_dir / "pki" / "trust").is_dir()
    assert oct((data_dir / "dev-tokens.json").stat().st_mode & 0o777) == "0o600"
    assert oct((data_dir / "dev-passwords.json").stat().st_mode & 0o777) == "0o600"
    assert oct((data_dir / "pki" / "private" / "chair-passphrase.txt").stat().st_mode & 0o777) == "0o600"
    assert json.loads((data_dir / "dev-settings.json").read_text())["revocation_mode"] == "soft-fail"

    process, banner = _start(data_dir, port, s3_port)
    try:
        assert f"officer token:  {officer}" in banner
        assert f"sign-in as officer / {password}," in banner
        status, headers, _ = _request(f"{url}/api/v1/documents/{document_id}/content", auditor)
        assert status == 200
        assert headers["Dolil-Revision"] == "3"
    finally:
        _stop(process)
    assert not _port_open(s3_port)


def test_devserver_reports_busy_port(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        env = {key: value for key, value in os.environ.items() if not key.startswith("DOLIL_")}
        env.update(DOLIL_DATA_DIR=str(tmp_path / "var"), DOLIL_DEV_PORT=str(busy))

        result = subprocess.run([sys.executable, "-m", "service.devserver"], cwd=PROJECT_ROOT, env=env,
                                capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert f"port {busy} on 127.0.0.1 is in use" in result.stderr


def test_commands_use_recorded_dev_settings(tmp_path, monkeypatch):
    from service import create_app

    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "dev-settings.json").write_text(json.dumps(
        {"env": "development", "embedded_s3": True, "dev_pki": True, "revocation_mode": "soft-fail",
         "retention_mode": "GOVERNANCE", "validation_policy_name": "development"}))
    monkeypatch.setenv("DOLIL_DATA_DIR", str(data_dir))
    for name in ("DOLIL_REVOCATION_MODE", "DOLIL_RETENTION_MODE", "DOLIL_VALIDATION_POLICY_NAME", "DOLIL_ENV"):
        monkeypatch.delenv(name, raising=False)

    settings = create_app().config["DOLIL_SETTINGS"]

    assert settings.revocation_mode == "soft-fail"
    assert settings.retention_mode == "GOVERNANCE"
    assert settings.validation_policy_name == "development"

    monkeypatch.setenv("DOLIL_REVOCATION_MODE", "hard-fail")
    assert create_app().config["DOLIL_SETTINGS"].revocation_mode == "hard-fail"


def test_commands_without_dev_server_keep_defaults(tmp_path, monkeypatch):
    from service import create_app

    monkeypatch.setenv("DOLIL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DOLIL_EMBEDDED_S3", "1")
    for name in ("DOLIL_REVOCATION_MODE", "DOLIL_RETENTION_MODE", "DOLIL_ENV"):
        monkeypatch.delenv(name, raising=False)

    settings = create_app().config["DOLIL_SETTINGS"]

    assert settings.revocation_mode == "hard-fail"
    assert settings.retention_mode == "COMPLIANCE"
