"""The OVH client against a fake OVH behind `httpx.MockTransport`: no network is used."""

import asyncio
import base64
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from exporter.ovh.auth import ApplicationKey, Credentials, OAuth2ClientCredentials
from exporter.ovh.budget import RequestBudget
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import (
    OvhApiError,
    OvhError,
    OvhResponseError,
    OvhTransportError,
    ReadOnlyError,
)
from exporter.ovh.retry import RetryPolicy

API = "https://api.ovh.test/1.0"
TOKEN_URL = "https://auth.ovh.test/auth/oauth2/token"
SERVICE = "vps-1a2b3c4d.vps.ovh.net"

APP_SECRET = "7kbG7Bk7S9Nu7ZmD"
CONSUMER_KEY = "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1"
CLIENT_SECRET = "client-s3cret-value"
KEY = ApplicationKey("app-key", SecretStr(APP_SECRET), SecretStr(CONSUMER_KEY))
OAUTH2 = OAuth2ClientCredentials("client-id", SecretStr(CLIENT_SECRET), TOKEN_URL)
SECRETS = (APP_SECRET, CONSUMER_KEY, CLIENT_SECRET)

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON answer."""
    return httpx.Response(status, json=body, headers=headers)


def raw_path(request: httpx.Request) -> str:
    """The path as sent, still percent-encoded, without the query."""
    return request.url.raw_path.decode().split("?")[0]


class FakeOvh:
    """Routes requests by raw path to handlers and records every request that reached it."""

    def __init__(self, server_times: list[int] | None = None) -> None:
        """Answer /auth/time with `server_times` in turn; other routes are added by each test."""
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, Handler] = {}
        self.server_times = server_times or [1_700_000_042]
        self.routes["/1.0/auth/time"] = self._time

    def _time(self, request: httpx.Request) -> httpx.Response:
        """Give the next server time; the last one repeats."""
        value = self.server_times[0] if len(self.server_times) == 1 else self.server_times.pop(0)
        return answer(200, value)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        """Record the request and answer it from its route, or 404."""
        self.requests.append(request)
        await asyncio.sleep(0)  # A real exchange yields to the event loop; so does this one.
        handler = self.routes.get(raw_path(request))
        if handler is None:
            return answer(404, {"class": "Client::NotFound", "message": "no such route"})
        result = handler(request)
        return await result if inspect.isawaitable(result) else result

    def to(self, path: str) -> list[httpx.Request]:
        """The requests that reached `path`."""
        return [request for request in self.requests if raw_path(request) == path]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        """Start at `now`."""
        self.now = now

    def __call__(self) -> float:
        """Tell the time."""
        return self.now


class Observer:
    """Records the observer calls."""

    def __init__(self) -> None:
        """Start with no calls."""
        self.calls: list[tuple[str, str]] = []

    def __call__(self, route: str, code: str) -> None:
        """Record one call."""
        self.calls.append((route, code))


MakeClient = Callable[..., OvhClient]


async def no_wait(seconds: float) -> None:
    """Skip the backoff between retries."""


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Build clients on a fake OVH, and close them all at the end."""
    clients: list[OvhClient] = []

    def make(fake: FakeOvh, credentials: Credentials = KEY, **options: Any) -> OvhClient:
        options.setdefault("clock", Clock(1_700_000_000.7))
        options.setdefault("retry", RetryPolicy(sleep=no_wait))
        client = OvhClient(API, credentials, transport=httpx.MockTransport(fake), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def vps(request: httpx.Request) -> httpx.Response:
    """Answer any VPS with its own name."""
    return answer(200, {"name": raw_path(request).rsplit("/", 1)[-1]})


def task_by_id(request: httpx.Request) -> httpx.Response:
    """Answer any task with its own id."""
    return answer(200, {"id": int(raw_path(request).rsplit("/", 1)[-1])})


# Application keys.


async def test_signed_get_signs_the_sent_url_with_the_server_time(make_client: MakeClient) -> None:
    fake = FakeOvh([1_700_000_042])
    fake.routes[f"/1.0/vps/{SERVICE}/tasks"] = lambda request: answer(200, [1, 2])
    fake.routes["/1.0/vps/a%2Fb%20c"] = vps
    clock = Clock(1_700_000_000.7)
    observer = Observer()
    client = make_client(fake, clock=clock, observer=observer)

    tasks = await client.get(
        "/vps/{serviceName}/tasks",
        serviceName=SERVICE,
        params={"state": "todo", "type": "reboot"},
    )
    assert tasks == [1, 2]

    time_request, api_request = fake.requests
    assert not any(name.lower().startswith("x-ovh-") for name in time_request.headers)
    assert str(api_request.url) == f"{API}/vps/{SERVICE}/tasks?state=todo&type=reboot"
    assert api_request.headers["X-Ovh-Application"] == "app-key"
    assert api_request.headers["X-Ovh-Consumer"] == CONSUMER_KEY
    # int(1_700_000_000.7) + (1_700_000_042 - 1_700_000_000)
    assert api_request.headers["X-Ovh-Timestamp"] == "1700000042"
    # printf '%s' '7kbG7Bk7S9Nu7ZmD+MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1+GET+https://api.ovh.test/1.0
    #   /vps/vps-1a2b3c4d.vps.ovh.net/tasks?state=todo&type=reboot++1700000042' | sha1sum
    assert api_request.headers["X-Ovh-Signature"] == "$1$370f151fb08484519d668aa801683739f52a511d"
    assert "Authorization" not in api_request.headers

    clock.now += 10
    assert await client.get("/vps/{serviceName}", serviceName="a/b c") == {"name": "a%2Fb%20c"}
    later = fake.requests[-1]
    assert later.url.raw_path == b"/1.0/vps/a%2Fb%20c"
    assert later.headers["X-Ovh-Timestamp"] == "1700000052"
    # printf '%s' '7kbG7Bk7S9Nu7ZmD+MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1+GET+
    #   https://api.ovh.test/1.0/vps/a%2Fb%20c++1700000052' | sha1sum
    assert later.headers["X-Ovh-Signature"] == "$1$e1f94c47315b85aa5d173b7bc0713d3f79b7435d"

    assert len(fake.to("/1.0/auth/time")) == 1
    assert observer.calls == [
        ("/auth/time", "200"),
        ("/vps/{serviceName}/tasks", "200"),
        ("/vps/{serviceName}", "200"),
    ]


async def test_a_request_is_signed_after_its_wait_for_the_budget(make_client: MakeClient) -> None:
    fake = FakeOvh([1_700_000_042])
    fake.routes["/1.0/vps/a"] = vps
    clock = Clock(1_700_000_000.7)

    async def wait(seconds: float) -> None:
        """The budget's wait, passing on the clock requests are signed with."""
        clock.now += seconds

    # One request, then one every 400 s: longer than OVH accepts a signature's age.
    budget = RequestBudget(per_minute=0.15, burst=1, clock=clock, sleep=wait)
    client = make_client(fake, clock=clock, budget=budget)

    await client.get("/vps/{serviceName}", serviceName="a")
    await client.get("/vps/{serviceName}", serviceName="a")

    first, second = (request for request in fake.requests if request.url.path == "/1.0/vps/a")
    assert first.headers["X-Ovh-Timestamp"] == "1700000042"
    assert second.headers["X-Ovh-Timestamp"] == "1700000442"


async def test_concurrent_first_requests_read_the_server_time_once(
    make_client: MakeClient,
) -> None:
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}"] = vps
    client = make_client(fake)

    results = await asyncio.gather(
        *(client.get("/vps/{serviceName}", serviceName=SERVICE) for _ in range(6))
    )

    assert results == [{"name": SERVICE}] * 6
    assert len(fake.to("/1.0/auth/time")) == 1
    assert len(fake.to(f"/1.0/vps/{SERVICE}")) == 6


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"errorCode": "QUERY_TIME_OUT", "message": "Query out of time"}),
        (401, {"errorCode": "INVALID_SIGNATURE", "message": "Invalid signature"}),
        (403, {"message": "Invalid timestamp"}),
        (400, {"message": "The request is out of time"}),
    ],
)
async def test_clock_refusal_rereads_the_delta_and_retries_once(
    make_client: MakeClient, status: int, body: dict[str, str]
) -> None:
    fake = FakeOvh([1_700_000_042, 1_700_000_100])
    answers = iter([answer(status, body), answer(200, {"name": SERVICE})])
    fake.routes[f"/1.0/vps/{SERVICE}"] = lambda request: next(answers)
    client = make_client(fake)

    assert await client.get("/vps/{serviceName}", serviceName=SERVICE) == {"name": SERVICE}

    stamps = [request.headers["X-Ovh-Timestamp"] for request in fake.to(f"/1.0/vps/{SERVICE}")]
    assert stamps == ["1700000042", "1700000100"]
    assert len(fake.to("/1.0/auth/time")) == 2


