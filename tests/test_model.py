"""Parsing OVH answers: surprises are recorded, never raised, and good fields are kept."""

import pytest

from exporter.collector import SnapshotCollector
from exporter.model import (
    ParseProblem,
    Vps,
    newest_restore_point,
    parse_service_infos,
    parse_timestamp,
    parse_vps,
    summarize_tasks,
)
from exporter.settings import JOBS
from exporter.store import AccountState, Entry, Snapshot

ROUTE = "/vps/{serviceName}"


def test_vps_with_every_field() -> None:
    problems: list[ParseProblem] = []
    vps = parse_vps(
        {
            "name": "vps-1.vps.ovh.net",
            "displayName": "db",
            "state": "running",
            "model": {"name": "vps-2025-model2", "offer": "VPS-2", "version": "2025v1"},
            "zone": "Region OpenStack: os-gra9",
            "zoneType": "region",
            "offerType": "ssd",
            "cluster": "os-gra9-c01",
            "vcore": 4,
            "memoryLimit": 8192,
            "netbootMode": "local",
            "lockStatus": {"locked": False, "reason": ""},
        },
        ROUTE,
        problems,
    )

    assert vps == Vps(
        name="vps-1.vps.ovh.net",
        display_name="db",
        state="running",
        model="vps-2025-model2",
        offer="VPS-2",
        version="2025v1",
        zone="Region OpenStack: os-gra9",
        zone_type="region",
        offer_type="ssd",
        cluster="os-gra9-c01",
        vcores=4,
        memory_bytes=8589934592,
        netboot_mode="local",
        locked=False,
    )
    assert problems == []


def test_vps_surprises_are_recorded_and_the_rest_kept() -> None:
    problems: list[ParseProblem] = []
    vps = parse_vps(
        {
            "name": "vps-2.vps.ovh.net",
            "state": "hibernating",
            "vcore": "four",
            "memoryLimit": 2048.5,
            "model": ["not", "an", "object"],
            "lockStatus": None,
            "displayName": None,
            "somethingNew": {"x": 1},
        },
        ROUTE,
        problems,
    )

    assert vps is not None
    assert (vps.state, vps.vcores, vps.memory_bytes, vps.model, vps.locked) == (
        "hibernating",
        None,
        None,
        "",
        None,
    )
    assert problems == [
        ParseProblem(ROUTE, "model", "expected an object, got list"),
        ParseProblem(ROUTE, "memoryLimit", "expected a whole number, got 2048.5"),
        ParseProblem(ROUTE, "state", "unknown value 'hibernating'"),
        ParseProblem(ROUTE, "vcore", "expected a number, got str"),
    ]


@pytest.mark.parametrize("body", [None, [], "vps", {"name": ""}, {"name": 12}])
def test_vps_without_a_name_is_skipped(body: object) -> None:
    problems: list[ParseProblem] = []

    assert parse_vps(body, ROUTE, problems) is None
    assert problems


def test_task_summary_ignores_finished_tasks_and_keeps_the_oldest_date() -> None:
    problems: list[ParseProblem] = []
    summary = summarize_tasks(
        [
            {"id": 1, "type": "rebootVm", "state": "todo", "date": "2026-12-01T10:00:00+01:00"},
            {"id": 2, "type": "rebootVm", "state": "todo", "date": "2026-12-01T08:00:00Z"},
            {"id": 3, "type": "rebootVm", "state": "done", "date": "2026-11-01T08:00:00Z"},
            {"id": 4, "type": "reinstallVm", "state": "error", "date": "not a date"},
            {"id": 5, "type": "stopVm", "state": "cancelled"},
            {"id": 6, "type": "migrate", "state": "sleeping"},
            "garbage",
        ],
        "/vps/{serviceName}/tasks",
        problems,
    )

    assert summary.counts == {
        ("todo", "rebootVm"): 2,
        ("error", "reinstallVm"): 1,
        ("sleeping", "migrate"): 1,
    }
    assert summary.oldest == {("todo", "rebootVm"): 1796112000.0}
    assert summary.error_ids == {4: "reinstallVm"}
    assert [problem.field for problem in problems] == ["date", "state", "(body)"]


def test_service_infos_dates_are_midnight_utc() -> None:
    problems: list[ParseProblem] = []
    info = parse_service_infos(
        {
            "status": "ok",
            "expiration": "2027-01-15",
            "engagedUpTo": None,
            "renew": {"automatic": True, "deleteAtExpiration": False},
        },
        "/vps/{serviceName}/serviceInfos",
        problems,
    )

    assert info.expiration == 1799971200.0
    assert info.engaged_up_to is None
    assert (info.status, info.renew_automatic, info.delete_at_expiration) == ("ok", True, False)
    assert problems == []


def test_restore_points() -> None:
    problems: list[ParseProblem] = []
    route = "/vps/{serviceName}/automatedBackup/restorePoints"

    assert newest_restore_point(
        ["2026-12-03T03:10:00+01:00", "2026-12-02T03:10:00+01:00", 7], route, problems
    ) == (3, 1796263800.0)
    assert problems == [ParseProblem(route, "[]", "not a date-time: '7'")]
    assert newest_restore_point({"oops": 1}, route, []) == (0, None)
    assert newest_restore_point([], route, []) == (0, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-04", 1796342400.0),
        ("2026-12-04T00:00:00", 1796342400.0),
        ("2026-12-04T01:00:00+01:00", 1796342400.0),
        ("2026-12-04T00:00:00.000Z", 1796342400.0),
        ("04/12/2026", None),
        ("", None),
    ],
)
def test_timestamps(text: str, expected: float | None) -> None:
    assert parse_timestamp(text) == expected


def test_unknown_state_gets_its_own_series_beside_the_known_ones() -> None:
    state = AccountState("default", dict.fromkeys(JOBS, 60.0), stale_after=3)
    problems: list[ParseProblem] = []
    vps = parse_vps({"name": "vps-9", "state": "hibernating"}, ROUTE, problems)
    assert vps is not None
    state.vps["vps-9"] = Entry(vps, updated=1000.0)
    snapshot = Snapshot(generation=1, created=1000.0, accounts=(state.snapshot(1000.0),))

    families = {family.name: family for family in SnapshotCollector(snapshot).collect()}
    values = {s.labels["state"]: s.value for s in families["ovh_vps_state"].samples}

    assert values["hibernating"] == 1.0
    assert sum(values.values()) == 1.0
    assert len(values) == 10


def test_stale_values_leave_the_snapshot() -> None:
    state = AccountState("default", dict.fromkeys(JOBS, 60.0), stale_after=3)
    vps = parse_vps({"name": "vps-9", "state": "running"}, ROUTE, [])
    assert vps is not None
    state.vps["vps-9"] = Entry(vps, updated=1000.0)

    assert list(state.snapshot(1000.0 + 180.0).vps) == ["vps-9"]
    assert list(state.snapshot(1000.0 + 180.1).vps) == []
