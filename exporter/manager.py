"""What the exporter keeps of the OVHcloud manager's 2API answers, how it reads and parses them.

The 2API is the manager's backend-for-frontend (`<manager>/engine/2api`): condensed
views of a VPS built for the manager's pages. The exporter reads five of its routes
for each VPS and keeps only what the API v1 does not say: disk and traffic usage,
option availability, IP counts and maxima, the model's capabilities, and the task
lists the manager shows.

Quantities arrive as `{unit, value}`. The units accepted are `B`, `KB`, `MB`, `GB`,
`TB` and `PB`, their binary spellings `KiB` to `PiB`, and the French `o`, `Ko` to
`Po`, in any letter case; all are powers of 1024, the way OVH counts a VPS's
`memoryLimit` and disk sizes. Any other unit is a parse problem and the value is
left out.

The 2API spells some enum values differently from the API v1 (`RESCUE`, `CLOUD`,
`_2014_V_1`): values are compared once letter case and every character other than a
letter or digit are dropped (`normalise`), and label values keep the raw string.
"""

import asyncio
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from exporter.model import TASK_STATES, Fields, ParseProblem
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import OvhApiError

T = TypeVar("T")

ROUTE_INFO = "/sws/vps/{serviceName}/info"
ROUTE_TABSUMMARY = "/sws/vps/{serviceName}/tabsummary"
ROUTE_TASKS_UNCOMPLETED = "/sws/vps/{serviceName}/tasks/uncompleted"
ROUTE_TASKS_ERROR = "/sws/vps/{serviceName}/tasks/error"
ROUTE_CAPABILITIES = "/vps/capabilities/{serviceName}"

# The manager's two task lists, by the last segment of their route.
TASK_LISTS = ("uncompleted", "error")

# The task types the manager asks about on their own, for its upgrade and migration banners.
UPGRADE_TASK = "upgradeVm"
MIGRATION_TASK = "migrate"

# The options TVpsTabSummary describes, each as {optionAvailable, optionActivated}.
TABSUMMARY_OPTIONS = (
    "additionalDisk",
    "ftpBackup",
    "snapshot",
    "veeam",
    "windows",
    "windowsActivated",
)

# The capabilities the capture spec saw; any other one is kept and counted as a surprise.
CAPABILITIES = (
    "additional-disk",
    "automatedBackup",
    "autorenew",
    "backup-storage",
    "cloud-database",
    "monitoring",
    "reinstall",
    "status",
    "summary",
    "upgrade",
    "veeam",
)

# vps.VpsOfferEnum and vps.ZoneTypeEnum of the API v1.
OFFER_TYPES = ("beta-classic", "classic", "cloud", "cloudram", "game-classic", "lowlat", "ssd")
ZONE_TYPES = ("localzone", "region")
IP_VERSIONS = ("v4", "v6")

_UNFINISHED_TASK_STATES = frozenset(TASK_STATES) - {"done", "cancelled"}
_VERSION = re.compile(r"\d{4}v\d+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")

_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
BYTE_UNITS: Mapping[str, int] = MappingProxyType(
    {
        prefix + suffix: 1024**power
        for prefix, power in _POWERS.items()
        for suffix in ("b", "o", "ib")
        if prefix or suffix != "ib"
    }
)


def normalise(value: str) -> str:
    """Reduce an enum value to lower-case letters and digits, so `_2014_V_1` equals `2014v1`."""
    return _NOT_ALNUM.sub("", value.lower())


def _known(values: Iterable[str]) -> frozenset[str]:
    """The normalised forms of an enum's values."""
    return frozenset(normalise(value) for value in values)


_OFFER_TYPES = _known(OFFER_TYPES)
_ZONE_TYPES = _known(ZONE_TYPES)
_CAPABILITIES = _known(CAPABILITIES)
_TASK_STATES = _known(TASK_STATES)
_UNFINISHED = _known(_UNFINISHED_TASK_STATES)