async def test_a_second_clock_refusal_is_final(make_client: MakeClient) -> None:
    fake = FakeOvh([1_700_000_042, 1_700_000_100, 1_700_000_200])
    fake.routes[f"/1.0/vps/{SERVICE}"] = lambda request: answer(
        400, {"errorCode": "QUERY_TIME_OUT", "message": "Query out of time"}
    )
    client = make_client(fake)

    with pytest.raises(OvhApiError) as caught:
        await client.get("/vps/{serviceName}", serviceName=SERVICE)

    assert caught.value.error_code == "QUERY_TIME_OUT"
    assert len(fake.to(f"/1.0/vps/{SERVICE}")) == 2
    assert len(fake.to("/1.0/auth/time")) == 2


async def test_other_refusals_are_not_retried(make_client: MakeClient) -> None:
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}"] = lambda request: answer(
        403, {"errorCode": "INVALID_KEY", "message": "Invalid application key"}
    )
    client = make_client(fake)

    with pytest.raises(OvhApiError) as caught:
        await client.get("/vps/{serviceName}", serviceName=SERVICE)

    assert caught.value.auth_failed
    assert len(fake.to(f"/1.0/vps/{SERVICE}")) == 1
    assert len(fake.to("/1.0/auth/time")) == 1


# OAuth2 service accounts.


