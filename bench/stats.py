"""Timing helpers and summary statistics of repeated measurements."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stats:
    """Samples of one measurement with their median, extremes and quartiles."""

    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("Stats needs at least one sample")
        return cls(tuple(samples))

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def minimum(self) -> float:
        return min(self.samples)

    @property
    def maximum(self) -> float:
        return max(self.samples)

    def percentile(self, percent: float) -> float:
        """Return the ``percent`` percentile, interpolated linearly between the closest ranks."""
        ordered = sorted(self.samples)
        if len(ordered) == 1:
            return ordered[0]
        position = (len(ordered) - 1) * percent / 100
        lower = int(position)
        upper = min(lower + 1, len(ordered) - 1)
        return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def elapsed(func: Callable[[], object]) -> float:
    """Run ``func`` once and return the wall-clock time it took, in seconds."""
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def interleaved(
    variants: dict[str, Callable[[], object]], repetitions: int, *, warmup: int = 1
) -> dict[str, Stats]:
    """Time each variant ``repetitions`` times in milliseconds, alternating between variants.

    Alternating spreads slow drifts of the machine (other processes, thermal
    limits, the page cache) over all variants instead of one. ``warmup`` rounds
    run first and are not recorded, so imports and caches are warm.
    """
    for _ in range(warmup):
        for func in variants.values():
            func()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repetitions):
        for name, func in variants.items():
            samples[name].append(elapsed(func) * 1000)
    return {name: Stats.of(values) for name, values in samples.items()}
