"""The simulated manager: 2API shapes, the API v1 it relays, and its session check."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from exporter.simulator import (
    DEMO_MANAGER_COOKIE,
    DEMO_MANAGER_SESSION,
    REQUEST_LOG,
    Fleet,
    SimManager,
    SimulatorConfig,
    create_app,
    sim_task,
    sim_vps,
)
from exporter.simulator.manager import manager_version

Client = TestClient[web.Request, web.Application]

NAME = "vps-0a0b0c0d.vps.ovh.net"
SESSION_HEADERS = {"Cookie": DEMO_MANAGER_COOKIE}


def fleet() -> Fleet:
    """One VPS in rescue with tasks of every kind the manager lists, and its 2API extras."""
    machine = sim_vps(
        NAME,
        state="rescued",
        netboot_mode="rescue",
        version="2014v1",
        zone="Region OpenStack: os-gra11",
        memory_limit=8192,
        tasks=[
            sim_task(4, "migrate", "todo"),
            sim_task(1, "upgradeVm", "doing"),
            sim_task(2, "rebootVm", "error"),
            sim_task(3, "rebootVm", "done"),
            sim_task(5, "stopVm", "cancelled"),
        ],
    )
    machine.manager = SimManager(
        disk_used={"unit": "GB", "value": 10},
        traffic_used={"unit": "GB", "value": 250},
        traffic_total={"unit": "TB", "value": 1},
        options={"veeam": (True, True), "windows": (False, False)},
        ipv4=3,
        capabilities=["veeam", "upgrade"],
    )
    return Fleet.of(machine)


@asynccontextmanager
async def manager(
    config: SimulatorConfig | None = None, machines: Fleet | None = None
) -> AsyncIterator[tuple[Client, Fleet]]:
    """Serve the simulator (by default with `fleet()`) on a free loopback port, with a client."""
    machines = machines or fleet()
    server = TestServer(create_app(machines, config), host="127.0.0.1")
    async with TestClient(server) as client:
        yield client, machines


async def get_json(client: Client, path: str) -> Any:
    """GET `path` with the demo session and return the JSON answer, expecting 200."""
    response = await client.get(path, headers=SESSION_HEADERS)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_info_has_the_capture_spec_shape() -> None:
    async with manager() as (client, _):
        info = await get_json(client, f"/engine/2api/sws/vps/{NAME}/info")

    assert info["name"] == NAME
    assert info["state"] == "rescued"
    assert info["netbootMode"] == "RESCUE"
    assert info["offerType"] == "SSD"
    assert info["version"] == "_2014_V_1"
    assert info["model"] == "vps-2025-model1"
    assert info["diskTotal"] == {"unit": "GB", "value": 40}
    assert info["diskUsed"] == {"unit": "GB", "value": 10}
    assert info["diskPercent"] == 25
    assert info["traficUsed"] == {"unit": "GB", "value": 250}
    assert info["traficTotal"] == {"unit": "TB", "value": 1}
    assert info["traficPercent"] == 0
    assert info["ram"] == {"unit": "MB", "value": 8192}
    assert info["location"] == {
        "country": "fr",
        "datacentre": "GRA",
        "longName": "Gravelines GRA11",
    }
    assert info["hasVeeam"] is True
    assert info["hasBackup"] is True
    assert info["lockStatus"] == {"locked": False, "reason": ""}
    assert set(info) >= {
        "messages",
        "availableOptions",
        "canOrder",
        "cluster",
        "creation",
        "displayName",
        "distribution",
        "engagement",
        "expiration",
        "ipv4",
        "ipv6",
        "isExpired",
        "monitoringIpBlocks",
        "noVNC",
        "reverseDns",
        "secondaryDns",
        "shouldReengage",
        "slaMonitoring",
        "tabs",
        "vcore",
        "zone",
        "zoneType",
    }


async def test_tabsummary_has_the_capture_spec_shape() -> None:
    async with manager() as (client, _):
        summary = await get_json(client, f"/engine/2api/sws/vps/{NAME}/tabsummary")

    assert summary == {
        "messages": [],
        "state": "rescued",
        "veeam": {"optionAvailable": True, "optionActivated": True, "optionDetails": None},
        "windows": {"optionAvailable": False, "optionActivated": False},
        "ipsv4Count": 3,
        "ipsv6Count": 1,
        "ipsv4Max": 17,
        "canGetMoreIpv4": True,
        "ipsv6Max": 1,
    }


async def test_task_lists() -> None:
    async with manager() as (client, _):
        base = f"/engine/2api/sws/vps/{NAME}/tasks"
        uncompleted = await get_json(client, f"{base}/uncompleted")
        upgrades = await get_json(client, f"{base}/uncompleted?type=upgradeVm")
        migrations = await get_json(client, f"{base}/uncompleted?type=migrate")
        errors = await get_json(client, f"{base}/error")

    assert [task["id"] for task in uncompleted] == [1, 4]
    assert [task["id"] for task in upgrades] == [1]
    assert [task["id"] for task in migrations] == [4]
    assert errors == [
        {
            "id": 2,
            "type": "rebootVm",
            "state": "error",
            "date": "2026-01-15T10:00:00+01:00",
            "progress": 0,
        }
    ]


async def test_capabilities_need_the_vps_model() -> None:
    async with manager() as (client, machines):
        path = f"/engine/2api/vps/capabilities/{NAME}"
        capabilities = await get_json(client, f"{path}?modelName=vps-2025-model1")
        missing = await client.get(path, headers=SESSION_HEADERS)
        wrong = await client.get(f"{path}?modelName=vps-2025-model9", headers=SESSION_HEADERS)
        machines.vps[NAME].manager.capabilities = None
        absent = await client.get(f"{path}?modelName=vps-2025-model1", headers=SESSION_HEADERS)

    assert capabilities == ["veeam", "upgrade"]
    assert missing.status == 400
    assert wrong.status == 400
    assert absent.status == 404


async def test_overrides_replace_any_field() -> None:
    async with manager() as (client, machines):
        machines.vps[NAME].manager.info = {"zoneType": "REGION", "diskUsed": None}
        machines.vps[NAME].manager.tabsummary = {"ipsv4Count": "three"}
        info = await get_json(client, f"/engine/2api/sws/vps/{NAME}/info")
        summary = await get_json(client, f"/engine/2api/sws/vps/{NAME}/tabsummary")

    assert (info["zoneType"], info["diskUsed"]) == ("REGION", None)
    assert summary["ipsv4Count"] == "three"


async def test_api_v1_is_relayed_with_the_session() -> None:
    async with manager() as (client, _):
        vps = await get_json(client, f"/engine/apiv6/vps/{NAME}")
        names = await get_json(client, "/engine/apiv6/vps")
        log = client.app[REQUEST_LOG]

    assert vps["name"] == NAME
    assert vps["netbootMode"] == "rescue"
    assert names == [NAME]
    assert [(entry.route, entry.auth) for entry in log] == [
        ("/vps/{serviceName}", "session"),
        ("/vps", "session"),
    ]


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no cookie"),
        ({"Cookie": f"SESSION={DEMO_MANAGER_SESSION}"}, "no USERID"),
        ({"Cookie": "SESSION=someone-else; USERID=x"}, "another session"),
    ],
)
async def test_a_session_it_does_not_know_is_refused(headers: dict[str, str], why: str) -> None:
    async with manager() as (client, _):
        twoapi = await client.get(f"/engine/2api/sws/vps/{NAME}/info", headers=headers)
        apiv6 = await client.get(f"/engine/apiv6/vps/{NAME}", headers=headers)
        twoapi_body, apiv6_body = await twoapi.json(), await apiv6.json()

    assert twoapi.status == 471, why
    assert twoapi_body == {"message": "This session is invalid"}
    assert apiv6.status == 403, why
    assert apiv6_body == {"class": "Client::Forbidden", "message": "This session is invalid"}


async def test_a_session_dies_when_it_leaves_the_set() -> None:
    config = SimulatorConfig()
    async with manager(config) as (client, _):
        before = await client.get(f"/engine/2api/sws/vps/{NAME}/info", headers=SESSION_HEADERS)
        config.manager_sessions.discard(DEMO_MANAGER_SESSION)
        after = await client.get(f"/engine/2api/sws/vps/{NAME}/info", headers=SESSION_HEADERS)

    assert (before.status, after.status) == (200, 471)


@pytest.mark.parametrize(
    ("zone", "location"),
    [
        (
            "Region OpenStack: os-uk1",
            {"country": "gb", "datacentre": "UK", "longName": "London UK1"},
        ),
        (
            "Region OpenStack: os-bhs5",
            {"country": "ca", "datacentre": "BHS", "longName": "Beauharnois BHS5"},
        ),
        (
            "Region OpenStack: os-waw1",
            {"country": "pl", "datacentre": "WAW", "longName": "Warsaw WAW1"},
        ),
    ],
)
async def test_the_2api_places_a_vps_where_the_api_v1_does(
    zone: str, location: dict[str, str]
) -> None:
    async with manager(machines=Fleet.of(sim_vps(NAME, zone=zone))) as (client, _):
        info = await get_json(client, f"/engine/2api/sws/vps/{NAME}/info")
        datacenter = await get_json(client, f"/engine/apiv6/vps/{NAME}/datacenter")

    assert info["location"] == location
    assert datacenter == {
        "name": location["datacentre"],
        "longName": location["longName"],
        "country": location["country"],
    }


async def test_the_cookie_opens_nothing_outside_the_manager() -> None:
    async with manager() as (client, _):
        response = await client.get(f"/1.0/vps/{NAME}", headers=SESSION_HEADERS)
        body = await response.json()

    assert response.status == 401
    assert body["errorCode"] == "NOT_CREDENTIAL"


async def test_an_unknown_vps_is_a_404() -> None:
    async with manager() as (client, _):
        response = await client.get(
            "/engine/2api/sws/vps/vps-unknown.vps.ovh.net/info", headers=SESSION_HEADERS
        )

    assert response.status == 404


def test_versions_in_the_2api_spelling() -> None:
    assert manager_version("2014v1") == "_2014_V_1"
    assert manager_version("2025v12") == "_2025_V_12"
    assert manager_version("custom") == "custom"
