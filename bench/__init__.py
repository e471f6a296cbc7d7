"""Benchmark suite for Dolil.

Run it from the repository root with ``.venv/bin/python -m bench``; ``--help``
lists the options. The suite starts its own SeaweedFS, gunicorn servers and,
when reachable, a temporary PostgreSQL database, all on 127.0.0.1 and under a
temporary directory, and writes the results to ``BENCHMARKS.md``. Every figure
is reported beside a baseline measured in the same run.
"""
