"""Certificates made at test time with the openssl binary: nothing is committed."""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI

# P-256 keys: quick to generate, and every TLS library reads them.
_NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


@dataclass(frozen=True)
class KeyPair:
    """A PEM certificate and its unencrypted PEM key."""

    cert: Path
    key: Path


def openssl() -> str:
    """The openssl binary: missing fails in CI and skips elsewhere."""
    path = shutil.which("openssl")
    if path is None:
        message = "openssl is not installed (Debian package 'openssl')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def _run(*args: str) -> None:
    """Run openssl quietly, failing the test with its output if it fails."""
    result = subprocess.run([openssl(), *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def self_signed(directory: Path, name: str = "server", host: str = "127.0.0.1") -> KeyPair:
    """A self-signed certificate for the IP address `host`, valid for one day."""
    pair = KeyPair(directory / f"{name}.crt", directory / f"{name}.key")
    _run(
        "req", "-x509", *_NEW_KEY, "-keyout", str(pair.key), "-out", str(pair.cert),
        "-days", "1", "-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host}",
    )  # fmt: skip
    return pair


def signed_by(ca: KeyPair, directory: Path, name: str) -> KeyPair:
    """A client certificate for `name`, signed by the certificate authority `ca`."""
    pair = KeyPair(directory / f"{name}.crt", directory / f"{name}.key")
    request = directory / f"{name}.csr"
    _run("req", "-new", *_NEW_KEY, "-keyout", str(pair.key), "-out", str(request),
         "-subj", f"/CN={name}")  # fmt: skip
    extensions = directory / f"{name}.ext"
    extensions.write_text("extendedKeyUsage=clientAuth\n", encoding="ascii")
    _run(
        "x509", "-req", "-in", str(request), "-CA", str(ca.cert), "-CAkey", str(ca.key),
        "-CAcreateserial", "-out", str(pair.cert), "-days", "1", "-extfile", str(extensions),
    )  # fmt: skip
    return pair
