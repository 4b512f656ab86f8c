"""Faults the simulated account injects per route: errors, throttling, broken bodies, slowness.

A test adds `Fault`s to `SimulatorConfig.faults`; each request checks them in
order. A fault applies to the requests of one route template (or every route),
optionally of one VPS, from its `after`-th match on, for `times` requests (or
until removed), to a `rate` share of them drawn from a seeded random source, so
that every run of a test injects the same faults into the same requests::

    config.faults.add(Fault("status", route="/vps/{serviceName}", status=503, times=2))
    config.faults.add(Fault("status", route="*", status=429, retry_after="1"))
    config.faults.add(Fault("truncate", route="/vps", rate=0.5))

Kinds:

- `latency`: wait `delay` seconds, then let the next matching fault or the real answer through.
- `status`: answer `status` with OVH's JSON error body, and `Retry-After` when set.
- `html`: answer `status` with the HTML page a proxy in front of OVH would send.
- `body`: answer `status` (default 200 here) with `body` bytes as `content_type`.
- `mutate`: answer the real JSON passed through `mutate` (wrong types, unknown values).
- `malformed`: answer the first half of the real body, framed as complete: invalid JSON.
- `truncate`: announce the real body's length, send half of it and close the connection.
- `reset`: close the connection without answering.
- `slow_body`: send half the real body, wait `delay` seconds, send the rest.
- `action`: call `action` (such as moving the simulator's clock), then answer normally.

Changes of state that are not one answer live beside them: `skew_clock`,
`expire_tokens` and `revoke_credentials` act on a `SimulatorConfig`.
"""

import asyncio
import json
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, Literal

from aiohttp import web
from aiohttp.typedefs import Middleware

from exporter.simulator.errors import ApiError, class_error

if TYPE_CHECKING:
    from exporter.simulator.config import SimulatorConfig

