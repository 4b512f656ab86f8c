"""The simulated account's routes: ids and pages, filters, refusals, and what it records."""

import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from exporter.simulator import (
    REQUEST_LOG,
    Fleet,
    RecordedRequest,
    SimulatorConfig,
    generate_fleet,
    serve,
    sim_task,
    sim_vps,
)
from tests.test_simulator_auth import (
    QUERY_ID,
    START,
    Client,
    FakeClock,
    assert_ovh_error,
    signed_get,
    signed_headers,
    simulated,
)

ALPHA = "vps-aaaa0001.vps.ovh.net"
BRAVO = "vps-bbbb0002.vps.ovh.net"
EXPANDED = {"X-Pagination-Mode": "CachedObjectList-Pages"}


def small_fleet() -> Fleet:
    """Two VPS: one with tasks of several states and types and restore points, one bare."""
    return Fleet.of(
        sim_vps(
            BRAVO,
            state="stopped",
            automated_backup=None,
        ),
        sim_vps(
            ALPHA,
            tasks=[
                sim_task(30, "rebootVm", "doing"),
                sim_task(10, "createSnapshot", "error"),
                sim_task(20, "rebootVm", "done", progress=100),
                sim_task(40, "createSnapshot", "doing"),
            ],
            restore_points={
                "available": ["2026-01-14T03:00:00+01:00", "2026-01-15T03:00:00+01:00"],
                "restoring": ["2026-01-13T03:00:00+01:00"],
            },
        ),
    )


@pytest.fixture
def fleet() -> Fleet:
    """The small fleet, fresh for each test so tests may mutate it."""
    return small_fleet()


@pytest.fixture
async def client(fleet: Fleet) -> AsyncIterator[Client]:
    """A simulator serving the small fleet, on the fake clock."""
    async with simulated(fleet, SimulatorConfig(clock=FakeClock())) as client:
        yield client


async def signed(
    client: Client, path: str, headers: dict[str, str] | None = None
) -> aiohttp.ClientResponse:
    """GET `path` signed with the demo credentials, with extra headers, whatever the answer."""
    return await client.get(
        path, headers={**signed_headers(client, path, int(START)), **(headers or {})}
    )


async def test_list_routes_answer_ids_without_the_pagination_header(client: Client) -> None:
    response = await signed(client, "/1.0/vps")

    assert await response.json() == [ALPHA, BRAVO]
    assert "X-Pagination-Elements" not in response.headers
    assert await signed_get(client, f"/1.0/vps/{ALPHA}/tasks") == [10, 20, 30, 40]
    assert await signed_get(client, f"/1.0/vps/{BRAVO}/tasks") == []


async def test_expanded_lists_are_paginated() -> None:
    fleet = generate_fleet(25, seed=3, today=dt.date(2026, 1, 15))
    everything = [fleet.vps[name].vps for name in sorted(fleet.vps)]
    async with simulated(fleet, SimulatorConfig(clock=FakeClock())) as client:
        pages = []
        for number in (1, 2, 3, 4):
            paging = {**EXPANDED, "X-Pagination-Size": "10", "X-Pagination-Number": str(number)}
            response = await signed(client, "/1.0/vps", paging)
            assert response.status == 200
            assert response.headers["X-Pagination-Elements"] == "25"
            assert response.headers["X-Pagination-Size"] == "10"
            assert response.headers["X-Pagination-Number"] == str(number)
            pages.append(await response.json())

    assert [len(page) for page in pages] == [10, 10, 5, 0]
    assert [item for page in pages for item in page] == everything


@pytest.mark.parametrize(("asked", "served"), [(None, "1000"), ("5000", "1000"), ("1", "1")])
async def test_page_size_defaults_to_and_stops_at_1000(
    client: Client, asked: str | None, served: str
) -> None:
    paging = EXPANDED if asked is None else {**EXPANDED, "X-Pagination-Size": asked}

    response = await signed(client, "/1.0/vps", paging)

    assert response.headers["X-Pagination-Size"] == served
    assert response.headers["X-Pagination-Number"] == "1"
    assert [item["name"] for item in await response.json()] == [ALPHA, BRAVO][: int(served)]


@pytest.mark.parametrize(
    "paging",
    [{"X-Pagination-Size": "0"}, {"X-Pagination-Size": "ten"}, {"X-Pagination-Number": "-1"}],
)
async def test_invalid_pagination_headers_get_400(client: Client, paging: dict[str, str]) -> None:
    response = await signed(client, "/1.0/vps", {**EXPANDED, **paging})

    assert response.status == 400
    assert (await response.json())["class"] == "Client::BadRequest"


