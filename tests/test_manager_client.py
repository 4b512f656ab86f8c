"""The OVH client with the manager's session cookies, against a fake manager: no network."""

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from pydantic import SecretStr

from exporter.ovh.auth import ManagerSession
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import ManagerSessionError, OvhApiError, ReadOnlyError

MANAGER = "https://manager.ovh.test"
APIV6 = MANAGER + "/engine/apiv6"
TWOAPI = MANAGER + "/engine/2api"
SESSION = "SESSION=manager-s3ssion-42; USERID=ab12345-ovh"
SERVICE = "vps-1a2b3c4d.vps.ovh.net"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeManager:
    """Answers every request with `answer`, and records what it received."""

    def __init__(self, answer: Handler) -> None:
        """Answer with `answer`."""
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Record the request and answer it."""
        self.requests.append(request)
        return self.answer(request)


def ok(request: httpx.Request) -> httpx.Response:
    """A JSON answer naming the path it was asked for."""
    return httpx.Response(200, json={"path": request.url.path})


@pytest.fixture
async def clients() -> AsyncIterator[list[OvhClient]]:
    """Clients the test builds, closed at the end."""
    built: list[OvhClient] = []
    yield built
    for client in built:
        await client.aclose()


def session_client(clients: list[OvhClient], fake: FakeManager, base: str = TWOAPI) -> OvhClient:
    """A client of `base` with the session cookies, on the fake manager."""
    client = OvhClient(
        base,
        ManagerSession(SecretStr(SESSION)),
        transport=httpx.MockTransport(fake),
    )
    clients.append(client)
    return client


async def test_only_the_cookie_is_sent(clients: list[OvhClient]) -> None:
    fake = FakeManager(ok)
    client = session_client(clients, fake)

    answer = await client.get(
        "/vps/capabilities/{serviceName}",
        params={"modelName": "vps-2025-model1"},
        serviceName=SERVICE,
    )

    assert answer == {"path": f"/engine/2api/vps/capabilities/{SERVICE}"}
    [request] = fake.requests
    assert request.method == "GET"
    assert str(request.url) == (f"{TWOAPI}/vps/capabilities/{SERVICE}?modelName=vps-2025-model1")
    assert request.headers["Cookie"] == SESSION
    assert "Authorization" not in request.headers
    assert not [name for name in request.headers if name.lower().startswith("x-ovh-")]


async def test_api_v1_through_the_manager_needs_no_clock(clients: list[OvhClient]) -> None:
    fake = FakeManager(ok)
    client = session_client(clients, fake, APIV6)

    await client.get("/vps/{serviceName}", serviceName=SERVICE)

    assert [request.url.path for request in fake.requests] == [f"/engine/apiv6/vps/{SERVICE}"]


async def test_a_set_cookie_answer_does_not_replace_the_session(clients: list[OvhClient]) -> None:
    def renewing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[], headers={"Set-Cookie": "SESSION=other-session; Path=/"})

    fake = FakeManager(renewing)
    client = session_client(clients, fake)

    await client.get("/sws/vps/{serviceName}/tasks/error", serviceName=SERVICE)
    await client.get("/sws/vps/{serviceName}/tasks/error", serviceName=SERVICE)

    assert [request.headers["Cookie"] for request in fake.requests] == [SESSION, SESSION]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, {"class": "Client::Forbidden", "message": "This session is invalid"}),
        (471, {"message": "This session is invalid"}),
        (471, None),
    ],
)
async def test_a_dead_session_raises_its_own_error_once(
    clients: list[OvhClient], status: int, body: object
) -> None:
    fake = FakeManager(lambda request: httpx.Response(status, json=body))
    client = session_client(clients, fake)

    with pytest.raises(ManagerSessionError) as caught:
        await client.get("/sws/vps/{serviceName}/info", serviceName=SERVICE)

    assert caught.value.status == status
    assert caught.value.route == "/sws/vps/{serviceName}/info"
    assert len(fake.requests) == 1
    for text in (str(caught.value), repr(caught.value)):
        assert "manager-s3ssion-42" not in text
        assert "ab12345-ovh" not in text


async def test_other_refusals_stay_ordinary(clients: list[OvhClient]) -> None:
    body = {"errorCode": "NOT_GRANTED_CALL", "message": "This call has not been granted"}
    fake = FakeManager(lambda request: httpx.Response(403, json=body))
    client = session_client(clients, fake)

    with pytest.raises(OvhApiError) as caught:
        await client.get("/sws/vps/{serviceName}/info", serviceName=SERVICE)

    assert not isinstance(caught.value, ManagerSessionError)
    assert caught.value.not_granted


async def test_the_session_client_is_read_only(clients: list[OvhClient]) -> None:
    fake = FakeManager(ok)
    client = session_client(clients, fake)

    with pytest.raises(ReadOnlyError):
        await client._http.post(TWOAPI + "/sws/vps")

    assert fake.requests == []


def test_the_session_never_shows_in_a_repr() -> None:
    session = ManagerSession(SecretStr(SESSION))

    assert "manager-s3ssion-42" not in repr(session)
    assert "manager-s3ssion-42" not in str(session)
