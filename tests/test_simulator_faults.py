"""The simulator's fault injection, seen from the wire: what each kind of fault answers."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web

from exporter import simulator
from exporter.simulator.faults import (
    Fault,
    Faults,
    expire_tokens,
    restore_credentials,
    revoke_credentials,
    skew_clock,
)
from tests.fleets import known_fleet
from tests.support import bound_port

TIME = "/auth/time"


@dataclass
class Served:
    """A running simulator: its config, its runner, and a client asking its clock."""

    config: simulator.SimulatorConfig
    runner: web.AppRunner
    http: httpx.AsyncClient

    async def time(self, timeout: float = 5.0) -> httpx.Response:
        """GET /auth/time once."""
        url = f"http://127.0.0.1:{bound_port(self.runner)}/1.0{TIME}"
        return await self.http.get(url, timeout=timeout)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """A simulator on a free port whose clock reads 1700000000."""
    config = simulator.SimulatorConfig(clock=lambda: 1_700_000_000.0)
    runner = await simulator.serve(known_fleet(), config, "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient() as http:
            yield Served(config, runner, http)
    finally:
        await runner.cleanup()


async def test_a_status_fault_answers_ovh_s_error_with_retry_after(served: Served) -> None:
    config = served.config
    config.faults.add(Fault("status", route=TIME, status=429, retry_after="3", times=1))

    throttled = await served.time()
    normal = await served.time()

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.json() == {"message": "Too many requests, please slow down"}
    assert throttled.headers["X-Ovh-QueryID"].startswith("EU.ext-3.")
    assert (normal.status_code, normal.json()) == (200, 1_700_000_000)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, {"class": "Server::ServiceUnavailable", "message": "Service Unavailable"}),
        (500, {"class": "Server::InternalServerError", "message": "Internal Server Error"}),
        (460, {"class": "Client::Gone::ServiceExpired", "message": "This service is expired"}),
        (409, {"class": "Client::Conflict", "message": "Conflict"}),
    ],
)
async def test_status_faults_use_ovh_s_error_shapes(
    served: Served, status: int, body: dict[str, str]
) -> None:
    config = served.config
    config.faults.add(Fault("status", route=TIME, status=status))

    answer = await served.time()

    assert (answer.status_code, answer.json()) == (status, body)
    assert "Retry-After" not in answer.headers


async def test_after_and_times_pick_which_requests_fail(served: Served) -> None:
    config = served.config
    fault = config.faults.add(Fault("status", route=TIME, status=500, after=1, times=2))

    codes = [(await served.time()).status_code for _ in range(5)]

    assert codes == [200, 500, 500, 200, 200]
    assert fault.hits == 2
    assert fault.spent


async def test_a_rate_hits_the_same_requests_for_the_same_seed(served: Served) -> None:
    config = served.config
    runs = []
    for _ in range(2):
        config.faults = Faults(seed=42)
        config.faults.add(Fault("status", route=TIME, status=502, rate=0.5))
        runs.append([(await served.time()).status_code for _ in range(12)])

    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 502}


async def test_faults_only_touch_their_route(served: Served) -> None:
    config = served.config
    config.faults.add(Fault("status", route="/vps", status=503))

    assert (await served.time()).status_code == 200


async def test_html_pages_malformed_and_replaced_bodies(served: Served) -> None:
    config = served.config
    config.faults.add(Fault("html", route=TIME, status=502, times=1))
    config.faults.add(Fault("malformed", route=TIME, times=1))
    config.faults.add(Fault("body", route=TIME, body=b"\x00\xff", content_type="x/y", times=1))
    config.faults.add(Fault("mutate", route=TIME, mutate=str, times=1))

    page, cut, raw, changed = [await served.time() for _ in range(4)]

    assert page.status_code == 502
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in page.text
    assert (cut.status_code, cut.content) == (200, b"17000")
    assert (raw.status_code, raw.content, raw.headers["Content-Type"]) == (200, b"\x00\xff", "x/y")
    assert changed.json() == "1700000000"


async def test_resets_truncations_and_slow_bodies_break_the_exchange(served: Served) -> None:
    config = served.config
    config.faults.add(Fault("reset", route=TIME, times=1))
    config.faults.add(Fault("truncate", route=TIME, times=1))
    config.faults.add(Fault("slow_body", route=TIME, delay=0.3, times=1))

    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        await served.time()
    with pytest.raises(httpx.RemoteProtocolError, match=r"complete message body"):
        await served.time()
    with pytest.raises(httpx.ReadTimeout):
        await served.time(timeout=0.1)
    assert (await served.time()).json() == 1_700_000_000


async def test_latency_and_actions_let_the_answer_through(served: Served) -> None:
    config = served.config
    config.faults.add(Fault("latency", route=TIME, delay=0.01, times=1))
    config.faults.add(Fault("action", route=TIME, times=1, action=lambda: skew_clock(config, 60)))

    answer = await served.time()

    # The action moved the clock before the answer was made.
    assert answer.json() == 1_700_000_060


async def test_state_changes_move_the_clock_and_swap_the_credentials() -> None:
    config = simulator.SimulatorConfig(clock=lambda: 1000.0, token_lifetime=300)

    expire_tokens(config)
    assert config.now() == 1301.0
    revoked = revoke_credentials(config)
    assert revoked == (simulator.DEMO_CONSUMER_KEY, simulator.DEMO_CLIENT_SECRET)
    assert config.consumer_key != simulator.DEMO_CONSUMER_KEY
    assert config.client_secret != simulator.DEMO_CLIENT_SECRET
    restore_credentials(config, revoked)
    assert (config.consumer_key, config.client_secret) == revoked


@pytest.mark.parametrize(
    "options",
    [
        {"kind": "status", "rate": 1.5},
        {"kind": "latency", "delay": -1.0},
        {"kind": "status", "times": -1},
        {"kind": "mutate"},
        {"kind": "action"},
    ],
)
def test_impossible_faults_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"rate|negative|needs"):
        Fault(**options)  # type: ignore[arg-type]


async def test_faulty_requests_are_still_in_the_request_log(served: Served) -> None:
    config = served.config
    config.faults.add(Fault("status", route=TIME, status=503, times=2))
    config.faults.add(Fault("reset", route=TIME, times=1))

    codes = [(await served.time()).status_code for _ in range(2)]
    with pytest.raises(httpx.RemoteProtocolError):
        await served.time()
    codes.append((await served.time()).status_code)

    assert codes == [503, 503, 200]
    logged = served.runner.app[simulator.REQUEST_LOG]
    assert [(request.method, request.route) for request in logged] == [("GET", TIME)] * 4