def token_route(fake: FakeOvh, lifetime: int = 3600) -> None:
    """Serve numbered tokens: tok1, tok2, ..."""

    def issue(request: httpx.Request) -> httpx.Response:
        count = len(fake.to("/auth/oauth2/token"))
        return answer(
            200, {"access_token": f"tok{count}", "token_type": "Bearer", "expires_in": lifetime}
        )

    fake.routes["/auth/oauth2/token"] = issue


async def test_oauth2_token_is_fetched_once_reused_and_renewed_before_expiry(
    make_client: MakeClient,
) -> None:
    fake = FakeOvh()
    token_route(fake)
    fake.routes[f"/1.0/vps/{SERVICE}"] = vps
    clock = Clock(1000.0)
    client = make_client(fake, OAUTH2, clock=clock)

    await asyncio.gather(*(client.get("/vps/{serviceName}", serviceName=SERVICE) for _ in range(3)))
    clock.now = 1000.0 + 3600 - 61
    await client.get("/vps/{serviceName}", serviceName=SERVICE)

    (token_request,) = fake.to("/auth/oauth2/token")
    assert token_request.method == "POST"
    assert str(token_request.url) == TOKEN_URL
    assert token_request.content == b"grant_type=client_credentials&scope=all"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    basic = base64.b64encode(f"client-id:{CLIENT_SECRET}".encode()).decode()
    assert token_request.headers["Authorization"] == f"Basic {basic}"

    api_requests = fake.to(f"/1.0/vps/{SERVICE}")
    assert [request.headers["Authorization"] for request in api_requests] == ["Bearer tok1"] * 4
    assert not any(name.lower().startswith("x-ovh-") for name in api_requests[0].headers)
    assert fake.to("/1.0/auth/time") == []

    clock.now = 1000.0 + 3600 - 60
    await client.get("/vps/{serviceName}", serviceName=SERVICE)
    assert len(fake.to("/auth/oauth2/token")) == 2
    assert fake.requests[-1].headers["Authorization"] == "Bearer tok2"


