"""The exporter against the simulated account, in one process: the exact value of every metric."""

from collections.abc import AsyncIterator

import httpx
import pytest

from exporter import __version__
from exporter.daemon import Daemon
from exporter.model import SERVICE_STATUSES, VPS_STATES
from exporter.scheduler import run_job
from exporter.simulator import Fleet, sim_task
from tests.fleets import ALPHA, BRAVO, CHARLIE, known_fleet
from tests.support import Series, demo_settings, running_daemon, running_simulator, scrape, select
from tests.support import value as sample


@pytest.fixture
async def exporter_and_fleet() -> AsyncIterator[tuple[Daemon, Fleet]]:
    fleet = known_fleet()
    async with (
        running_simulator(fleet) as endpoint,
        running_daemon(demo_settings(endpoint, account="prod")) as daemon,
    ):
        yield daemon, fleet


async def test_vps_details(exporter_and_fleet: tuple[Daemon, Fleet]) -> None:
    daemon, _ = exporter_and_fleet
    series = await scrape(daemon.port)

    assert select(series, "ovh_vps_info") == {
        frozenset(
            {
                "account": "prod",
                "vps": name,
                "display_name": display,
                "model": model,
                "offer": offer,
                "version": version,
                "zone": zone,
                "zone_type": "region",
                "offer_type": "ssd",
                "cluster": cluster,
            }.items()
        ): 1.0
        for name, display, model, offer, version, zone, cluster in [
            (
                ALPHA,
                "web front",
                "vps-2025-model1",
                "VPS-1",
                "2025v1",
                "Region OpenStack: os-sbg6",
                "os-sbg6-c01",
            ),
            (
                BRAVO,
                BRAVO,
                "vps-2025-model3",
                "VPS-3",
                "2025v1",
                "Region OpenStack: os-sbg6",
                "os-sbg6-c01",
            ),
            (
                CHARLIE,
                CHARLIE,
                "vps-2025-model1",
                "VPS-1",
                "2019v1",
                "Region OpenStack: os-gra9",
                "os-gra9-c02",
            ),
        ]
    }
    for name, current in [(ALPHA, "running"), (BRAVO, "rescued"), (CHARLIE, "stopped")]:
        states = {
            dict(labels)["state"]: v
            for labels, v in select(series, "ovh_vps_state", vps=name).items()
        }
        assert states == {state: 1.0 if state == current else 0.0 for state in VPS_STATES}

    expected = {
        "ovh_vps_vcores": (2, 8, 2),
        "ovh_vps_memory_bytes": (4294967296, 17179869184, 4294967296),
        "ovh_vps_rescue_mode": (0, 1, 0),
        "ovh_vps_locked": (0, 1, 0),
    }
    for metric, values in expected.items():
        for name, want in zip((ALPHA, BRAVO, CHARLIE), values, strict=True):
            assert sample(series, metric, account="prod", vps=name) == want, (metric, name)


async def test_tasks(exporter_and_fleet: tuple[Daemon, Fleet]) -> None:
    daemon, _ = exporter_and_fleet
    series = await scrape(daemon.port)

    def by_labels(metric: str) -> dict[tuple[str, str, str], float]:
        return {
            (d["vps"], d["state"], d["type"]): v
            for labels, v in select(series, metric).items()
            for d in [dict(labels)]
        }

    assert by_labels("ovh_vps_tasks") == {
        (ALPHA, "doing", "upgradeVm"): 1,
        (BRAVO, "error", "rebootVm"): 1,
        (BRAVO, "error", "reinstallVm"): 1,
        (BRAVO, "todo", "rebootVm"): 2,
    }
    assert by_labels("ovh_vps_task_oldest_timestamp_seconds") == {
        (ALPHA, "doing", "upgradeVm"): 1796113800,
        (BRAVO, "error", "rebootVm"): 1795158000,
        (BRAVO, "error", "reinstallVm"): 1796360400,
        (BRAVO, "todo", "rebootVm"): 1795158000,
    }
    assert select(series, "ovh_vps_task_errors_total") == {
        frozenset({"account": "prod", "vps": BRAVO, "type": "rebootVm"}.items()): 1,
        frozenset({"account": "prod", "vps": BRAVO, "type": "reinstallVm"}.items()): 1,
    }


