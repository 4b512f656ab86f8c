"""What the exporter keeps of a VPS's location, OS, disks, IPs, options, migrations, backups.

Every parser here is lenient in the way of `exporter.model`: a surprising
field is recorded as a `ParseProblem`, an unknown enum value is kept as sent,
and the rest of the answer is used.

Sizes are converted to bytes. OVH names its storage units the decimal way but
counts them the binary way, as `memoryLimit` shows (4096 "MB" of memory is
4 GiB); `vps.Disk.size` carries no unit and is the disk's size in GB, the
figure `model.disk` and the manager show, so it is read as GiB too.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from exporter.facts import Fact
from exporter.model import Fields, ParseProblem

# The enums of vps.openapi.json this version knows.
DISK_STATES = ("connected", "disconnected", "pending")
DISK_TYPES = ("additional", "primary")
IP_VERSIONS = ("v4", "v6")
IP_TYPES = ("additional", "primary")
OPTIONS = (
    "additionalDisk",
    "automatedBackup",
    "cpanel",
    "ftpbackup",
    "plesk",
    "snapshot",
    "veeam",
    "windows",
)
OPTION_STATES = ("released", "subscribed")
# migration2018 answers vps.migration.StatusEnum; migration2020 is newer than
# vps.openapi.json and answers the statuses of the capture spec's TVpsMigration.
MIGRATION_STATUSES: Mapping[str, tuple[str, ...]] = {
    "2018": ("available", "notAvailable", "ongoing", "planned", "toPlan"),
    "2020": ("available", "done", "inProgress", "notAvailable"),
}

ROUTE_DATACENTER = "/vps/{serviceName}/datacenter"
ROUTE_DISTRIBUTION = "/vps/{serviceName}/distribution"
ROUTE_IPS = "/vps/{serviceName}/ips"
ROUTE_IP = "/vps/{serviceName}/ips/{ipAddress}"
ROUTE_OPTIONS = "/vps/{serviceName}/option"
ROUTE_OPTION = "/vps/{serviceName}/option/{option}"
ROUTE_MIGRATION_2020 = "/vps/{serviceName}/migration2020"
ROUTE_MIGRATION_2018 = "/vps/{serviceName}/migration2018"
ROUTE_SECONDARY_DNS = "/vps/{serviceName}/secondaryDnsDomains"
ROUTE_DISKS = "/vps/{serviceName}/disks"
ROUTE_DISK = "/vps/{serviceName}/disks/{id}"
ROUTE_DISK_USE = "/vps/{serviceName}/disks/{id}/use"
ROUTE_SNAPSHOT = "/vps/{serviceName}/snapshot"
ROUTE_ATTACHED_BACKUPS = "/vps/{serviceName}/automatedBackup/attachedBackup"
ROUTE_RESTORE_POINTS = "/vps/{serviceName}/automatedBackup/restorePoints"
ROUTE_VEEAM = "/vps/{serviceName}/veeam"
ROUTE_VEEAM_POINTS = "/vps/{serviceName}/veeam/restorePoints"
ROUTE_VEEAM_POINT = "/vps/{serviceName}/veeam/restorePoints/{id}"
ROUTE_BACKUP_FTP = "/vps/{serviceName}/backupftp"

# Every route these readers may call, for a check of the access rules.
ROUTES = (
    ROUTE_DATACENTER,
    ROUTE_DISTRIBUTION,
    ROUTE_IPS,
    ROUTE_IP,
    ROUTE_OPTIONS,
    ROUTE_OPTION,
    ROUTE_MIGRATION_2020,
    ROUTE_MIGRATION_2018,
    ROUTE_SECONDARY_DNS,
    ROUTE_DISKS,
    ROUTE_DISK,
    ROUTE_DISK_USE,
    ROUTE_SNAPSHOT,
    ROUTE_ATTACHED_BACKUPS,
    ROUTE_VEEAM,
    ROUTE_VEEAM_POINTS,
    ROUTE_VEEAM_POINT,
    ROUTE_BACKUP_FTP,
)

GIB = 1024**3
_UNIT_BYTES: Mapping[str, int] = {
    "B": 1,
    "KB": 1024,
    "MB": 1024**2,
    "GB": GIB,
    "TB": 1024**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": GIB,
    "TiB": 1024**4,
}


@dataclass(frozen=True, slots=True)
class VpsExtras:
    """Facts of `/vps/{serviceName}` the first version did not keep."""

    lock_reason: str | None
    sla_monitoring: bool | None
    maximum_additional_ips: int | None


@dataclass(frozen=True, slots=True)
class Location:
    """The datacenter of a VPS (`vps.Datacenter`)."""

    datacenter: str
    long_name: str
    country: str


@dataclass(frozen=True, slots=True)
class Distribution:
    """The installed OS template of a VPS (`vps.Template`)."""

    name: str
    distribution: str


@dataclass(frozen=True, slots=True)
class IpSummary:
    """The IPs of a VPS counted by (version, type), and whether the primary IPv4 has a reverse."""

    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    primary_ipv4_reverse: bool | None = None


@dataclass(frozen=True, slots=True)
class Migration:
    """One of a VPS's migration offers: its status and planned date."""

    status: str | None
    date: float | None


