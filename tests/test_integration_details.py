"""The exporter against the simulated account: the exact value of every detail, disk and backup."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from exporter import collector_details
from exporter.daemon import Daemon
from exporter.details import ROUTE_IPS, ROUTES
from exporter.metrics import MetricSpec
from exporter.scheduler import run_job
from exporter.settings import Settings
from exporter.simulator import Fleet, SimulatorConfig
from exporter.simulator.details import primary_disk_id
from tests.fleets import ALPHA, BRAVO, CHARLIE, DELTA, ECHO, details_fleet
from tests.support import Series, demo_settings, running_daemon, running_simulator, scrape, select
from tests.support import value as sample

KNOWN = (ALPHA, BRAVO, CHARLIE)
EVERY = (ALPHA, BRAVO, CHARLIE, DELTA, ECHO)
GIB = 1024**3
MIB = 1024**2

# Every metric the details, disks and other backups add.
NEW_METRICS = frozenset(
    spec.name for spec in vars(collector_details).values() if isinstance(spec, MetricSpec)
)


def settings(endpoint: str) -> Settings:
    """The exporter's settings for these tests."""
    return demo_settings(endpoint, account="prod")


@pytest.fixture
async def series() -> AsyncIterator[Series]:
    """One scrape of the exporter after its first refresh of the details fleet."""
    async with (
        running_simulator(details_fleet()) as endpoint,
        running_daemon(settings(endpoint)) as daemon,
    ):
        yield await scrape(daemon.port)


def by_vps(series: Series, name: str, **labels: str) -> dict[str, float]:
    """The samples of one metric with these labels, by VPS."""
    return {
        dict(label_set)["vps"]: value for label_set, value in select(series, name, **labels).items()
    }


def by_label(series: Series, name: str, label: str, vps: str) -> dict[str, float]:
    """The samples of one metric for one VPS, by the value of `label`."""
    return {
        dict(label_set)[label]: value for label_set, value in select(series, name, vps=vps).items()
    }


def info_labels(series: Series, name: str, *labels: str) -> dict[str, tuple[str, ...]]:
    """The labels of an info metric by VPS, each sample checked to be 1."""
    found = {}
    for label_set, value in select(series, name).items():
        assert value == 1, (name, label_set)
        named = dict(label_set)
        assert named["account"] == "prod"
        found[named["vps"]] = tuple(named[label] for label in labels)
    return found


async def test_lock_sla_and_ip_maximum(series: Series) -> None:
    assert info_labels(series, "ovh_vps_lock_info", "reason") == {
        BRAVO: ("abuse",),
        ECHO: ("billing",),
    }
    assert by_vps(series, "ovh_vps_sla_monitoring") == {
        ALPHA: 0,
        BRAVO: 0,
        CHARLIE: 0,
        DELTA: 1,
        ECHO: 0,
    }
    assert by_vps(series, "ovh_vps_maximum_additional_ips") == dict.fromkeys(EVERY, 16)
    assert by_vps(series, "ovh_vps_locked") == {ALPHA: 0, BRAVO: 1, CHARLIE: 0, DELTA: 0, ECHO: 1}
    assert by_vps(series, "ovh_vps_rescue_mode")[BRAVO] == 1


async def test_location_distribution_and_secondary_dns(series: Series) -> None:
    strasbourg = ("SBG", "Strasbourg SBG6", "fr")
    assert info_labels(series, "ovh_vps_location_info", "datacenter", "long_name", "country") == {
        ALPHA: strasbourg,
        BRAVO: strasbourg,
        CHARLIE: ("GRA", "Gravelines GRA9", "fr"),
        DELTA: ("BHS", "Beauharnois BHS5", "ca"),
        ECHO: ("MAD", "Madrid MAD", "es"),
    }
    debian = ("debian12", "Debian 12")
    assert info_labels(series, "ovh_vps_distribution_info", "distribution", "name") == {
        ALPHA: debian,
        BRAVO: debian,
        CHARLIE: debian,
        DELTA: ("ubuntu2404", "Ubuntu 24.04"),
        ECHO: ("win2022-std", "Windows Server 2022"),
    }
    assert by_vps(series, "ovh_vps_secondary_dns_domains") == {
        ALPHA: 0,
        BRAVO: 0,
        CHARLIE: 0,
        DELTA: 2,
        ECHO: 0,
    }