async def test_oauth2_401_fetches_a_new_token_and_retries_once(make_client: MakeClient) -> None:
    fake = FakeOvh()
    token_route(fake)

    def refuse_first_token(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer tok1":
            return answer(401, {"message": "Invalid token"})
        return vps(request)

    fake.routes[f"/1.0/vps/{SERVICE}"] = refuse_first_token
    client = make_client(fake, OAUTH2)

    assert await client.get("/vps/{serviceName}", serviceName=SERVICE) == {"name": SERVICE}
    assert len(fake.to("/auth/oauth2/token")) == 2
    sent = [request.headers["Authorization"] for request in fake.to(f"/1.0/vps/{SERVICE}")]
    assert sent == ["Bearer tok1", "Bearer tok2"]


async def test_oauth2_second_401_is_final(make_client: MakeClient) -> None:
    fake = FakeOvh()
    token_route(fake)
    fake.routes[f"/1.0/vps/{SERVICE}"] = lambda request: answer(401, {"message": "Invalid token"})
    client = make_client(fake, OAUTH2)

    with pytest.raises(OvhApiError) as caught:
        await client.get("/vps/{serviceName}", serviceName=SERVICE)

    assert caught.value.auth_failed
    assert len(fake.to("/auth/oauth2/token")) == 2
    assert len(fake.to(f"/1.0/vps/{SERVICE}")) == 2


async def test_failed_token_request_is_an_api_error_on_the_token_route(
    make_client: MakeClient,
) -> None:
    fake = FakeOvh()
    fake.routes["/auth/oauth2/token"] = lambda request: answer(
        401, {"error": "invalid_client", "error_description": "Client authentication failed"}
    )
    observer = Observer()
    client = make_client(fake, OAUTH2, observer=observer)

    with pytest.raises(OvhApiError) as caught:
        await client.get("/vps/{serviceName}", serviceName=SERVICE)

    error = caught.value
    assert (error.route, error.status, error.error_code) == ("oauth2_token", 401, "invalid_client")
    assert str(error) == "POST oauth2_token: HTTP 401 invalid_client: Client authentication failed"
    assert observer.calls == [("oauth2_token", "401")]
    assert fake.to(f"/1.0/vps/{SERVICE}") == []


# Errors.


async def test_api_error_fields_and_message(make_client: MakeClient) -> None:
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}"] = lambda request: answer(
        403,
        {"errorCode": "NOT_GRANTED_CALL", "message": "This call has not been granted"},
        {"X-Ovh-QueryID": "EU.ext-1.x"},
    )
    client = make_client(fake)

    with pytest.raises(OvhApiError) as caught:
        await client.get("/vps/{serviceName}", serviceName=SERVICE)

    error = caught.value
    assert str(error) == (
        "GET /vps/{serviceName}: HTTP 403 NOT_GRANTED_CALL: This call has not been granted"
        " (query id EU.ext-1.x)"
    )
    assert (error.route, error.status, error.error_code, error.query_id) == (
        "/vps/{serviceName}",
        403,
        "NOT_GRANTED_CALL",
        "EU.ext-1.x",
    )
    assert error.message == "This call has not been granted"
    assert (error.not_granted, error.not_found, error.auth_failed, error.service_expired) == (
        True,
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("status", "body", "code", "flags"),
    [
        (404, {"class": "Client::NotFound", "message": "gone"}, "Client::NotFound", (1, 0, 0, 0)),
        (460, {"message": "This service is expired"}, None, (0, 0, 0, 1)),
        (401, {"message": "You must login first"}, None, (0, 0, 1, 0)),
        (
            403,
            {"errorCode": "INVALID_CREDENTIAL", "message": "Invalid"},
            "INVALID_CREDENTIAL",
            (0, 0, 1, 0),
        ),
        (403, {"errorCode": "NOT_CREDENTIAL", "message": "no"}, "NOT_CREDENTIAL", (0, 0, 1, 0)),
        (403, {"errorCode": "FORBIDDEN", "message": "no"}, "FORBIDDEN", (0, 0, 0, 0)),
    ],
)
async def test_api_error_kinds(
    make_client: MakeClient,
    status: int,
    body: dict[str, str],
    code: str | None,
    flags: tuple[int, int, int, int],
) -> None:
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}"] = lambda request: answer(status, body)
    client = make_client(fake)

    with pytest.raises(OvhApiError) as caught:
        await client.get("/vps/{serviceName}", serviceName=SERVICE)

    error = caught.value
    assert (error.status, error.error_code, error.message, error.query_id) == (
        status,
        code,
        body["message"],
        None,
    )
    assert (error.not_found, error.not_granted, error.auth_failed, error.service_expired) == tuple(
        map(bool, flags)
    )


