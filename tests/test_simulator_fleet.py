"""The simulated fleet: `sim_vps` defaults and overrides, and `generate_fleet`'s mix."""

import dataclasses
import datetime as dt
import json
import re
from collections import Counter
from typing import Any

import pytest

from exporter.simulator import Fleet, SimVps, generate_fleet, sim_task, sim_vps

TODAY = dt.date(2026, 1, 15)
# generate_fleet describes the account at noon of `today`, Paris winter time.
NOON = dt.datetime(2026, 1, 15, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))
NAME = "vps-0a0b0c0d.vps.ovh.net"


def as_json(fleet: Fleet) -> str:
    """Serialise a whole fleet, for comparing fleets byte for byte."""
    return json.dumps(dataclasses.asdict(fleet), sort_keys=True)


def moment(text: str) -> dt.datetime:
    """Parse an OVH date-time, which always carries an offset."""
    parsed = dt.datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed


def test_sim_vps_defaults() -> None:
    machine = sim_vps(NAME)

    vps, infos = machine.vps, machine.service_infos
    assert vps["name"] == vps["displayName"] == NAME
    assert vps["state"] == "running"
    assert vps["model"]["name"] == "vps-2025-model1"
    assert vps["model"]["offer"] == "VPS-1"
    assert vps["model"]["version"] == "2025v1"
    assert vps["vcore"] == vps["model"]["vcore"] == 2
    assert vps["memoryLimit"] == vps["model"]["memory"] == 4096
    assert vps["zone"] == "Region OpenStack: os-sbg6"
    assert vps["zoneType"] == "region"
    assert vps["offerType"] == "ssd"
    assert vps["netbootMode"] == "local"
    assert vps["lockStatus"] == {"locked": False, "reason": ""}
    assert infos["expiration"] == "2027-01-15"
    assert infos["creation"] == "2025-01-15"
    assert infos["engagedUpTo"] is None
    assert infos["status"] == "ok"
    assert infos["renew"]["automatic"] is True
    assert infos["renew"]["deleteAtExpiration"] is False
    assert machine.automated_backup == {
        "state": "enabled",
        "schedule": "03:00:00",
        "rotation": 7,
        "serviceResourceName": NAME,
    }
    assert machine.tasks == []
    assert machine.restore_points == {}


def test_sim_vps_service_ids_are_stable_and_differ_by_name() -> None:
    first = sim_vps(NAME).service_infos["serviceId"]

    assert sim_vps(NAME).service_infos["serviceId"] == first
    assert sim_vps("vps-ffffffff.vps.ovh.net").service_infos["serviceId"] != first
    assert sim_vps(NAME, service_id=42).service_infos["serviceId"] == 42


OVERRIDES: list[tuple[str, Any, str]] = [
    ("state", "rescued", "vps.state"),
    ("display_name", "web-01", "vps.displayName"),
    ("model_name", "vps-2025-model3", "vps.model.name"),
    ("offer", "VPS-3", "vps.model.offer"),
    ("version", "2019v1", "vps.model.version"),
    ("vcore", 8, "vps.vcore"),
    ("memory_limit", 16384, "vps.memoryLimit"),
    ("zone", "Region OpenStack: os-gra11", "vps.zone"),
    ("zone_type", "localzone", "vps.zoneType"),
    ("offer_type", "cloud", "vps.offerType"),
    ("cluster", "os-gra11-c04", "vps.cluster"),
    ("netboot_mode", "rescue", "vps.netbootMode"),
    ("locked", True, "vps.lockStatus.locked"),
    ("lock_reason", "abuse", "vps.lockStatus.reason"),
    ("expiration", "2026-02-01", "service_infos.expiration"),
    ("renew_automatic", False, "service_infos.renew.automatic"),
    ("delete_at_expiration", True, "service_infos.renew.deleteAtExpiration"),
    ("service_status", "unPaid", "service_infos.status"),
    ("engaged_up_to", "2026-06-30", "service_infos.engagedUpTo"),
    ("creation", "2024-03-03", "service_infos.creation"),
]


@pytest.mark.parametrize(("keyword", "value", "where"), OVERRIDES, ids=[o[0] for o in OVERRIDES])
def test_sim_vps_overrides_land_where_ovh_puts_them(keyword: str, value: Any, where: str) -> None:
    machine = sim_vps(NAME, **{keyword: value})

    first, *rest = where.split(".")
    found = getattr(machine, first)
    for key in rest:
        found = found[key]
    assert found == value
    assert getattr(sim_vps(NAME), first) != getattr(machine, first)


def test_sim_vps_copies_what_it_is_given() -> None:
    tasks = [sim_task(1, "migrate", "todo")]
    backup = {"state": "disabled", "schedule": None, "rotation": 7}
    points = {"available": ["2026-01-15T03:00:00+01:00"]}

    machine = sim_vps(NAME, tasks=tasks, automated_backup=backup, restore_points=points)
    tasks[0]["state"] = "done"
    backup["state"] = "enabled"
    points["available"].clear()

    assert machine.tasks == [
        {
            "id": 1,
            "type": "migrate",
            "state": "todo",
            "date": "2026-01-15T10:00:00+01:00",
            "progress": 0,
        }
    ]
    assert machine.automated_backup == {"state": "disabled", "schedule": None, "rotation": 7}
    assert machine.restore_points == {"available": ["2026-01-15T03:00:00+01:00"]}
    assert sim_vps(NAME, automated_backup=None).automated_backup is None


