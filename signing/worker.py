"""Worker processes that bound the time and memory of parsing untrusted files.

:func:`run_isolated` runs a function in a process forked from a
``multiprocessing`` fork server. Its address space is capped with
``RLIMIT_AS`` and it is killed when its time runs out. The process is kept
for later calls until it fails or has served MAX_CALLS_PER_WORKER calls. It
runs as the same user as the service, so the process bounds time and memory;
it is not a security boundary between uploads. pikepdf (qpdf) and
pyHanko parse in C++ and in pure Python without checking a deadline, so only a
separate process bounds their time and memory on hostile input.
:func:`validate_pdf_within_limits` applies it to signature validation.
"""

from __future__ import annotations

import atexit
import io
import logging
import multiprocessing
import multiprocessing.process
import os
import pickle
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import ForkServerProcess, set_spawning_popen
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from asn1crypto import x509

from signing.errors import InvalidDocument, SigningError
from signing.limits import InputLimits

if TYPE_CHECKING:
    from signing.policy import ValidationPolicy
    from signing.report import ValidationReport

__all__ = ["WorkerFailed", "run_isolated", "stop_idle_workers", "validate_pdf_within_limits"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WorkerFailed(SigningError):
    """A function run by :func:`run_isolated` raised an exception that cannot be sent back as it is."""

    def __init__(self, exception_type: str, detail: str) -> None:
        super().__init__(f"worker process raised {exception_type}: {detail}")
        self.exception_type = exception_type
        self.detail = detail


# The fork server is started on first use by a fresh interpreter that imports
# these modules once. Each worker is then forked from it, which takes a few
# milliseconds, and never from the calling process, whose threads may hold locks.
_WORKER_CONTEXT = multiprocessing.get_context("forkserver")
_WORKER_CONTEXT.set_forkserver_preload(["signing.intake", "signing.validation"])


def _expose_project_to_fork_server() -> None:
    # Python 3.11's fork server imports the preloaded modules with the import
    # path of ``python -c`` (the working directory and site-packages) and
    # ignores the parent's sys.path. Started from another directory it would
    # skip them silently, and every worker would import them again (0.4 s for
    # intake alone). PYTHONPATH is inherited, so the project directory goes
    # there, once, when this module is imported.
    project = str(Path(__file__).resolve().parent.parent)
    entries = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    if project not in entries:
        os.environ["PYTHONPATH"] = os.pathsep.join([*entries, project])


_expose_project_to_fork_server()

# Log records that one worker sends back at most; later ones are counted.
MAX_FORWARDED_RECORDS = 500


class _WorkerPopen(popen_forkserver.Popen):
    """Starts a worker without importing the parent's ``__main__`` module again.

    multiprocessing sends the name or path of the parent's main module along,
    and the new process imports it: for ``python -m service.devserver`` that
    is the whole service, 0.5 s per worker. Workers need only the modules that
    the fork server preloaded. This is ``Popen._launch`` of CPython 3.11 with
    the two main module entries removed.

    NOTE: this copies private CPython code. tests/signing/test_worker.py
    compares the running interpreter's ``Popen._launch`` and the private
    helpers used here with the 3.11 shapes; review this copy when it fails.
    """

    def _launch(self, process_obj: multiprocessing.process.BaseProcess) -> None:
        preparation = spawn.get_preparation_data(process_obj._name)
        preparation.pop("init_main_from_name", None)
        preparation.pop("init_main_from_path", None)
        buffer = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(preparation, buffer)
            reduction.dump(process_obj, buffer)
        finally:
            set_spawning_popen(None)

        self.sentinel, writer = forkserver.connect_to_new_process(self._fds)
        # The child watches a duplicate of the write end to notice that this
        # process is gone.
        parent_writer = os.dup(writer)
        self.finalizer = util.Finalize(self, util.close_fds, (parent_writer, self.sentinel))
        with open(writer, "wb", closefd=True) as stream:
            stream.write(buffer.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _WorkerProcess(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: multiprocessing.process.BaseProcess) -> _WorkerPopen:
        return _WorkerPopen(process_obj)


def _reduce_certificate(certificate: x509.Certificate) -> tuple:
    # asn1crypto sets up a class's field map when the first instance is
    # created, and unpickling creates none, so a certificate unpickled in a
    # new worker fails on first use. Sending the DER encoding avoids that.
    return x509.Certificate.load, (certificate.dump(),)


ForkingPickler.register(x509.Certificate, _reduce_certificate)


# A worker serves at most this many calls before it is replaced, so memory
# that parsers leave behind (caches, fragmentation) cannot pile up.
MAX_CALLS_PER_WORKER = 100
# Idle workers kept per address-space limit in each process. The service
# handles one request per thread, so more are started when threads overlap.
MAX_IDLE_WORKERS = 2


class _Worker:
    """A process started from the fork server that runs calls one after another."""

    def __init__(self, memory_bytes: int) -> None:
        self.memory_bytes = memory_bytes
        self.owner_pid = os.getpid()
        self.calls = 0
        self.connection, child = _WORKER_CONTEXT.Pipe(duplex=True)
        self.process = _WorkerProcess(
            target=_worker_loop, args=(child, memory_bytes), name="dolil-worker", daemon=True,
        )
        self.process.start()
        child.close()

    def stop(self) -> None:
        """Kill the process and wait for it; safe to call twice."""
        try:
            self.connection.close()
        except OSError:
            pass
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


class _WorkerPool:
    """Idle workers of this process, by address-space limit.

    A worker is handed to one caller at a time. It goes back to the pool only
    after a call that returned a result or raised an ordinary exception. A
    worker that timed out, ran out of memory or died is stopped instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[int, list[_Worker]] = {}
        self._pid = os.getpid()

    def take(self, memory_bytes: int) -> _Worker:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child must not use its parent's workers or their pipes.
                self._idle = {}
                self._pid = os.getpid()
            idle = self._idle.get(memory_bytes)
            if idle:
                return idle.pop()
        return _Worker(memory_bytes)

    def give_back(self, worker: _Worker) -> None:
        if worker.calls >= MAX_CALLS_PER_WORKER or worker.owner_pid != os.getpid():
            worker.stop()
            return
        with self._lock:
            idle = self._idle.setdefault(worker.memory_bytes, [])
            if len(idle) < MAX_IDLE_WORKERS:
                idle.append(worker)
                return
        worker.stop()

    def clear(self) -> None:
        """Stop every idle worker of this process."""
        with self._lock:
            workers = [worker for idle in self._idle.values() for worker in idle]
            self._idle = {}
        for worker in workers:
            if worker.owner_pid == os.getpid():
                worker.stop()


_POOL = _WorkerPool()
atexit.register(_POOL.clear)


def stop_idle_workers() -> None:
    """Stop the idle workers of this process; the next call starts a new one."""
    _POOL.clear()


def run_isolated(function: Callable[..., T], *args: object, timeout_seconds: float,
                 memory_bytes: int, **kwargs: object) -> T:
    """Run ``function(*args, **kwargs)`` in a worker process and return its result.

    ``function`` must be defined at module level of an importable module (not
    ``__main__``), and its arguments and result must be picklable. The
    worker's address space is limited to ``memory_bytes``, and it is killed
    when it has not returned a result after ``timeout_seconds``. Log records
    of the worker at or above the level of ``function``'s module logger are
    emitted again in this process.

    Workers are kept and reused for later calls (at most
    MAX_CALLS_PER_WORKER each), because starting one costs more than a typical
    upload check. A worker that timed out, ran out of memory or died is never
    reused. When a worker that had served earlier calls runs out of memory or
    dies, the call is repeated once in a new worker, so a verdict of
    ``memory_limit`` or ``malformed_pdf`` never comes from what an earlier
    call left behind.

    Raises :class:`InvalidDocument` ``processing_timeout`` when the worker is
    killed, ``memory_limit`` when it runs out of memory, and ``malformed_pdf``
    when it dies from a signal, which a crashing parser causes. Other exceptions
    of ``function`` are raised again here, or as :class:`WorkerFailed` when
    they cannot be pickled.
    """
    log_level = logging.getLogger(function.__module__).getEffectiveLevel()
    task = (function, args, kwargs, log_level)
    worker = _POOL.take(memory_bytes)
    reused = worker.calls > 0
    outcome, records, dropped = _call(worker, task, function.__name__, timeout_seconds, memory_bytes)
    if reused and (outcome is None or outcome[0] == "memory"):
        logger.info("worker %s failed after %d earlier calls; repeating the call in a new worker",
                    function.__name__, worker.calls - 1)
        worker = _Worker(memory_bytes)
        outcome, records, dropped = _call(worker, task, function.__name__, timeout_seconds, memory_bytes)
    if outcome is None:
        raise _worker_died(function.__name__, worker.process.exitcode, memory_bytes)
    if outcome[0] in ("result", "exception", "invalid"):
        _POOL.give_back(worker)
    else:
        worker.stop()
    _emit_records(records, dropped, function.__name__)
    return _unpack_outcome(outcome, memory_bytes)


def _call(worker: _Worker, task: tuple, name: str, timeout_seconds: float,
          memory_bytes: int) -> tuple[tuple | None, list, int]:
    """Send ``task`` to ``worker`` and return (outcome, records, dropped); outcome None when it died.

    A worker that misses the deadline is stopped and ``processing_timeout`` raised.
    """
    worker.calls += 1
    started = time.monotonic()
    try:
        worker.connection.send(task)
        if not worker.connection.poll(timeout_seconds):
            logger.warning("worker %s killed after %.1f s (pid %s)", name, time.monotonic() - started,
                           worker.process.pid)
            worker.stop()
            raise InvalidDocument(
                "processing_timeout", f"{name} did not finish within {timeout_seconds:g} seconds"
            )
        return worker.connection.recv()
    except (EOFError, OSError):
        worker.stop()
        return None, [], 0
    except BaseException:
        worker.stop()
        raise


def _worker_died(name: str, exit_code: int | None, memory_bytes: int) -> InvalidDocument:
    if exit_code is not None and exit_code == -signal.SIGKILL:
        # Only the kernel's out-of-memory killer sends SIGKILL before the
        # deadline, because run_isolated kills a worker only after it.
        logger.error("worker %s was killed by SIGKILL", name)
        return InvalidDocument("memory_limit", f"{name} was killed, probably for lack of memory")
    logger.error("worker %s ended without a result (exit code %s)", name, exit_code)
    return InvalidDocument("malformed_pdf", f"the parser stopped unexpectedly (exit code {exit_code})")


def _unpack_outcome(outcome: tuple, memory_bytes: int) -> Any:
    kind = outcome[0]
    if kind == "result":
        return outcome[1]
    if kind == "invalid":
        raise InvalidDocument(outcome[1], outcome[2])
    if kind == "memory":
        raise InvalidDocument(
            "memory_limit", f"processing needs more than the limit of {memory_bytes} bytes of memory"
        )
    if kind == "exception":
        raise outcome[1]
    raise WorkerFailed(outcome[1], outcome[2])


def _worker_loop(connection, memory_bytes: int) -> None:
    """Run the calls that arrive on ``connection`` one after another until it is closed."""
    _, hard_limit = resource.getrlimit(resource.RLIMIT_AS)
    if hard_limit != resource.RLIM_INFINITY:
        memory_bytes = min(memory_bytes, hard_limit)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    while True:
        try:
            function, args, kwargs, log_level = connection.recv()
        except (EOFError, OSError):
            return
        buffer = _RecordBuffer(MAX_FORWARDED_RECORDS)
        root.addHandler(buffer)
        root.setLevel(log_level)
        try:
            outcome = _run_call(function, args, kwargs)
        finally:
            root.removeHandler(buffer)
        try:
            connection.send((outcome, buffer.records, buffer.dropped))
        except MemoryError:
            connection.send((("memory",), [], 0))
        except Exception as error:  # for example a result that cannot be pickled
            connection.send((("failed", type(error).__name__, str(error)), [], 0))
        if outcome[0] == "memory":
            # The caller stops this worker, so nothing more runs in it.
            return


def _run_call(function: Callable[..., Any], args: tuple, kwargs: dict) -> tuple:
    try:
        return ("result", function(*args, **kwargs))
    except InvalidDocument as error:
        return ("invalid", error.reason, error.detail)
    except MemoryError:
        return ("memory",)
    except Exception as error:  # sent to the caller, which raises it again
        return _portable_exception(error)


def _portable_exception(error: Exception) -> tuple:
    error.add_note("traceback in the worker process:\n" + traceback.format_exc())
    error.__traceback__ = None
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return ("failed", type(error).__name__, str(error))
    return ("exception", error)


class _RecordBuffer(logging.Handler):
    """Collects log records in a form that survives pickling."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.records: list[logging.LogRecord] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) >= self.capacity:
            self.dropped += 1
            return
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def _emit_records(records: Iterable[logging.LogRecord], dropped: int, name: str) -> None:
    for record in records:
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)
    if dropped:
        logger.warning("worker %s logged %d more records than the %d forwarded", name, dropped,
                       MAX_FORWARDED_RECORDS)



# --- validation -----------------------------------------------------------------------


def validate_pdf_within_limits(
    data: bytes, policy: ValidationPolicy, limits: InputLimits | None = None, *, now: datetime | None = None
) -> ValidationReport:
    """Run :func:`signing.validation.validate_pdf` in a worker bounded by ``limits``.

    The worker may take ``limits.validation_timeout_seconds`` and
    ``limits.max_memory_bytes``. Raises what ``validate_pdf`` raises, and
    :class:`InvalidDocument` as :func:`run_isolated` describes.
    """
    from signing.validation import validate_pdf

    limits = limits or InputLimits()
    return run_isolated(
        validate_pdf,
        data,
        policy,
        now=now,
        timeout_seconds=limits.validation_timeout_seconds,
        memory_bytes=limits.max_memory_bytes,
    )


def _validate_file(path: str, policy: ValidationPolicy, now: datetime | None) -> ValidationReport:
    from signing.validation import validate_pdf

    return validate_pdf(Path(path).read_bytes(), policy, now=now)


def validate_pdf_file_within_limits(
    path: Path, policy: ValidationPolicy, limits: InputLimits | None = None, *, now: datetime | None = None
) -> ValidationReport:
    """Validate the PDF file at ``path`` as :func:`validate_pdf_within_limits` validates bytes.

    The worker reads the file itself, so the calling process never loads the
    PDF into memory.
    """
    limits = limits or InputLimits()
    return run_isolated(
        _validate_file,
        str(path),
        policy,
        now,
        timeout_seconds=limits.validation_timeout_seconds,
        memory_bytes=limits.max_memory_bytes,
    )
