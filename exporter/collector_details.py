"""Metric families of a VPS's lock, location, OS, IPs, options, migrations, disks and extra backups.

For a VPS with one 40 GiB disk the collector emits, among others::

    # HELP ovh_vps_disk_size_bytes Size of the disk in bytes (vps.Disk.size, in GiB). Refreshed ...
    # TYPE ovh_vps_disk_size_bytes gauge
    ovh_vps_disk_size_bytes{account="default",disk="41284",vps="vps-1.vps.ovh.net"} 4.294967296e+10
"""

from collections.abc import Iterable, Iterator

from prometheus_client.core import Metric

from exporter.details import (
    ATTACHED_BACKUPS,
    BACKUP_FTP,
    DISK_STATES,
    DISKS,
    DISTRIBUTION,
    IP_TYPES,
    IP_VERSIONS,
    IPS,
    LOCATION,
    MIGRATION_2018,
    MIGRATION_2020,
    MIGRATION_STATUSES,
    OPTIONS,
    ROUTE_ATTACHED_BACKUPS,
    ROUTE_BACKUP_FTP,
    ROUTE_DATACENTER,
    ROUTE_DISK,
    ROUTE_DISK_USE,
    ROUTE_DISTRIBUTION,
    ROUTE_IPS,
    ROUTE_MIGRATION_2020,
    ROUTE_OPTIONS,
    ROUTE_SECONDARY_DNS,
    ROUTE_SNAPSHOT,
    ROUTE_VEEAM,
    ROUTE_VEEAM_POINTS,
    SECONDARY_DNS,
    SNAPSHOT,
    SUBSCRIPTIONS,
    VEEAM,
    VPS_EXTRAS,
)
from exporter.metrics import VPS_LABELS, define
from exporter.store import AccountSnapshot

_VPS_ROUTE = "/vps/{serviceName}"
_BACKUP_ROUTE = "/vps/{serviceName}/automatedBackup"

LOCK_INFO = define(
    "ovh_vps_lock_info",
    "gauge",
    "Why OVH has locked the VPS (lockStatus.reason), value 1; only while it is locked.",
    (*VPS_LABELS, "reason"),
    unit="1",
    route=_VPS_ROUTE,
    job="vps",
)
SLA_MONITORING = define(
    "ovh_vps_sla_monitoring",
    "gauge",
    "1 when OVH's SLA monitoring of the VPS is on (slaMonitoring).",
    VPS_LABELS,
    unit="0/1",
    route=_VPS_ROUTE,
    job="vps",
)
MAXIMUM_ADDITIONAL_IPS = define(
    "ovh_vps_maximum_additional_ips",
    "gauge",
    "Additional IPs the model of the VPS allows (model.maximumAdditionnalIp).",
    VPS_LABELS,
    unit="IPs",
    route=_VPS_ROUTE,
    job="vps",
)

LOCATION_INFO = define(
    "ovh_vps_location_info",
    "gauge",
    "Datacenter of the VPS (name, longName and country of vps.Datacenter), value 1.",
    (*VPS_LABELS, "datacenter", "long_name", "country"),
    unit="1",
    route=ROUTE_DATACENTER,
    job="details",
)
DISTRIBUTION_INFO = define(
    "ovh_vps_distribution_info",
    "gauge",
    "OS template installed on the VPS (distribution and name of vps.Template), value 1.",
    (*VPS_LABELS, "distribution", "name"),
    unit="1",
    route=ROUTE_DISTRIBUTION,
    job="details",
)
IP_COUNT = define(
    "ovh_vps_ips",
    "gauge",
    "IPs of the VPS by version (v4, v6) and type (primary, additional).",
    (*VPS_LABELS, "version", "type"),
    unit="IPs",
    route=ROUTE_IPS,
    job="details",
)
PRIMARY_REVERSE = define(
    "ovh_vps_primary_ipv4_reverse_set",
    "gauge",
    "1 when the primary IPv4 of the VPS has a reverse DNS name.",
    VPS_LABELS,
    unit="0/1",
    route=ROUTE_IPS,
    job="details",
)
OPTION_SUBSCRIBED = define(
    "ovh_vps_option_subscribed",
    "gauge",
    "1 when the VPS option is subscribed, 0 when it is released or not listed.",
    (*VPS_LABELS, "option"),
    unit="0/1",
    route=ROUTE_OPTIONS,
    job="details",
)
MIGRATION_STATUS = define(
    "ovh_vps_migration_status",
    "gauge",
    "Status of the VPS's migration offer (migration2020 or migration2018): 1 for the current"
    " status, 0 for the others.",
    (*VPS_LABELS, "migration", "status"),
    unit="0/1",
    route=ROUTE_MIGRATION_2020,
    job="details",
)
MIGRATION_DATE = define(
    "ovh_vps_migration_date_timestamp_seconds",
    "gauge",
    "Planned start of the VPS's migration, when it has one.",
    (*VPS_LABELS, "migration"),
    unit="Unix seconds",
    route=ROUTE_MIGRATION_2020,
    job="details",
)
SECONDARY_DNS_DOMAINS = define(
    "ovh_vps_secondary_dns_domains",
    "gauge",
    "Domains served by OVH's secondary DNS for the VPS.",
    VPS_LABELS,
    unit="domains",
    route=ROUTE_SECONDARY_DNS,
    job="details",
)

