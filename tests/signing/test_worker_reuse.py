"""Workers of run_isolated are reused between calls, and replaced when a call fails them."""

from __future__ import annotations

import os
import time

import pytest

from signing import worker
from signing.errors import InvalidDocument
from signing.worker import run_isolated, stop_idle_workers

MiB = 1024 * 1024
MEMORY = 2048 * MiB

# Memory that grow() keeps alive in the worker between calls.
_KEPT: list[bytearray] = []


def grow(size: int) -> int:
    """Keep ``size`` more bytes alive in this process and return its pid."""
    _KEPT.append(bytearray(size))
    return os.getpid()


def virtual_memory_bytes() -> int:
    """Return this process's address-space size (VmSize)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize in /proc/self/status")


@pytest.fixture(autouse=True)
def fresh_pool():
    stop_idle_workers()
    yield
    stop_idle_workers()


def worker_pid() -> int:
    return run_isolated(os.getpid, timeout_seconds=30, memory_bytes=MEMORY)


def test_worker_reused_between_calls() -> None:
    first = worker_pid()

    assert first != os.getpid()
    assert worker_pid() == first


def test_worker_reused_after_an_exception() -> None:
    first = worker_pid()
    with pytest.raises(ValueError):
        run_isolated(int, "not a number", timeout_seconds=30, memory_bytes=MEMORY)

    assert worker_pid() == first


def test_worker_replaced_after_timeout() -> None:
    first = worker_pid()
    with pytest.raises(InvalidDocument) as caught:
        run_isolated(time.sleep, 60, timeout_seconds=0.5, memory_bytes=MEMORY)

    assert caught.value.reason == "processing_timeout"
    assert worker_pid() != first


def test_worker_replaced_after_memory_limit() -> None:
    first = worker_pid()
    with pytest.raises(InvalidDocument) as caught:
        run_isolated(bytearray, 4096 * MiB, timeout_seconds=30, memory_bytes=MEMORY)

    assert caught.value.reason == "memory_limit"
    assert worker_pid() != first


def test_worker_replaced_after_its_call_budget(monkeypatch) -> None:
    monkeypatch.setattr(worker, "MAX_CALLS_PER_WORKER", 2)
    first = worker_pid()

    assert worker_pid() == first
    assert worker_pid() != first


def test_workers_with_other_memory_limits_not_shared() -> None:
    first = worker_pid()

    assert run_isolated(os.getpid, timeout_seconds=30, memory_bytes=MEMORY // 2) != first


def test_leftover_memory_retried_in_new_worker() -> None:
    # The first call leaves most of the limit allocated in the worker. The
    # second would not fit beside it, so it is repeated in a new worker.
    base = run_isolated(virtual_memory_bytes, timeout_seconds=30, memory_bytes=MEMORY)
    limit = base + 600 * MiB
    first = run_isolated(grow, 400 * MiB, timeout_seconds=30, memory_bytes=limit)

    second = run_isolated(grow, 400 * MiB, timeout_seconds=30, memory_bytes=limit)

    assert second != first


def test_memory_limit_still_reported_in_a_new_worker() -> None:
    base = run_isolated(virtual_memory_bytes, timeout_seconds=30, memory_bytes=MEMORY)
    limit = base + 600 * MiB
    run_isolated(grow, 100 * MiB, timeout_seconds=30, memory_bytes=limit)

    with pytest.raises(InvalidDocument) as caught:
        run_isolated(grow, 800 * MiB, timeout_seconds=30, memory_bytes=limit)

    assert caught.value.reason == "memory_limit"
