"""The simulated OVHcloud manager: its 2API and the API v1 it relays, behind a session cookie.

`/engine/2api/...` answers the five VPS routes of the capture spec's section 4
with its TVpsInfo, TVpsTabSummary, task lists and TVpsCapabilities shapes, built
from each VPS's API v1 answers and its `SimManager`. `/engine/apiv6/...` answers
every API v1 route of the simulator. Both take only the manager's cookies
(`SESSION`, `USERID`): a session not in `SimulatorConfig.manager_sessions` is
refused the way the manager does, 471 on the 2API and 403 "This session is
invalid" on the API v1, so a test kills a session by removing it from that set.

The 2API writes some enums in its own way: `netbootMode` and `offerType` in
capitals, and versions as `_2025_V_1`.
"""

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from exporter.simulator.config import SimulatorConfig
from exporter.simulator.details import DATACENTERS
from exporter.simulator.errors import ApiError, bad_request, class_error

if TYPE_CHECKING:
    from exporter.simulator.fleet import SimVps

MANAGER_PREFIX: Final = "/engine"
TWOAPI_PREFIX: Final = "/engine/2api"
APIV6_PREFIX: Final = "/engine/apiv6"
DEAD_SESSION_MESSAGE: Final = "This session is invalid"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FindVps = Callable[[web.Request], "SimVps"]

# Tasks in these states are in neither of the manager's lists.
_FINISHED: Final = frozenset({"done", "cancelled"})

# A zone's datacentre code and number ("os-gra11": "gra", "11"), the code a key of DATACENTERS.
_ZONE_CODE: Final = re.compile(r"os-([a-z]+?)(\d*)$")
_VERSION: Final = re.compile(r"(\d{4})v(\d+)")


def _default_options() -> dict[str, tuple[bool, bool]]:
    """The options of a new VPS: each (optionAvailable, optionActivated)."""
    return {
        "additionalDisk": (True, False),
        "ftpBackup": (True, False),
        "snapshot": (True, False),
        "veeam": (True, False),
        "windows": (False, False),
        "windowsActivated": (False, False),
    }


def _default_capabilities() -> list[str] | None:
    """The capabilities of the simulator's models."""
    return [
        "additional-disk",
        "automatedBackup",
        "autorenew",
        "monitoring",
        "reinstall",
        "status",
        "summary",
        "upgrade",
        "veeam",
    ]


@dataclass
class SimManager:
    """What the 2API says of one VPS beyond its API v1 answers, as JSON-ready values.

    Quantities are `{unit, value}` objects (None answers null). `options` maps each
    TVpsTabSummary option to (optionAvailable, optionActivated); `capabilities`
    None makes `/vps/capabilities/{serviceName}` answer 404. `info` and
    `tabsummary` replace fields of those answers after they are built, so a test
    can send any shape or spelling.
    """

    disk_used: dict[str, Any] | None = field(default_factory=lambda: {"unit": "MB", "value": 10240})
    traffic_used: dict[str, Any] | None = field(default_factory=lambda: {"unit": "GB", "value": 0})
    traffic_total: dict[str, Any] | None = None
    distribution: str = "Debian 12"
    should_reengage: bool | None = False
    options: dict[str, tuple[bool, bool]] = field(default_factory=_default_options)
    ipv4: int = 1
    ipv6: int = 1
    ipv6_max: int = 1
    capabilities: list[str] | None = field(default_factory=_default_capabilities)
    info: dict[str, Any] = field(default_factory=dict)
    tabsummary: dict[str, Any] = field(default_factory=dict)


def manager_version(version: str) -> str:
    """Spell an API v1 model version the 2API's way: `2014v1` becomes `_2014_V_1`."""
    match = _VERSION.fullmatch(version)
    return f"_{match.group(1)}_V_{match.group(2)}" if match else version


def _location(zone: str) -> dict[str, str]:
    """The manager's location of a VPS from its OpenStack zone, city and country as the API v1's."""
    match = _ZONE_CODE.search(zone)
    if match is None:
        return {"country": "", "datacentre": "", "longName": ""}
    code, number = match.groups()
    city, country = DATACENTERS.get(code, (code.upper(), ""))
    return {
        "country": country,
        "datacentre": code.upper(),
        "longName": f"{city} {code.upper()}{number}",
    }


def _percent(used: Mapping[str, Any] | None, total: Mapping[str, Any] | None) -> int:
    """Used over total in percent, as the manager rounds it; 0 when either is missing."""
    if not used or not total or used.get("unit") != total.get("unit") or not total.get("value"):
        return 0
    return round(100 * float(used["value"]) / float(total["value"]))