async def test_ips(series: Series) -> None:
    def counts(vps: str) -> dict[tuple[str, str], float]:
        """The IP counts of one VPS by (version, type)."""
        return {
            (dict(labels)["version"], dict(labels)["type"]): value
            for labels, value in select(series, "ovh_vps_ips", vps=vps).items()
        }

    primaries = {("v4", "primary"): 1, ("v6", "primary"): 1, ("v4", "additional"): 0}
    for name in KNOWN:
        assert counts(name) == {**primaries, ("v6", "additional"): 0}, name
    assert counts(DELTA) == {**primaries, ("v4", "additional"): 2, ("v6", "additional"): 0}
    assert counts(ECHO) == {
        ("v4", "primary"): 1,
        ("v6", "primary"): 0,
        ("v4", "additional"): 0,
        ("v6", "additional"): 0,
    }
    assert by_vps(series, "ovh_vps_primary_ipv4_reverse_set") == {
        ALPHA: 1,
        BRAVO: 1,
        CHARLIE: 1,
        DELTA: 0,
        ECHO: 1,
    }


async def test_options(series: Series) -> None:
    def subscribed(vps: str) -> set[str]:
        """The options subscribed by one VPS, checking there is a series for each."""
        options = by_label(series, "ovh_vps_option_subscribed", "option", vps)
        assert set(options) == {
            "additionalDisk",
            "automatedBackup",
            "cpanel",
            "ftpbackup",
            "plesk",
            "snapshot",
            "veeam",
            "windows",
        }
        assert set(options.values()) <= {0, 1}
        return {option for option, value in options.items() if value == 1}

    assert subscribed(ALPHA) == {"automatedBackup"}
    assert subscribed(BRAVO) == set()
    assert subscribed(CHARLIE) == {"automatedBackup"}
    assert subscribed(DELTA) == {
        "additionalDisk",
        "automatedBackup",
        "ftpbackup",
        "snapshot",
        "veeam",
    }
    assert subscribed(ECHO) == {"additionalDisk", "ftpbackup", "veeam", "windows"}


async def test_migrations(series: Series) -> None:
    def statuses(vps: str, migration: str) -> dict[str, float]:
        """The status series of one migration offer of one VPS."""
        return {
            dict(labels)["status"]: value
            for labels, value in select(
                series, "ovh_vps_migration_status", vps=vps, migration=migration
            ).items()
        }

    not_available = {"available": 0, "done": 0, "inProgress": 0, "notAvailable": 1}
    for name in KNOWN:
        assert statuses(name, "2020") == not_available, name
        assert statuses(name, "2018") == {}, name
    assert statuses(DELTA, "2020") == {**not_available, "available": 1, "notAvailable": 0}
    assert statuses(DELTA, "2018") == {
        "available": 0,
        "notAvailable": 0,
        "ongoing": 0,
        "planned": 1,
        "toPlan": 0,
    }
    assert statuses(ECHO, "2020") == statuses(ECHO, "2018") == {}
    assert select(series, "ovh_vps_migration_date_timestamp_seconds") == {
        frozenset({"account": "prod", "vps": DELTA, "migration": "2018"}.items()): 1799557200
    }


