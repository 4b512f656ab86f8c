"""What the exporter keeps of each OVH answer, and the lenient parsers that build it.

Parsers never raise on a surprising answer: a field of the wrong type or an
enum value this version does not know is recorded as a `ParseProblem`, and
whatever else the answer holds is kept.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

# vps.VpsStateEnum, service.StateEnum and vps.TaskStateEnum in vps.openapi.json.
VPS_STATES = (
    "backuping",
    "installing",
    "maintenance",
    "rebooting",
    "rescued",
    "running",
    "stopped",
    "stopping",
    "upgrading",
)
SERVICE_STATUSES = ("autorenewInProgress", "expired", "inCreation", "ok", "pendingDebt", "unPaid")
TASK_STATES = ("blocked", "cancelled", "doing", "done", "error", "paused", "todo", "waitingAck")
FINISHED_TASK_STATES = frozenset({"done", "cancelled"})
RESTORE_POINT_STATES = ("available", "restored", "restoring")

# JSON numbers are unbounded, metric values are doubles: past 2**53 they lose
# precision, and an integer past about 1.8e308 cannot become one at all.
LARGEST_EXACT = 2**53


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """One surprise in an OVH answer: where it was and what was wrong."""

    route: str
    field: str
    detail: str


class Fields:
    """Typed, lenient access to one JSON object, recording every surprise it meets."""

    def __init__(self, data: object, route: str, problems: list[ParseProblem], path: str = ""):
        self.route = route
        self.problems = problems
        self.path = path
        if isinstance(data, dict):
            self.data: Mapping[str, Any] = data
        else:
            self.data = {}
            self._problem("", f"expected an object, got {type(data).__name__}")

    def _problem(self, key: str, detail: str) -> None:
        name = f"{self.path}.{key}" if self.path and key else self.path or key or "(body)"
        self.problems.append(ParseProblem(self.route, name, detail))

    def _get(self, key: str, kind: type | tuple[type, ...], kind_name: str) -> Any:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self._problem(key, f"expected {kind_name}, got a boolean")
            return None
        if not isinstance(value, kind):
            self._problem(key, f"expected {kind_name}, got {type(value).__name__}")
            return None
        return value

    def text(self, key: str) -> str | None:
        """A string field, or None when absent, null or not a string."""
        value: str | None = self._get(key, str, "a string")
        return value

    def _bounded(self, key: str, value: Any) -> Any:
        """A number a metric can hold exactly, or None (the surprise recorded) for one it cannot."""
        if value is not None and not -LARGEST_EXACT <= value <= LARGEST_EXACT:
            self._problem(key, "expected a number within +/-2**53")
            return None
        return value

    def integer(self, key: str) -> int | None:
        """An integer field (whole floats accepted)."""
        value = self._bounded(key, self._get(key, (int, float), "a number"))
        if isinstance(value, float) and not value.is_integer():
            self._problem(key, f"expected a whole number, got {value}")
            return None
        return None if value is None else int(value)

    def boolean(self, key: str) -> bool | None:
        """A boolean field."""
        value: bool | None = self._get(key, bool, "a boolean")
        return value

    def problem(self, key: str, detail: str) -> None:
        """Record a surprise about `key` that the caller's own checks found."""
        self._problem(key, detail)

    def number(self, key: str) -> float | None:
        """A numeric field, whole or not."""
        value = self._bounded(key, self._get(key, (int, float), "a number"))
        return None if value is None else float(value)

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings; an absent or null list is empty, items of another type are dropped."""
        value = self._get(key, list, "a list")
        if value is None:
            return ()
        kept = tuple(item for item in value if isinstance(item, str))
        if len(kept) != len(value):
            self._problem(key, "expected a list of strings")
        return kept

    def nested(self, key: str) -> "Fields":
        """A nested object; an absent or null one reads as empty."""
        value = self.data.get(key)
        nested = f"{self.path}.{key}" if self.path else key
        if value is None:
            return Fields({}, self.route, self.problems, nested)
        return Fields(value, self.route, self.problems, nested)

    def enum(self, key: str, known: Iterable[str]) -> str | None:
        """An enum field, kept as sent even when unknown (the surprise is recorded)."""
        value = self.text(key)
        if value is not None and value not in known:
            self._problem(key, f"unknown value {value!r}")
        return value

    def timestamp(self, key: str) -> float | None:
        """A date or date-time field as a Unix timestamp (a bare date is midnight UTC)."""
        value = self.text(key)
        if value is None:
            return None
        timestamp = parse_timestamp(value)
        if timestamp is None:
            self._problem(key, f"not a date: {value[:40]!r}")
        return timestamp


def parse_timestamp(value: str) -> float | None:
    """Parse OVH's `YYYY-MM-DD` dates and ISO 8601 date-times; None when neither."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class Vps:
    """A VPS as `/vps/{serviceName}` describes it."""

    name: str
    display_name: str
    state: str | None
    model: str
    offer: str
    version: str
    zone: str
    zone_type: str
    offer_type: str
    cluster: str
    vcores: int | None
    memory_bytes: int | None
    netboot_mode: str | None
    locked: bool | None


