"""Worker processes that bound the time and memory of parsing untrusted files.

:func:`run_isolated` runs a function in a process forked from a
``multiprocessing`` fork server. Its address space is capped with
``RLIMIT_AS`` and it is killed when its time runs out. pikepdf (qpdf) and
pyHanko parse in C++ and in pure Python without checking a deadline, so only a
separate process bounds their time and memory on hostile input.
:func:`validate_pdf_within_limits` applies it to signature validation.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import multiprocessing.process
import os
import pickle
import resource
import signal
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

__all__ = ["WorkerFailed", "run_isolated", "validate_pdf_within_limits"]

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


def run_isolated(function: Callable[..., T], *args: object, timeout_seconds: float,
                 memory_bytes: int, **kwargs: object) -> T:
    """Run ``function(*args, **kwargs)`` in a worker process and return its result.

    ``function`` must be defined at module level of an importable module (not
    ``__main__``), and its arguments and result must be picklable. The
    worker's address space is limited to ``memory_bytes``, and it is killed
    when it has not returned a result after ``timeout_seconds``. Log records
    of the worker at or above the level of ``function``'s module logger are
    emitted again in this process.

    Raises :class:`InvalidDocument` ``processing_timeout`` when the worker is
    killed, ``memory_limit`` when it runs out of memory, and ``malformed_pdf``
    when it dies from a signal, which a crashing parser causes. Other exceptions
    of ``function`` are raised again here, or as :class:`WorkerFailed` when
    they cannot be pickled.
    """
    log_level = logging.getLogger(function.__module__).getEffectiveLevel()
    receiver, sender = _WORKER_CONTEXT.Pipe(duplex=False)
    process = _WorkerProcess(
        target=_worker_main,
        args=(sender, function, args, kwargs, memory_bytes, log_level),
        name=f"dolil-{function.__name__}",
        daemon=True,
    )
    started = time.monotonic()
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout_seconds):
            logger.warning("worker %s killed after %.1f s (pid %s)", function.__name__,
                           time.monotonic() - started, process.pid)
            raise InvalidDocument(
                "processing_timeout", f"{function.__name__} did not finish within {timeout_seconds:g} seconds"
            )
        try:
            outcome, records, dropped = receiver.recv()
        except EOFError:
            outcome = None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()

    if outcome is None:
        raise _worker_died(function.__name__, process.exitcode, memory_bytes)
    _emit_records(records, dropped, function.__name__)
    return _unpack_outcome(outcome, memory_bytes)


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


def _worker_main(connection, function: Callable[..., Any], args: tuple, kwargs: dict,
                 memory_bytes: int, log_level: int) -> None:
    _, hard_limit = resource.getrlimit(resource.RLIMIT_AS)
    if hard_limit != resource.RLIM_INFINITY:
        memory_bytes = min(memory_bytes, hard_limit)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    buffer = _RecordBuffer(MAX_FORWARDED_RECORDS)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(buffer)
    root.setLevel(log_level)

    try:
        outcome: tuple = ("result", function(*args, **kwargs))
    except InvalidDocument as error:
        outcome = ("invalid", error.reason, error.detail)
    except MemoryError:
        outcome = ("memory",)
    except Exception as error:  # sent to the caller, which raises it again
        outcome = _portable_exception(error)

    try:
        connection.send((outcome, buffer.records, buffer.dropped))
    except MemoryError:
        connection.send((("memory",), [], 0))
    except Exception as error:  # for example a result that cannot be pickled
        connection.send((("failed", type(error).__name__, str(error)), [], 0))
    connection.close()


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
