"""The definition of every metric the exporter exposes, registered by name.

Each metric is declared once with `define`, at import time, in the module that
fills it; the collector builds its families from these definitions and
`python -m exporter.docs` writes `docs/metrics.md` from them. A new module adds
its metrics like this, and the collector yields them from its own function::

    EXAMPLE = define(
        "ovh_vps_example_enabled",
        "gauge",
        "1 when the example option is enabled.",
        ("account", "vps"),
        unit="0/1",
        route="/vps/{serviceName}/example",
        job="vps",
    )
    family = EXAMPLE.family()  # in the collector, once per snapshot
"""

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

MetricType = Literal["gauge", "counter"]

# Every VPS metric's HELP ends with this, so nobody mistakes a value for a live reading.
SCHEDULED = "Refreshed on a schedule, not at scrape time."

VPS_LABELS = ("account", "vps")
ACCOUNT_LABELS = ("account",)

_NAME = re.compile(r"ovh_[a-z0-9_]+")
_LABEL = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric as exposed: name (with `_total` for counters), type, labels, unit and source.

    `job` names the refresh job that fills it (its section in the reference);
    it is empty for the exporter's own metrics, whose HELP does not carry
    `SCHEDULED`.
    """

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...]
    unit: str = ""
    route: str = ""
    job: str = ""

    @property
    def documentation(self) -> str:
        """The HELP text exactly as `/metrics` shows it."""
        return f"{self.help} {SCHEDULED}" if self.job else self.help

    def family(self) -> "Family":
        """A new, empty metric family for one snapshot."""
        return Family(self)


@dataclass(frozen=True, slots=True)
class Flags:
    """The values of a family's last label in a run of 0/1 series, and those that are 1."""

    values: tuple[str, ...]
    on: frozenset[str]


class Family(Metric):
    """A gauge or counter family that keeps each series as its label values and value.

    prometheus_client's families keep a `Sample` holding a label dict for each
    series, about 330 bytes; at 10,000 VPS the largest family has 90,000 series,
    built and dropped at every render. Here a series is a pair of tuples, and a
    VPS's run of 0/1 series over an enum (`add_flags`) is one row that shares
    its `Flags` with every VPS in the same state. `rendering.py` writes the rows
    as they are; `samples` builds prometheus_client's samples on demand, for
    anything else that reads a family.
    """

    def __init__(self, spec: MetricSpec) -> None:
        """An empty family of `spec`'s metric."""
        counter = spec.type == "counter"
        super().__init__(
            spec.name.removesuffix("_total") if counter else spec.name,
            spec.documentation,
            spec.type,
        )
        self.labelnames = spec.labels
        # The name every sample line starts with: counters' end in _total.
        self.sample_name = spec.name
        self.rows: list[tuple[tuple[str, ...], float | Flags]] = []
        self._flags: dict[tuple[tuple[str, ...], frozenset[str]], Flags] = {}

    def add_metric(self, labels: Sequence[str], value: float) -> None:
        """Add one series: its label values, in the order of the definition, and its value."""
        self._check(labels, len(self.labelnames))
        self.rows.append((tuple(labels), value))

    def add_flags(self, labels: Sequence[str], values: tuple[str, ...], on: Iterable[str]) -> None:
        """Add one 0/1 series per value of the last label, in order: 1 for those in `on`.

        `labels` are the values of every label but the last.
        """
        self._check(labels, len(self.labelnames) - 1)
        key = (values, frozenset(on))
        flags = self._flags.get(key)
        if flags is None:
            flags = self._flags[key] = Flags(*key)
        self.rows.append((tuple(labels), flags))

    def add_sample(self, *args: object, **kwargs: object) -> None:
        """Refuse: `samples` is built from the rows, so a sample added to it would be lost."""
        raise TypeError("add series to a Family with add_metric or add_flags")

    def series(self) -> Iterator[tuple[tuple[str, ...], float]]:
        """Every series in order, a run of flags expanded into its 0/1 series."""
        for labels, value in self.rows:
            if isinstance(value, Flags):
                for each in value.values:
                    yield (*labels, each), 1.0 if each in value.on else 0.0
            else:
                yield labels, value

    def _check(self, labels: Sequence[str], expected: int) -> None:
        """Refuse a number of label values the definition does not have."""
        if len(labels) != expected:
            raise ValueError(
                f"{self.sample_name}: {len(labels)} label values for {expected} labels"
            )

    @property
    def samples(self) -> list[Sample]:
        """The series as prometheus_client samples, built anew at each read."""
        names = self.labelnames
        return [
            Sample(self.sample_name, dict(zip(names, labels, strict=True)), value)
            for labels, value in self.series()
        ]

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        """Accept only the empty list `Metric.__init__` starts with: rows come from `add_metric`."""
        if value:
            raise TypeError("add series to a Family with add_metric")


