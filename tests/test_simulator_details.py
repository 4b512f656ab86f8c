"""The simulated details, disks and other backups: `sim_vps` defaults, routes and generated mix."""

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from exporter.simulator import Fleet, SimulatorConfig, generate_fleet, sim_vps
from exporter.simulator.details import primary_disk_id, sim_disk, sim_ip
from tests.fleets import DELTA, ECHO, details_fleet
from tests.test_simulator_auth import Client, FakeClock, assert_ovh_error, simulated
from tests.test_simulator_routes import EXPANDED, signed

NAME = "vps-0a0b0c0d.vps.ovh.net"
TODAY = dt.date(2026, 1, 15)
NOON = dt.datetime(2026, 1, 15, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def test_sim_vps_detail_defaults_follow_its_other_facts() -> None:
    machine = sim_vps(NAME, zone="Region OpenStack: os-waw1", disk=80)
    details = machine.details

    assert machine.vps["slaMonitoring"] is False
    assert details.datacenter == {"name": "WAW", "longName": "Warsaw WAW1", "country": "pl"}
    assert details.distribution is not None
    assert (details.distribution["name"], details.distribution["distribution"]) == (
        "Debian 12",
        "debian12",
    )
    assert [(d.disk["id"], d.disk["size"], d.disk["type"], d.used) for d in details.disks] == [
        (primary_disk_id(NAME), 80, "primary", {"unit": "MB", "value": 2560.0})
    ]
    assert [(ip["version"], ip["type"], ip["reverse"]) for ip in details.ips] == [
        ("v4", "primary", NAME),
        ("v6", "primary", None),
    ]
    assert {ip["geolocation"] for ip in details.ips} == {"pl"}
    assert details.options == ["automatedBackup"]
    assert details.snapshot is None
    assert details.migration2020 is not None
    assert details.migration2020["status"] == "notAvailable"
    assert details.migration2018 is None
    assert details.secondary_dns == []
    assert details.attached_backups == []
    assert details.veeam is None
    assert details.backup_ftp is None
    assert sim_vps(NAME, automated_backup=None).details.attached_backups is None


def test_sim_vps_options_follow_what_the_vps_holds_unless_given() -> None:
    machine = sim_vps(
        NAME,
        distribution="Windows Server 2022",
        disks=[sim_disk(1, 40, disk_type="primary"), sim_disk(2, 100)],
        snapshot="2026-01-14T10:00:00+01:00",
        veeam_restore_points=[],
        backup_ftp_quota_gb=100,
        automated_backup=None,
    )
    assert machine.details.options == [
        "additionalDisk",
        "ftpbackup",
        "snapshot",
        "veeam",
        "windows",
    ]
    assert sim_vps(NAME, options=["cpanel"]).details.options == ["cpanel"]


def test_sim_vps_copies_the_details_it_is_given() -> None:
    ips = [sim_ip("203.0.113.5", ip_type="primary")]
    disks = [sim_disk(1, 40, disk_type="primary")]

    machine = sim_vps(NAME, ips=ips, disks=disks)
    ips[0]["reverse"] = "changed.example.com"
    disks[0].disk["size"] = 1

    assert machine.details.ips[0]["reverse"] is None
    assert machine.details.disks[0].disk["size"] == 40
    assert sim_ip("2001:db8::5")["version"] == "v6"


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    """A simulator serving the details fleet, on the fake clock."""
    async with simulated(details_fleet(), SimulatorConfig(clock=FakeClock())) as client:
        yield client


@pytest.mark.parametrize(
    ("vps", "suffix"),
    [
        (ECHO, "migration2020"),
        (ECHO, "automatedBackup/attachedBackup"),
        (ECHO, "disks/7001/use?type=used"),
        (ECHO, "disks/9999"),
        (DELTA, "option/windows"),
        (DELTA, "ips/192.0.2.99"),
        (DELTA, "veeam/restorePoints/99"),
        ("vps-gone.vps.ovh.net", "datacenter"),
    ],
)
async def test_absent_things_get_ovh_404(client: Client, vps: str, suffix: str) -> None:
    response = await signed(client, f"/1.0/vps/{vps}/{suffix}")

    assert response.status == 404
    assert (await response.json())["class"] == "Client::NotFound"


async def test_disk_use_needs_a_statistic_type(client: Client) -> None:
    for query in ("", "?type=free"):
        response = await signed(client, f"/1.0/vps/{DELTA}/disks/5001/use{query}")
        assert response.status == 400
        assert (await response.json())["class"] == "Client::BadRequest"
    used = await signed(client, f"/1.0/vps/{DELTA}/disks/5002/use?type=used")
    assert await used.json() == {"unit": "MB", "value": 51200.5}
    largest = await signed(client, f"/1.0/vps/{DELTA}/disks/5002/use?type=max")
    assert await largest.json() == {"unit": "MB", "value": 102400.0}


async def test_list_routes_answer_ids_or_objects(client: Client) -> None:
    base = f"/1.0/vps/{DELTA}"
    ips = await (await signed(client, f"{base}/ips")).json()
    assert ips == ["203.0.113.40", "2001:db8:40::1", "198.51.100.7", "198.51.100.8"]
    ipv6 = await (await signed(client, f"{base}/ips/{quote(ips[1], safe='')}")).json()
    assert (ipv6["version"], ipv6["type"]) == ("v6", "primary")

    options = await (await signed(client, f"{base}/option", EXPANDED)).json()
    assert [(o["option"], o["state"]) for o in options] == [
        ("additionalDisk", "subscribed"),
        ("automatedBackup", "subscribed"),
        ("ftpbackup", "subscribed"),
        ("snapshot", "subscribed"),
        ("veeam", "subscribed"),
    ]
    points = await (await signed(client, f"{base}/veeam/restorePoints")).json()
    assert points == [1, 2, 3]
    domains = await (await signed(client, f"{base}/secondaryDnsDomains")).json()
    assert domains == ["example.com", "example.org"]


async def test_denied_detail_routes_answer_not_granted() -> None:
    denied = frozenset({"/vps/{serviceName}/disks/{id}/use"})
    config = SimulatorConfig(clock=FakeClock(), denied_routes=denied)
    async with simulated(details_fleet(), config) as client:
        response = await signed(client, f"/1.0/vps/{DELTA}/disks/5001/use?type=used")
        await assert_ovh_error(response, 403, "NOT_GRANTED_CALL")
        assert (await signed(client, f"/1.0/vps/{DELTA}/disks/5001")).status == 200


def test_a_generated_fleet_holds_every_detail_case() -> None:
    fleet: Fleet = generate_fleet(200, seed=3, today=TODAY)
    machines = [machine.details for machine in fleet.vps.values()]
    versions = {name: machine.vps["model"]["version"] for name, machine in fleet.vps.items()}

    distributions = Counter(d.distribution["name"] if d.distribution else None for d in machines)
    assert distributions["Debian 12"] >= 60
    assert min(distributions[name] for name in ("Windows Server 2022", None)) >= 1
    disk_states = Counter(disk.disk["state"] for d in machines for disk in d.disks)
    assert disk_states["pending"] >= 1
    assert sum(len(d.disks) > 1 for d in machines) >= 10
    reverses = [d.ips[0]["reverse"] for d in machines]
    assert reverses.count(None) >= 1
    assert sum(len(d.ips) > 2 for d in machines) >= 10
    assert 30 <= sum(d.snapshot is not None for d in machines) <= 70
    statuses = {
        name: d.migration2020["status"]
        for name, d in zip(fleet.vps, machines, strict=True)
        if d.migration2020
    }
    assert {versions[name] for name, status in statuses.items() if status != "notAvailable"} == {
        "2019v1"
    }
    assert "available" in statuses.values()
    assert any(d.secondary_dns for d in machines)
    veeam = [d.veeam["backup"] for d in machines if d.veeam is not None]
    assert veeam.count(False) >= 1
    assert veeam.count(True) >= 10
    ftp = [d.backup_ftp for d in machines if d.backup_ftp is not None]
    assert len(ftp) >= 10
    assert sum(item["readOnlyDate"] is not None for item in ftp) >= 1
    assert any(d.attached_backups for d in machines)
    assert sum(machine.vps["slaMonitoring"] for machine in fleet.vps.values()) >= 20
    dates = [
        dt.datetime.fromisoformat(point["creationTime"])
        for d in machines
        for point in d.veeam_restore_points
    ]
    assert all(date <= NOON for date in dates)
