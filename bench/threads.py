"""Run calls on a worker thread, where the service's request handlers run too.

Gunicorn's sync workers install their own SIGINT handler and Werkzeug's
threaded server handles requests off the main thread. In either case
``asyncio.run`` leaves SIGINT alone. Only in the main thread with Python's
default SIGINT handler does CPython 3.11's ``asyncio.Runner`` install and later
restore a handler, and restoring it formats the repr of the finished task,
result included. The in-process cases therefore time the service's code on
this thread, and time the main thread separately where that differs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-worker")


def on_worker_thread(func: Callable[[], T]) -> T:
    """Run ``func`` on the suite's single worker thread and return its result."""
    return _executor.submit(func).result()
