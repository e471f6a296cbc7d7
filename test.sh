#!/usr/bin/env bash
# Install Dolil and its test tools into .venv and run the whole test suite.
# Set DOLIL_TEST_DATABASE_URL to run it against PostgreSQL instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")"
. ./scripts/venv.sh
exec .venv/bin/python -m pytest "$@"