async def test_backups(exporter_and_fleet: tuple[Daemon, Fleet]) -> None:
    daemon, _ = exporter_and_fleet
    series = await scrape(daemon.port)

    assert sample(series, "ovh_vps_automated_backup_enabled", account="prod", vps=ALPHA) == 1
    assert sample(series, "ovh_vps_automated_backup_enabled", account="prod", vps=BRAVO) == 0
    assert sample(series, "ovh_vps_automated_backup_enabled", account="prod", vps=CHARLIE) == 0
    assert select(series, "ovh_vps_automated_backup_last_restore_point_timestamp_seconds") == {
        frozenset({"account": "prod", "vps": ALPHA}.items()): 1796263800
    }
    assert select(series, "ovh_vps_automated_backup_restore_points") == {
        frozenset({"account": "prod", "vps": ALPHA, "state": "available"}.items()): 2,
        frozenset({"account": "prod", "vps": ALPHA, "state": "restoring"}.items()): 0,
        frozenset({"account": "prod", "vps": ALPHA, "state": "restored"}.items()): 0,
    }


async def test_billing(exporter_and_fleet: tuple[Daemon, Fleet]) -> None:
    daemon, _ = exporter_and_fleet
    series = await scrape(daemon.port)

    expected = {
        "ovh_vps_expiration_timestamp_seconds": (1799971200, 1797724800, 1803859200),
        "ovh_vps_renew_automatic": (1, 0, 1),
        "ovh_vps_delete_at_expiration": (0, 1, 0),
    }
    for metric, values in expected.items():
        for name, want in zip((ALPHA, BRAVO, CHARLIE), values, strict=True):
            assert sample(series, metric, account="prod", vps=name) == want, (metric, name)
    assert select(series, "ovh_vps_engaged_up_to_timestamp_seconds") == {
        frozenset({"account": "prod", "vps": BRAVO}.items()): 1814313600
    }
    for name, current in [(ALPHA, "ok"), (BRAVO, "expired"), (CHARLIE, "unPaid")]:
        statuses = {
            dict(labels)["status"]: v
            for labels, v in select(series, "ovh_vps_service_status", vps=name).items()
        }
        assert statuses == {s: 1.0 if s == current else 0.0 for s in SERVICE_STATUSES}