async def test_non_json_error_body_is_described(make_client: MakeClient) -> None:
    page = (
        "<html>\n  <head><title>502 Bad Gateway</title></head>\n  <body>\n" + "x" * 200 + "</body>"
    )
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}"] = lambda request: httpx.Response(
        502, text=page, headers={"Content-Type": "text/html; charset=utf-8"}
    )
    observer = Observer()
    client = make_client(fake, observer=observer)

    with pytest.raises(OvhApiError) as caught:
        await client.get("/vps/{serviceName}", serviceName=SERVICE)

    expected = "<html> <head><title>502 Bad Gateway</title></head> <body> " + "x" * 62
    assert len(expected) == 120
    assert caught.value.message == f"non-JSON answer (text/html): {expected}"
    assert caught.value.error_code is None
    assert observer.calls[-1] == ("/vps/{serviceName}", "502")


async def test_non_json_success_is_a_response_error(make_client: MakeClient) -> None:
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}"] = lambda request: httpx.Response(200, text="hello  world")
    observer = Observer()
    client = make_client(fake, observer=observer)

    with pytest.raises(OvhResponseError) as caught:
        await client.get("/vps/{serviceName}", serviceName=SERVICE)

    assert caught.value.reason == "non-JSON answer (text/plain): hello world"
    assert caught.value.route == "/vps/{serviceName}"
    assert observer.calls[-1] == ("/vps/{serviceName}", "invalid_response")


async def test_body_is_cut_off_past_the_cap(make_client: MakeClient) -> None:
    fake = FakeOvh()
    fake.routes["/1.0/vps/small"] = lambda request: answer(200, "x" * 62)  # 64 bytes with quotes
    fake.routes["/1.0/vps/large"] = lambda request: answer(200, "x" * 63)
    observer = Observer()
    client = make_client(fake, observer=observer, max_body_bytes=64)

    assert await client.get("/vps/{serviceName}", serviceName="small") == "x" * 62
    with pytest.raises(OvhResponseError) as caught:
        await client.get("/vps/{serviceName}", serviceName="large")

    assert caught.value.reason == "the body is larger than 64 bytes"
    assert observer.calls[-2:] == [
        ("/vps/{serviceName}", "200"),
        ("/vps/{serviceName}", "invalid_response"),
    ]


@pytest.mark.parametrize(
    ("failure", "code", "reason"),
    [
        (httpx.ReadTimeout, "timeout", "timeout (ReadTimeout)"),
        (httpx.ConnectTimeout, "timeout", "timeout (ConnectTimeout)"),
        (httpx.ConnectError, "connection_error", "connection error (ConnectError: boom)"),
        (
            httpx.RemoteProtocolError,
            "connection_error",
            "connection error (RemoteProtocolError: boom)",
        ),
    ],
)
async def test_transport_failures(
    make_client: MakeClient, failure: type[httpx.TransportError], code: str, reason: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure("boom", request=request)

    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}"] = fail
    observer = Observer()
    client = make_client(fake, observer=observer)

    with pytest.raises(OvhTransportError) as caught:
        await client.get("/vps/{serviceName}", serviceName=SERVICE)

    assert caught.value.reason == reason
    assert str(caught.value) == f"GET /vps/{{serviceName}}: {reason}"
    # A transport failure may pass: it is sent again, up to the policy's four attempts.
    assert observer.calls == [("/auth/time", "200")] + [("/vps/{serviceName}", code)] * 4


