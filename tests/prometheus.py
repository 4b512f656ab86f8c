"""A real Prometheus server for the end-to-end tests, started on a free loopback port."""

import asyncio
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import require_binary


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Prometheus:
    """Queries a running Prometheus through its HTTP API."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """Run an instant query; fails the test on an API error."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.url}/api/v1/query", params={"query": expr})
        body = response.json()
        assert body["status"] == "success", (expr, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def scalar(self, expr: str) -> float:
        """The value of a query that returns exactly one sample."""
        result = await self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    async def wait_for(self, expr: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll until a query returns something."""
        async with asyncio.timeout(timeout):
            while not (result := await self.query(expr)):
                await asyncio.sleep(0.25)
        return result


@asynccontextmanager
async def running_prometheus(
    tmp_path: Path, targets: list[str], rule_files: list[Path] | None = None
) -> AsyncIterator[Prometheus]:
    """Start Prometheus scraping `targets` every second; stop it on exit."""
    binary = require_binary("prometheus")
    config = tmp_path / "prometheus.yml"
    rules = "".join(f"  - {path}\n" for path in rule_files or [])
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        + (f"rule_files:\n{rules}" if rules else "")
        + "scrape_configs:\n  - job_name: ovh-vps\n    static_configs:\n"
        + f"      - targets: [{', '.join(targets)}]\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prometheus = Prometheus(f"http://127.0.0.1:{port}")
    try:
        async with asyncio.timeout(30):
            while True:
                assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
                try:
                    async with httpx.AsyncClient() as client:
                        if (await client.get(f"{prometheus.url}/-/ready")).status_code == 200:
                            break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        yield prometheus
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