async def test_exporter_metrics(exporter_and_fleet: tuple[Daemon, Fleet]) -> None:
    daemon, _ = exporter_and_fleet
    series = await scrape(daemon.port)

    for job in ("vps", "tasks", "backups", "billing"):
        labels = {"account": "prod", "refresh_job": job}
        assert sample(series, "ovh_exporter_refresh_success", **labels) == 1
        assert sample(series, "ovh_exporter_refresh_failures_total", **labels) == 0
        assert sample(series, "ovh_exporter_refresh_duration_seconds", **labels) > 0
        last = sample(series, "ovh_exporter_refresh_last_success_timestamp_seconds", **labels)
        assert last == daemon.store.accounts[0].jobs[job].last_success

    requests = {
        (dict(labels)["route"], dict(labels)["code"]): v
        for labels, v in select(series, "ovh_exporter_api_requests_total").items()
    }
    # One expanded listing of the VPS and of each VPS's tasks, one automatedBackup and one
    # serviceInfos per VPS, restore points (available, restoring, restored) only where backups
    # are enabled, and the clock once;
    # billing for the whole account from one expanded /services and /me/payment/method each.
    assert requests == {
        ("/auth/time", "200"): 1,
        ("/vps", "200"): 1,
        ("/vps/{serviceName}/tasks", "200"): 3,
        ("/vps/{serviceName}/automatedBackup", "200"): 2,
        ("/vps/{serviceName}/automatedBackup", "404"): 1,
        ("/vps/{serviceName}/automatedBackup/restorePoints", "200"): 3,
        ("/vps/{serviceName}/serviceInfos", "200"): 3,
        ("/services", "200"): 1,
        ("/me", "200"): 1,
        ("/me/payment/method", "200"): 1,
        # The details, disks and other backups of each VPS (see test_integration_details):
        # no VPS of the 2016/2018 ranges, so no migration2018; 404 where there is nothing.
        ("/vps/{serviceName}/datacenter", "200"): 3,
        ("/vps/{serviceName}/distribution", "200"): 3,
        ("/vps/{serviceName}/ips", "200"): 3,
        ("/vps/{serviceName}/option", "200"): 3,
        ("/vps/{serviceName}/migration2020", "200"): 3,
        ("/vps/{serviceName}/secondaryDnsDomains", "200"): 3,
        ("/vps/{serviceName}/disks", "200"): 3,
        ("/vps/{serviceName}/disks/{id}/use", "200"): 3,
        ("/vps/{serviceName}/snapshot", "404"): 3,
        ("/vps/{serviceName}/automatedBackup/attachedBackup", "200"): 2,
        ("/vps/{serviceName}/automatedBackup/attachedBackup", "404"): 1,
        ("/vps/{serviceName}/veeam", "404"): 3,
        ("/vps/{serviceName}/backupftp", "404"): 3,
    }
    assert select(series, "ovh_exporter_parse_errors_total") == {}
    build = select(series, "ovh_exporter_build_info")
    assert len(build) == 1
    assert dict(next(iter(build)))["version"] == __version__


async def test_changes_reach_metrics_on_the_next_refresh(
    exporter_and_fleet: tuple[Daemon, Fleet],
) -> None:
    daemon, fleet = exporter_and_fleet
    state = daemon.store.accounts[0]
    refresher = daemon.refreshers[0]

    del fleet.vps[CHARLIE]
    fleet.vps[ALPHA].tasks.append(sim_task(3, "createSnapshot", "error"))
    fleet.vps[BRAVO].tasks[:2] = []  # Both errored tasks are gone: the counter stays.
    for job, refresh in refresher.jobs().items():
        await run_job(state, job, refresh, daemon.store)
    await daemon.exposition.flush()
    series = await scrape(daemon.port)

    assert not [key for key in series if ("vps", CHARLIE) in key[1]]
    assert select(series, "ovh_vps_task_errors_total") == {
        frozenset({"account": "prod", "vps": ALPHA, "type": "createSnapshot"}.items()): 1,
        frozenset({"account": "prod", "vps": BRAVO, "type": "rebootVm"}.items()): 1,
        frozenset({"account": "prod", "vps": BRAVO, "type": "reinstallVm"}.items()): 1,
    }
    assert select(series, "ovh_vps_tasks", vps=BRAVO) == {
        frozenset({"account": "prod", "vps": BRAVO, "state": "todo", "type": "rebootVm"}.items()): 2
    }


async def test_openmetrics_and_gzip(exporter_and_fleet: tuple[Daemon, Fleet]) -> None:
    daemon, _ = exporter_and_fleet
    url = f"http://127.0.0.1:{daemon.port}/metrics"
    async with httpx.AsyncClient() as client:
        openmetrics = await client.get(
            url, headers={"Accept": "application/openmetrics-text;version=1.0.0"}
        )
        gzipped = await client.get(url, headers={"Accept-Encoding": "gzip"})

    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    assert "ovh_vps_task_errors_total{" in openmetrics.text
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.text == daemon.exposition.current.text.decode()


def names(series: Series) -> set[str]:
    return {name for name, _ in series}
