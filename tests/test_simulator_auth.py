"""The simulated account's credential checks: signed calls, OAuth2 tokens and `/auth/time`."""

import base64
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from exporter.ovh.auth import signature
from exporter.simulator import (
    DEMO_APPLICATION_KEY,
    DEMO_APPLICATION_SECRET,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CONSUMER_KEY,
    REQUEST_LOG,
    Fleet,
    RecordedRequest,
    SimulatorConfig,
    create_app,
    sim_vps,
)

Client = TestClient[web.Request, web.Application]

# 2026-01-01T00:00:00Z, the simulator's clock in these tests unless a test moves it.
START = 1_767_225_600.0
QUERY_ID = re.compile(r"EU\.ext-3\.[0-9a-f]{8}\.[0-9]+")
NAME = "vps-0a0b0c0d.vps.ovh.net"


class FakeClock:
    """A clock the test moves by hand, standing in for `time.time`."""

    def __init__(self, now: float = START) -> None:
        """Start at `now`."""
        self.now = now

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now


def signed_headers(
    client: Client,
    path: str,
    timestamp: int,
    *,
    application_key: str = DEMO_APPLICATION_KEY,
    application_secret: str = DEMO_APPLICATION_SECRET,
    consumer_key: str = DEMO_CONSUMER_KEY,
    signed_path: str | None = None,
) -> dict[str, str]:
    """Sign a GET of `path` (or, to forge a mismatch, of `signed_path`) the way OVH clients do."""
    url = str(client.make_url(signed_path or path))
    return {
        "X-Ovh-Application": application_key,
        "X-Ovh-Consumer": consumer_key,
        "X-Ovh-Timestamp": str(timestamp),
        "X-Ovh-Signature": signature(application_secret, consumer_key, "GET", url, "", timestamp),
    }


@asynccontextmanager
async def simulated(fleet: Fleet, config: SimulatorConfig | None = None) -> AsyncIterator[Client]:
    """Serve the simulator on a free loopback port and hand out a client for it."""
    async with TestClient(TestServer(create_app(fleet, config), host="127.0.0.1")) as client:
        yield client


async def signed_get(client: Client, path: str, timestamp: int = int(START)) -> Any:
    """GET `path` signed with the demo credentials and return the JSON answer, expecting 200."""
    response = await client.get(path, headers=signed_headers(client, path, timestamp))
    assert response.status == 200, await response.text()
    return await response.json()


async def assert_ovh_error(
    response: Any, status: int, error_code: str, message: str | None = None
) -> None:
    """Check an error answer's status, errorCode, message and query id."""
    body = await response.json()
    assert response.status == status, body
    assert body["errorCode"] == error_code
    if message is not None:
        assert body["message"] == message
    assert QUERY_ID.fullmatch(response.headers["X-Ovh-QueryID"])


@pytest.fixture
def clock() -> FakeClock:
    """The simulator's clock, at START."""
    return FakeClock()


@pytest.fixture
async def client(clock: FakeClock) -> AsyncIterator[Client]:
    """A simulator holding one VPS, on the fake clock."""
    async with simulated(Fleet.of(sim_vps(NAME)), SimulatorConfig(clock=clock)) as client:
        yield client


async def test_auth_time_is_the_clock_plus_the_skew_without_credentials() -> None:
    config = SimulatorConfig(clock=FakeClock(START + 0.9), clock_skew=-120)
    async with simulated(Fleet(), config) as client:
        response = await client.get("/1.0/auth/time")
        assert response.status == 200
        assert await response.text() == str(int(START) - 120)
        assert QUERY_ID.fullmatch(response.headers["X-Ovh-QueryID"])
        assert client.app[REQUEST_LOG] == [
            RecordedRequest("GET", "/auth/time", "/1.0/auth/time", "none")
        ]


async def test_a_correctly_signed_call_succeeds_and_is_logged(client: Client) -> None:
    assert await signed_get(client, "/1.0/vps") == [NAME]

    assert client.app[REQUEST_LOG] == [RecordedRequest("GET", "/vps", "/1.0/vps", "signature")]