DISK_INFO = define(
    "ovh_vps_disk_info",
    "gauge",
    "Disk of the VPS by id, with its type (primary or additional), value 1.",
    (*VPS_LABELS, "disk", "type"),
    unit="1",
    route=ROUTE_DISK,
    job="disks",
)
DISK_STATE = define(
    "ovh_vps_disk_state",
    "gauge",
    "State of the disk: 1 for the current state, 0 for the others.",
    (*VPS_LABELS, "disk", "state"),
    unit="0/1",
    route=ROUTE_DISK,
    job="disks",
)
DISK_SIZE = define(
    "ovh_vps_disk_size_bytes",
    "gauge",
    "Size of the disk in bytes (vps.Disk.size, in GiB).",
    (*VPS_LABELS, "disk"),
    unit="bytes",
    route=ROUTE_DISK,
    job="disks",
)
DISK_USED = define(
    "ovh_vps_disk_used_bytes",
    "gauge",
    "Space used on the disk in bytes, as OVH measures it (use?type=used).",
    (*VPS_LABELS, "disk"),
    unit="bytes",
    route=ROUTE_DISK_USE,
    job="disks",
)
DISKS_SIZE = define(
    "ovh_vps_disks_size_bytes",
    "gauge",
    "Size of all the disks of the VPS together, in bytes.",
    VPS_LABELS,
    unit="bytes",
    route=ROUTE_DISK,
    job="disks",
)
DISKS_USED = define(
    "ovh_vps_disks_used_bytes",
    "gauge",
    "Space used on all the disks of the VPS together, in bytes; only when every disk has a figure.",
    VPS_LABELS,
    unit="bytes",
    route=ROUTE_DISK_USE,
    job="disks",
)

BACKUP_ROTATION = define(
    "ovh_vps_automated_backup_rotation",
    "gauge",
    "Restore points the automated backup keeps (automatedBackup.rotation).",
    VPS_LABELS,
    unit="restore points",
    route=_BACKUP_ROUTE,
    job="backups",
)
BACKUP_SCHEDULE = define(
    "ovh_vps_automated_backup_schedule_seconds",
    "gauge",
    "Time of day of the daily automated backup in seconds after midnight, as OVH writes it"
    " (automatedBackup.schedule).",
    VPS_LABELS,
    unit="seconds",
    route=_BACKUP_ROUTE,
    job="backups",
)
ATTACHED = define(
    "ovh_vps_automated_backup_attached_backups",
    "gauge",
    "Automated backups attached to the VPS (automatedBackup/attachedBackup).",
    VPS_LABELS,
    unit="backups",
    route=ROUTE_ATTACHED_BACKUPS,
    job="backups",
)
SNAPSHOT_PRESENT = define(
    "ovh_vps_snapshot_present",
    "gauge",
    "1 when the VPS has a snapshot, 0 when it has none.",
    VPS_LABELS,
    unit="0/1",
    route=ROUTE_SNAPSHOT,
    job="backups",
)
SNAPSHOT_CREATION = define(
    "ovh_vps_snapshot_creation_timestamp_seconds",
    "gauge",
    "Date the snapshot of the VPS was taken (snapshot.creationDate).",
    VPS_LABELS,
    unit="Unix seconds",
    route=ROUTE_SNAPSHOT,
    job="backups",
)
VEEAM_ENABLED = define(
    "ovh_vps_veeam_enabled",
    "gauge",
    "1 when the Veeam backup of the VPS is on (veeam.backup), 0 when off or not subscribed.",
    VPS_LABELS,
    unit="0/1",
    route=ROUTE_VEEAM,
    job="backups",
)
VEEAM_POINTS = define(
    "ovh_vps_veeam_restore_points",
    "gauge",
    "Veeam restore points of the VPS.",
    VPS_LABELS,
    unit="restore points",
    route=ROUTE_VEEAM_POINTS,
    job="backups",
)
VEEAM_NEWEST = define(
    "ovh_vps_veeam_last_restore_point_timestamp_seconds",
    "gauge",
    "Creation date of the newest Veeam restore point of the VPS.",
    VPS_LABELS,
    unit="Unix seconds",
    route=ROUTE_VEEAM_POINTS,
    job="backups",
)
FTP_QUOTA = define(
    "ovh_vps_backup_ftp_quota_bytes",
    "gauge",
    "Space of the VPS's FTP backup in bytes (backupftp.quota).",
    VPS_LABELS,
    unit="bytes",
    route=ROUTE_BACKUP_FTP,
    job="backups",
)
FTP_USAGE = define(
    "ovh_vps_backup_ftp_usage_bytes",
    "gauge",
    "Space used on the VPS's FTP backup in bytes (backupftp.usage).",
    VPS_LABELS,
    unit="bytes",
    route=ROUTE_BACKUP_FTP,
    job="backups",
)
FTP_READ_ONLY = define(
    "ovh_vps_backup_ftp_read_only_since_timestamp_seconds",
    "gauge",
    "Since when the VPS's FTP backup is read-only for exceeding its quota"
    " (backupftp.readOnlyDate).",
    VPS_LABELS,
    unit="Unix seconds",
    route=ROUTE_BACKUP_FTP,
    job="backups",
)