@dataclass(frozen=True, slots=True)
class ManagerInfo:
    """What `/sws/vps/{serviceName}/info` says that the API v1 does not; labels kept as sent."""

    model: str
    version: str
    offer_type: str
    zone_type: str
    distribution: str
    datacentre: str
    country: str
    disk_used_bytes: float | None
    disk_total_bytes: float | None
    traffic_used_bytes: float | None
    traffic_total_bytes: float | None
    should_reengage: bool | None


@dataclass(frozen=True, slots=True)
class OptionStatus:
    """Whether an option can be ordered for the VPS, and whether it is active."""

    available: bool | None
    activated: bool | None


@dataclass(frozen=True, slots=True)
class TabSummary:
    """The options and IP counts of `/sws/vps/{serviceName}/tabsummary`."""

    options: Mapping[str, OptionStatus]
    ips: Mapping[str, int]
    ips_max: Mapping[str, int]
    can_get_more_ipv4: bool | None


@dataclass(frozen=True, slots=True)
class ManagerTasks:
    """The manager's task lists of one VPS: counts by (list, type), and its two banners."""

    counts: Mapping[tuple[str, str], int]
    upgrade_in_progress: bool
    migration_in_progress: bool


def _not_a(route: str, where: str, expected: str, value: object) -> ParseProblem:
    """The surprise of a value of the wrong JSON type."""
    return ParseProblem(route, where, f"expected {expected}, got {type(value).__name__}")


def _enum(fields: Fields, key: str, known: frozenset[str]) -> str:
    """A string enum field kept as sent ("" when absent); unknown once normalised is a surprise."""
    value = fields.text(key)
    if value is None:
        return ""
    if normalise(value) not in known:
        fields.problem(key, f"unknown value {value!r}")
    return value


def _bytes(fields: Fields, key: str) -> float | None:
    """A `{unit, value}` quantity in bytes; None when absent, null or not understood."""
    quantity = fields.nested(key)
    if not quantity.data:
        return None
    value = quantity.number("value")
    unit = quantity.text("unit")
    if value is None or unit is None:
        quantity.problem("", "expected {unit, value}")
        return None
    factor = BYTE_UNITS.get(unit.strip().lower())
    if factor is None:
        quantity.problem("unit", f"unknown unit {unit[:20]!r}")
        return None
    if value < 0:
        quantity.problem("value", f"negative quantity {value}")
        return None
    return value * factor


def parse_info(data: object, route: str, problems: list[ParseProblem]) -> ManagerInfo:
    """Parse one TVpsInfo."""
    fields = Fields(data, route, problems)
    version = fields.text("version") or ""
    if version and not _VERSION.fullmatch(normalise(version)):
        fields.problem("version", f"unknown value {version[:40]!r}")
    location = fields.nested("location")
    return ManagerInfo(
        model=fields.text("model") or "",
        version=version,
        offer_type=_enum(fields, "offerType", _OFFER_TYPES),
        zone_type=_enum(fields, "zoneType", _ZONE_TYPES),
        distribution=fields.nested("distribution").text("name") or "",
        datacentre=location.text("datacentre") or "",
        country=location.text("country") or "",
        disk_used_bytes=_bytes(fields, "diskUsed"),
        disk_total_bytes=_bytes(fields, "diskTotal"),
        traffic_used_bytes=_bytes(fields, "traficUsed"),
        traffic_total_bytes=_bytes(fields, "traficTotal"),
        should_reengage=fields.boolean("shouldReengage"),
    )


