"""Helpers shared by the tests of the deployment artifacts (rules, dashboards, manifests)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
RULES_FILE = DEPLOY / "prometheus" / "rules" / "ovh-vps.rules.yml"
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))


def require_tool(name: str, install_hint: str, *, required_in_ci: bool = True) -> str:
    """Return the path of executable ``name``, or skip; under CI=true a required one fails."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None and Path("/usr/bin", name).exists():
        found = str(Path("/usr/bin", name))
    if found is not None:
        return found

    reason = f"{name} is not installed ({install_hint})"
    # The same reading of CI as tests/conftest.py's require_binary.
    if required_in_ci and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI must have it")
    pytest.skip(reason)


def run(*command: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with a time limit and return its result with text output."""
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def load_yaml(path: Path) -> Any:
    """Return the single YAML document in ``path``."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_rules() -> list[dict[str, Any]]:
    """Return every rule of the rules file, each with its group's name under ``group``."""
    rules = []
    for group in load_yaml(RULES_FILE)["groups"]:
        for rule in group["rules"]:
            rules.append({**rule, "group": group["name"]})
    return rules


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GRAFANA_VARIABLES = re.compile(r"\$\{[^}]*\}|\$\w+")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
# A name not preceded by a word character or a dot (a number's exponent) and not
# followed by an opening parenthesis (a function or an aggregation).
_IDENTIFIER = re.compile(r"(?<![\w.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
    }
)


def metric_names(expr: str) -> set[str]:
    """Return the metric names a PromQL expression (Grafana variables allowed) selects."""
    text = _STRINGS.sub('""', expr)
    text = _GRAFANA_VARIABLES.sub("1", text)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub("", text)
    return {name for name in _IDENTIFIER.findall(text) if name.lower() not in _KEYWORDS}