async def test_the_signature_covers_the_query_string(client: Client) -> None:
    path = f"/1.0/vps/{NAME}/automatedBackup/restorePoints?state=available"

    assert await signed_get(client, path) == []

    forged = signed_headers(
        client, path, int(START), signed_path=path.replace("available", "restored")
    )
    response = await client.get(path, headers=forged)
    await assert_ovh_error(response, 400, "INVALID_SIGNATURE", "Invalid signature")


def _without(name: str) -> Callable[[Client], dict[str, str]]:
    """Build demo-signed headers for /1.0/vps, less one."""

    def build(client: Client) -> dict[str, str]:
        headers = signed_headers(client, "/1.0/vps", int(START))
        del headers[name]
        return headers

    return build


REFUSALS: dict[str, tuple[Callable[[Client], dict[str, str]], int, str, str]] = {
    "wrong signature": (
        lambda c: signed_headers(c, "/1.0/vps", int(START), application_secret="x" * 32),
        400,
        "INVALID_SIGNATURE",
        "Invalid signature",
    ),
    "signature of another URL": (
        lambda c: signed_headers(c, "/1.0/vps", int(START), signed_path="/1.0/vps/"),
        400,
        "INVALID_SIGNATURE",
        "Invalid signature",
    ),
    "missing signature": (
        _without("X-Ovh-Signature"),
        400,
        "INVALID_SIGNATURE",
        "Invalid signature",
    ),
    "unknown consumer key": (
        lambda c: signed_headers(c, "/1.0/vps", int(START), consumer_key="y" * 32),
        403,
        "INVALID_CREDENTIAL",
        "This credential does not exist",
    ),
    "missing consumer key": (
        _without("X-Ovh-Consumer"),
        401,
        "NOT_CREDENTIAL",
        "You must login first",
    ),
    "missing application key": (
        _without("X-Ovh-Application"),
        403,
        "INVALID_KEY",
        "This application key is invalid",
    ),
    "unknown application key": (
        lambda c: signed_headers(c, "/1.0/vps", int(START), application_key="z" * 16),
        403,
        "INVALID_KEY",
        "This application key is invalid",
    ),
    "no credentials": (lambda c: {}, 401, "NOT_CREDENTIAL", "You must login first"),
    "timestamp 301 s behind": (
        lambda c: signed_headers(c, "/1.0/vps", int(START) - 301),
        400,
        "QUERY_TIME_OUT",
        "Query out of time",
    ),
    "timestamp 301 s ahead": (
        lambda c: signed_headers(c, "/1.0/vps", int(START) + 301),
        400,
        "QUERY_TIME_OUT",
        "Query out of time",
    ),
    "timestamp not a number": (
        lambda c: {**signed_headers(c, "/1.0/vps", int(START)), "X-Ovh-Timestamp": "soon"},
        400,
        "QUERY_TIME_OUT",
        "Query out of time",
    ),
    "unknown bearer token": (
        lambda c: {"Authorization": "Bearer not-issued-here"},
        401,
        "INVALID_CREDENTIAL",
        "This credential is not valid",
    ),
}


@pytest.mark.parametrize(
    ("headers", "status", "error_code", "message"), REFUSALS.values(), ids=REFUSALS.keys()
)
async def test_refused_credentials_get_ovh_errors(
    client: Client,
    headers: Callable[[Client], dict[str, str]],
    status: int,
    error_code: str,
    message: str,
) -> None:
    response = await client.get("/1.0/vps", headers=headers(client))

    await assert_ovh_error(response, status, error_code, message)


@pytest.mark.parametrize("drift", [-300, 300])
async def test_a_timestamp_300_seconds_off_is_still_accepted(client: Client, drift: int) -> None:
    assert await signed_get(client, "/1.0/vps", int(START) + drift) == [NAME]


async def test_timestamps_follow_the_skewed_clock() -> None:
    config = SimulatorConfig(clock=FakeClock(), clock_skew=1000)
    async with simulated(Fleet.of(sim_vps(NAME)), config) as client:
        server_time = await (await client.get("/1.0/auth/time")).json()

        assert await signed_get(client, "/1.0/vps", server_time) == [NAME]
        response = await client.get(
            "/1.0/vps", headers=signed_headers(client, "/1.0/vps", int(START))
        )
        await assert_ovh_error(response, 400, "QUERY_TIME_OUT")


