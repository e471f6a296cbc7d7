"""The worker's copy of CPython's private multiprocessing code still fits the running interpreter.

``signing.worker._WorkerPopen._launch`` copies ``Popen._launch`` of
``multiprocessing.popen_forkserver`` from CPython 3.11 and calls private
helpers. These tests fail when the interpreter's versions change shape, so
that the copy is reviewed before it silently diverges.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
from multiprocessing import forkserver, popen_fork, popen_forkserver, reduction, spawn, util
from multiprocessing.context import set_spawning_popen

from signing import worker

# SHA-256 of ast.dump() of CPython 3.11.7's popen_forkserver.Popen._launch, so
# comments and layout do not count. Review _WorkerPopen._launch and update
# this value when the test fails.
LAUNCH_AST_SHA256 = "142bcf42d88ca53c3009dcac69e27bf099281eba9ad75f509a653b58c9c3d8d3"


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def _ast_sha256(function) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def test_launch_unchanged_in_cpython() -> None:
    assert _ast_sha256(popen_forkserver.Popen._launch) == LAUNCH_AST_SHA256, (
        "multiprocessing.popen_forkserver.Popen._launch differs from the CPython 3.11.7 version "
        "that signing.worker._WorkerPopen._launch copies: review the copy, then update LAUNCH_AST_SHA256"
    )


def test_launch_signatures_match() -> None:
    assert _parameters(popen_forkserver.Popen._launch) == ["self", "process_obj"]
    assert _parameters(worker._WorkerPopen._launch) == ["self", "process_obj"]
    assert issubclass(worker._WorkerPopen, popen_forkserver.Popen)


def test_launch_called_from_init() -> None:
    # Popen.__init__ must still call _launch, after popen_forkserver set _fds.
    assert "self._launch(process_obj)" in inspect.getsource(popen_fork.Popen.__init__)
    assert "self._fds = []" in inspect.getsource(popen_forkserver.Popen.__init__)


def test_private_helpers_keep_signatures() -> None:
    assert _parameters(spawn.get_preparation_data) == ["name"]
    assert _parameters(reduction.dump) == ["obj", "file", "protocol"]
    assert _parameters(set_spawning_popen) == ["popen"]
    assert _parameters(forkserver.connect_to_new_process) == ["fds"]
    assert _parameters(forkserver.read_signed) == ["fd"]
    assert _parameters(util.Finalize) == ["obj", "callback", "args", "kwargs", "exitpriority"]
    assert _parameters(util.close_fds) == ["fds"]


def test_main_module_keys_still_used() -> None:
    # _WorkerPopen removes these keys from the preparation data, so that a
    # worker does not import the parent's __main__ module again.
    source = inspect.getsource(spawn.prepare)

    assert "init_main_from_name" in source
    assert "init_main_from_path" in source
    assert "init_main_from_name" in inspect.getsource(spawn.get_preparation_data)
