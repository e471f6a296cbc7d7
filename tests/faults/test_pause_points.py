"""The fault-injection pause points stay inert unless a test arms them."""

from __future__ import annotations

import pytest

from config import ConfigurationError, Settings
from service.faults import BEFORE_COMMIT, DIRECTORY_VARIABLE, pause_point


def test_pause_point_inert_without_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(DIRECTORY_VARIABLE, raising=False)
    (tmp_path / f"{BEFORE_COMMIT}.armed").write_text("")

    pause_point(BEFORE_COMMIT)

    assert (tmp_path / f"{BEFORE_COMMIT}.armed").exists()
    assert not (tmp_path / f"{BEFORE_COMMIT}.reached").exists()


def test_pause_point_inert_in_production(tmp_path, monkeypatch):
    monkeypatch.setenv(DIRECTORY_VARIABLE, str(tmp_path))
    monkeypatch.setenv("DOLIL_ENV", "production")
    (tmp_path / f"{BEFORE_COMMIT}.armed").write_text("")

    pause_point(BEFORE_COMMIT)

    assert (tmp_path / f"{BEFORE_COMMIT}.armed").exists()


def test_pause_point_pauses_once_when_armed(tmp_path, monkeypatch):
    monkeypatch.setenv(DIRECTORY_VARIABLE, str(tmp_path))
    monkeypatch.setenv("DOLIL_ENV", "testing")
    (tmp_path / f"{BEFORE_COMMIT}.armed").write_text("")
    # Released in advance, so the pause ends at once.
    (tmp_path / f"{BEFORE_COMMIT}.release").write_text("")

    pause_point(BEFORE_COMMIT)

    assert not (tmp_path / f"{BEFORE_COMMIT}.armed").exists()
    assert not (tmp_path / f"{BEFORE_COMMIT}.release").exists()
    assert not (tmp_path / f"{BEFORE_COMMIT}.reached").exists()


def test_database_connect_timeout_below_two_rejected():
    with pytest.raises(ConfigurationError, match="DOLIL_DATABASE_CONNECT_TIMEOUT"):
        Settings(env="testing", database_connect_timeout=1, embedded_s3=True).validate()