@dataclass(frozen=True, slots=True)
class Disk:
    """One disk of a VPS, with its size and used space in bytes."""

    id: str
    size_bytes: int | None
    type: str | None
    state: str | None
    used_bytes: float | None = None


@dataclass(frozen=True, slots=True)
class SnapshotState:
    """Whether the VPS has a snapshot (`/snapshot` answers 404 when not), and its date."""

    present: bool
    created: float | None = None


@dataclass(frozen=True, slots=True)
class Veeam:
    """The Veeam backup of a VPS; `enabled` is False when the option is absent."""

    enabled: bool | None
    restore_points: int | None = None
    newest: float | None = None


@dataclass(frozen=True, slots=True)
class BackupFtp:
    """The FTP backup space of a VPS, in bytes, and since when it is read-only."""

    quota_bytes: float | None
    usage_bytes: float | None
    read_only_since: float | None


# Each fact and the refresh job that reads it; where a value may be None, None means
# the VPS has no such thing (OVH answered 404) or its answer could not be read.
VPS_EXTRAS: Fact[VpsExtras] = Fact("vps_extras", "vps")
LOCATION: Fact[Location | None] = Fact("location", "details")
DISTRIBUTION: Fact[Distribution | None] = Fact("distribution", "details")
IPS: Fact[IpSummary] = Fact("ips", "details")
SUBSCRIPTIONS: Fact[Mapping[str, bool]] = Fact("options", "details")
MIGRATION_2020: Fact[Migration | None] = Fact("migration2020", "details")
MIGRATION_2018: Fact[Migration | None] = Fact("migration2018", "details")
SECONDARY_DNS: Fact[int | None] = Fact("secondary_dns", "details")
DISKS: Fact[tuple[Disk, ...]] = Fact("disks", "disks")
SNAPSHOT: Fact[SnapshotState] = Fact("snapshot", "backups")
ATTACHED_BACKUPS: Fact[int | None] = Fact("attached_backups", "backups")
VEEAM: Fact[Veeam] = Fact("veeam", "backups")
BACKUP_FTP: Fact[BackupFtp | None] = Fact("backup_ftp", "backups")


def _object(fields: Fields, key: str) -> Fields:
    """A nested object read without a second complaint when it is not one (parse_vps has one)."""
    value = fields.data.get(key)
    return Fields(value if isinstance(value, dict) else {}, fields.route, fields.problems, key)


def _required_enum(fields: Fields, key: str, known: Iterable[str]) -> str | None:
    """An enum field that must be there: a missing one is recorded too."""
    if fields.data.get(key) is None:
        fields.problem(key, "missing")
        return None
    return fields.enum(key, known)


def parse_vps_extras(data: object, route: str, problems: list[ParseProblem]) -> VpsExtras:
    """Read lockStatus.reason (kept only while locked), slaMonitoring and the model's IP maximum."""
    fields = Fields(data, route, problems)
    lock = _object(fields, "lockStatus")
    locked = lock.data.get("locked") is True
    return VpsExtras(
        lock_reason=(lock.text("reason") or "") if locked else None,
        sla_monitoring=fields.boolean("slaMonitoring"),
        maximum_additional_ips=_object(fields, "model").integer("maximumAdditionnalIp"),
    )


def parse_location(data: object, route: str, problems: list[ParseProblem]) -> Location:
    """Parse one `vps.Datacenter` object."""
    fields = Fields(data, route, problems)
    return Location(
        datacenter=fields.text("name") or "",
        long_name=fields.text("longName") or "",
        country=fields.text("country") or "",
    )


def parse_distribution(data: object, route: str, problems: list[ParseProblem]) -> Distribution:
    """Parse one `vps.Template` object."""
    fields = Fields(data, route, problems)
    return Distribution(
        name=fields.text("name") or "", distribution=fields.text("distribution") or ""
    )


def summarize_ips(items: Iterable[object], route: str, problems: list[ParseProblem]) -> IpSummary:
    """Count `vps.Ip` objects by version and type; an IP missing either is left out."""
    counts: dict[tuple[str, str], int] = {}
    reverse: bool | None = None
    for item in items:
        fields = Fields(item, route, problems)
        if not isinstance(item, dict):
            continue
        version = _required_enum(fields, "version", IP_VERSIONS)
        ip_type = _required_enum(fields, "type", IP_TYPES)
        if version is None or ip_type is None:
            continue
        counts[(version, ip_type)] = counts.get((version, ip_type), 0) + 1
        if (version, ip_type) == ("v4", "primary") and reverse is None:
            reverse = bool((fields.text("reverse") or "").strip())
    return IpSummary(counts=counts, primary_ipv4_reverse=reverse)


