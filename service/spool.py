"""Spool files: uploads and stored objects pass through files, never whole in memory.

A spool file lives under ``DATA_DIR/spool``, is readable only by the service's
user (``tempfile`` creates it with mode 0600) and is deleted when it is closed.
Uploaded files are hashed and counted while Werkzeug's form parser writes them,
so the upload limit applies before the request has been read to its end.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from flask import Request, current_app

from config import Settings

from .problems import ApiProblem

log = logging.getLogger(__name__)

SPOOL_DIR_NAME = "spool"
# A spool file older than this was left behind by a process that was killed,
# because a day is far longer than any request runs.
STALE_SPOOL_SECONDS = 24 * 3600


def spool_dir(settings: Settings) -> Path:
    return settings.data_dir / SPOOL_DIR_NAME


def prepare_spool_dir(settings: Settings) -> Path:
    """Create the spool directory and remove files that killed processes left behind."""
    directory = spool_dir(settings)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    cutoff = time.time() - STALE_SPOOL_SECONDS
    for entry in directory.iterdir():
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
                log.info("removed stale spool file %s", entry.name)
        except OSError:
            pass
    return directory


def new_spool_file(settings: Settings, prefix: str) -> BinaryIO:
    """Return a new empty spool file, opened for writing and reading, deleted on close."""
    return tempfile.NamedTemporaryFile(dir=spool_dir(settings), prefix=prefix, suffix=".spool")


class UploadSpool:
    """The file of a multipart upload, hashed, counted and limited as it is written.

    ``sha256`` is the SHA-256 of every byte written. Writing more than
    ``max_bytes`` deletes the file and raises the ``file_too_large`` problem
    at once, so an oversized upload is neither read to its end nor kept.
    """

    def __init__(self, settings: Settings, max_bytes: int) -> None:
        self._file = new_spool_file(settings, "upload-")
        self.max_bytes = max_bytes
        self.size = 0
        self._digest = hashlib.sha256()

    @property
    def path(self) -> Path:
        return Path(self._file.name)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def digest_state(self):  # -> hashlib._Hash
        """Return a copy of the running SHA-256, to extend with more data without hashing the file again."""
        return self._digest.copy()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.max_bytes:
            self._file.close()
            raise ApiProblem("file_too_large", max_bytes=self.max_bytes)
        self._digest.update(data)
        return self._file.write(data)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        self._file.close()


class SpoolingRequest(Request):
    """A request whose uploaded files go to :class:`UploadSpool` files in the data directory.

    Werkzeug 3.1's default is a SpooledTemporaryFile that keeps up to 500 KiB
    in memory and moves larger files to the system's temporary directory,
    unhashed and limited only by the size of the whole body.
    """

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> BinaryIO:
        settings: Settings = current_app.config["DOLIL_SETTINGS"]
        return UploadSpool(settings, settings.max_upload_bytes)  # type: ignore[return-value]