async def test_disks(series: Series) -> None:
    def per_disk(name: str) -> dict[tuple[str, str], float]:
        """The samples of one metric by (VPS, disk)."""
        return {
            (dict(labels)["vps"], dict(labels)["disk"]): value
            for labels, value in select(series, name).items()
        }

    defaults = {(name, str(primary_disk_id(name))) for name in KNOWN}
    types = {
        (dict(labels)["vps"], dict(labels)["disk"]): dict(labels)["type"]
        for labels in select(series, "ovh_vps_disk_info")
    }
    assert types == {
        **dict.fromkeys(defaults, "primary"),
        (DELTA, "5001"): "primary",
        (DELTA, "5002"): "additional",
        (ECHO, "7001"): "primary",
        (ECHO, "7002"): "additional",
    }
    assert set(select(series, "ovh_vps_disk_info").values()) == {1}
    assert per_disk("ovh_vps_disk_size_bytes") == {
        **dict.fromkeys(defaults, 40 * GIB),
        (DELTA, "5001"): 20 * GIB,
        (DELTA, "5002"): 100 * GIB,
        (ECHO, "7001"): 80 * GIB,
        (ECHO, "7002"): 50 * GIB,
    }
    assert per_disk("ovh_vps_disk_used_bytes") == {
        **dict.fromkeys(defaults, 2560 * MIB),
        (DELTA, "5001"): 10240 * MIB,
        (DELTA, "5002"): 53687615488,
    }
    states = {
        (dict(labels)["vps"], dict(labels)["disk"], dict(labels)["state"]): value
        for labels, value in select(series, "ovh_vps_disk_state").items()
    }
    current = dict.fromkeys(per_disk("ovh_vps_disk_size_bytes"), "connected")
    current[(ECHO, "7002")] = "pending"
    assert states == {
        (vps, disk, state): 1 if state == now else 0
        for (vps, disk), now in current.items()
        for state in ("connected", "disconnected", "pending")
    }
    assert by_vps(series, "ovh_vps_disks_size_bytes") == {
        **dict.fromkeys(KNOWN, 40 * GIB),
        DELTA: 120 * GIB,
        ECHO: 130 * GIB,
    }
    assert by_vps(series, "ovh_vps_disks_used_bytes") == {
        **dict.fromkeys(KNOWN, 2560 * MIB),
        DELTA: 10240 * MIB + 53687615488,
    }


async def test_automated_backup_plan_and_restore_points(series: Series) -> None:
    assert by_vps(series, "ovh_vps_automated_backup_rotation") == {
        ALPHA: 7,
        CHARLIE: 7,
        DELTA: 14,
    }
    assert by_vps(series, "ovh_vps_automated_backup_schedule_seconds") == {
        ALPHA: 3 * 3600,
        DELTA: 5400,
    }
    assert by_label(series, "ovh_vps_automated_backup_restore_points", "state", DELTA) == {
        "available": 1,
        "restoring": 1,
        "restored": 2,
    }
    assert by_label(series, "ovh_vps_automated_backup_restore_points", "state", ALPHA) == {
        "available": 2,
        "restoring": 0,
        "restored": 0,
    }
    assert by_vps(series, "ovh_vps_automated_backup_attached_backups") == {
        ALPHA: 0,
        CHARLIE: 0,
        DELTA: 1,
    }


async def test_snapshot_veeam_and_ftp_backup(series: Series) -> None:
    assert by_vps(series, "ovh_vps_snapshot_present") == {
        ALPHA: 0,
        BRAVO: 0,
        CHARLIE: 0,
        DELTA: 1,
        ECHO: 0,
    }
    assert by_vps(series, "ovh_vps_snapshot_creation_timestamp_seconds") == {DELTA: 1796246100}
    assert by_vps(series, "ovh_vps_veeam_enabled") == {
        ALPHA: 0,
        BRAVO: 0,
        CHARLIE: 0,
        DELTA: 1,
        ECHO: 0,
    }
    assert by_vps(series, "ovh_vps_veeam_restore_points") == {DELTA: 3}
    assert by_vps(series, "ovh_vps_veeam_last_restore_point_timestamp_seconds") == {
        DELTA: 1796259600
    }
    assert by_vps(series, "ovh_vps_backup_ftp_quota_bytes") == {DELTA: 100 * GIB, ECHO: 10 * GIB}
    assert by_vps(series, "ovh_vps_backup_ftp_usage_bytes") == {
        DELTA: 1536 * MIB,
        ECHO: 10300 * MIB,
    }
    assert by_vps(series, "ovh_vps_backup_ftp_read_only_since_timestamp_seconds") == {
        ECHO: 1796108400
    }