def parse_options(
    items: Iterable[object], route: str, problems: list[ParseProblem]
) -> dict[str, bool]:
    """Whether each option listed in `vps.Option` objects is subscribed."""
    states: dict[str, bool] = {}
    for item in items:
        fields = Fields(item, route, problems)
        if not isinstance(item, dict):
            continue
        option = _required_enum(fields, "option", OPTIONS)
        state = _required_enum(fields, "state", OPTION_STATES)
        if option is not None:
            states[option] = state == "subscribed"
    return states


def parse_migration(
    data: object, route: str, problems: list[ParseProblem], statuses: Iterable[str]
) -> Migration:
    """Parse a migration offer: vps.migration.VPS2018to2020, or TVpsMigration (capture spec)."""
    fields = Fields(data, route, problems)
    return Migration(status=fields.enum("status", statuses), date=fields.timestamp("date"))


def parse_disk(data: object, route: str, problems: list[ParseProblem]) -> Disk | None:
    """Parse one `vps.Disk` object; None when it has no id to name it by."""
    fields = Fields(data, route, problems)
    if fields.data.get("id") is None:
        fields.problem("id", "missing")
        return None
    disk_id = fields.integer("id")
    if disk_id is None:
        return None
    size = fields.integer("size")
    return Disk(
        id=str(disk_id),
        size_bytes=None if size is None else size * GIB,
        type=fields.enum("type", DISK_TYPES),
        state=fields.enum("state", DISK_STATES),
    )


def parse_bytes(
    data: object, route: str, problems: list[ParseProblem], path: str = ""
) -> float | None:
    """Convert a `complexType.UnitAndValue` amount of storage to bytes; None when it cannot be."""
    fields = Fields(data, route, problems, path)
    unit = fields.text("unit")
    value = fields.data.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        fields.problem("value", f"expected a number, got {type(value).__name__}")
        return None
    factor = _UNIT_BYTES.get(unit or "")
    if factor is None:
        fields.problem("unit", f"unknown unit {unit!r}")
        return None
    return float(value * factor)


def parse_snapshot(data: object, route: str, problems: list[ParseProblem]) -> SnapshotState:
    """Parse one `vps.Snapshot` object."""
    return SnapshotState(
        present=True, created=Fields(data, route, problems).timestamp("creationDate")
    )


def parse_veeam(data: object, route: str, problems: list[ParseProblem]) -> bool | None:
    """Whether `vps.Veeam.backup` says the Veeam backup is on."""
    return Fields(data, route, problems).boolean("backup")


def newest_veeam_point(
    items: Iterable[object], route: str, problems: list[ParseProblem]
) -> tuple[int, float | None]:
    """Count `vps.veeam.RestorePoint` objects and find the newest creation time."""
    count = 0
    newest: float | None = None
    for item in items:
        count += 1
        created = Fields(item, route, problems).timestamp("creationTime")
        if created is not None:
            newest = created if newest is None else max(newest, created)
    return count, newest


def parse_backup_ftp(data: object, route: str, problems: list[ParseProblem]) -> BackupFtp:
    """Parse one `vps.BackupFtp` object."""
    fields = Fields(data, route, problems)

    def amount(key: str) -> float | None:
        """A nullable amount of storage, in bytes."""
        value = fields.data.get(key)
        return None if value is None else parse_bytes(value, route, problems, key)

    return BackupFtp(
        quota_bytes=amount("quota"),
        usage_bytes=amount("usage"),
        read_only_since=fields.timestamp("readOnlyDate"),
    )


def parse_backup_plan(
    data: object, route: str, problems: list[ParseProblem]
) -> tuple[int | None, int | None]:
    """The rotation and the daily schedule (seconds after midnight) of `vps.AutomatedBackup`."""
    fields = Fields(data, route, problems)
    schedule = fields.text("schedule")
    seconds = None
    if schedule is not None:
        try:
            moment = dt.time.fromisoformat(schedule)
        except ValueError:
            fields.problem("schedule", f"not a time of day: {schedule[:40]!r}")
        else:
            seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    return fields.integer("rotation"), seconds


def count_items(data: Any, route: str, problems: list[ParseProblem]) -> int | None:
    """The length of a list answer; None, and a problem, when it is not a list."""
    if isinstance(data, list):
        return len(data)
    problems.append(ParseProblem(route, "(body)", f"expected a list, got {type(data).__name__}"))
    return None