FaultKind = Literal[
    "latency",
    "status",
    "html",
    "body",
    "mutate",
    "malformed",
    "truncate",
    "reset",
    "slow_body",
    "action",
]
ANY_ROUTE: Final = "*"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_API_PREFIX: Final = "/1.0"
# How often a paused answer checks that its client is still there.
_POLL_SECONDS: Final = 0.01
_PROXY_PAGE: Final = (
    "<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass
class Fault:
    """One fault and the requests it applies to; `hits` counts the requests it changed."""

    kind: FaultKind
    route: str = ANY_ROUTE
    vps: str | None = None
    after: int = 0
    times: int | None = None
    rate: float = 1.0
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    body: bytes = b""
    content_type: str = "application/json"
    mutate: Callable[[Any], Any] | None = None
    action: Callable[[], None] | None = None
    hits: int = 0
    _seen: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        """Refuse a fault that could not apply as written."""
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {self.rate}")
        if self.delay < 0 or self.after < 0 or (self.times is not None and self.times < 0):
            raise ValueError("delay, after and times must not be negative")
        if self.kind == "mutate" and self.mutate is None:
            raise ValueError("a mutate fault needs its mutate function")
        if self.kind == "action" and self.action is None:
            raise ValueError("an action fault needs its action")
        if self.kind == "body" and self.status == 503:
            self.status = 200

    @property
    def spent(self) -> bool:
        """True once the fault has changed its `times` requests."""
        return self.times is not None and self.hits >= self.times

    def matches(self, route: str, vps: str | None) -> bool:
        """Tell whether a request of `route` about `vps` is one this fault targets."""
        if self.route not in (ANY_ROUTE, route):
            return False
        return self.vps is None or self.vps == vps


@dataclass
class Faults:
    """The faults of one simulated account, checked in the order they were added."""

    seed: int = 0
    active: list[Fault] = field(default_factory=list)
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Seed the source that decides which requests a partial `rate` hits."""
        self._random = random.Random(self.seed)  # noqa: S311 - reproducible faults, not secrets.

    def add(self, fault: Fault) -> Fault:
        """Start injecting `fault`, after the ones already added; returns it for its `hits`."""
        self.active.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Stop injecting `fault`."""
        self.active.remove(fault)

    def clear(self) -> None:
        """Stop injecting every fault: the account answers normally again."""
        self.active.clear()

    def due(self, route: str, vps: str | None) -> list[Fault]:
        """The faults that apply to one request, each counted as a hit."""
        chosen: list[Fault] = []
        for fault in self.active:
            if fault.spent or not fault.matches(route, vps):
                continue
            fault._seen += 1
            if fault._seen <= fault.after:
                continue
            if fault.rate < 1.0 and self._random.random() >= fault.rate:
                continue
            fault.hits += 1
            chosen.append(fault)
            if fault.kind not in ("latency", "action"):
                break
        return chosen


def fault_middleware(faults: Callable[[], Faults]) -> Middleware:
    """Build the middleware that injects the faults `faults()` holds at each request."""

    @web.middleware
    async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Apply the faults due for this request, or answer it normally."""
        route = _route_template(request)
        for fault in faults().due(route, request.match_info.get("serviceName")):
            if fault.kind == "latency":
                await _pause(request, fault.delay)
            elif fault.action is not None and fault.kind == "action":
                fault.action()
            else:
                return await _apply(fault, request, handler)
        return await handler(request)

    return inject


def skew_clock(config: "SimulatorConfig", seconds: int) -> None:
    """Move the simulated OVH clock by `seconds`: signed requests must read `/auth/time` again."""
    config.clock_skew += seconds


def expire_tokens(config: "SimulatorConfig") -> None:
    """Make every OAuth2 token issued so far expire, by moving the clock past their lifetime."""
    config.clock_skew += config.token_lifetime + 1


def revoke_credentials(config: "SimulatorConfig") -> tuple[str, str]:
    """Refuse the consumer key and the OAuth2 client secret; returns them, to restore later."""
    revoked = (config.consumer_key, config.client_secret)
    config.consumer_key = secrets.token_hex(16)
    config.client_secret = secrets.token_hex(16)
    return revoked


def restore_credentials(config: "SimulatorConfig", revoked: tuple[str, str]) -> None:
    """Accept again the credentials `revoke_credentials` took away."""
    config.consumer_key, config.client_secret = revoked


def _route_template(request: web.Request) -> str:
    """The matched route template without the `/1.0` prefix, as `denied_routes` names it."""
    resource = request.match_info.route.resource
    if resource is None:
        return ""
    return resource.canonical.removeprefix(_API_PREFIX)


async def _real_answer(request: web.Request, handler: Handler) -> web.Response:
    """The answer the account would give, error answers included, as a complete response."""
    try:
        response = await handler(request)
    except ApiError as error:
        return error.response()
    if not isinstance(response, web.Response):
        raise TypeError("faults that change a body need a handler that answers in one piece")
    return response


def _body_of(response: web.Response) -> bytes:
    """The bytes of a complete response's body."""
    body = response.body
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    return (response.text or "").encode()


async def _apply(fault: Fault, request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer one request as the fault says."""
    if fault.kind == "status":
        raise _error_answer(fault)
    if fault.kind == "html":
        phrase = _phrase(fault.status)
        page = _PROXY_PAGE.format(code=fault.status, phrase=phrase)
        return web.Response(status=fault.status, text=page, content_type="text/html")
    if fault.kind == "body":
        return web.Response(
            status=fault.status, body=fault.body, headers={"Content-Type": fault.content_type}
        )
    if fault.kind == "reset":
        _close(request)
        return web.Response(status=204)

    real = await _real_answer(request, handler)
    body = _body_of(real)
    if fault.kind == "mutate" and fault.mutate is not None:
        changed = json.dumps(fault.mutate(json.loads(body))).encode()
        return web.Response(status=real.status, body=changed, content_type="application/json")
    if fault.kind == "malformed":
        return web.Response(
            status=real.status, body=body[: len(body) // 2], content_type="application/json"
        )
    return await _stream(fault, request, real, body)


async def _stream(
    fault: Fault, request: web.Request, real: web.Response, body: bytes
) -> web.StreamResponse:
    """Send a body in two halves: cut off after the first (truncate) or late (slow_body)."""
    response = web.StreamResponse(status=real.status)
    response.content_type = real.content_type
    response.content_length = len(body)
    await response.prepare(request)
    half = len(body) // 2
    try:
        await response.write(body[:half])
        if fault.kind == "truncate":
            _close(request)
            return response
        await _pause(request, fault.delay)
        await response.write(body[half:])
    except ConnectionResetError:
        # The client gave up on the slow body first, which is what a timeout test wants.
        pass
    return response


async def _pause(request: web.Request, seconds: float) -> None:
    """Wait `seconds`, or less if the client hangs up first: nobody is left to answer then."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        if request.transport is None or request.transport.is_closing():
            return
        await asyncio.sleep(min(left, _POLL_SECONDS))


def _close(request: web.Request) -> None:
    """Drop the connection under the request, as a reset by a proxy or the network would."""
    if request.transport is not None:
        request.transport.close()


def _phrase(status: int) -> str:
    """The reason phrase of a status, OVH's own 460 included."""
    if status == 460:
        return "Service Expired"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _error_answer(fault: Fault) -> ApiError:
    """OVH's JSON error for a status fault, with its Retry-After."""
    phrase = _phrase(fault.status)
    if fault.status == 460:
        error = class_error(460, "Client::Gone::ServiceExpired", "This service is expired")
    elif fault.status == 429:
        error = ApiError(429, {"message": "Too many requests, please slow down"})
    elif fault.status >= 500:
        error = class_error(fault.status, f"Server::{phrase.replace(' ', '')}", phrase)
    else:
        error = class_error(fault.status, f"Client::{phrase.replace(' ', '')}", phrase)
    if fault.retry_after is not None:
        error.headers["Retry-After"] = fault.retry_after
    return error