def test_fleet_of_keys_and_orders_by_name() -> None:
    fleet = Fleet.of(sim_vps("vps-b.vps.ovh.net"), sim_vps("vps-a.vps.ovh.net"))

    assert list(fleet.vps) == ["vps-a.vps.ovh.net", "vps-b.vps.ovh.net"]
    assert fleet.vps["vps-b.vps.ovh.net"].name == "vps-b.vps.ovh.net"


def test_generate_fleet_is_deterministic() -> None:
    assert as_json(generate_fleet(60, seed=5, today=TODAY)) == as_json(
        generate_fleet(60, seed=5, today=TODAY)
    )


def test_generate_fleet_differs_across_seeds_and_days() -> None:
    base = generate_fleet(60, seed=5, today=TODAY)
    other_seed = generate_fleet(60, seed=6, today=TODAY)
    next_day = generate_fleet(60, seed=5, today=TODAY + dt.timedelta(days=1))

    assert set(base.vps).isdisjoint(other_seed.vps)
    assert list(next_day.vps) == list(base.vps)
    assert as_json(next_day) != as_json(base)
    shifted = [
        dt.date.fromisoformat(machine.service_infos["expiration"]) - dt.timedelta(days=1)
        for machine in next_day.vps.values()
    ]
    assert shifted == [
        dt.date.fromisoformat(machine.service_infos["expiration"]) for machine in base.vps.values()
    ]


@pytest.mark.parametrize("size", [0, 1, 7])
def test_small_fleets(size: int) -> None:
    fleet = generate_fleet(size, seed=1, today=TODAY)

    assert len(fleet.vps) == size
    assert sum(machine.vps["state"] == "running" for machine in fleet.vps.values()) >= size // 2


def test_names_ids_and_order() -> None:
    fleet = generate_fleet(300, seed=2, today=TODAY)
    machines = list(fleet.vps.values())

    assert list(fleet.vps) == sorted(fleet.vps)
    assert all(re.fullmatch(r"vps-[0-9a-f]{8}\.vps\.ovh\.net", name) for name in fleet.vps)
    assert all(machine.vps["name"] == name for name, machine in fleet.vps.items())
    assert len({m.service_infos["serviceId"] for m in machines}) == 300
    task_ids = [task["id"] for machine in machines for task in machine.tasks]
    assert len(task_ids) == len(set(task_ids)) > 30


def newest_point(machine: SimVps) -> dt.datetime | None:
    """The newest available restore point of a VPS, if any."""
    points = machine.restore_points.get("available", [])
    return max(map(moment, points)) if points else None


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_a_fleet_of_200_holds_every_case(seed: int) -> None:
    machines = list(generate_fleet(200, seed=seed, today=TODAY).vps.values())
    states = Counter(machine.vps["state"] for machine in machines)
    tasks = [task for machine in machines for task in machine.tasks]
    backups = Counter(
        "absent" if m.automated_backup is None else m.automated_backup["state"] for m in machines
    )
    statuses = Counter(machine.service_infos["status"] for machine in machines)
    renewals = [machine.service_infos["renew"] for machine in machines]
    expirations = [dt.date.fromisoformat(m.service_infos["expiration"]) for m in machines]
    newest = [newest_point(m) for m in machines if m.automated_backup is not None]

    assert states["running"] >= 150
    assert min(states[state] for state in ("stopped", "rescued", "installing")) >= 1
    assert all(m.vps["netbootMode"] == "rescue" for m in machines if m.vps["state"] == "rescued")
    assert any(machine.vps["lockStatus"]["locked"] for machine in machines)
    assert all(m.vps["lockStatus"]["reason"] for m in machines if m.vps["lockStatus"]["locked"])

    task_states = Counter(task["state"] for task in tasks)
    assert min(task_states[state] for state in ("doing", "todo", "error")) >= 1
    stuck = [
        task
        for task in tasks
        if task["state"] == "doing" and NOON - moment(task["date"]) >= dt.timedelta(days=2)
    ]
    assert 1 <= len(stuck) <= 10
    assert all(moment(task["date"]) <= NOON for task in tasks)

    assert backups["enabled"] >= 150
    assert backups["disabled"] >= 1
    assert backups["absent"] >= 1
    fresh = [point for point in newest if point and NOON - point < dt.timedelta(days=1)]
    stale = [point for point in newest if point and NOON - point >= dt.timedelta(days=3)]
    assert len(fresh) >= 150
    assert 1 <= len(stale) <= 10
    assert all(point <= NOON for point in newest if point)

    assert sum(not renew["automatic"] for renew in renewals) >= 3
    assert sum(renew["deleteAtExpiration"] for renew in renewals) == 1
    assert min(statuses[status] for status in ("expired", "unPaid", "pendingDebt")) >= 1
    assert all(
        expiration < TODAY
        for machine, expiration in zip(machines, expirations, strict=True)
        if machine.service_infos["status"] == "expired"
    )
    ongoing = [expiration for expiration in expirations if expiration >= TODAY]
    assert min(ongoing) <= TODAY + dt.timedelta(days=30)
    assert max(ongoing) >= TODAY + dt.timedelta(days=300)


def test_restore_points_follow_the_backup_rotation() -> None:
    fleet = generate_fleet(100, seed=9, today=TODAY)

    for machine in fleet.vps.values():
        backup = machine.automated_backup
        points = [
            moment(point)
            for state_points in machine.restore_points.values()
            for point in state_points
        ]
        if backup is None or backup["state"] == "disabled":
            assert points == []
            continue
        assert len(points) == backup["rotation"]
        schedule = dt.time.fromisoformat(backup["schedule"])
        assert all(point.timetz().replace(tzinfo=None) == schedule for point in points)
        available = machine.restore_points["available"]
        assert available == sorted(available)