def parse_tabsummary(data: object, route: str, problems: list[ParseProblem]) -> TabSummary:
    """Parse one TVpsTabSummary; an object with `optionAvailable` not named there is a surprise."""
    fields = Fields(data, route, problems)
    options: dict[str, OptionStatus] = {}
    for key, value in fields.data.items():
        is_option = isinstance(value, dict) and "optionAvailable" in value
        if key not in TABSUMMARY_OPTIONS and not is_option:
            continue
        if key not in TABSUMMARY_OPTIONS:
            fields.problem(key, "unknown option")
        option = fields.nested(key)
        options[key] = OptionStatus(
            available=option.boolean("optionAvailable"),
            activated=option.boolean("optionActivated"),
        )
    counts = {"v4": fields.integer("ipsv4Count"), "v6": fields.integer("ipsv6Count")}
    maxima = {"v4": fields.integer("ipsv4Max"), "v6": fields.integer("ipsv6Max")}
    return TabSummary(
        options=MappingProxyType(options),
        ips=MappingProxyType({k: v for k, v in counts.items() if v is not None}),
        ips_max=MappingProxyType({k: v for k, v in maxima.items() if v is not None}),
        can_get_more_ipv4=fields.boolean("canGetMoreIpv4"),
    )


def count_tasks(
    data: object,
    route: str,
    problems: list[ParseProblem],
    *,
    states: frozenset[str],
    task_type: str | None = None,
) -> dict[str, int]:
    """Count a task list by type; a task whose state or type does not belong there is a surprise.

    `states` holds the normalised states the list may contain; `task_type`, when
    given, is the type the list was asked for.
    """
    if not isinstance(data, list):
        problems.append(_not_a(route, "(body)", "a list", data))
        return {}
    counts: dict[str, int] = {}
    for item in data:
        if not isinstance(item, dict):
            problems.append(_not_a(route, "[]", "an object", item))
            continue
        fields = Fields(item, route, problems, "[]")
        state = fields.text("state")
        if state is not None and normalise(state) not in _TASK_STATES:
            fields.problem("state", f"unknown value {state!r}")
        elif state is not None and normalise(state) not in states:
            fields.problem("state", f"unexpected in this list: {state!r}")
        kind = fields.text("type") or "unknown"
        if task_type is not None and normalise(kind) != normalise(task_type):
            fields.problem("type", f"asked for {task_type}, got {kind!r}")
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def parse_capabilities(data: object, route: str, problems: list[ParseProblem]) -> frozenset[str]:
    """Parse TVpsCapabilities, a list of names; names the capture spec did not see are surprises."""
    if not isinstance(data, list):
        problems.append(_not_a(route, "(body)", "a list", data))
        return frozenset()
    kept = set()
    for item in data:
        if not isinstance(item, str):
            problems.append(_not_a(route, "[]", "a string", item))
            continue
        if normalise(item) not in _CAPABILITIES:
            problems.append(ParseProblem(route, "[]", f"unknown capability {item[:40]!r}"))
        kept.add(item)
    return frozenset(kept)


async def read_info(client: OvhClient, name: str, problems: list[ParseProblem]) -> ManagerInfo:
    """GET and parse one VPS's `/sws/vps/{serviceName}/info`."""
    data = await client.get(ROUTE_INFO, serviceName=name)
    return parse_info(data, ROUTE_INFO, problems)


async def read_tabsummary(client: OvhClient, name: str, problems: list[ParseProblem]) -> TabSummary:
    """GET and parse one VPS's `/sws/vps/{serviceName}/tabsummary`."""
    data = await client.get(ROUTE_TABSUMMARY, serviceName=name)
    return parse_tabsummary(data, ROUTE_TABSUMMARY, problems)


