"""Every answer of the simulated account matches OVH's OpenAPI schemas and the capture spec."""

import copy
import datetime as dt
import ipaddress
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest

from exporter.simulator import Fleet, SimulatorConfig, generate_fleet
from tests.conftest import shared_json
from tests.fleets import DELTA, details_fleet
from tests.test_simulator_auth import Client, FakeClock, simulated
from tests.test_simulator_routes import EXPANDED, signed

SPEC: dict[str, Any] = shared_json("ovh-api/vps.openapi.json")
TODAY = dt.date(2026, 1, 15)

# Fields the capture spec (manager-capture-spec.md, TVps and TVpsAutomatedBackup)
# shows on live answers but vps.openapi.json predates; the simulator must send them.
CAPTURE_SPEC_PROPERTIES: dict[str, dict[str, Any]] = {
    "vps.VPSWithIAM": {
        "lockStatus": {
            "type": "object",
            "properties": {"locked": {"type": "boolean"}, "reason": {"type": "string"}},
        }
    },
    "iam.ResourceMetadata": {"state": {"type": "string"}},
    "vps.AutomatedBackup": {
        "rotation": {"type": "integer"},
        "serviceResourceName": {"type": "string"},
    },
}
CAPTURE_SPEC_VERSIONS = ["2025v1"]
# The capture spec shows `iam` with only id, urn and state: displayName and tags are optional.
OPTIONAL = {"iam.ResourceMetadata": {"displayName", "tags"}}

FORMATS = jsonschema.FormatChecker(formats=())
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
# OVH's own example for `time` is "15:04:05": no offset, unlike RFC 3339.
TIME = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")


@FORMATS.checks("date", raises=ValueError)
def is_date(value: object) -> bool:
    """A calendar date written YYYY-MM-DD."""
    return not isinstance(value, str) or bool(
        DATE.fullmatch(value) and dt.date.fromisoformat(value)
    )


@FORMATS.checks("date-time", raises=ValueError)
def is_date_time(value: object) -> bool:
    """An ISO 8601 date-time with an explicit offset."""
    if not isinstance(value, str):
        return True
    return bool(DATE_TIME.fullmatch(value) and dt.datetime.fromisoformat(value))


@FORMATS.checks("time", raises=ValueError)
def is_time(value: object) -> bool:
    """A time of day written HH:MM:SS."""
    return not isinstance(value, str) or bool(
        TIME.fullmatch(value) and dt.time.fromisoformat(value)
    )


@FORMATS.checks("uuid", raises=ValueError)
def is_uuid(value: object) -> bool:
    """A UUID in its canonical form."""
    return not isinstance(value, str) or str(uuid.UUID(value)) == value


@FORMATS.checks("ip-block", raises=ValueError)
def is_ip_block(value: object) -> bool:
    """An IPv4 or IPv6 network in CIDR notation."""
    return not isinstance(value, str) or bool(ipaddress.ip_network(value))


