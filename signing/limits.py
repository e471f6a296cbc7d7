"""Resource limits for untrusted uploads and the wall-clock budget that enforces them.

:class:`InputLimits` contains the limits. :class:`Deadline` is the cooperative
wall-clock budget that intake checks between steps. :mod:`signing.decoders`
measures decoded stream sizes against the limits, and :mod:`signing.worker`
runs intake and validation in a process bounded in time and memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from signing.errors import InvalidDocument

__all__ = ["Deadline", "InputLimits"]

MiB = 1024 * 1024



@dataclass(frozen=True)
class InputLimits:
    """Limits on what one uploaded PDF or scan may make Dolil parse, decode and hold."""

    max_pages: int = 2000
    """Pages of a PDF, or frames of a multi-page TIFF."""
    max_objects: int = 200_000
    """Indirect objects over all revisions, counting each revision's version of an object."""
    max_revisions: int = 100
    """Revisions: the original file plus its incremental updates."""
    max_nesting_depth: int = 100
    """Depth of arrays and dictionaries nested directly inside one object."""
    max_stream_bytes: int = 256 * MiB
    """Decoded size of one stream, and of each stage of its filter chain."""
    max_decompressed_bytes: int = 512 * MiB
    """Decoded size of all streams together."""
    max_image_pixels: int = 80_000_000
    """Width times height of one scanned image or frame (an A3 page at 600 dpi has 70 million)."""
    parse_timeout_seconds: float = 30.0
    """Wall-clock time for checking one upload, including image conversion."""
    validation_timeout_seconds: float = 120.0
    """Wall-clock time for validating the signatures of one PDF, including revocation fetches."""
    max_memory_bytes: int = 2048 * MiB
    """Address space of the worker process that checks or validates one file."""

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"InputLimits.{item.name} must be a positive number, not {value!r}")
        if self.max_stream_bytes > self.max_decompressed_bytes:
            raise ValueError("InputLimits.max_stream_bytes must not exceed max_decompressed_bytes")


class Deadline:
    """A wall-clock budget that long-running steps check between units of work."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._expires_at = clock() + seconds

    def check(self, activity: str) -> None:
        """Raise :class:`InvalidDocument` ``processing_timeout`` if the budget is spent."""
        if self._clock() >= self._expires_at:
            raise InvalidDocument(
                "processing_timeout", f"{activity} did not finish within {self.seconds:g} seconds"
            )