async def test_expansion_can_be_switched_off(fleet: Fleet) -> None:
    config = SimulatorConfig(clock=FakeClock(), expand_lists=False)
    async with simulated(fleet, config) as client:
        response = await signed(client, "/1.0/vps", EXPANDED)

        assert await response.json() == [ALPHA, BRAVO]
        assert "X-Pagination-Elements" not in response.headers


async def test_expanded_tasks_are_full_objects_ordered_by_id(client: Client) -> None:
    response = await signed(client, f"/1.0/vps/{ALPHA}/tasks", EXPANDED)

    tasks = await response.json()
    assert [task["id"] for task in tasks] == [10, 20, 30, 40]
    assert tasks[1] == sim_task(20, "rebootVm", "done", progress=100)
    assert response.headers["X-Pagination-Elements"] == "4"


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("state=doing", [30, 40]),
        ("type=rebootVm", [20, 30]),
        ("state=doing&type=createSnapshot", [40]),
        ("state=todo", []),
    ],
)
async def test_task_filters(client: Client, query: str, ids: list[int]) -> None:
    path = f"/1.0/vps/{ALPHA}/tasks?{query}"

    assert await signed_get(client, path) == ids
    expanded = await (await signed(client, path, EXPANDED)).json()
    assert [task["id"] for task in expanded] == ids


@pytest.mark.parametrize("query", ["state=finished", "type=explode"])
async def test_unknown_filter_values_get_400(client: Client, query: str) -> None:
    response = await signed(client, f"/1.0/vps/{ALPHA}/tasks?{query}")

    assert response.status == 400
    assert query.partition("=")[0] in (await response.json())["message"]


async def test_single_objects(client: Client, fleet: Fleet) -> None:
    alpha = fleet.vps[ALPHA]

    assert await signed_get(client, f"/1.0/vps/{ALPHA}") == alpha.vps
    assert await signed_get(client, f"/1.0/vps/{ALPHA}/serviceInfos") == alpha.service_infos
    assert await signed_get(client, f"/1.0/vps/{ALPHA}/tasks/40") == alpha.tasks[3]
    assert await signed_get(client, f"/1.0/vps/{ALPHA}/automatedBackup") == {
        "state": "enabled",
        "schedule": "03:00:00",
        "rotation": 7,
        "serviceResourceName": ALPHA,
    }


@pytest.mark.parametrize(
    ("state", "points"),
    [
        ("available", ["2026-01-14T03:00:00+01:00", "2026-01-15T03:00:00+01:00"]),
        ("restoring", ["2026-01-13T03:00:00+01:00"]),
        ("restored", []),
    ],
)
async def test_restore_points_by_state(client: Client, state: str, points: list[str]) -> None:
    path = f"/1.0/vps/{ALPHA}/automatedBackup/restorePoints?state={state}"

    assert await signed_get(client, path) == points


@pytest.mark.parametrize("query", ["", "?state=lost"])
async def test_restore_points_need_a_known_state(client: Client, query: str) -> None:
    response = await signed(client, f"/1.0/vps/{ALPHA}/automatedBackup/restorePoints{query}")

    assert response.status == 400
    body = await response.json()
    assert body["class"] == "Client::BadRequest"
    assert "state" in body["message"]


@pytest.mark.parametrize(
    "route",
    [
        "/1.0/vps/{}",
        "/1.0/vps/{}/serviceInfos",
        "/1.0/vps/{}/tasks",
        "/1.0/vps/{}/tasks/10",
        "/1.0/vps/{}/automatedBackup",
        "/1.0/vps/{}/automatedBackup/restorePoints?state=available",
    ],
)
async def test_unknown_vps_gets_ovh_404(client: Client, route: str) -> None:
    response = await signed(client, route.format("vps-gone.vps.ovh.net"))

    assert response.status == 404
    assert await response.json() == {
        "class": "Client::NotFound",
        "message": "The requested object (serviceName = vps-gone.vps.ovh.net) does not exist",
    }
    assert QUERY_ID.fullmatch(response.headers["X-Ovh-QueryID"])


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"/1.0/vps/{ALPHA}/tasks/99", "The requested object (id = 99) does not exist"),
        (f"/1.0/vps/{BRAVO}/automatedBackup", None),
        (f"/1.0/vps/{BRAVO}/automatedBackup/restorePoints?state=available", None),
        (f"/1.0/vps/{ALPHA}/tasks/latest", None),
        ("/1.0/dedicated/server", None),
    ],
    ids=["unknown task", "no backup option", "no backup restore points", "bad id", "no route"],
)
async def test_other_404s(client: Client, path: str, message: str | None) -> None:
    response = await signed(client, path)

    assert response.status == 404
    body = await response.json()
    assert body["class"] == "Client::NotFound"
    if message is not None:
        assert body["message"] == message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/1.0/vps"),
        ("PUT", f"/1.0/vps/{ALPHA}"),
        ("DELETE", f"/1.0/vps/{ALPHA}/tasks/10"),
        ("POST", f"/1.0/vps/{ALPHA}/automatedBackup/restore"),
        ("PATCH", "/1.0/auth/time"),
        ("HEAD", "/1.0/vps"),
    ],
)
async def test_anything_but_get_under_the_api_gets_405(
    client: Client, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=signed_headers(client, path, int(START)))

    assert response.status == 405
    assert response.headers["Allow"] == "GET"
    assert QUERY_ID.fullmatch(response.headers["X-Ovh-QueryID"])
    if method != "HEAD":
        body = await response.json()
        assert body["class"] == "Client::MethodNotAllowed"
        assert method in body["message"]


