"""WSGI entry point for gunicorn: the Dolil app built from a settings file.

The file is the JSON written by :func:`bench.deployment.write_settings` and
its path comes from the environment variable ``DOLIL_BENCH_SETTINGS``.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.deployment import read_settings
from bench.servers import SETTINGS_VARIABLE
from service import create_app

app = create_app(read_settings(Path(os.environ[SETTINGS_VARIABLE])))
