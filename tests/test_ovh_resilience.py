"""The request budget, the retry policy and the access guard, alone and inside the OVH client."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from exporter.ovh.access import (
    AccessGuard,
    CredentialsRefusedError,
    access_rule,
    already_reported,
)
from exporter.ovh.auth import ApplicationKey, OAuth2ClientCredentials
from exporter.ovh.budget import RequestBudget
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import OvhApiError, OvhResponseError, OvhTransportError
from exporter.ovh.retry import RetryPolicy, is_retryable, parse_retry_after
from tests.fakes import FakeTime

API = "https://api.ovh.test/1.0"
TOKEN_URL = "https://auth.ovh.test/auth/oauth2/token"
SERVICE = "vps-1a2b3c4d.vps.ovh.net"
VPS_ROUTE = "/vps/{serviceName}"
VPS_PATH = f"/1.0/vps/{SERVICE}"
KEY = ApplicationKey("app-key", SecretStr("app-secret"), SecretStr("consumer-key"))
OAUTH2 = OAuth2ClientCredentials("client-id", SecretStr("client-secret"), TOKEN_URL)

Answer = Callable[[httpx.Request], httpx.Response]


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON answer."""
    return httpx.Response(status, json=body, headers=headers)


class Script:
    """A fake OVH: each path answers from its own list of answers, the last one repeating."""

    def __init__(self) -> None:
        """Answer /auth/time with a fixed time; other paths are added by each test."""
        self.answers: dict[str, list[Answer]] = {
            "/1.0/auth/time": [lambda request: json_answer(200, 1_700_000_000)]
        }
        self.sent: list[str] = []

    def on(self, path: str, *answers: Answer) -> None:
        """Answer `path` with `answers` in turn."""
        self.answers[path] = list(answers)

    def count(self, path: str) -> int:
        """How many requests reached `path`."""
        return self.sent.count(path)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        """Record the request and give the next answer of its path."""
        path = request.url.raw_path.decode().split("?")[0]
        self.sent.append(path)
        await asyncio.sleep(0)
        answers = self.answers[path]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request)


def ok(request: httpx.Request) -> httpx.Response:
    """The VPS, named."""
    return json_answer(200, {"name": SERVICE})


def status(code: int, body: Any = None, **headers: str) -> Answer:
    """An error answer with OVH's JSON body."""
    payload = body if body is not None else {"message": f"status {code}"}
    return lambda request: json_answer(
        code, payload, {k.replace("_", "-"): v for k, v in headers.items()}
    )


