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

# Some tests run programs from Debian's packages: prometheus and promtool, amtool
# (prometheus-alertmanager), wrk, systemd-analyze (systemd). Install what is
# missing when we can; without them those tests skip locally and fail in CI.
missing=()
for entry in prometheus:prometheus promtool:prometheus amtool:prometheus-alertmanager \
    wrk:wrk systemd-analyze:systemd; do
    package="${entry#*:}"
    if ! command -v "${entry%%:*}" >/dev/null && [[ " ${missing[*]-} " != *" $package "* ]]; then
        missing+=("$package")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing Debian's packages for the tests that run them: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "Not installed, so some tests skip: Debian packages ${missing[*]}." >&2
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