async def test_server_time(make_client: MakeClient) -> None:
    fake = FakeOvh([1_700_000_042])
    client = make_client(fake)
    assert await client.server_time() == 1_700_000_042

    fake.routes["/1.0/auth/time"] = lambda request: answer(200, "1700000042")
    with pytest.raises(OvhResponseError, match="expected an integer"):
        await client.server_time()


async def test_route_placeholders_must_match_the_path_values(make_client: MakeClient) -> None:
    client = make_client(FakeOvh())
    with pytest.raises(ValueError, match="takes"):
        await client.get("/vps/{serviceName}")
    with pytest.raises(ValueError, match="takes"):
        await client.get("/vps/{serviceName}", serviceName=SERVICE, id=3)


async def test_secrets_never_appear_in_errors_or_reprs(make_client: MakeClient) -> None:
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}"] = lambda request: answer(
        403, {"errorCode": "INVALID_CREDENTIAL", "message": "This credential is not valid"}
    )
    fake.routes["/auth/oauth2/token"] = lambda request: answer(401, {"error": "invalid_client"})
    errors: list[OvhError] = []
    for credentials in (KEY, OAUTH2):
        client = make_client(fake, credentials)
        with pytest.raises(OvhApiError) as caught:
            await client.get("/vps/{serviceName}", serviceName=SERVICE)
        errors.append(caught.value)

    shown = " ".join(f"{thing} {thing!r}" for thing in (*errors, KEY, OAUTH2))
    assert "INVALID_CREDENTIAL" in shown
    assert "invalid_client" in shown
    for secret in SECRETS:
        assert secret not in shown


# Lists of objects.


def paged(objects: list[dict[str, Any]], total: bool) -> Handler:
    """Serve `objects` in the pages the request asks for, as an expanding OVH route does."""

    def serve(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Pagination-Mode"] == "CachedObjectList-Pages"
        size = int(request.headers["X-Pagination-Size"])
        number = int(request.headers["X-Pagination-Number"])
        headers = {"X-Pagination-Elements": str(len(objects))} if total else {}
        return answer(200, objects[(number - 1) * size : number * size], headers)

    return serve


@pytest.mark.parametrize(
    ("count", "total", "pages"),
    [(5, False, 3), (5, True, 3), (4, False, 3), (4, True, 2), (0, True, 1)],
)
async def test_expanded_list_is_collected_page_by_page(
    make_client: MakeClient, count: int, total: bool, pages: int
) -> None:
    objects = [{"id": n} for n in range(count)]
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}/tasks"] = paged(objects, total)
    client = make_client(fake)

    result = await client.get_objects(
        "/vps/{serviceName}/tasks",
        item_route="/vps/{serviceName}/tasks/{id}",
        page_size=2,
        serviceName=SERVICE,
    )

    assert result.objects == objects
    assert result.failed == {}
    sent = [
        (request.headers["X-Pagination-Size"], request.headers["X-Pagination-Number"])
        for request in fake.to(f"/1.0/vps/{SERVICE}/tasks")
    ]
    assert sent == [("2", str(number)) for number in range(1, pages + 1)]


async def test_pages_of_a_list_share_equal_string_values(make_client: MakeClient) -> None:
    objects = [
        {
            "name": f"vps-{n}.vps.ovh.net",
            "state": "running",
            "model": {"offer": "VPS Essential 2-4-80", "datacenter": ["gra", "sbg"]},
            "vcore": 2,
            "locked": None,
        }
        for n in range(5)
    ]
    fake = FakeOvh()
    fake.routes["/1.0/vps"] = paged(objects, total=True)
    client = make_client(fake)

    result = await client.get_objects("/vps", item_route="/vps/{serviceName}", page_size=2)

    assert result.objects == objects
    # The first and the last object came in different pages, each decoded on its own.
    first, last = result.objects[0], result.objects[-1]
    assert first["state"] is last["state"]
    assert first["model"]["offer"] is last["model"]["offer"]
    assert first["model"]["datacenter"][1] is last["model"]["datacenter"][1]
    assert first["name"] != last["name"]


