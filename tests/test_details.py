"""Parsing the details, disks and other backups: surprises are recorded, never raised."""

from typing import Any

import pytest

from exporter.collector import SnapshotCollector
from exporter.details import (
    DISKS,
    IPS,
    LOCATION,
    MIGRATION_STATUSES,
    VPS_EXTRAS,
    BackupFtp,
    Disk,
    IpSummary,
    Location,
    Migration,
    VpsExtras,
    count_items,
    newest_veeam_point,
    parse_backup_ftp,
    parse_backup_plan,
    parse_bytes,
    parse_disk,
    parse_migration,
    parse_options,
    parse_snapshot,
    parse_veeam,
    parse_vps_extras,
    summarize_ips,
)
from exporter.facts import FactStore
from exporter.model import ParseProblem, parse_vps
from exporter.settings import JOBS
from exporter.store import AccountState, Entry, Snapshot

ROUTE = "/vps/{serviceName}/test"


def parsed(parse: Any, data: object, *args: Any) -> tuple[Any, list[tuple[str, str]]]:
    """Run a parser and return its result with the (field, detail) of each problem."""
    problems: list[ParseProblem] = []
    result = parse(data, ROUTE, problems, *args)
    assert all(problem.route == ROUTE for problem in problems)
    return result, [(problem.field, problem.detail) for problem in problems]


def test_vps_extras_keep_the_lock_reason_only_while_locked() -> None:
    locked = {
        "lockStatus": {"locked": True, "reason": "abuse"},
        "slaMonitoring": True,
        "model": {"maximumAdditionnalIp": 16},
    }
    assert parsed(parse_vps_extras, locked) == (VpsExtras("abuse", True, 16), [])
    unlocked = {"lockStatus": {"locked": False, "reason": "abuse"}, "slaMonitoring": None}
    assert parsed(parse_vps_extras, unlocked) == (VpsExtras(None, None, None), [])
    no_reason = {"lockStatus": {"locked": True, "reason": None}}
    assert parsed(parse_vps_extras, no_reason)[0].lock_reason == ""


def test_vps_extras_leave_the_complaints_about_shared_objects_to_parse_vps() -> None:
    body = {"name": "vps-1", "lockStatus": "locked", "model": [], "slaMonitoring": "yes"}
    vps_problems: list[ParseProblem] = []
    parse_vps(body, ROUTE, vps_problems)

    extras, problems = parsed(parse_vps_extras, body)

    assert extras == VpsExtras(None, None, None)
    assert problems == [("slaMonitoring", "expected a boolean, got str")]
    assert {problem.field for problem in vps_problems} == {"lockStatus", "model"}


def test_ips_are_counted_by_version_and_type_and_unknown_values_kept() -> None:
    items = [
        {"version": "v4", "type": "primary", "reverse": "vps-1.vps.ovh.net."},
        {"version": "v4", "type": "primary", "reverse": None},
        {"version": "v6", "type": "primary", "reverse": None},
        {"version": "v4", "type": "additional", "reverse": "mail.example.com."},
        {"version": "v4", "type": "failover"},
        {"version": None, "type": "additional"},
        {"type": "additional"},
        "203.0.113.9",
    ]

    summary, problems = parsed(summarize_ips, items)

    assert summary == IpSummary(
        counts={
            ("v4", "primary"): 2,
            ("v6", "primary"): 1,
            ("v4", "additional"): 1,
            ("v4", "failover"): 1,
        },
        primary_ipv4_reverse=True,
    )
    assert problems == [
        ("type", "unknown value 'failover'"),
        ("version", "missing"),
        ("version", "missing"),
        ("(body)", "expected an object, got str"),
    ]


@pytest.mark.parametrize(("reverse", "expected"), [("", False), ("  ", False), (None, False)])
def test_an_empty_reverse_is_no_reverse(reverse: str | None, expected: bool) -> None:
    summary, _ = parsed(summarize_ips, [{"version": "v4", "type": "primary", "reverse": reverse}])
    assert summary.primary_ipv4_reverse is expected
    assert parsed(summarize_ips, [])[0].primary_ipv4_reverse is None


