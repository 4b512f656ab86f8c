"""The simulated OVH API: an aiohttp app answering `/vps` routes with OVH's shapes and checks."""

import asyncio
import itertools
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from exporter.simulator import billing
from exporter.simulator.auth import AuthKind, TokenStore, auth_kind, check_credentials, issue_token
from exporter.simulator.config import SimulatorConfig
from exporter.simulator.credential import CREDENTIAL_REQUESTS, CREDENTIAL_ROUTE, create_credential
from exporter.simulator.details_routes import detail_routes
from exporter.simulator.errors import (
    ApiError,
    bad_request,
    class_error,
    coded_error,
    not_found,
)
from exporter.simulator.faults import fault_middleware
from exporter.simulator.fleet import Fleet, SimVps
from exporter.simulator.manager import (
    APIV6_PREFIX,
    TWOAPI_PREFIX,
    check_session,
    is_manager_path,
    manager_routes,
)

API_PREFIX: Final = "/1.0"
TOKEN_ROUTE: Final = "/auth/oauth2/token"  # noqa: S105 - a route, not a password.
TIME_ROUTE: Final = "/auth/time"
# POST /auth/credential carries the application key alone, and checks it itself.
_UNAUTHENTICATED: Final = frozenset({TOKEN_ROUTE, TIME_ROUTE, CREDENTIAL_ROUTE})

EXPANDED_MODE: Final = "CachedObjectList-Pages"
# A page of expanded objects holds at most this many, which is also the size when
# the client names none; a larger X-Pagination-Size is lowered to it.
PAGE_SIZE: Final = 1000