def parse_vps(data: object, route: str, problems: list[ParseProblem]) -> Vps | None:
    """Parse one `vps.VPS` object; None when it has no usable name."""
    fields = Fields(data, route, problems)
    name = fields.text("name")
    if not name:
        fields._problem("name", "missing")
        return None
    model = fields.nested("model")
    memory = fields.integer("memoryLimit")
    return Vps(
        name=name,
        display_name=fields.text("displayName") or "",
        state=fields.enum("state", VPS_STATES),
        model=model.text("name") or "",
        offer=model.text("offer") or "",
        version=model.text("version") or "",
        zone=fields.text("zone") or "",
        zone_type=fields.text("zoneType") or "",
        offer_type=fields.text("offerType") or "",
        cluster=fields.text("cluster") or "",
        vcores=fields.integer("vcore"),
        memory_bytes=None if memory is None else memory * 1024 * 1024,
        netboot_mode=fields.text("netbootMode"),
        locked=fields.nested("lockStatus").boolean("locked"),
    )


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """The open tasks of one VPS, counted by (state, type), and the ids of those in error."""

    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    oldest: Mapping[tuple[str, str], float] = field(default_factory=dict)
    error_ids: Mapping[int, str] = field(default_factory=dict)


def summarize_tasks(
    items: Iterable[object], route: str, problems: list[ParseProblem]
) -> TaskSummary:
    """Count the tasks that are neither done nor cancelled, by state and type."""
    counts: dict[tuple[str, str], int] = {}
    oldest: dict[tuple[str, str], float] = {}
    error_ids: dict[int, str] = {}
    for item in items:
        fields = Fields(item, route, problems)
        state = fields.enum("state", TASK_STATES)
        task_type = fields.text("type") or "unknown"
        if state is None or state in FINISHED_TASK_STATES:
            continue
        key = (state, task_type)
        counts[key] = counts.get(key, 0) + 1
        started = fields.timestamp("date")
        if started is not None:
            oldest[key] = min(started, oldest.get(key, started))
        task_id = fields.integer("id")
        if state == "error" and task_id is not None:
            error_ids[task_id] = task_type
    return TaskSummary(counts=counts, oldest=oldest, error_ids=error_ids)


@dataclass(frozen=True, slots=True)
class BackupStatus:
    """Automated backup of one VPS: enabled or not, its plan, and its restore points by state."""

    enabled: bool
    restore_points: int | None
    last_restore_point: float | None
    rotation: int | None = None
    schedule_seconds: int | None = None
    # The restore points in states other than available (restoring, restored), by state.
    other_restore_points: Mapping[str, int] = field(default_factory=dict)


def parse_backup_state(data: object, route: str, problems: list[ParseProblem]) -> bool:
    """Whether `vps.AutomatedBackup.state` says enabled."""
    return Fields(data, route, problems).enum("state", ("enabled", "disabled")) == "enabled"


def newest_restore_point(
    data: object, route: str, problems: list[ParseProblem]
) -> tuple[int, float | None]:
    """Count the restore points of a `restorePoints` answer and find the newest."""
    if not isinstance(data, list):
        problems.append(
            ParseProblem(route, "(body)", f"expected a list, got {type(data).__name__}")
        )
        return 0, None
    stamps = []
    for item in data:
        stamp = parse_timestamp(item) if isinstance(item, str) else None
        if stamp is None:
            problems.append(ParseProblem(route, "[]", f"not a date-time: {str(item)[:40]!r}"))
        else:
            stamps.append(stamp)
    return len(data), max(stamps, default=None)


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """Billing facts of one VPS from `/vps/{serviceName}/serviceInfos`."""

    status: str | None
    expiration: float | None
    engaged_up_to: float | None
    renew_automatic: bool | None
    delete_at_expiration: bool | None


def parse_service_infos(data: object, route: str, problems: list[ParseProblem]) -> ServiceInfo:
    """Parse one `services.Service` object."""
    fields = Fields(data, route, problems)
    renew = fields.nested("renew")
    return ServiceInfo(
        status=fields.enum("status", SERVICE_STATUSES),
        expiration=fields.timestamp("expiration"),
        engaged_up_to=fields.timestamp("engagedUpTo"),
        renew_automatic=renew.boolean("automatic"),
        delete_at_expiration=renew.boolean("deleteAtExpiration"),
    )