def to_json_schema(node: Any) -> Any:
    """Translate OpenAPI 3.0 schema into JSON Schema: `$ref` into `$defs`, `nullable` into null."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            schema[key] = value.replace("#/components/schemas/", "#/$defs/")
        elif key == "properties":
            schema[key] = {name: to_json_schema(item) for name, item in value.items()}
        elif key != "nullable":
            schema[key] = to_json_schema(value)
    return {"anyOf": [{"type": "null"}, schema]} if node.get("nullable") else schema


def strict_definitions() -> dict[str, Any]:
    """The spec's schemas plus the capture spec's fields, all required and no others allowed."""
    components = copy.deepcopy(SPEC["components"]["schemas"])
    for name, extra in CAPTURE_SPEC_PROPERTIES.items():
        components[name]["properties"].update(extra)
    components["vps.VpsVersionEnum"]["enum"] += CAPTURE_SPEC_VERSIONS
    components["vps.VPSWithIAM"]["properties"]["lockStatus"]["required"] = ["locked", "reason"]

    for name, component in components.items():
        if component.get("type") == "object" and "properties" in component:
            optional = OPTIONAL.get(name, set())
            component["required"] = sorted(set(component["properties"]) - optional)
            component["additionalProperties"] = False
    return {name: to_json_schema(component) for name, component in components.items()}


DEFINITIONS = strict_definitions()


def expanded_component(name: str) -> str:
    """Map an `x-expanded-response` name ("VpsVPSWithIAM") to its component ("vps.VPSWithIAM")."""
    matches = [
        component
        for component in SPEC["components"]["schemas"]
        if "".join(part[:1].upper() + part[1:] for part in component.split(".")) == name
    ]
    assert len(matches) == 1, (name, matches)
    return str(matches[0])


def response_schema(route: str, expanded: bool = False) -> dict[str, Any]:
    """The JSON Schema of the 200 answer of `GET route`, or of its expanded list."""
    operation = SPEC["paths"][route]["get"]
    if expanded:
        item = {"$ref": f"#/$defs/{expanded_component(operation['x-expanded-response'])}"}
        return {"$defs": DEFINITIONS, "type": "array", "items": item}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return {"$defs": DEFINITIONS, **to_json_schema(schema)}


def assert_valid(instance: Any, schema: dict[str, Any], where: str) -> None:
    """Fail with every schema violation of `instance`, each with its place in the answer."""
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
    problems = [
        f"{where} at /{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(instance)
    ]
    assert not problems, "\n".join(problems[:20])


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    """The generated fleet of 50 every answer is checked on."""
    return generate_fleet(50, seed=11, today=TODAY)


@pytest.fixture
async def client(fleet: Fleet) -> AsyncIterator[Client]:
    """A simulator serving the generated fleet, on the fake clock."""
    async with simulated(fleet, SimulatorConfig(clock=FakeClock())) as client:
        yield client


async def get_json(client: Client, path: str, headers: dict[str, str] | None = None) -> Any:
    """GET a signed path and return its JSON answer, expecting 200."""
    response = await signed(client, path, headers)
    assert response.status == 200, (path, await response.text())
    return await response.json()


async def test_every_route_answers_in_the_shape_of_the_spec(client: Client, fleet: Fleet) -> None:
    checked: dict[str, int] = {}

    def check(instance: Any, route: str, where: str, expanded: bool = False) -> None:
        assert_valid(instance, response_schema(route, expanded), where)
        key = route + (" (expanded)" if expanded else "")
        checked[key] = checked.get(key, 0) + 1

    check(await get_json(client, "/1.0/vps"), "/vps", "/vps")
    check(await get_json(client, "/1.0/vps", EXPANDED), "/vps", "/vps expanded", expanded=True)
    for name, machine in fleet.vps.items():
        base = f"/1.0/vps/{name}"
        check(await get_json(client, base), "/vps/{serviceName}", base)
        infos = await get_json(client, f"{base}/serviceInfos")
        check(infos, "/vps/{serviceName}/serviceInfos", f"{base}/serviceInfos")
        tasks = f"{base}/tasks"
        check(await get_json(client, tasks), "/vps/{serviceName}/tasks", tasks)
        check(await get_json(client, tasks, EXPANDED), "/vps/{serviceName}/tasks", tasks, True)
        for task in machine.tasks:
            path = f"{tasks}/{task['id']}"
            check(await get_json(client, path), "/vps/{serviceName}/tasks/{id}", path)
        if machine.automated_backup is None:
            continue
        backup = f"{base}/automatedBackup"
        check(await get_json(client, backup), "/vps/{serviceName}/automatedBackup", backup)
        for state in ("available", "restoring", "restored"):
            path = f"{backup}/restorePoints?state={state}"
            route = "/vps/{serviceName}/automatedBackup/restorePoints"
            check(await get_json(client, path), route, path)

    # The fleet exercises every route, not just the lists.
    assert checked["/vps/{serviceName}"] == 50
    assert checked["/vps/{serviceName}/tasks/{id}"] >= 10
    assert checked["/vps/{serviceName}/automatedBackup/restorePoints"] >= 120


async def test_capture_spec_fields_are_present_with_their_types(
    client: Client, fleet: Fleet
) -> None:
    versions = set()
    for name in fleet.vps:
        vps = await get_json(client, f"/1.0/vps/{name}")
        assert isinstance(vps["lockStatus"]["locked"], bool)
        assert isinstance(vps["lockStatus"]["reason"], str)
        assert isinstance(vps["iam"]["state"], str)
        assert vps["iam"]["urn"] == f"urn:v1:eu:resource:vps:{name}"
        assert uuid.UUID(vps["iam"]["id"])
        versions.add(vps["model"]["version"])
        if fleet.vps[name].automated_backup is not None:
            backup = await get_json(client, f"/1.0/vps/{name}/automatedBackup")
            assert isinstance(backup["rotation"], int)
            assert backup["rotation"] > 0
            assert backup["serviceResourceName"] == name

    assert "2025v1" in versions


def test_the_strict_schemas_catch_what_they_should() -> None:
    vps_schema = response_schema("/vps/{serviceName}")
    good = generate_fleet(1, seed=1, today=TODAY).vps.popitem()[1].vps
    assert_valid(good, vps_schema, "good")

    broken = {
        "missing lockStatus": {k: v for k, v in good.items() if k != "lockStatus"},
        "unknown field": {**good, "colour": "blue"},
        "unknown version": {**good, "model": {**good["model"], "version": "2031v9"}},
        "null state": {**good, "state": None},
        "zone type": {**good, "zoneType": "Region"},
        "bad uuid": {**good, "iam": {**good["iam"], "id": "nope"}},
        "bad ip block": {**good, "monitoringIpBlocks": ["192.0.2.0/33"]},
    }
    for label, instance in broken.items():
        with pytest.raises(AssertionError):
            assert_valid(instance, vps_schema, label)

    task_schema = response_schema("/vps/{serviceName}/tasks/{id}")
    task = {
        "id": 1,
        "type": "rebootVm",
        "state": "doing",
        "date": "2026-01-15T10:00:00",
        "progress": 0,
    }
    with pytest.raises(AssertionError, match=r"task at /date: .* is not a 'date-time'"):
        assert_valid(task, task_schema, "task")
    backup_schema = response_schema("/vps/{serviceName}/automatedBackup")
    backup = {"state": "enabled", "schedule": "3h", "rotation": 7, "serviceResourceName": "x"}
    with pytest.raises(AssertionError, match="backup at /schedule: '3h'"):
        assert_valid(backup, backup_schema, "backup")
    infos_schema = response_schema("/vps/{serviceName}/serviceInfos")
    infos = generate_fleet(1, seed=1, today=TODAY).vps.popitem()[1].service_infos
    with pytest.raises(AssertionError, match=r"infos at /expiration: .* is not a 'date'"):
        assert_valid({**infos, "expiration": "2026-01-15T00:00:00+01:00"}, infos_schema, "infos")


# The capture spec's TVpsMigration: migration2020 is newer than vps.openapi.json.
MIGRATION_2020 = {
    "type": "object",
    "properties": {
        "status": {"enum": ["notAvailable", "available", "inProgress", "done"]},
        "position": {"type": ["integer", "null"]},
        "date": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date-time"}]},
        "currentPlan": {"type": "string"},
        "targetPlan": {"type": ["string", "null"]},
        "availablePlans": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["status", "position", "date", "currentPlan", "targetPlan", "availablePlans"],
    "additionalProperties": False,
}
# The single-object routes of the details, each answering 404 where the VPS lacks the thing.
DETAIL_OBJECTS = (
    "datacenter",
    "distribution",
    "snapshot",
    "migration2018",
    "automatedBackup/attachedBackup",
    "veeam",
    "backupftp",
)
# The list routes of the details, the key of their ids in the expanded objects, and the
# placeholder of their item route (the exporter reads no secondary DNS domain one by one).
DETAIL_LISTS = {
    "disks": ("id", "/{id}"),
    "ips": ("ipAddress", "/{ipAddress}"),
    "option": ("option", "/{option}"),
    "secondaryDnsDomains": ("domain", None),
    "veeam/restorePoints": ("id", "/{id}"),
}


async def test_detail_routes_answer_in_the_shape_of_the_spec() -> None:
    fleet = generate_fleet(50, seed=11, today=TODAY)
    fleet.vps.update(details_fleet().vps)
    checked: dict[str, int] = {}

    def check(instance: Any, route: str, where: str, expanded: bool = False) -> None:
        schema = (
            {"$defs": DEFINITIONS, **MIGRATION_2020}
            if route.endswith("migration2020")
            else response_schema(route, expanded)
        )
        assert_valid(instance, schema, where)
        key = route + (" (expanded)" if expanded else "")
        checked[key] = checked.get(key, 0) + 1

    async with simulated(fleet, SimulatorConfig(clock=FakeClock())) as client:
        for name, machine in fleet.vps.items():
            base = f"/1.0/vps/{name}"
            route = "/vps/{serviceName}"
            for suffix in (*DETAIL_OBJECTS, "migration2020"):
                response = await signed(client, f"{base}/{suffix}")
                if response.status != 404:
                    assert response.status == 200, (name, suffix, await response.text())
                    check(await response.json(), f"{route}/{suffix}", f"{base}/{suffix}")
            if machine.details.veeam is None:
                assert (await signed(client, f"{base}/veeam/restorePoints")).status == 404
            for suffix, (key, placeholder) in DETAIL_LISTS.items():
                if suffix.startswith("veeam") and machine.details.veeam is None:
                    continue
                path, list_route = f"{base}/{suffix}", f"{route}/{suffix}"
                ids = await get_json(client, path)
                check(ids, list_route, path)
                objects = await get_json(client, path, EXPANDED)
                check(objects, list_route, path, expanded=True)
                assert [item[key] for item in objects] == ids
                for item_id in ids if placeholder else ():
                    item_path = f"{path}/{quote(str(item_id), safe='')}"
                    item_route = f"{list_route}{placeholder}"
                    check(await get_json(client, item_path), item_route, item_path)
            for disk in machine.details.disks:
                use = f"{base}/disks/{disk.disk['id']}/use"
                check(await get_json(client, f"{use}?type=max"), f"{route}/disks/{{id}}/use", use)
                response = await signed(client, f"{use}?type=used")
                assert response.status == (404 if disk.used is None else 200)
                if disk.used is not None:
                    check(await response.json(), f"{route}/disks/{{id}}/use", use)

    # The fleet exercises every route, and every shape each route can answer: 55 VPS, ECHO
    # without migration offer, DELTA the only 2018 one; a disk each, 5 more in the generated
    # fleet (one pending, without use figure) and 2 more each on DELTA and ECHO (no figure).
    assert checked["/vps/{serviceName}/datacenter"] == 55
    assert checked["/vps/{serviceName}/migration2018"] == 1
    assert checked["/vps/{serviceName}/migration2020"] == 54
    assert checked["/vps/{serviceName}/disks/{id}"] == 62
    assert checked["/vps/{serviceName}/disks/{id}/use"] == 62 + 59
    assert checked["/vps/{serviceName}/ips/{ipAddress}"] >= 116
    others = [suffix for suffix in DETAIL_OBJECTS if suffix != "migration2018"]
    assert min(checked[f"/vps/{{serviceName}}/{suffix}"] for suffix in others) >= 2
    assert checked["/vps/{serviceName}/veeam/restorePoints/{id}"] >= 9
    assert checked["/vps/{serviceName}/option/{option}"] >= 60


def test_the_migration2020_schema_catches_what_it_should() -> None:
    schema = {"$defs": DEFINITIONS, **MIGRATION_2020}
    good = details_fleet().vps[DELTA].details.migration2020
    assert_valid(good, schema, "good")

    assert good is not None
    for label, instance in {
        "unknown status": {**good, "status": "planned"},
        "missing plans": {k: v for k, v in good.items() if k != "availablePlans"},
        "bad date": {**good, "date": "2027-01-10"},
    }.items():
        with pytest.raises(AssertionError):
            assert_valid(instance, schema, label)