# The enums of vps.openapi.json, kept here rather than shared with the exporter's
# parsers so that a mistake in those cannot hide in the simulator too.
TASK_STATES: Final = frozenset(
    {"blocked", "cancelled", "doing", "done", "error", "paused", "todo", "waitingAck"}
)
TASK_TYPES: Final = frozenset(
    {
        "addVeeamBackupJob",
        "changeRootPassword",
        "createSnapshot",
        "deleteSnapshot",
        "deliverVm",
        "getConsoleUrl",
        "internalTask",
        "migrate",
        "openConsoleAccess",
        "provisioningAdditionalIp",
        "reOpenVm",
        "rebootVm",
        "reinstallVm",
        "removeVeeamBackup",
        "rescheduleAutoBackup",
        "restoreFullVeeamBackup",
        "restoreVeeamBackup",
        "restoreVm",
        "revertSnapshot",
        "setMonitoring",
        "setNetboot",
        "startVm",
        "stopVm",
        "upgradeVm",
    }
)
RESTORE_STATES: Final = frozenset({"available", "restored", "restoring"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RecordedRequest:
    """One request received: route template ("" when none matched), raw path with query, auth."""

    method: str
    route: str
    path: str
    auth: AuthKind


class _QueryIds:
    """Hands out `X-Ovh-QueryID` values shaped like OVH's: a region, a host, a run id, a counter."""

    def __init__(self) -> None:
        """Pick this app's run id and start counting at 1."""
        self._prefix = f"EU.ext-3.{secrets.token_hex(4)}"
        self._counter = itertools.count(1)

    def next(self) -> str:
        """Return the id of the next answer."""
        return f"{self._prefix}.{next(self._counter)}"


@dataclass
class _Account:
    """Everything one simulated account holds: its VPS, its settings, its tokens."""

    fleet: Fleet
    config: SimulatorConfig
    tokens: TokenStore = field(default_factory=TokenStore)
    query_ids: _QueryIds = field(default_factory=_QueryIds)


REQUEST_LOG: Final = web.AppKey("REQUEST_LOG", list[RecordedRequest])
_ACCOUNT: Final = web.AppKey("simulator_account", _Account)


def _account(request: web.Request) -> _Account:
    """Return the account the request's app simulates."""
    return request.app[_ACCOUNT]


def _route_template(request: web.Request) -> str:
    """Return the matched route template without its API prefix, or "" when none matched."""
    resource = request.match_info.route.resource
    if resource is None:
        return ""
    template = resource.canonical
    for prefix in (API_PREFIX, APIV6_PREFIX, TWOAPI_PREFIX):
        if template.startswith(prefix + "/"):
            return template.removeprefix(prefix)
    return template


def _routing_error(request: web.Request, refusal: web.HTTPException) -> ApiError:
    """Turn aiohttp's routing failure into OVH's answer: 405 for any non-GET API call, else 404."""
    in_api = request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")
    if isinstance(refusal, web.HTTPMethodNotAllowed) or (in_api and request.method != "GET"):
        error = class_error(
            405,
            "Client::MethodNotAllowed",
            f"The method {request.method} is not allowed on {request.path}",
        )
        allowed = (
            refusal.allowed_methods if isinstance(refusal, web.HTTPMethodNotAllowed) else {"GET"}
        )
        error.headers["Allow"] = ", ".join(sorted(allowed))
        return error
    return not_found(f"No route matches {request.path}")


async def _answer(request: web.Request, handler: Handler, route: str) -> web.StreamResponse:
    """Route, authenticate and authorise one call, then run its handler."""
    refusal = request.match_info.http_exception
    if refusal is not None:
        raise _routing_error(request, refusal)

    account = _account(request)
    if route not in _UNAUTHENTICATED:
        if is_manager_path(request.path):
            check_session(request, account.config)
        else:
            await check_credentials(request, account.config, account.tokens)
        if route in account.config.denied_routes:
            raise coded_error(403, "NOT_GRANTED_CALL", "This call has not been granted")
    return await handler(request)


@web.middleware
async def _ovh_behaviour(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log the request, wait the configured latency, answer, and stamp a query id on the answer."""
    account = _account(request)
    route = _route_template(request)
    recorded = RecordedRequest(request.method, route, request.raw_path, auth_kind(request))
    request.app[REQUEST_LOG].append(recorded)
    if account.config.latency > 0:
        await asyncio.sleep(account.config.latency)

    try:
        response = await _answer(request, handler, route)
    except ApiError as error:
        response = error.response()
    except web.HTTPException as failure:
        failure.headers["X-Ovh-QueryID"] = account.query_ids.next()
        raise
    response.headers["X-Ovh-QueryID"] = account.query_ids.next()
    return response


def _find_vps(request: web.Request) -> SimVps:
    """Return the VPS the path names, or raise OVH's 404."""
    name = request.match_info["serviceName"]
    machine = _account(request).fleet.vps.get(name)
    if machine is None:
        raise not_found(f"The requested object (serviceName = {name}) does not exist")
    return machine


def _enum_query(request: web.Request, name: str, allowed: frozenset[str]) -> str | None:
    """Return an enum query parameter, None when absent, or raise 400 for an unknown value."""
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise bad_request(f"Invalid value for parameter {name}: {value!r}")
    return value


def _page_header(request: web.Request, name: str, default: int) -> int:
    """Read a positive integer pagination header, or raise 400."""
    value = request.headers.get(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise bad_request(f"Invalid value for header {name}: {value!r}")
    return int(value)


def _list_answer(request: web.Request, ids: Sequence[Any], objects: Sequence[Any]) -> web.Response:
    """Answer a list route: the ids, or one page of full objects when expansion is asked for."""
    expanded = request.headers.get("X-Pagination-Mode") == EXPANDED_MODE
    if not (expanded and _account(request).config.expand_lists):
        return web.json_response(list(ids))

    size = min(_page_header(request, "X-Pagination-Size", PAGE_SIZE), PAGE_SIZE)
    number = _page_header(request, "X-Pagination-Number", 1)
    page = list(objects[(number - 1) * size : number * size])
    headers = {
        "X-Pagination-Elements": str(len(objects)),
        "X-Pagination-Size": str(size),
        "X-Pagination-Number": str(number),
    }
    return web.json_response(page, headers=headers)


async def _auth_time(request: web.Request) -> web.Response:
    """Answer `GET /auth/time`: the simulator's clock as a bare integer."""
    return web.json_response(int(_account(request).config.now()))


async def _oauth2_token(request: web.Request) -> web.Response:
    """Answer `POST /auth/oauth2/token`."""
    account = _account(request)
    return await issue_token(request, account.config, account.tokens)


async def _vps_list(request: web.Request) -> web.Response:
    """Answer `GET /vps`: service names by name, or `vps.VPSWithIAM` objects when expanded."""
    machines = _account(request).fleet.vps
    names = sorted(machines)
    return _list_answer(request, names, [machines[name].vps for name in names])


async def _vps(request: web.Request) -> web.Response:
    """Answer `GET /vps/{serviceName}`."""
    return web.json_response(_find_vps(request).vps)


async def _service_infos(request: web.Request) -> web.Response:
    """Answer `GET /vps/{serviceName}/serviceInfos`."""
    return web.json_response(_find_vps(request).service_infos)


async def _tasks(request: web.Request) -> web.Response:
    """Answer `GET /vps/{serviceName}/tasks`, filtered on state and type, ordered by id."""
    state = _enum_query(request, "state", TASK_STATES)
    task_type = _enum_query(request, "type", TASK_TYPES)
    tasks = sorted(
        (
            task
            for task in _find_vps(request).tasks
            if state in (None, task.get("state")) and task_type in (None, task.get("type"))
        ),
        key=lambda task: int(task["id"]),
    )
    return _list_answer(request, [task["id"] for task in tasks], tasks)


async def _task(request: web.Request) -> web.Response:
    """Answer `GET /vps/{serviceName}/tasks/{id}`."""
    machine = _find_vps(request)
    task_id = int(request.match_info["id"])
    for task in machine.tasks:
        if task.get("id") == task_id:
            return web.json_response(task)
    raise not_found(f"The requested object (id = {task_id}) does not exist")


def _automated_backup_of(request: web.Request) -> SimVps:
    """Return the VPS the path names, or raise 404 when it has no automated backup option."""
    machine = _find_vps(request)
    if machine.automated_backup is None:
        raise not_found(f"The automatedBackup option is not enabled on {machine.name}")
    return machine


async def _automated_backup(request: web.Request) -> web.Response:
    """Answer `GET /vps/{serviceName}/automatedBackup`."""
    return web.json_response(_automated_backup_of(request).automated_backup)


async def _restore_points(request: web.Request) -> web.Response:
    """Answer `GET /vps/{serviceName}/automatedBackup/restorePoints?state=...`."""
    state = _enum_query(request, "state", RESTORE_STATES)
    if state is None:
        raise bad_request("Missing parameter: state")
    machine = _automated_backup_of(request)
    return web.json_response(list(machine.restore_points.get(state, [])))


async def _auth_credential(request: web.Request) -> web.Response:
    """Answer `POST /auth/credential` with a new consumer key waiting for validation."""
    return await create_credential(request, _account(request).config)


async def _services(request: web.Request) -> web.Response:
    """Answer `GET /services`: service ids, or TService objects when expanded."""
    services = billing.services(_account(request).fleet)
    return _list_answer(request, services.ids, services)


async def _service(request: web.Request) -> web.Response:
    """Answer `GET /services/{serviceId}`."""
    fleet = _account(request).fleet
    return web.json_response(billing.find_service(fleet, request.match_info["serviceId"]))


async def _me(request: web.Request) -> web.Response:
    """Answer `GET /me`."""
    return web.json_response(_account(request).fleet.account.me)


async def _payment_methods(request: web.Request) -> web.Response:
    """Answer `GET /me/payment/method`, filtered like OVH: ids, or objects when expanded."""
    methods = billing.payment_methods(_account(request).fleet, request.query)
    return _list_answer(request, [method["paymentMethodId"] for method in methods], methods)


async def _payment_method(request: web.Request) -> web.Response:
    """Answer `GET /me/payment/method/{paymentMethodId}`."""
    fleet = _account(request).fleet
    method_id = request.match_info["paymentMethodId"]
    return web.json_response(billing.find_payment_method(fleet, method_id))


_API_ROUTES: Final[tuple[tuple[str, Handler], ...]] = (
    (TIME_ROUTE, _auth_time),
    ("/vps", _vps_list),
    ("/vps/{serviceName}", _vps),
    ("/vps/{serviceName}/serviceInfos", _service_infos),
    ("/vps/{serviceName}/tasks", _tasks),
    (r"/vps/{serviceName}/tasks/{id:\d+}", _task),
    ("/vps/{serviceName}/automatedBackup", _automated_backup),
    ("/vps/{serviceName}/automatedBackup/restorePoints", _restore_points),
    ("/services", _services),
    (r"/services/{serviceId:\d+}", _service),
    ("/me", _me),
    ("/me/payment/method", _payment_methods),
    (r"/me/payment/method/{paymentMethodId:\d+}", _payment_method),
    *detail_routes(_find_vps, _list_answer),
)


def create_app(fleet: Fleet, config: SimulatorConfig | None = None) -> web.Application:
    """Build the simulated account's app; it reads `fleet` and `config` afresh on every request."""
    account = _Account(fleet, config or SimulatorConfig())
    # Inside _ovh_behaviour: every faulty answer is still logged, authenticated and stamped.
    faults = fault_middleware(lambda: account.config.faults)
    app = web.Application(middlewares=[_ovh_behaviour, faults])
    app[_ACCOUNT] = account
    app[REQUEST_LOG] = []
    app[CREDENTIAL_REQUESTS] = []
    app.router.add_post(TOKEN_ROUTE, _oauth2_token)
    app.router.add_post(API_PREFIX + CREDENTIAL_ROUTE, _auth_credential)
    for template, handler in _API_ROUTES:
        app.router.add_get(API_PREFIX + template, handler, allow_head=False)
    for path, handler in manager_routes(_API_ROUTES, _find_vps):
        app.router.add_get(path, handler, allow_head=False)
    return app


async def serve(fleet: Fleet, config: SimulatorConfig, host: str, port: int) -> web.AppRunner:
    """Start the simulator on `host:port`; port 0 picks a free port, see `runner.addresses`.

    Stop it with `await runner.cleanup()`.
    """
    runner = web.AppRunner(create_app(fleet, config), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
