#!/usr/bin/env bash
# Sets up .venv and runs every check of the project: ruff (lint and format),
# mypy --strict, bandit, pip-audit, then pytest, whose end-to-end tests start a
# real Prometheus.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

# Prometheus and promtool come from Debian's package. Install them when we can;
# without them the tests that need them skip locally and fail in CI.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing Debian's prometheus package for the end-to-end tests..."
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    else
        echo "prometheus/promtool not found: install Debian's 'prometheus' package to run every test." >&2
    fi
fi

echo "== ruff check" && .venv/bin/ruff check .
echo "== ruff format --check" && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
# The simulator is checked without B105 and B311: its credentials are public demo
# values and its randomness is reproducible on purpose.
echo "== bandit" && .venv/bin/bandit -q -r exporter -x exporter/simulator \
    && .venv/bin/bandit -q -r exporter/simulator -s B105,B311
# Fails on a known vulnerability; says "NOT AUDITED" (and fails only with
# REQUIRE_PIP_AUDIT=1) when no vulnerability database can be reached.
echo "== pip-audit" && .venv/bin/python scripts/audit_dependencies.py
echo "== pytest" && .venv/bin/pytest "$@"
