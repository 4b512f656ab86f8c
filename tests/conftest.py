"""Fixtures shared by the test suite."""

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from exporter.settings import CREDENTIAL_VARS

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str, package: str = "prometheus") -> str:
    """The path of a binary the test needs: missing fails in CI and skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package '{package}')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


# OVHcloud's OpenAPI files and the capture spec live beside the project, not in it.
SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_json(relative: str) -> Any:
    """A JSON file of ../shared; missing, it fails the run in CI and skips the module elsewhere."""
    path = SHARED / relative
    if not path.is_file():
        message = f"{path} is missing: these tests read OVHcloud's API description from ../shared"
        if IN_CI:
            raise FileNotFoundError(message)
        pytest.skip(message, allow_module_level=True)
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own OVH or exporter settings."""
    for name in list(os.environ):
        if name.startswith("OVH_"):
            monkeypatch.delenv(name)
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(f"{name}_FILE", raising=False)