def info_answer(machine: "SimVps") -> dict[str, Any]:
    """Build the TVpsInfo of one VPS."""
    vps, service, extra = machine.vps, machine.service_infos, machine.manager
    model = vps["model"]
    disk_total = {"unit": "GB", "value": model["disk"]}
    backup = machine.automated_backup
    answer = {
        "state": vps["state"],
        "messages": [],
        "availableOptions": list(model["availableOptions"]),
        "canOrder": True,
        "cluster": vps["cluster"],
        "creation": service["creation"],
        "displayName": vps["displayName"],
        "diskPercent": _percent(extra.disk_used, disk_total),
        "diskTotal": disk_total,
        "diskUsed": extra.disk_used,
        "distribution": {"name": extra.distribution, "id": extra.distribution.lower()},
        "engagement": None,
        "expiration": service["expiration"],
        "hasBackup": backup is not None and backup.get("state") == "enabled",
        "hasVeeam": extra.options.get("veeam", (False, False))[1],
        # Documentation addresses (RFC 5737, RFC 3849): they name no real host.
        "ipv4": "203.0.113.10",
        "ipv6": "2001:db8::10",
        "isExpired": service["status"] == "expired",
        "isValidVersionToRescheduleAutomatedBackup": True,
        "location": _location(vps["zone"]),
        "lockStatus": dict(vps["lockStatus"]),
        "model": model["name"],
        "monitoringIpBlocks": list(vps["monitoringIpBlocks"]),
        "name": vps["name"],
        "netbootMode": vps["netbootMode"].upper(),
        "noVNC": True,
        "offerType": vps["offerType"].upper(),
        "ram": {"unit": "MB", "value": vps["memoryLimit"]},
        "reverseDns": None,
        "secondaryDns": 0,
        "shouldReengage": extra.should_reengage,
        "slaMonitoring": vps["slaMonitoring"],
        "tabs": {"expert": ["dashboard", "backup", "ips"], "simple": ["dashboard"]},
        "vcore": vps["vcore"],
        "version": manager_version(model["version"]),
        "zone": vps["zone"],
        "zoneType": vps["zoneType"],
        "traficPercent": _percent(extra.traffic_used, extra.traffic_total),
        "traficTotal": extra.traffic_total,
        "traficUsed": extra.traffic_used,
    }
    return answer | extra.info


def tabsummary_answer(machine: "SimVps") -> dict[str, Any]:
    """Build the TVpsTabSummary of one VPS."""
    extra = machine.manager
    ipv4_max = 1 + int(machine.vps["model"]["maximumAdditionnalIp"])
    answer: dict[str, Any] = {
        "messages": [],
        "state": machine.vps["state"],
        "ipsv4Count": extra.ipv4,
        "ipsv6Count": extra.ipv6,
        "ipsv4Max": ipv4_max,
        "canGetMoreIpv4": extra.ipv4 < ipv4_max,
        "ipsv6Max": extra.ipv6_max,
    }
    for option, (available, activated) in extra.options.items():
        answer[option] = {"optionAvailable": available, "optionActivated": activated}
    if "snapshot" in answer:
        answer["snapshot"] |= {"creationDate": None, "description": None}
    if "veeam" in answer:
        answer["veeam"] |= {"optionDetails": None}
    return answer | extra.tabsummary


def check_session(request: web.Request, config: SimulatorConfig) -> None:
    """Accept a call that carries a live session's cookies, or refuse it as the manager does."""
    session = request.cookies.get("SESSION")
    if session and request.cookies.get("USERID") and session in config.manager_sessions:
        return
    if request.path.startswith(TWOAPI_PREFIX + "/"):
        raise ApiError(471, {"message": DEAD_SESSION_MESSAGE})
    raise class_error(403, "Client::Forbidden", DEAD_SESSION_MESSAGE)


def _tasks(machine: "SimVps", states: Callable[[str], bool], task_type: str | None) -> Any:
    """The VPS's tasks whose state passes `states`, of one type if given, ordered by id."""
    return sorted(
        (
            task
            for task in machine.tasks
            if states(str(task.get("state"))) and task_type in (None, task.get("type"))
        ),
        key=lambda task: int(task["id"]),
    )


def _twoapi_routes(find_vps: FindVps) -> list[tuple[str, Handler]]:
    """The 2API's VPS routes, each reading the VPS through `find_vps`."""

    async def info(request: web.Request) -> web.Response:
        """Answer `GET /sws/vps/{serviceName}/info`."""
        return web.json_response(info_answer(find_vps(request)))

    async def tabsummary(request: web.Request) -> web.Response:
        """Answer `GET /sws/vps/{serviceName}/tabsummary`."""
        return web.json_response(tabsummary_answer(find_vps(request)))

    async def uncompleted(request: web.Request) -> web.Response:
        """Answer `GET /sws/vps/{serviceName}/tasks/uncompleted[?type=...]`."""
        machine = find_vps(request)
        unfinished = _tasks(
            machine, lambda state: state not in _FINISHED | {"error"}, request.query.get("type")
        )
        return web.json_response(unfinished)

    async def errors(request: web.Request) -> web.Response:
        """Answer `GET /sws/vps/{serviceName}/tasks/error`."""
        return web.json_response(_tasks(find_vps(request), lambda state: state == "error", None))

    async def capabilities(request: web.Request) -> web.Response:
        """Answer `GET /vps/capabilities/{serviceName}?modelName=...` for the VPS's own model."""
        machine = find_vps(request)
        model = request.query.get("modelName")
        if model is None:
            raise bad_request("Missing parameter: modelName")
        if model != machine.vps["model"]["name"]:
            raise bad_request(f"Invalid value for parameter modelName: {model!r}")
        if machine.manager.capabilities is None:
            raise class_error(404, "Client::NotFound", f"No capabilities for model {model}")
        return web.json_response(list(machine.manager.capabilities))

    return [
        ("/sws/vps/{serviceName}/info", info),
        ("/sws/vps/{serviceName}/tabsummary", tabsummary),
        ("/sws/vps/{serviceName}/tasks/uncompleted", uncompleted),
        ("/sws/vps/{serviceName}/tasks/error", errors),
        ("/vps/capabilities/{serviceName}", capabilities),
    ]


def manager_routes(
    api_routes: Iterable[tuple[str, Handler]], find_vps: FindVps
) -> list[tuple[str, Handler]]:
    """Every route of the manager: the 2API's, and each API v1 route relayed at `/engine/apiv6`."""
    relayed = [(APIV6_PREFIX + template, handler) for template, handler in api_routes]
    own = [(TWOAPI_PREFIX + template, handler) for template, handler in _twoapi_routes(find_vps)]
    return relayed + own


def is_manager_path(path: str) -> bool:
    """Tell whether a request path is one of the manager's."""
    return path.startswith(MANAGER_PREFIX + "/")