_REGISTRY: dict[str, MetricSpec] = {}


def _problems(spec: MetricSpec) -> list[str]:
    """What is wrong with a definition, by the naming rules of docs/metrics.md."""
    problems = []
    if not _NAME.fullmatch(spec.name):
        problems.append("the name must be ovh_ followed by lower-case words")
    if (spec.type == "counter") != spec.name.endswith("_total"):
        problems.append("counters, and only counters, end in _total")
    if spec.type not in ("gauge", "counter"):
        problems.append(f"unknown type {spec.type!r}")
    if len(set(spec.labels)) != len(spec.labels) or not all(
        _LABEL.fullmatch(label) for label in spec.labels
    ):
        problems.append("labels must be distinct lower-case names")
    if spec.name.startswith("ovh_vps_") and spec.labels[:2] != VPS_LABELS:
        problems.append("VPS metrics start with the labels account and vps")
    if not spec.help.endswith("."):
        problems.append("the help text is one or more sentences ending in a period")
    return problems


def define(
    name: str,
    type: MetricType,
    help: str,
    labels: tuple[str, ...],
    *,
    unit: str = "",
    route: str = "",
    job: str = "",
) -> MetricSpec:
    """Register a metric and return its definition; a second one of the same name is a bug."""
    spec = MetricSpec(name, type, help, labels, unit, route, job)
    problems = _problems(spec)
    if name in _REGISTRY:
        problems.append("it is already defined")
    if problems:
        raise ValueError(f"metric {name}: " + "; ".join(problems))
    _REGISTRY[name] = spec
    return spec


def registered() -> tuple[MetricSpec, ...]:
    """Every metric defined so far, in the order of definition."""
    return tuple(_REGISTRY.values())


# The metrics of the first version; their names, labels and HELP are a contract.

VPS_INFO = define(
    "ovh_vps_info",
    "gauge",
    "VPS details from /vps/{serviceName}, value 1.",
    (
        *VPS_LABELS,
        "display_name",
        "model",
        "offer",
        "version",
        "zone",
        "zone_type",
        "offer_type",
        "cluster",
    ),
    unit="1",
    route="/vps/{serviceName}",
    job="vps",
)
VPS_STATE = define(
    "ovh_vps_state",
    "gauge",
    "VPS state from /vps/{serviceName}: 1 for the current state, 0 for the others.",
    (*VPS_LABELS, "state"),
    unit="0/1",
    route="/vps/{serviceName}",
    job="vps",
)
VPS_VCORES = define(
    "ovh_vps_vcores",
    "gauge",
    "Virtual cores of the VPS.",
    VPS_LABELS,
    unit="cores",
    route="/vps/{serviceName}",
    job="vps",
)
VPS_MEMORY = define(
    "ovh_vps_memory_bytes",
    "gauge",
    "Memory of the VPS in bytes (memoryLimit).",
    VPS_LABELS,
    unit="bytes",
    route="/vps/{serviceName}",
    job="vps",
)
VPS_RESCUE = define(
    "ovh_vps_rescue_mode",
    "gauge",
    "1 when the VPS boots in rescue mode (netbootMode).",
    VPS_LABELS,
    unit="0/1",
    route="/vps/{serviceName}",
    job="vps",
)
VPS_LOCKED = define(
    "ovh_vps_locked",
    "gauge",
    "1 when OVH has locked the VPS (lockStatus.locked).",
    VPS_LABELS,
    unit="0/1",
    route="/vps/{serviceName}",
    job="vps",
)

TASKS = define(
    "ovh_vps_tasks",
    "gauge",
    "Tasks of the VPS that are neither done nor cancelled, by state and type.",
    (*VPS_LABELS, "state", "type"),
    unit="tasks",
    route="/vps/{serviceName}/tasks",
    job="tasks",
)
TASK_OLDEST = define(
    "ovh_vps_task_oldest_timestamp_seconds",
    "gauge",
    "Start date of the oldest open task of that state and type.",
    (*VPS_LABELS, "state", "type"),
    unit="Unix seconds",
    route="/vps/{serviceName}/tasks",
    job="tasks",
)
TASK_ERRORS = define(
    "ovh_vps_task_errors_total",
    "counter",
    "Tasks of the VPS seen in state error for the first time, by type.",
    (*VPS_LABELS, "type"),
    unit="tasks",
    route="/vps/{serviceName}/tasks",
    job="tasks",
)

