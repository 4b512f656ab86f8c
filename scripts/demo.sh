#!/usr/bin/env bash
# Sets up .venv and runs the exporter against the built-in simulated OVH account.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/ovh-vps-exporter demo "$@"
