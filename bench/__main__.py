"""Command line: ``.venv/bin/python -m bench [--repetitions N] [--smoke] [--output FILE]``."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tempfile
from pathlib import Path

from bench.context import full_config, smoke_config
from bench.suite import run_suite
from config import PROJECT_ROOT

DEFAULT_OUTPUT = PROJECT_ROOT / "BENCHMARKS.md"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REPETITIONS = 30


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run Dolil's benchmark suite and write a Markdown report.",
    )
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS, metavar="N",
                        help=f"repetitions of fast cases (default {DEFAULT_REPETITIONS}); cases on files of "
                             "10 MiB use N/2 and of 100 MiB N/4, at least 3")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny files and one repetition, to check that every case runs; "
                             "writes to a temporary file unless --output is given")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"report file (default {DEFAULT_OUTPUT.name} in the repository root)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, metavar="URL",
                        help="SQLAlchemy URL of a PostgreSQL database the suite may connect to; it creates "
                             "and drops its own database on that server (default %(default)s)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL cases")
    return parser


class _FirstOccurrenceFilter(logging.Filter):
    """Let through the first record of each message template from the service's packages.

    The suite signs and validates hundreds of times, and a warning the service
    logs on every call would bury the progress messages.
    """

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, object]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("service", "signing", "storage")):
            return True
        key = (record.name, record.msg)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_FirstOccurrenceFilter())
    # The service logs every signature, upload and validation at INFO; in the
    # benchmark process those lines would drown the progress messages.
    for name in ("service", "signing", "storage"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("pyhanko", "pyhanko_certvalidator", "pikepdf"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    arguments = _parser().parse_args(argv)
    if arguments.repetitions < 1:
        _parser().error("--repetitions must be at least 1")
    _configure_logging()

    postgres_url = None if arguments.no_postgres else arguments.postgres_url
    if arguments.smoke:
        config = smoke_config(postgres_url)
        output = arguments.output or Path(tempfile.gettempdir()) / "dolil-benchmarks-smoke.md"
    else:
        config = full_config(arguments.repetitions, postgres_url)
        output = arguments.output or DEFAULT_OUTPUT

    command = shlex.join([".venv/bin/python", "-m", "bench", *argv])
    result = run_suite(config, output, command)
    print(f"report written to {output}")
    if result.failures:
        print(f"cases that failed: {', '.join(result.failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