def transport_failure(kind: type[httpx.TransportError]) -> Answer:
    """A request that fails before any answer."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise kind("boom", request=request)

    return fail


class Rig:
    """A client on a scripted OVH, with fake time in its budget, its retries and its guard."""

    def __init__(
        self,
        credentials: ApplicationKey | OAuth2ClientCredentials,
        budget: RequestBudget | None,
        policy: dict[str, Any],
    ) -> None:
        """Build the client; what it sends and how each exchange ended are recorded."""
        self.script = Script()
        self.time = FakeTime()
        self.calls: list[tuple[str, str]] = []
        policy.setdefault("fraction", lambda: 1.0)
        self.client = OvhClient(
            API,
            credentials,
            transport=httpx.MockTransport(self.script),
            observer=lambda route, code: self.calls.append((route, code)),
            budget=budget,
            retry=RetryPolicy(sleep=self.time.sleep, **policy),
            access=AccessGuard("acct", min_delay=60.0, max_delay=300.0, clock=self.time),
            clock=lambda: 1_700_000_000.0,
        )


MakeRig = Callable[..., Rig]


@pytest.fixture
async def make_rig() -> AsyncIterator[MakeRig]:
    """Build clients on scripted OVHs, and close them at the end."""
    rigs: list[Rig] = []

    def make(
        credentials: ApplicationKey | OAuth2ClientCredentials = KEY,
        budget: RequestBudget | None = None,
        **policy: Any,
    ) -> Rig:
        rig = Rig(credentials, budget, policy)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        await rig.client.aclose()


# The budget.


async def test_budget_lets_a_burst_through_then_one_request_per_interval() -> None:
    time = FakeTime()
    budget = RequestBudget(per_minute=30, burst=3, clock=time, sleep=time.sleep)

    for _ in range(3):
        await budget.acquire()
    assert time.slept == []

    await budget.acquire()
    await budget.acquire()
    assert time.slept == [2.0, 2.0]
    assert budget.waited_seconds == 4.0
    assert budget.delayed_requests == 2


async def test_budget_refills_while_idle_but_never_past_the_burst() -> None:
    time = FakeTime()
    budget = RequestBudget(per_minute=60, burst=2, clock=time, sleep=time.sleep)
    await budget.acquire()
    await budget.acquire()

    time.advance(3600)
    for _ in range(2):
        await budget.acquire()
    await budget.acquire()

    assert time.slept == [1.0]


async def test_budget_serves_waiting_requests_in_arrival_order() -> None:
    time = FakeTime()
    budget = RequestBudget(per_minute=60, burst=1, clock=time, sleep=time.sleep)
    served: list[int] = []

    async def request(number: int) -> None:
        await budget.acquire()
        served.append(number)

    await asyncio.gather(*(request(number) for number in range(5)))

    assert served == [0, 1, 2, 3, 4]
    assert time.slept == [1.0] * 4


async def test_a_throttle_pauses_the_budget_and_earns_nothing_meanwhile() -> None:
    time = FakeTime()
    budget = RequestBudget(per_minute=60, burst=10, clock=time, sleep=time.sleep)

    budget.hold_off(30)
    await budget.acquire()
    await budget.acquire()

    # The pause, then one token for the first request and one second for the next:
    # the 30 s paused earned nothing, so no burst of ten follows the pause.
    assert time.slept == [30.0, 1.0]
    assert budget.paused_until == 1_000_030.0


@pytest.mark.parametrize(("per_minute", "burst"), [(0, 1), (-5, 1), (60, 0)])
def test_budget_refuses_impossible_sizes(per_minute: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        RequestBudget(per_minute, burst)


# Retry-After and the policy.

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("Fri, 04 Dec 2026 12:00:30 GMT", 30.0),
        ("Fri, 04 Dec 2026 12:00:30 -0000", 30.0),
        ("Fri, 04 Dec 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("-3", None),
        ("1.5", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_an_http_date(
    header: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(header, NOW) == seconds


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (OvhApiError(VPS_ROUTE, 429), True),
        (OvhApiError(VPS_ROUTE, 500), True),
        (OvhApiError(VPS_ROUTE, 503), True),
        (OvhApiError(VPS_ROUTE, 599), True),
        (OvhApiError(VPS_ROUTE, 400), False),
        (OvhApiError(VPS_ROUTE, 401), False),
        (OvhApiError(VPS_ROUTE, 403, "NOT_GRANTED_CALL"), False),
        (OvhApiError(VPS_ROUTE, 404), False),
        (OvhApiError(VPS_ROUTE, 460), False),
        (OvhTransportError(VPS_ROUTE, "timeout (ReadTimeout)"), True),
        (OvhTransportError(VPS_ROUTE, "connection error"), True),
        (OvhResponseError(VPS_ROUTE, "non-JSON answer"), False),
    ],
)
def test_only_passing_failures_are_retried(error: Any, retryable: bool) -> None:
    assert is_retryable(error) is retryable


def test_backoff_doubles_up_to_its_ceiling_with_full_jitter() -> None:
    top = RetryPolicy(base_delay=0.5, max_delay=3.0, fraction=lambda: 1.0)
    half = RetryPolicy(base_delay=0.5, max_delay=3.0, fraction=lambda: 0.5)

    assert [top.backoff(attempt) for attempt in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert [half.backoff(attempt) for attempt in range(1, 6)] == [0.25, 0.5, 1.0, 1.5, 1.5]
    assert top.backoff(10_000) == 3.0


def test_retry_after_is_waited_exactly_within_its_bound_and_ends_retries_beyond() -> None:
    policy = RetryPolicy(max_attempts=3, max_retry_after=60.0, fraction=lambda: 1.0)
    soon = OvhApiError(VPS_ROUTE, 429, retry_after=60.0)
    late = OvhApiError(VPS_ROUTE, 503, retry_after=61.0)
    plain = OvhApiError(VPS_ROUTE, 503)

    assert policy.delay(1, soon) == 60.0
    assert policy.delay(1, late) is None
    assert policy.delay(2, plain) == 1.0
    assert policy.delay(3, plain) is None
    assert policy.delay(1, OvhApiError(VPS_ROUTE, 404)) is None


@pytest.mark.parametrize(
    "options",
    [{"max_attempts": 0}, {"base_delay": 5.0, "max_delay": 1.0}, {"max_retry_after": -1.0}],
)
def test_policy_refuses_impossible_settings(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**options)


# Retries inside the client.


async def test_5xx_is_sent_again_with_growing_waits_until_it_passes(make_rig: MakeRig) -> None:
    rig = make_rig()
    rig.script.on(VPS_PATH, status(502), status(503), ok)

    with capture_logs() as logs:
        assert await rig.client.get(VPS_ROUTE, serviceName=SERVICE) == {"name": SERVICE}

    assert rig.calls == [
        ("/auth/time", "200"),
        (VPS_ROUTE, "502"),
        (VPS_ROUTE, "503"),
        (VPS_ROUTE, "200"),
    ]
    assert rig.time.slept == [0.5, 1.0]
    retries = [entry for entry in logs if entry["event"] == "retrying"]
    assert [(entry["log_level"], entry["attempt"]) for entry in retries] == [
        ("debug", 1),
        ("debug", 2),
    ]


async def test_attempts_are_bounded_and_the_last_failure_is_raised(make_rig: MakeRig) -> None:
    rig = make_rig(max_attempts=3)
    rig.script.on(VPS_PATH, transport_failure(httpx.ReadTimeout))

    with pytest.raises(OvhTransportError, match="timeout"):
        await rig.client.get(VPS_ROUTE, serviceName=SERVICE)

    assert rig.calls[1:] == [(VPS_ROUTE, "timeout")] * 3
    assert rig.time.slept == [0.5, 1.0]


@pytest.mark.parametrize("code", [400, 403, 404, 409, 460])
async def test_other_4xx_are_not_sent_again(make_rig: MakeRig, code: int) -> None:
    rig = make_rig()
    rig.script.on(VPS_PATH, status(code))

    with pytest.raises(OvhApiError) as caught:
        await rig.client.get(VPS_ROUTE, serviceName=SERVICE)

    assert caught.value.status == code
    assert rig.script.count(VPS_PATH) == 1
    assert rig.time.slept == []


async def test_429_waits_its_retry_after_and_pauses_the_whole_budget(make_rig: MakeRig) -> None:
    time = FakeTime()
    budget = RequestBudget(per_minute=600, burst=50, clock=time, sleep=time.sleep)
    rig = make_rig(budget=budget)
    rig.script.on(VPS_PATH, status(429, Retry_After="7"), ok)

    await rig.client.get(VPS_ROUTE, serviceName=SERVICE)

    assert rig.time.slept == [7.0]
    # The budget paused too (its own clock): the retry waited there for the same seven seconds.
    assert budget.paused_until == 1_000_007.0
    assert time.slept == [7.0]
    assert rig.calls[-2:] == [(VPS_ROUTE, "429"), (VPS_ROUTE, "200")]


async def test_429_with_an_http_date_is_honoured(make_rig: MakeRig) -> None:
    rig = make_rig()
    when = format_datetime(datetime.fromtimestamp(1_700_000_012, UTC), usegmt=True)
    rig.script.on(VPS_PATH, status(429, Retry_After=when), ok)

    await rig.client.get(VPS_ROUTE, serviceName=SERVICE)

    assert rig.time.slept == [12.0]


async def test_a_retry_after_beyond_the_bound_ends_the_request(make_rig: MakeRig) -> None:
    time = FakeTime()
    budget = RequestBudget(per_minute=600, burst=50, clock=time, sleep=time.sleep)
    rig = make_rig(budget=budget, max_retry_after=60.0)
    rig.script.on(VPS_PATH, status(429, Retry_After="3600"), ok)

    with pytest.raises(OvhApiError) as caught:
        await rig.client.get(VPS_ROUTE, serviceName=SERVICE)

    assert (caught.value.status, caught.value.retry_after) == (429, 3600.0)
    assert rig.script.count(VPS_PATH) == 1
    # Not retried in this run, but the account still holds off for the bound.
    assert budget.paused_until == time.now + 60.0


async def test_a_429_without_retry_after_backs_off(make_rig: MakeRig) -> None:
    rig = make_rig(fraction=lambda: 0.5)
    rig.script.on(VPS_PATH, status(429), status(429), ok)

    await rig.client.get(VPS_ROUTE, serviceName=SERVICE)

    assert rig.time.slept == [0.25, 0.5]


async def test_the_token_request_is_retried_by_itself_not_again_by_the_call(
    make_rig: MakeRig,
) -> None:
    rig = make_rig(OAUTH2)
    rig.script.on("/auth/oauth2/token", status(503))

    with pytest.raises(OvhApiError) as caught:
        await rig.client.get(VPS_ROUTE, serviceName=SERVICE)

    assert caught.value.route == "oauth2_token"
    assert rig.script.count("/auth/oauth2/token") == 4
    assert rig.script.count(VPS_PATH) == 0


async def test_a_passing_clock_failure_is_retried(make_rig: MakeRig) -> None:
    rig = make_rig()
    rig.script.on("/1.0/auth/time", status(503), lambda request: json_answer(200, 1_700_000_000))
    rig.script.on(VPS_PATH, ok)

    assert await rig.client.get(VPS_ROUTE, serviceName=SERVICE) == {"name": SERVICE}
    assert rig.calls == [("/auth/time", "503"), ("/auth/time", "200"), (VPS_ROUTE, "200")]


# The access guard.


def test_access_rules_name_every_placeholder_as_a_wildcard() -> None:
    assert access_rule("/vps/{serviceName}/automatedBackup") == "GET /vps/*/automatedBackup"
    assert access_rule("/vps/{serviceName}/tasks/{id}") == "GET /vps/*/tasks/*"
    assert access_rule("/vps") == "GET /vps"


async def test_refused_credentials_hold_every_request_back_for_a_growing_delay(
    make_rig: MakeRig,
) -> None:
    rig = make_rig()
    refusal = {"errorCode": "INVALID_CREDENTIAL", "message": "This credential is not valid"}
    rig.script.on(VPS_PATH, status(403, refusal))
    guard = rig.client.access

    with capture_logs() as logs:
        with pytest.raises(OvhApiError):
            await rig.client.get(VPS_ROUTE, serviceName=SERVICE)
        with pytest.raises(CredentialsRefusedError) as held:
            await rig.client.get(VPS_ROUTE, serviceName=SERVICE)
        assert held.value.retry_in == 60.0
        assert rig.script.count(VPS_PATH) == 1

        rig.time.advance(60)
        with pytest.raises(OvhApiError):
            await rig.client.get(VPS_ROUTE, serviceName=SERVICE)
        rig.time.advance(119)
        with pytest.raises(CredentialsRefusedError) as held:
            await rig.client.get(VPS_ROUTE, serviceName=SERVICE)
        assert held.value.retry_in == 1.0

        rig.script.on(VPS_PATH, ok)
        rig.time.advance(1)
        await rig.client.get(VPS_ROUTE, serviceName=SERVICE)

    assert (guard.ok, guard.failures) == (True, 2)
    assert rig.script.count(VPS_PATH) == 3
    assert [(entry["event"][:25], entry["log_level"]) for entry in logs] == [
        ("OVH refuses the credentia", "error"),
        ("OVH refuses the credentia", "error"),
        ("OVH accepts the credentia", "warning"),
    ]
    assert [entry.get("next_attempt_in_seconds") for entry in logs] == [60.0, 120.0, None]
    assert logs[0]["error_code"] == "INVALID_CREDENTIAL"


async def test_the_delay_stops_growing_at_its_ceiling() -> None:
    time = FakeTime()
    guard = AccessGuard(min_delay=60, max_delay=300, clock=time)
    refusal = OvhApiError(VPS_ROUTE, 401)
    waits = []
    for _ in range(5):
        guard.failed(refusal)
        with pytest.raises(CredentialsRefusedError) as held:
            guard.check(VPS_ROUTE)
        waits.append(held.value.retry_in)
        time.advance(held.value.retry_in)
    assert waits == [60, 120, 240, 300, 300]


async def test_answers_to_requests_sent_before_the_refusal_count_once(make_rig: MakeRig) -> None:
    rig = make_rig()
    rig.script.on(VPS_PATH, status(401, {"errorCode": "NOT_CREDENTIAL", "message": "login"}))

    results = await asyncio.gather(
        *(rig.client.get(VPS_ROUTE, serviceName=SERVICE) for _ in range(5)),
        return_exceptions=True,
    )

    assert all(isinstance(result, OvhApiError) for result in results)
    assert rig.client.access.failures == 1
    assert rig.client.access.ok is False


async def test_a_refused_token_request_is_not_repeated_by_queued_requests(
    make_rig: MakeRig,
) -> None:
    rig = make_rig(OAUTH2)
    rig.script.on(
        "/auth/oauth2/token",
        status(
            401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        ),
    )

    results = await asyncio.gather(
        *(rig.client.get(VPS_ROUTE, serviceName=SERVICE) for _ in range(5)),
        return_exceptions=True,
    )

    assert rig.script.count("/auth/oauth2/token") == 1
    assert sum(isinstance(result, CredentialsRefusedError) for result in results) == 4
    assert rig.client.access.failures == 1


async def test_not_granted_is_logged_once_per_route_with_its_access_rule(
    make_rig: MakeRig,
) -> None:
    rig = make_rig()
    denied = {"errorCode": "NOT_GRANTED_CALL", "message": "This call has not been granted"}
    rig.script.on(f"{VPS_PATH}/automatedBackup", status(403, denied))
    rig.script.on("/1.0/vps/other/automatedBackup", status(403, denied))
    rig.script.on(VPS_PATH, ok)

    with capture_logs() as logs:
        for name in (SERVICE, "other", SERVICE):
            with pytest.raises(OvhApiError) as caught:
                await rig.client.get("/vps/{serviceName}/automatedBackup", serviceName=name)
            assert caught.value.not_granted
            assert already_reported(caught.value)
        await rig.client.get(VPS_ROUTE, serviceName=SERVICE)

    assert [(entry["log_level"], entry["access_rule"]) for entry in logs] == [
        ("warning", "GET /vps/*/automatedBackup")
    ]
    assert rig.client.access.ok is True
    assert rig.client.access.not_granted_routes == {"/vps/{serviceName}/automatedBackup"}