async def test_object_pages_reads_each_page_only_when_asked(make_client: MakeClient) -> None:
    objects = [{"id": n, "state": "todo"} for n in range(5)]
    fake = FakeOvh()
    route = f"/1.0/vps/{SERVICE}/tasks"
    fake.routes[route] = paged(objects, total=True)
    client = make_client(fake)

    pages = client.object_pages(
        "/vps/{serviceName}/tasks",
        item_route="/vps/{serviceName}/tasks/{id}",
        page_size=2,
        serviceName=SERVICE,
    )
    got = []
    asked = []
    async for page in pages:
        asked.append(len(fake.to(route)))
        got.append(page)

    assert asked == [1, 2, 3]
    assert [page.objects for page in got] == [objects[0:2], objects[2:4], objects[4:]]
    assert all(page.failed == {} for page in got)
    # Equal values are shared across the pages, as in `get_objects`.
    assert got[0].objects[0]["state"] is got[2].objects[0]["state"]


async def test_object_pages_of_a_route_answering_ids_is_one_object_list(
    make_client: MakeClient,
) -> None:
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}/tasks"] = lambda request: answer(200, [11, 12, 13])
    for task in (11, 13):
        fake.routes[f"/1.0/vps/{SERVICE}/tasks/{task}"] = task_by_id
    client = make_client(fake)

    for _ in range(2):
        pages = [
            page
            async for page in client.object_pages(
                "/vps/{serviceName}/tasks",
                item_route="/vps/{serviceName}/tasks/{id}",
                serviceName=SERVICE,
            )
        ]
        (only,) = pages
        assert only.objects == [{"id": 11}, {"id": 13}]
        assert list(only.failed) == ["12"]

    listed = fake.to(f"/1.0/vps/{SERVICE}/tasks")
    assert [request.headers.get("X-Pagination-Mode") for request in listed] == [
        "CachedObjectList-Pages",
        None,
    ]


async def test_id_list_falls_back_to_one_get_per_id_and_is_remembered(
    make_client: MakeClient,
) -> None:
    fake = FakeOvh()
    fake.routes["/1.0/vps/one/tasks"] = lambda request: answer(200, [11, 12])
    fake.routes["/1.0/vps/two/tasks"] = lambda request: answer(200, [21])
    for service, task in (("one", 11), ("one", 12), ("two", 21)):
        fake.routes[f"/1.0/vps/{service}/tasks/{task}"] = task_by_id
    observer = Observer()
    client = make_client(fake, observer=observer)

    # Two ids fill a page of two: the ids alone must stop the paging (the fake would
    # send them again for every page number).
    async with asyncio.timeout(5):
        first = await client.get_objects(
            "/vps/{serviceName}/tasks",
            item_route="/vps/{serviceName}/tasks/{id}",
            page_size=2,
            serviceName="one",
        )
    second = await client.get_objects(
        "/vps/{serviceName}/tasks", item_route="/vps/{serviceName}/tasks/{id}", serviceName="two"
    )

    assert first.objects == [{"id": 11}, {"id": 12}]
    assert second.objects == [{"id": 21}]
    assert first.failed == second.failed == {}
    (asked_one,) = fake.to("/1.0/vps/one/tasks")
    (asked_two,) = fake.to("/1.0/vps/two/tasks")
    assert asked_one.headers["X-Pagination-Mode"] == "CachedObjectList-Pages"
    assert "X-Pagination-Mode" not in asked_two.headers
    assert observer.calls[1:] == [
        ("/vps/{serviceName}/tasks", "200"),
        ("/vps/{serviceName}/tasks/{id}", "200"),
        ("/vps/{serviceName}/tasks/{id}", "200"),
        ("/vps/{serviceName}/tasks", "200"),
        ("/vps/{serviceName}/tasks/{id}", "200"),
    ]


