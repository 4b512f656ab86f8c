"""Parsing the 2API's answers: units, enum spellings, surprises counted and never raised."""

from typing import Any

import pytest

from exporter.manager import (
    ROUTE_CAPABILITIES,
    ROUTE_INFO,
    ROUTE_TABSUMMARY,
    ROUTE_TASKS_ERROR,
    ManagerState,
    OptionStatus,
    count_tasks,
    normalise,
    parse_capabilities,
    parse_info,
    parse_tabsummary,
)
from exporter.model import ParseProblem

GIB = 1024**3


def info(**fields: Any) -> dict[str, Any]:
    """A TVpsInfo with the fields the parser reads, overridden by `fields`."""
    return {
        "model": "vps-2025-model1",
        "version": "2025v1",
        "offerType": "ssd",
        "zoneType": "region",
        "distribution": {"name": "Debian 12", "id": "debian12"},
        "location": {"country": "fr", "datacentre": "SBG", "longName": "Strasbourg SBG6"},
        "diskUsed": {"unit": "GB", "value": 12.5},
        "diskTotal": {"unit": "GB", "value": 40},
        "traficUsed": {"unit": "TB", "value": 1.5},
        "traficTotal": None,
        "shouldReengage": None,
    } | fields


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ({"unit": "B", "value": 512}, 512),
        ({"unit": "KB", "value": 2}, 2048),
        ({"unit": "MB", "value": 10240}, 10 * GIB),
        ({"unit": "GB", "value": 12.5}, 12.5 * GIB),
        ({"unit": "gb", "value": 1}, GIB),
        ({"unit": "GiB", "value": 3}, 3 * GIB),
        ({"unit": "Go", "value": 5}, 5 * GIB),
        ({"unit": "TB", "value": 2}, 2 * 1024 * GIB),
        ({"unit": "To", "value": 1}, 1024 * GIB),
        ({"unit": "PB", "value": 1}, 1024**5),
        ({"unit": " MB ", "value": 1}, 1024**2),
    ],
)
def test_quantities_in_bytes(quantity: dict[str, Any], expected: float) -> None:
    problems: list[ParseProblem] = []

    parsed = parse_info(info(diskUsed=quantity), ROUTE_INFO, problems)

    assert parsed.disk_used_bytes == expected
    assert problems == []


@pytest.mark.parametrize(
    ("quantity", "field", "detail"),
    [
        ({"unit": "Mbps", "value": 3}, "diskUsed.unit", "unknown unit 'Mbps'"),
        ({"unit": "GB", "value": -1}, "diskUsed.value", "negative quantity -1.0"),
        ({"value": 3}, "diskUsed", "expected {unit, value}"),
        ({"unit": "GB", "value": "3"}, "diskUsed.value", "expected a number, got str"),
        (40, "diskUsed", "expected an object, got int"),
    ],
)
def test_quantities_that_make_no_sense_are_left_out(
    quantity: object, field: str, detail: str
) -> None:
    problems: list[ParseProblem] = []

    parsed = parse_info(info(diskUsed=quantity), ROUTE_INFO, problems)

    assert parsed.disk_used_bytes is None
    assert ParseProblem(ROUTE_INFO, field, detail) in problems
    assert parsed.disk_total_bytes == 40 * GIB


def test_null_and_absent_quantities_are_no_surprise() -> None:
    problems: list[ParseProblem] = []
    data = info(traficTotal=None)
    del data["traficUsed"]

    parsed = parse_info(data, ROUTE_INFO, problems)

    assert (parsed.traffic_used_bytes, parsed.traffic_total_bytes) == (None, None)
    assert problems == []


def test_the_2api_spelling_of_enums_is_kept_and_accepted() -> None:
    problems: list[ParseProblem] = []

    parsed = parse_info(
        info(version="_2014_V_1", offerType="CLOUD", zoneType="LOCALZONE"), ROUTE_INFO, problems
    )

    assert (parsed.version, parsed.offer_type, parsed.zone_type) == (
        "_2014_V_1",
        "CLOUD",
        "LOCALZONE",
    )
    assert problems == []


def test_unknown_enum_values_are_kept_and_counted() -> None:
    problems: list[ParseProblem] = []

    parsed = parse_info(
        info(version="v-next", offerType="QUANTUM", zoneType="orbit"), ROUTE_INFO, problems
    )

    assert (parsed.version, parsed.offer_type, parsed.zone_type) == ("v-next", "QUANTUM", "orbit")
    assert problems == [
        ParseProblem(ROUTE_INFO, "version", "unknown value 'v-next'"),
        ParseProblem(ROUTE_INFO, "offerType", "unknown value 'QUANTUM'"),
        ParseProblem(ROUTE_INFO, "zoneType", "unknown value 'orbit'"),
    ]


def test_normalise_makes_both_spellings_equal() -> None:
    assert normalise("_2014_V_1") == normalise("2014v1") == "2014v1"
    assert normalise("RESCUE") == normalise("rescue")
    assert normalise("UPGRADE_VM") == normalise("upgradeVm")
    assert normalise("beta-classic") == "betaclassic"


def test_info_that_is_not_an_object() -> None:
    problems: list[ParseProblem] = []

    parsed = parse_info(["not", "an", "object"], ROUTE_INFO, problems)

    assert parsed.disk_used_bytes is None
    assert parsed.model == ""
    assert problems == [ParseProblem(ROUTE_INFO, "(body)", "expected an object, got list")]