def test_options_are_subscribed_only_in_state_subscribed() -> None:
    items = [
        {"option": "veeam", "state": "subscribed"},
        {"option": "snapshot", "state": "released"},
        {"option": "kvmExpress", "state": "subscribed"},
        {"option": "ftpbackup", "state": "suspended"},
        {"state": "subscribed"},
        3,
    ]

    options, problems = parsed(parse_options, items)

    assert options == {"veeam": True, "snapshot": False, "kvmExpress": True, "ftpbackup": False}
    assert problems == [
        ("option", "unknown value 'kvmExpress'"),
        ("state", "unknown value 'suspended'"),
        ("option", "missing"),
        ("(body)", "expected an object, got int"),
    ]


def test_migrations_keep_unknown_statuses_and_read_dates_with_or_without_time() -> None:
    statuses = MIGRATION_STATUSES["2020"]
    assert parsed(parse_migration, {"status": "available", "date": None}, statuses) == (
        Migration("available", None),
        [],
    )
    assert parsed(parse_migration, {"status": "done", "date": "2027-01-10"}, statuses) == (
        Migration("done", 1799539200.0),
        [],
    )
    assert parsed(parse_migration, {"status": "paused", "date": "soon"}, statuses) == (
        Migration("paused", None),
        [("status", "unknown value 'paused'"), ("date", "not a date: 'soon'")],
    )


def test_disks_need_an_id_and_their_size_is_in_gib() -> None:
    disk = {"id": 12, "size": 40, "type": "primary", "state": "connected", "extra": 1}
    assert parsed(parse_disk, disk) == (Disk("12", 40 * 1024**3, "primary", "connected"), [])
    assert parsed(parse_disk, {"size": 40}) == (None, [("id", "missing")])
    assert parsed(parse_disk, {"id": "twelve"}) == (None, [("id", "expected a number, got str")])
    odd = {"id": 13, "size": 2.5, "type": "nvme", "state": "resizing"}
    assert parsed(parse_disk, odd) == (
        Disk("13", None, "nvme", "resizing"),
        [
            ("size", "expected a whole number, got 2.5"),
            ("type", "unknown value 'nvme'"),
            ("state", "unknown value 'resizing'"),
        ],
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"unit": "MB", "value": 2560}, 2560 * 1024**2),
        ({"unit": "MB", "value": 0.5}, 512 * 1024),
        ({"unit": "GB", "value": 100}, 100 * 1024**3),
        ({"unit": "GiB", "value": 1}, 1024**3),
        ({"unit": "B", "value": 7}, 7),
        ({"unit": "TB", "value": 2}, 2 * 1024**4),
    ],
)
def test_amounts_of_storage_become_bytes(answer: dict[str, Any], expected: float) -> None:
    assert parsed(parse_bytes, answer) == (expected, [])


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"unit": "%", "value": 12}, ("unit", "unknown unit '%'")),
        ({"value": 12}, ("unit", "unknown unit None")),
        ({"unit": "MB", "value": "12"}, ("value", "expected a number, got str")),
        ({"unit": "MB", "value": True}, ("value", "expected a number, got bool")),
        ({"unit": "MB"}, ("value", "expected a number, got NoneType")),
    ],
)
def test_amounts_that_cannot_be_read_are_skipped(
    answer: dict[str, Any], problem: tuple[str, str]
) -> None:
    assert parsed(parse_bytes, answer) == (None, [problem])


def test_ftp_backup_amounts_and_read_only_date() -> None:
    ftp = {
        "quota": {"unit": "GB", "value": 100},
        "usage": {"unit": "MB", "value": 1536},
        "readOnlyDate": "2026-12-01T08:00:00+01:00",
    }
    assert parsed(parse_backup_ftp, ftp) == (
        BackupFtp(100 * 1024**3, 1536 * 1024**2, 1796108400.0),
        [],
    )
    empty = {"quota": None, "usage": None, "readOnlyDate": None}
    assert parsed(parse_backup_ftp, empty) == (BackupFtp(None, None, None), [])
    odd = {"quota": {"unit": "parsec", "value": 1}, "usage": 3}
    assert parsed(parse_backup_ftp, odd) == (
        BackupFtp(None, None, None),
        [
            ("quota.unit", "unknown unit 'parsec'"),
            ("usage", "expected an object, got int"),
            ("usage.value", "expected a number, got NoneType"),
        ],
    )


