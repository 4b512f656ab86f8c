"""Fixtures shared by the test suite."""

import os
import shutil

import pytest

from exporter.settings import CREDENTIAL_VARS

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str) -> str:
    """The path of a binary the test needs: missing fails in CI and skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package 'prometheus')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own OVH or exporter settings."""
    for name in list(os.environ):
        if name.startswith("OVH_"):
            monkeypatch.delenv(name)
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(f"{name}_FILE", raising=False)
