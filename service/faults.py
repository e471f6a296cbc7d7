"""Fault-injection pause points for the crash-safety tests; inert unless a test enables them.

The tests under tests/faults run the service in subprocesses and have to stop
one at an exact step, for example after the object write and before the
database commit, to kill a process or a server there. A process started with
``DOLIL_TEST_FAULT_DIR=<directory>`` checks at each point whether the file
``<point>.armed`` exists there. The first process to remove it writes its pid
to ``<point>.reached`` and waits until ``<point>.release`` exists, for at most
``PAUSE_LIMIT_SECONDS``. Without the variable, or with ``DOLIL_ENV=production``,
a pause point does nothing.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

DIRECTORY_VARIABLE = "DOLIL_TEST_FAULT_DIR"
# Below gunicorn's default worker timeout of 30 s, so a forgotten release
# ends in a logged timeout instead of a killed worker.
PAUSE_LIMIT_SECONDS = 20.0
_POLL_SECONDS = 0.02

# The points the workflow passes, in order, when it stores an object with its row.
BEFORE_COMMIT = "before_commit"  # object written, rows flushed, transaction not committed
AFTER_COMMIT = "after_commit"  # rows committed, final retention not yet set


def pause_point(name: str) -> None:
    """Pause here while a fault test has armed this point; otherwise return at once."""
    directory = os.environ.get(DIRECTORY_VARIABLE)
    if not directory or os.environ.get("DOLIL_ENV") == "production":
        return
    armed = Path(directory) / f"{name}.armed"
    try:
        # Removing the file claims the pause, so one armed point pauses one request.
        armed.unlink()
    except FileNotFoundError:
        return
    reached = Path(directory) / f"{name}.reached"
    release = Path(directory) / f"{name}.release"
    log.warning("fault injection: pid %d paused at %s until %s exists", os.getpid(), name, release)
    reached.write_text(str(os.getpid()))
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while not release.exists():
        if time.monotonic() >= deadline:
            log.error("fault injection: pause at %s timed out after %.0f s", name, PAUSE_LIMIT_SECONDS)
            break
        time.sleep(_POLL_SECONDS)
    reached.unlink(missing_ok=True)
    release.unlink(missing_ok=True)
    log.warning("fault injection: pid %d released at %s", os.getpid(), name)