async def test_per_id_failures_are_kept_apart(make_client: MakeClient) -> None:
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}/ips"] = lambda request: answer(
        200, ["192.0.2.1", "2001:db8::1", "192.0.2.9"]
    )
    fake.routes[f"/1.0/vps/{SERVICE}/ips/192.0.2.1"] = lambda request: answer(
        200, {"ipAddress": "192.0.2.1"}
    )
    fake.routes[f"/1.0/vps/{SERVICE}/ips/2001%3Adb8%3A%3A1"] = lambda request: answer(
        200, {"ipAddress": "2001:db8::1"}
    )
    client = make_client(fake)

    result = await client.get_objects(
        "/vps/{serviceName}/ips",
        item_route="/vps/{serviceName}/ips/{ipAddress}",
        serviceName=SERVICE,
    )

    assert result.objects == [{"ipAddress": "192.0.2.1"}, {"ipAddress": "2001:db8::1"}]
    assert list(result.failed) == ["192.0.2.9"]
    error = result.failed["192.0.2.9"]
    assert isinstance(error, OvhApiError)
    assert error.not_found
    assert error.route == "/vps/{serviceName}/ips/{ipAddress}"


async def test_empty_list_is_not_taken_for_ids(make_client: MakeClient) -> None:
    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}/tasks"] = lambda request: answer(200, [])
    client = make_client(fake)

    for _ in range(2):
        result = await client.get_objects(
            "/vps/{serviceName}/tasks",
            item_route="/vps/{serviceName}/tasks/{id}",
            serviceName=SERVICE,
        )
        assert (result.objects, result.failed) == ([], {})

    asked = fake.to(f"/1.0/vps/{SERVICE}/tasks")
    assert [request.headers.get("X-Pagination-Mode") for request in asked] == [
        "CachedObjectList-Pages"
    ] * 2


async def test_per_id_gets_run_concurrently_within_the_limit(make_client: MakeClient) -> None:
    running = 0
    peak = 0

    async def slow_task(request: httpx.Request) -> httpx.Response:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return task_by_id(request)

    fake = FakeOvh()
    fake.routes[f"/1.0/vps/{SERVICE}/tasks"] = lambda request: answer(200, list(range(6)))
    for task in range(6):
        fake.routes[f"/1.0/vps/{SERVICE}/tasks/{task}"] = slow_task
    client = make_client(fake, max_concurrency=2)

    result = await client.get_objects(
        "/vps/{serviceName}/tasks", item_route="/vps/{serviceName}/tasks/{id}", serviceName=SERVICE
    )

    assert result.objects == [{"id": n} for n in range(6)]
    assert peak == 2


# Read-only by construction.


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"])
@pytest.mark.parametrize("credentials", [KEY, OAUTH2], ids=["application_key", "oauth2"])
async def test_transport_refuses_everything_but_get(
    make_client: MakeClient, method: str, credentials: Credentials
) -> None:
    fake = FakeOvh()
    client = make_client(fake, credentials)

    with pytest.raises(ReadOnlyError) as caught:
        await client._http.request(method, f"{API}/vps/{SERVICE}")

    assert str(caught.value) == f"{method} /1.0/vps/{SERVICE}: refused: the OVH client is read-only"
    assert fake.requests == []


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", TOKEN_URL + "?scope=all"),
        ("POST", "https://auth.ovh.test/auth/oauth2/token/revoke"),
        ("POST", "https://other.ovh.test/auth/oauth2/token"),
        ("PUT", TOKEN_URL),
        ("DELETE", TOKEN_URL),
    ],
)
async def test_only_a_post_to_exactly_the_token_url_passes(
    make_client: MakeClient, method: str, url: str
) -> None:
    fake = FakeOvh()
    token_route(fake)
    client = make_client(fake, OAUTH2)

    with pytest.raises(ReadOnlyError):
        await client._http.request(method, url)
    assert fake.requests == []

    response = await client._http.post(TOKEN_URL, data={"grant_type": "client_credentials"})
    assert response.status_code == 200
    assert [request.method for request in fake.requests] == ["POST"]


async def test_application_key_client_refuses_the_token_post(make_client: MakeClient) -> None:
    fake = FakeOvh()
    client = make_client(fake, KEY)

    with pytest.raises(ReadOnlyError):
        await client._http.post("https://www.ovh.com/auth/oauth2/token")
    assert fake.requests == []
