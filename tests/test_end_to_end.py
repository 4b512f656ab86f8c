"""End to end: the installed command against the simulator, scraped by a real Prometheus."""

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exporter import simulator
from tests.fleets import ALPHA, BRAVO, known_fleet
from tests.prometheus import Prometheus, free_port, running_prometheus
from tests.support import running_simulator

pytestmark = pytest.mark.prometheus


@pytest.fixture
async def exporter_port(tmp_path: Path) -> AsyncIterator[int]:
    """Run `ovh-vps-exporter` as a subprocess against the simulator; yields its port."""
    port = free_port()
    async with running_simulator(known_fleet()) as endpoint:
        environment = {
            "PATH": os.environ["PATH"],
            "OVH_ENDPOINT": endpoint,
            "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
            "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
            "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
            "OVH_EXPORTER_ACCOUNT": "e2e",
        }
        log = (tmp_path / "exporter.log").open("w")
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("ovh-vps-exporter")),
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.format=json",
            ],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            await _wait_ready(port, process, tmp_path / "exporter.log")
            yield port
        finally:
            process.terminate()
            exit_code = await asyncio.to_thread(process.wait, 15)
            log.close()
        assert exit_code == 0, (tmp_path / "exporter.log").read_text()


async def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    async with asyncio.timeout(30), httpx.AsyncClient() as client:
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


@pytest.fixture
async def prometheus(tmp_path: Path, exporter_port: int) -> AsyncIterator[Prometheus]:
    async with running_prometheus(tmp_path, [f"127.0.0.1:{exporter_port}"]) as server:
        await server.wait_for('up{job="ovh-vps"} == 1')
        await server.wait_for("ovh_vps_info")
        yield server


async def test_prometheus_sees_the_fleet(prometheus: Prometheus) -> None:
    assert await prometheus.scalar('count(ovh_vps_state{state="running"} == 1)') == 1
    assert await prometheus.scalar("count(ovh_vps_info)") == 3
    assert await prometheus.scalar(f'ovh_vps_expiration_timestamp_seconds{{vps="{BRAVO}"}}') == (
        1797724800
    )
    assert await prometheus.scalar('sum(ovh_vps_tasks{state="error"})') == 2
    assert await prometheus.scalar(
        f'ovh_vps_automated_backup_last_restore_point_timestamp_seconds{{vps="{ALPHA}"}}'
    ) == (1796263800)
    assert await prometheus.scalar("min(ovh_exporter_refresh_success)") == 1
    jobs = await prometheus.query('ovh_exporter_refresh_success{account="e2e"}')
    assert sorted(sample["metric"]["refresh_job"] for sample in jobs) == [
        "account",
        "backups",
        "billing",
        "details",
        "disks",
        "tasks",
        "vps",
    ]
    assert await prometheus.scalar('count(ovh_vps_renew_automatic{account="e2e"} == 0)') == 1