async def test_denied_routes_answer_not_granted_after_the_credentials_check(fleet: Fleet) -> None:
    config = SimulatorConfig(
        clock=FakeClock(), denied_routes=frozenset({"/vps/{serviceName}/tasks"})
    )
    async with simulated(fleet, config) as client:
        response = await signed(client, f"/1.0/vps/{ALPHA}/tasks")
        await assert_ovh_error(response, 403, "NOT_GRANTED_CALL", "This call has not been granted")

        response = await client.get(f"/1.0/vps/{ALPHA}/tasks")
        await assert_ovh_error(response, 401, "NOT_CREDENTIAL")

        assert await signed_get(client, f"/1.0/vps/{ALPHA}/tasks/10") == fleet.vps[ALPHA].tasks[1]
        assert await signed_get(client, "/1.0/vps") == [ALPHA, BRAVO]


async def test_the_fleet_is_read_live(client: Client, fleet: Fleet) -> None:
    assert await signed_get(client, f"/1.0/vps/{ALPHA}/tasks?state=error") == [10]

    fleet.vps[ALPHA].tasks[0]["state"] = "error"
    del fleet.vps[BRAVO]

    assert await signed_get(client, f"/1.0/vps/{ALPHA}/tasks?state=error") == [10, 30]
    assert await signed_get(client, "/1.0/vps") == [ALPHA]
    assert (await signed(client, f"/1.0/vps/{BRAVO}")).status == 404


async def test_every_request_is_recorded_with_its_route_and_credentials(client: Client) -> None:
    await signed(client, f"/1.0/vps/{ALPHA}/tasks?state=doing")
    await client.get(f"/1.0/vps/{BRAVO}", headers={"Authorization": "Bearer expired"})
    await client.post("/auth/oauth2/token")
    await client.get("/1.0/nowhere")
    await client.delete("/1.0/vps")

    assert client.app[REQUEST_LOG] == [
        RecordedRequest(
            "GET", "/vps/{serviceName}/tasks", f"/1.0/vps/{ALPHA}/tasks?state=doing", "signature"
        ),
        RecordedRequest("GET", "/vps/{serviceName}", f"/1.0/vps/{BRAVO}", "oauth2"),
        RecordedRequest("POST", "/auth/oauth2/token", "/auth/oauth2/token", "none"),
        RecordedRequest("GET", "", "/1.0/nowhere", "none"),
        RecordedRequest("DELETE", "", "/1.0/vps", "none"),
    ]


async def test_query_ids_are_distinct(client: Client) -> None:
    ids = set()
    for path in ("/1.0/auth/time", "/1.0/vps", f"/1.0/vps/{ALPHA}", "/1.0/nowhere"):
        response = await signed(client, path)
        ids.add(response.headers["X-Ovh-QueryID"])

    assert len(ids) == 4
    assert all(QUERY_ID.fullmatch(query_id) for query_id in ids)


async def test_latency_delays_every_answer(fleet: Fleet) -> None:
    async with simulated(fleet, SimulatorConfig(clock=FakeClock(), latency=0.2)) as client:
        for path in ("/1.0/auth/time", "/1.0/vps"):
            started = time.monotonic()
            await signed(client, path)
            assert time.monotonic() - started >= 0.2


async def test_serve_listens_on_the_port_the_os_picks(fleet: Fleet) -> None:
    runner = await serve(fleet, SimulatorConfig(clock=FakeClock()), "127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        assert host == "127.0.0.1"
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/1.0/auth/time") as response,
        ):
            answer: Any = await response.json()
        assert answer == int(START)
    finally:
        await runner.cleanup()