def _flag(value: bool) -> float:
    """1.0 for True, 0.0 for False."""
    return 1.0 if value else 0.0


def _with_extra(known: Iterable[str], *seen: str | None) -> tuple[str, ...]:
    """The known enum values, then any value OVH sent that this version does not know."""
    values = tuple(known)
    return values + tuple(sorted({value for value in seen if value is not None} - set(values)))


def details_families(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """Every family this module defines, for every account."""
    for part in (
        _vps_extras,
        _location,
        _ips,
        _options,
        _migrations,
        _disks,
        _backup_plan,
        _snapshot,
        _veeam,
        _backup_ftp,
    ):
        yield from part(accounts)


def _vps_extras(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The lock reason, SLA monitoring and IP maximum of `/vps/{serviceName}`."""
    lock, sla, ips = LOCK_INFO.family(), SLA_MONITORING.family(), MAXIMUM_ADDITIONAL_IPS.family()
    for account in accounts:
        for name, extras in account.facts.of(VPS_EXTRAS).items():
            key = [account.name, name]
            if extras.lock_reason is not None:
                lock.add_metric([*key, extras.lock_reason], 1.0)
            if extras.sla_monitoring is not None:
                sla.add_metric(key, _flag(extras.sla_monitoring))
            if extras.maximum_additional_ips is not None:
                ips.add_metric(key, extras.maximum_additional_ips)
    yield from (lock, sla, ips)


def _location(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The datacenter, installed OS and secondary DNS domains."""
    location, distribution = LOCATION_INFO.family(), DISTRIBUTION_INFO.family()
    dns = SECONDARY_DNS_DOMAINS.family()
    for account in accounts:
        for name, place in account.facts.of(LOCATION).items():
            if place is not None:
                labels = [place.datacenter, place.long_name, place.country]
                location.add_metric([account.name, name, *labels], 1.0)
        for name, os in account.facts.of(DISTRIBUTION).items():
            if os is not None:
                distribution.add_metric([account.name, name, os.distribution, os.name], 1.0)
        for name, domains in account.facts.of(SECONDARY_DNS).items():
            if domains is not None:
                dns.add_metric([account.name, name], domains)
    yield from (location, distribution, dns)


def _ips(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The IPs by version and type, and the reverse of the primary IPv4."""
    ips, reverse = IP_COUNT.family(), PRIMARY_REVERSE.family()
    for account in accounts:
        for name, summary in account.facts.of(IPS).items():
            versions = _with_extra(IP_VERSIONS, *(version for version, _ in summary.counts))
            types = _with_extra(IP_TYPES, *(ip_type for _, ip_type in summary.counts))
            for version in versions:
                for ip_type in types:
                    count = summary.counts.get((version, ip_type), 0)
                    ips.add_metric([account.name, name, version, ip_type], count)
            if summary.primary_ipv4_reverse is not None:
                reverse.add_metric([account.name, name], _flag(summary.primary_ipv4_reverse))
    yield from (ips, reverse)


def _options(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """One 0/1 series per option of vps.VpsOptionEnum, and per unknown option listed."""
    options = OPTION_SUBSCRIBED.family()
    for account in accounts:
        for name, subscribed in account.facts.of(SUBSCRIPTIONS).items():
            on = [option for option, active in subscribed.items() if active]
            options.add_flags([account.name, name], _with_extra(OPTIONS, *subscribed), on)
    yield options


def _migrations(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The status and date of each migration offer."""
    status, date = MIGRATION_STATUS.family(), MIGRATION_DATE.family()
    for account in accounts:
        for generation, fact in (("2020", MIGRATION_2020), ("2018", MIGRATION_2018)):
            for name, migration in account.facts.of(fact).items():
                if migration is None:
                    continue
                key = [account.name, name, generation]
                if migration.status is not None:
                    known = _with_extra(MIGRATION_STATUSES[generation], migration.status)
                    status.add_flags(key, known, (migration.status,))
                if migration.date is not None:
                    date.add_metric(key, migration.date)
    yield from (status, date)


def _disks(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """Each disk, and the totals of the VPS."""
    info, state = DISK_INFO.family(), DISK_STATE.family()
    size, used = DISK_SIZE.family(), DISK_USED.family()
    total_size, total_used = DISKS_SIZE.family(), DISKS_USED.family()
    for account in accounts:
        for name, disks in account.facts.of(DISKS).items():
            key = [account.name, name]
            for disk in disks:
                info.add_metric([*key, disk.id, disk.type or ""], 1.0)
                if disk.state is not None:
                    known = _with_extra(DISK_STATES, disk.state)
                    state.add_flags([*key, disk.id], known, (disk.state,))
                if disk.size_bytes is not None:
                    size.add_metric([*key, disk.id], disk.size_bytes)
                if disk.used_bytes is not None:
                    used.add_metric([*key, disk.id], disk.used_bytes)
            sizes = [disk.size_bytes for disk in disks if disk.size_bytes is not None]
            if len(sizes) == len(disks):
                total_size.add_metric(key, sum(sizes))
            used_values = [disk.used_bytes for disk in disks if disk.used_bytes is not None]
            if len(used_values) == len(disks):
                total_used.add_metric(key, sum(used_values))
    yield from (info, state, size, used, total_size, total_used)


def _backup_plan(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The automated backup rotation, schedule and attached backups."""
    rotation, schedule = BACKUP_ROTATION.family(), BACKUP_SCHEDULE.family()
    attached = ATTACHED.family()
    for account in accounts:
        for name, backup in account.backups.items():
            if backup.rotation is not None:
                rotation.add_metric([account.name, name], backup.rotation)
            if backup.schedule_seconds is not None:
                schedule.add_metric([account.name, name], backup.schedule_seconds)
        for name, count in account.facts.of(ATTACHED_BACKUPS).items():
            if count is not None:
                attached.add_metric([account.name, name], count)
    yield from (rotation, schedule, attached)


def _snapshot(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """Whether the VPS has a snapshot, and its date."""
    present, created = SNAPSHOT_PRESENT.family(), SNAPSHOT_CREATION.family()
    for account in accounts:
        for name, snapshot in account.facts.of(SNAPSHOT).items():
            present.add_metric([account.name, name], _flag(snapshot.present))
            if snapshot.created is not None:
                created.add_metric([account.name, name], snapshot.created)
    yield from (present, created)


def _veeam(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The Veeam backup and its restore points."""
    enabled, points, newest = VEEAM_ENABLED.family(), VEEAM_POINTS.family(), VEEAM_NEWEST.family()
    for account in accounts:
        for name, veeam in account.facts.of(VEEAM).items():
            key = [account.name, name]
            if veeam.enabled is not None:
                enabled.add_metric(key, _flag(veeam.enabled))
            if veeam.restore_points is not None:
                points.add_metric(key, veeam.restore_points)
            if veeam.newest is not None:
                newest.add_metric(key, veeam.newest)
    yield from (enabled, points, newest)


def _backup_ftp(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The FTP backup space, its use and its read-only date."""
    quota, usage, read_only = FTP_QUOTA.family(), FTP_USAGE.family(), FTP_READ_ONLY.family()
    for account in accounts:
        for name, ftp in account.facts.of(BACKUP_FTP).items():
            if ftp is None:
                continue
            key = [account.name, name]
            if ftp.quota_bytes is not None:
                quota.add_metric(key, ftp.quota_bytes)
            if ftp.usage_bytes is not None:
                usage.add_metric(key, ftp.usage_bytes)
            if ftp.read_only_since is not None:
                read_only.add_metric(key, ftp.read_only_since)
    yield from (quota, usage, read_only)