def test_tabsummary() -> None:
    problems: list[ParseProblem] = []
    data = {
        "messages": [],
        "state": "RUNNING",
        "additionalDisk": {"optionAvailable": True, "optionActivated": False},
        "snapshot": {
            "optionAvailable": True,
            "optionActivated": True,
            "creationDate": None,
            "description": None,
        },
        "veeam": {"optionAvailable": False, "optionActivated": None, "optionDetails": None},
        "cpanel": {"optionAvailable": False, "optionActivated": False},
        "ipsv4Count": 3,
        "ipsv6Count": 1,
        "ipsv4Max": 17,
        "ipsv6Max": 1,
        "canGetMoreIpv4": True,
    }

    summary = parse_tabsummary(data, ROUTE_TABSUMMARY, problems)

    assert dict(summary.options) == {
        "additionalDisk": OptionStatus(True, False),
        "snapshot": OptionStatus(True, True),
        "veeam": OptionStatus(False, None),
        "cpanel": OptionStatus(False, False),
    }
    assert dict(summary.ips) == {"v4": 3, "v6": 1}
    assert dict(summary.ips_max) == {"v4": 17, "v6": 1}
    assert summary.can_get_more_ipv4 is True
    assert problems == [ParseProblem(ROUTE_TABSUMMARY, "cpanel", "unknown option")]


def test_tabsummary_with_wrong_types() -> None:
    problems: list[ParseProblem] = []
    data = {"windows": {"optionAvailable": "yes"}, "ipsv4Count": 1.5, "ipsv6Count": 2}

    summary = parse_tabsummary(data, ROUTE_TABSUMMARY, problems)

    assert dict(summary.options) == {"windows": OptionStatus(None, None)}
    assert dict(summary.ips) == {"v6": 2}
    assert [problem.field for problem in problems] == ["windows.optionAvailable", "ipsv4Count"]


def test_error_tasks_in_capitals_are_no_surprise() -> None:
    problems: list[ParseProblem] = []
    data = [
        {"id": 1, "type": "rebootVm", "state": "ERROR"},
        {"id": 2, "type": "rebootVm", "state": "error"},
        {"id": 3, "type": "UPGRADE_VM", "state": "error"},
    ]

    counts = count_tasks(data, ROUTE_TASKS_ERROR, problems, states=frozenset({"error"}))

    assert counts == {"rebootVm": 2, "UPGRADE_VM": 1}
    assert problems == []


def test_tasks_out_of_place_are_counted_and_surprising() -> None:
    problems: list[ParseProblem] = []
    data = [
        {"id": 1, "type": "UPGRADE_VM", "state": "DOING"},
        {"id": 2, "type": "migrate", "state": "done"},
        {"id": 3, "state": "hibernating"},
        "not a task",
    ]

    counts = count_tasks(
        data, ROUTE_TASKS_ERROR, problems, states=frozenset({"doing"}), task_type="upgradeVm"
    )

    assert counts == {"UPGRADE_VM": 1, "migrate": 1, "unknown": 1}
    assert problems == [
        ParseProblem(ROUTE_TASKS_ERROR, "[].state", "unexpected in this list: 'done'"),
        ParseProblem(ROUTE_TASKS_ERROR, "[].type", "asked for upgradeVm, got 'migrate'"),
        ParseProblem(ROUTE_TASKS_ERROR, "[].state", "unknown value 'hibernating'"),
        ParseProblem(ROUTE_TASKS_ERROR, "[].type", "asked for upgradeVm, got 'unknown'"),
        ParseProblem(ROUTE_TASKS_ERROR, "[]", "expected an object, got str"),
    ]


def test_a_task_list_that_is_not_a_list() -> None:
    problems: list[ParseProblem] = []

    assert count_tasks({"id": 1}, ROUTE_TASKS_ERROR, problems, states=frozenset()) == {}
    assert problems == [ParseProblem(ROUTE_TASKS_ERROR, "(body)", "expected a list, got dict")]


def test_capabilities() -> None:
    problems: list[ParseProblem] = []

    parsed = parse_capabilities(
        ["veeam", "AUTORENEW", "gpu-passthrough", 7], ROUTE_CAPABILITIES, problems
    )

    assert parsed == frozenset({"veeam", "AUTORENEW", "gpu-passthrough"})
    assert problems == [
        ParseProblem(ROUTE_CAPABILITIES, "[]", "unknown capability 'gpu-passthrough'"),
        ParseProblem(ROUTE_CAPABILITIES, "[]", "expected a string, got int"),
    ]


def test_the_state_keeps_fresh_values_of_members_only() -> None:
    problems: list[ParseProblem] = []
    state = ManagerState(session_valid=True)
    state.info["a"] = (parse_info(info(), ROUTE_INFO, problems), 1000.0)
    state.info["b"] = (parse_info(info(), ROUTE_INFO, problems), 99.0)
    state.capabilities["c"] = (frozenset({"veeam"}), 1000.0)

    snapshot = state.snapshot(1000.0, 300.0, 3, members={"a", "b"})

    assert set(snapshot.info) == {"a"}
    assert dict(snapshot.capabilities) == {}
    assert snapshot.session_valid is True
    assert state.snapshot(1000.0, None, 3, members={"a"}).info == {}

    state.forget({"b"})
    assert set(state.info) == {"b"}
    assert state.capabilities == {}
