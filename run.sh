#!/usr/bin/env bash
# Install Dolil into .venv and run it on the embedded development setup:
# SQLite, SeaweedFS and a development PKI, all under var/.
set -euo pipefail
cd "$(dirname "$0")"
. ./scripts/venv.sh
exec .venv/bin/python -m service.devserver "$@"