async def read_tasks(client: OvhClient, name: str, problems: list[ParseProblem]) -> ManagerTasks:
    """GET the manager's uncompleted and errored tasks of one VPS, and its two typed lists."""

    async def one(route: str, task_type: str | None) -> Any:
        """GET one list, filtered on a type when one is given."""
        params = None if task_type is None else {"type": task_type}
        return await client.get(route, params=params, serviceName=name)

    uncompleted, upgrades, migrations, errors = await asyncio.gather(
        one(ROUTE_TASKS_UNCOMPLETED, None),
        one(ROUTE_TASKS_UNCOMPLETED, UPGRADE_TASK),
        one(ROUTE_TASKS_UNCOMPLETED, MIGRATION_TASK),
        one(ROUTE_TASKS_ERROR, None),
    )
    route = ROUTE_TASKS_UNCOMPLETED
    counts: dict[tuple[str, str], int] = {}
    for list_name, data, list_route, states in (
        ("uncompleted", uncompleted, route, _UNFINISHED),
        ("error", errors, ROUTE_TASKS_ERROR, frozenset({"error"})),
    ):
        for kind, count in count_tasks(data, list_route, problems, states=states).items():
            counts[(list_name, kind)] = count
    upgrade = count_tasks(upgrades, route, problems, states=_UNFINISHED, task_type=UPGRADE_TASK)
    migration = count_tasks(
        migrations, route, problems, states=_UNFINISHED, task_type=MIGRATION_TASK
    )
    return ManagerTasks(
        counts=MappingProxyType(counts),
        upgrade_in_progress=bool(upgrade),
        migration_in_progress=bool(migration),
    )


async def read_capabilities(
    client: OvhClient, name: str, model: str, problems: list[ParseProblem]
) -> frozenset[str] | None:
    """GET and parse the capabilities of one VPS's model; None when the 2API has none for it."""
    try:
        data = await client.get(ROUTE_CAPABILITIES, params={"modelName": model}, serviceName=name)
    except OvhApiError as error:
        if error.not_found:
            return None
        raise
    return parse_capabilities(data, ROUTE_CAPABILITIES, problems)


Table = dict[str, tuple[T, float]]


def _fresh(table: Table[T], oldest: float, members: Collection[str]) -> Mapping[str, T]:
    """The values of a table read at `oldest` or later, for the VPS still in the account."""
    return MappingProxyType(
        {name: value for name, (value, read) in table.items() if name in members and read >= oldest}
    )


_NONE: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ManagerSnapshot:
    """The fresh 2API values of one account, and whether its manager session works."""

    info: Mapping[str, ManagerInfo] = field(default_factory=lambda: _NONE)
    summary: Mapping[str, TabSummary] = field(default_factory=lambda: _NONE)
    tasks: Mapping[str, ManagerTasks] = field(default_factory=lambda: _NONE)
    capabilities: Mapping[str, frozenset[str]] = field(default_factory=lambda: _NONE)
    session_valid: bool | None = None


@dataclass
class ManagerState:
    """What the manager job knows, one table per route so that one failed route spoils no other.

    `session_valid` is None until the session has been used, then tells whether
    the manager still accepts it.
    """

    info: Table[ManagerInfo] = field(default_factory=dict)
    summary: Table[TabSummary] = field(default_factory=dict)
    tasks: Table[ManagerTasks] = field(default_factory=dict)
    capabilities: Table[frozenset[str]] = field(default_factory=dict)
    session_valid: bool | None = None

    def tables(self) -> tuple[Table[Any], ...]:
        """Every per-VPS table."""
        return (self.info, self.summary, self.tasks, self.capabilities)

    def forget(self, members: Collection[str]) -> None:
        """Drop what is known of VPS that are no longer in the account."""
        for table in self.tables():
            for name in table.keys() - set(members):
                del table[name]

    def snapshot(
        self, now: float, interval: float | None, stale_after: int, members: Collection[str]
    ) -> ManagerSnapshot:
        """Freeze the tables, leaving out values older than `stale_after` intervals."""
        if interval is None:
            return ManagerSnapshot(session_valid=self.session_valid)
        oldest = now - stale_after * interval
        return ManagerSnapshot(
            info=_fresh(self.info, oldest, members),
            summary=_fresh(self.summary, oldest, members),
            tasks=_fresh(self.tasks, oldest, members),
            capabilities=_fresh(self.capabilities, oldest, members),
            session_valid=self.session_valid,
        )