BACKUP_ENABLED = define(
    "ovh_vps_automated_backup_enabled",
    "gauge",
    "1 when automated backup is enabled (automatedBackup.state).",
    VPS_LABELS,
    unit="0/1",
    route="/vps/{serviceName}/automatedBackup",
    job="backups",
)
BACKUP_RESTORE_POINTS = define(
    "ovh_vps_automated_backup_restore_points",
    "gauge",
    "Automated backup restore points of the VPS, by state.",
    (*VPS_LABELS, "state"),
    unit="restore points",
    route="/vps/{serviceName}/automatedBackup/restorePoints",
    job="backups",
)
BACKUP_LAST_RESTORE_POINT = define(
    "ovh_vps_automated_backup_last_restore_point_timestamp_seconds",
    "gauge",
    "Date of the newest available automated backup restore point.",
    VPS_LABELS,
    unit="Unix seconds",
    route="/vps/{serviceName}/automatedBackup/restorePoints",
    job="backups",
)

EXPIRATION = define(
    "ovh_vps_expiration_timestamp_seconds",
    "gauge",
    "Expiration date of the VPS service (serviceInfos.expiration, midnight UTC).",
    VPS_LABELS,
    unit="Unix seconds",
    route="/vps/{serviceName}/serviceInfos",
    job="billing",
)
ENGAGED_UP_TO = define(
    "ovh_vps_engaged_up_to_timestamp_seconds",
    "gauge",
    "End of the VPS's commitment (serviceInfos.engagedUpTo), when it has one.",
    VPS_LABELS,
    unit="Unix seconds",
    route="/vps/{serviceName}/serviceInfos",
    job="billing",
)
RENEW_AUTOMATIC = define(
    "ovh_vps_renew_automatic",
    "gauge",
    "1 when the service renews automatically (serviceInfos.renew.automatic).",
    VPS_LABELS,
    unit="0/1",
    route="/vps/{serviceName}/serviceInfos",
    job="billing",
)
DELETE_AT_EXPIRATION = define(
    "ovh_vps_delete_at_expiration",
    "gauge",
    "1 when the service will be deleted at expiration (serviceInfos.renew.deleteAtExpiration).",
    VPS_LABELS,
    unit="0/1",
    route="/vps/{serviceName}/serviceInfos",
    job="billing",
)
SERVICE_STATUS = define(
    "ovh_vps_service_status",
    "gauge",
    "Service status from serviceInfos: 1 for the current status, 0 for the others.",
    (*VPS_LABELS, "status"),
    unit="0/1",
    route="/vps/{serviceName}/serviceInfos",
    job="billing",
)

_JOB_LABELS = ("account", "refresh_job")
REFRESH_SUCCESS = define(
    "ovh_exporter_refresh_success",
    "gauge",
    "1 when the last run of the refresh job succeeded for every VPS.",
    _JOB_LABELS,
    unit="0/1",
)
REFRESH_LAST_SUCCESS = define(
    "ovh_exporter_refresh_last_success_timestamp_seconds",
    "gauge",
    "When the refresh job last succeeded.",
    _JOB_LABELS,
    unit="Unix seconds",
)
REFRESH_DURATION = define(
    "ovh_exporter_refresh_duration_seconds",
    "gauge",
    "How long the last run of the refresh job took.",
    _JOB_LABELS,
    unit="seconds",
)
REFRESH_FAILURES = define(
    "ovh_exporter_refresh_failures_total",
    "counter",
    "Runs of the refresh job that failed for at least one VPS.",
    _JOB_LABELS,
    unit="runs",
)
API_REQUESTS = define(
    "ovh_exporter_api_requests_total",
    "counter",
    "Requests sent to the OVH API, by templated route and HTTP status (or transport error).",
    ("account", "route", "code"),
    unit="requests",
)
PARSE_ERRORS = define(
    "ovh_exporter_parse_errors_total",
    "counter",
    "Fields of OVH answers that had an unexpected type or value, by route.",
    ("account", "route"),
    unit="fields",
)
BUILD_INFO = define(
    "ovh_exporter_build_info",
    "gauge",
    "Version of the exporter and of Python, value 1.",
    ("version", "python_version"),
    unit="1",
)