def basic(client_id: str, client_secret: str) -> dict[str, str]:
    """Build an HTTP Basic `Authorization` header."""
    encoded = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def request_token(client: Client, **form: str) -> Any:
    """Ask the token route for a token with the demo client, and return the JSON answer."""
    response = await client.post(
        "/auth/oauth2/token",
        data={"grant_type": "client_credentials", **form},
        headers=basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )
    assert response.status == 200, await response.text()
    assert response.headers["Cache-Control"] == "no-store"
    assert QUERY_ID.fullmatch(response.headers["X-Ovh-QueryID"])
    return await response.json()


async def test_issued_tokens_are_accepted_until_they_expire(clock: FakeClock) -> None:
    config = SimulatorConfig(clock=clock, token_lifetime=60)
    async with simulated(Fleet.of(sim_vps(NAME)), config) as client:
        answer = await request_token(client, scope="all")
        assert answer["token_type"] == "Bearer"
        assert answer["expires_in"] == 60
        assert answer["scope"] == "all"
        bearer = {"Authorization": f"Bearer {answer['access_token']}"}

        clock.now = START + 59
        response = await client.get("/1.0/vps", headers=bearer)
        assert response.status == 200
        assert await response.json() == [NAME]

        clock.now = START + 60
        response = await client.get("/1.0/vps", headers=bearer)
        await assert_ovh_error(response, 401, "INVALID_CREDENTIAL")

        assert [(r.route, r.auth) for r in client.app[REQUEST_LOG]] == [
            ("/auth/oauth2/token", "oauth2"),
            ("/vps", "oauth2"),
            ("/vps", "oauth2"),
        ]


async def test_each_token_request_gets_a_new_token_and_the_scope_defaults_to_all(
    client: Client,
) -> None:
    first = await request_token(client)
    second = await request_token(client)

    assert first["scope"] == "all"
    assert first["access_token"] != second["access_token"]
    assert len(first["access_token"]) >= 32


async def test_client_credentials_may_also_come_in_the_form(client: Client) -> None:
    response = await client.post(
        "/auth/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )

    assert response.status == 200
    assert (await response.json())["token_type"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [
        basic(DEMO_CLIENT_ID, "wrong-secret"),
        basic("EU.someoneelse", DEMO_CLIENT_SECRET),
        {"Authorization": "Basic not-base64!"},
        {},
    ],
    ids=["wrong secret", "unknown client", "garbled header", "no client"],
)
async def test_bad_clients_get_no_token(client: Client, headers: dict[str, str]) -> None:
    response = await client.post(
        "/auth/oauth2/token", data={"grant_type": "client_credentials"}, headers=headers
    )

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert QUERY_ID.fullmatch(response.headers["X-Ovh-QueryID"])
    body = await response.json()
    assert body["error"] == "invalid_client"
    assert "access_token" not in body


@pytest.mark.parametrize(
    ("form", "error"),
    [({"grant_type": "password"}, "unsupported_grant_type"), ({}, "invalid_request")],
)
async def test_only_the_client_credentials_grant_is_served(
    client: Client, form: dict[str, str], error: str
) -> None:
    response = await client.post(
        "/auth/oauth2/token", data=form, headers=basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    )

    assert response.status == 400
    assert (await response.json())["error"] == error


async def test_the_token_route_is_post_only(client: Client) -> None:
    response = await client.get("/auth/oauth2/token")

    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    assert QUERY_ID.fullmatch(response.headers["X-Ovh-QueryID"])


def test_the_config_repr_hides_every_secret() -> None:
    text = repr(SimulatorConfig())

    for secret in (DEMO_APPLICATION_SECRET, DEMO_CONSUMER_KEY, DEMO_CLIENT_SECRET):
        assert secret not in text
    assert DEMO_APPLICATION_KEY in text


def test_impossible_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="token_lifetime"):
        SimulatorConfig(token_lifetime=0)
    with pytest.raises(ValueError, match="latency"):
        SimulatorConfig(latency=-1.0)