@pytest.mark.parametrize(
    ("answer", "expected", "problems"),
    [
        ({"rotation": 7, "schedule": "03:00:00"}, (7, 10800), []),
        ({"rotation": 14, "schedule": "23:45:30"}, (14, 85530), []),
        ({"rotation": 7, "schedule": None}, (7, None), []),
        ({}, (None, None), []),
        (
            {"rotation": "7", "schedule": "3h"},
            (None, None),
            [("schedule", "not a time of day: '3h'"), ("rotation", "expected a number, got str")],
        ),
    ],
)
def test_backup_plan(
    answer: dict[str, Any], expected: tuple[int | None, int | None], problems: list[Any]
) -> None:
    assert parsed(parse_backup_plan, answer) == (expected, problems)


def test_snapshot_veeam_and_lists() -> None:
    snapshot, problems = parsed(parse_snapshot, {"creationDate": "2026-12-02T22:15:00+01:00"})
    assert (snapshot.present, snapshot.created, problems) == (True, 1796246100.0, [])
    assert parsed(parse_snapshot, {"creationDate": None})[0].created is None

    assert parsed(parse_veeam, {"backup": True}) == (True, [])
    assert parsed(parse_veeam, {"backup": "on"}) == (
        None,
        [("backup", "expected a boolean, got str")],
    )

    points = [
        {"id": 1, "creationTime": "2026-12-01T02:00:00+01:00"},
        {"id": 2, "creationTime": "2026-12-03T02:00:00+01:00"},
        {"id": 3, "creationTime": "yesterday"},
    ]
    assert parsed(newest_veeam_point, points) == (
        (3, 1796259600.0),
        [("creationTime", "not a date: 'yesterday'")],
    )
    assert parsed(newest_veeam_point, []) == ((0, None), [])

    assert parsed(count_items, ["example.com", "example.org"]) == (2, [])
    assert parsed(count_items, {"domains": 2}) == (None, [("(body)", "expected a list, got dict")])


def test_facts_go_stale_with_the_interval_of_their_own_job() -> None:
    store = FactStore()
    store.put(LOCATION, "vps-1", Location("SBG", "Strasbourg SBG6", "fr"), now=1000.0)
    store.put(DISKS, "vps-1", (), now=1000.0)
    store.put(DISKS, "vps-gone", (), now=1000.0)
    intervals = {"details": 900.0, "disks": 60.0}

    later = store.snapshot(1000.0 + 3 * 60.0 + 1, intervals, 3, {"vps-1", "vps-gone"})
    assert dict(later.of(LOCATION)) == {"vps-1": Location("SBG", "Strasbourg SBG6", "fr")}
    assert dict(later.of(DISKS)) == {}
    assert dict(store.snapshot(1000.0, intervals, 3, {"vps-1"}).of(DISKS)) == {"vps-1": ()}
    assert dict(later.of(IPS)) == {}

    store.forget({"vps-1"})
    assert dict(store.snapshot(1000.0, intervals, 3, {"vps-1", "vps-gone"}).of(DISKS)) == {
        "vps-1": ()
    }


def test_unknown_enum_values_get_their_own_series_beside_the_known_ones() -> None:
    state = AccountState("default", dict.fromkeys(JOBS, 60.0), stale_after=3)
    vps = parse_vps({"name": "vps-9", "state": "running"}, ROUTE, [])
    assert vps is not None
    state.vps["vps-9"] = Entry(vps, updated=1000.0)
    state.facts.put(VPS_EXTRAS, "vps-9", VpsExtras("court order", None, None), 1000.0)
    state.facts.put(DISKS, "vps-9", (Disk("13", None, "nvme", "resizing", 1.0),), 1000.0)
    state.facts.put(IPS, "vps-9", IpSummary({("v5", "primary"): 1}), 1000.0)
    snapshot = Snapshot(generation=1, created=1000.0, accounts=(state.snapshot(1000.0),))

    families = {family.name: family for family in SnapshotCollector(snapshot).collect()}

    def values(name: str, label: str) -> dict[str, float]:
        """The samples of one family by the value of one label."""
        return {sample.labels[label]: sample.value for sample in families[name].samples}

    assert values("ovh_vps_disk_state", "state") == {
        "connected": 0,
        "disconnected": 0,
        "pending": 0,
        "resizing": 1,
    }
    assert values("ovh_vps_disk_info", "type") == {"nvme": 1}
    assert values("ovh_vps_ips", "version") == {"v4": 0, "v6": 0, "v5": 1}
    assert len(families["ovh_vps_ips"].samples) == 6
    assert values("ovh_vps_lock_info", "reason") == {"court order": 1}
    assert families["ovh_vps_disks_size_bytes"].samples == []
    assert [sample.value for sample in families["ovh_vps_disks_used_bytes"].samples] == [1.0]