async def test_every_new_metric_is_exposed_and_parsed_without_surprise(series: Series) -> None:
    exposed = {name for name, _ in series}

    assert NEW_METRICS - exposed == set()
    assert len(NEW_METRICS) == 28
    surprises = {
        dict(labels)["route"]: value
        for labels, value in select(series, "ovh_exporter_parse_errors_total").items()
    }
    assert set(surprises) & set(ROUTES) == set()
    for job in ("details", "disks", "backups"):
        assert sample(series, "ovh_exporter_refresh_success", account="prod", refresh_job=job) == 1


async def run_every_job_once(daemon: Daemon) -> None:
    """Wait until every job of the account has run once, whatever its outcome."""
    state = daemon.store.accounts[0]
    async with asyncio.timeout(20):
        while set(state.jobs) != set(state.intervals):
            await asyncio.sleep(0.02)
    await daemon.exposition.flush()


def outside(series: Series, names: frozenset[str]) -> Series:
    """The VPS samples of every metric but `names`."""
    return {
        key: value
        for key, value in series.items()
        if key[0].startswith("ovh_vps_") and key[0] not in names
    }


async def scrape_fleet(fleet: Fleet, config: SimulatorConfig | None = None) -> Series:
    """Run the exporter once on a fleet and scrape it."""
    async with running_simulator(fleet, config) as endpoint:
        daemon = Daemon(settings(endpoint))
        await daemon.start()
        try:
            await run_every_job_once(daemon)
            return await scrape(daemon.port)
        finally:
            await daemon.stop()


async def test_denied_routes_leave_every_other_series_alone() -> None:
    fleet = details_fleet()
    baseline = await scrape_fleet(fleet)
    denied = await scrape_fleet(fleet, SimulatorConfig(denied_routes=frozenset(ROUTES)))

    # Facts of /vps/{serviceName} and /automatedBackup are not on the denied routes.
    kept = {
        "ovh_vps_lock_info",
        "ovh_vps_sla_monitoring",
        "ovh_vps_maximum_additional_ips",
        "ovh_vps_automated_backup_rotation",
        "ovh_vps_automated_backup_schedule_seconds",
    }
    assert outside(denied, NEW_METRICS - kept) == outside(baseline, NEW_METRICS - kept)
    assert {name for name, _ in denied} & NEW_METRICS == kept
    assert select(denied, "ovh_vps_automated_backup_restore_points", vps=DELTA) == select(
        baseline, "ovh_vps_automated_backup_restore_points", vps=DELTA
    )
    success = {
        dict(labels)["refresh_job"]: value
        for labels, value in select(denied, "ovh_exporter_refresh_success").items()
    }
    assert success == {
        "vps": 1,
        "tasks": 1,
        "billing": 1,
        "account": 1,
        "backups": 0,
        "details": 0,
        "disks": 0,
    }


async def test_a_failed_route_keeps_its_last_value_and_spoils_nothing_else() -> None:
    fleet = details_fleet()
    config = SimulatorConfig()
    # The fleet changes behind the exporter's back: nothing signals it, so every run reads.
    async with (
        running_simulator(fleet, config) as endpoint,
        running_daemon(demo_settings(endpoint, account="prod", reread_after=0)) as daemon,
    ):
        state, refresher = daemon.store.accounts[0], daemon.refreshers[0]
        config.denied_routes = frozenset({ROUTE_IPS})
        fleet.vps[DELTA].details.datacenter = {
            "name": "GRA",
            "longName": "Gravelines GRA11",
            "country": "fr",
        }
        fleet.vps[DELTA].details.ips.pop()
        await run_job(state, "details", refresher.refresh_details, daemon.store)
        await daemon.exposition.flush()
        series = await scrape(daemon.port)

    assert select(series, "ovh_vps_location_info", vps=DELTA) == {
        frozenset(
            {
                "account": "prod",
                "vps": DELTA,
                "datacenter": "GRA",
                "long_name": "Gravelines GRA11",
                "country": "fr",
            }.items()
        ): 1
    }
    # The IPs could not be read again: the last good count stays until it is stale.
    assert select(series, "ovh_vps_ips", vps=DELTA, version="v4", type="additional") == {
        frozenset(
            {"account": "prod", "vps": DELTA, "version": "v4", "type": "additional"}.items()
        ): 2
    }
    assert state.jobs["details"].success is False
