"""The calls that read the details, disks and extra backups of one VPS, one reader per fact.

Each reader makes the GETs of one fact and parses them. A 404 on a resource a
VPS may lack (a snapshot, a Veeam or FTP backup, a migration offer) is an
answer, the fact's absence; any other failure is raised, and `read_facts`
keeps it apart so that the other facts of the VPS are still saved.

A reader of a slow-changing fact belongs to a group of `exporter.revisions`:
when the group is not due, the job hands the fact's last value in
`Target.reuse` and the reader is not called, unless the value is one that
changes by itself (a Veeam backup's restore points, an FTP space's usage).
The disks reader reuses its list of disks and reads only their usage.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exporter.details import (
    ATTACHED_BACKUPS,
    BACKUP_FTP,
    DISKS,
    DISTRIBUTION,
    IPS,
    LOCATION,
    MIGRATION_2018,
    MIGRATION_2020,
    MIGRATION_STATUSES,
    ROUTE_ATTACHED_BACKUPS,
    ROUTE_BACKUP_FTP,
    ROUTE_DATACENTER,
    ROUTE_DISK,
    ROUTE_DISK_USE,
    ROUTE_DISKS,
    ROUTE_DISTRIBUTION,
    ROUTE_IP,
    ROUTE_IPS,
    ROUTE_MIGRATION_2018,
    ROUTE_MIGRATION_2020,
    ROUTE_OPTION,
    ROUTE_OPTIONS,
    ROUTE_RESTORE_POINTS,
    ROUTE_SECONDARY_DNS,
    ROUTE_SNAPSHOT,
    ROUTE_VEEAM,
    ROUTE_VEEAM_POINT,
    ROUTE_VEEAM_POINTS,
    SECONDARY_DNS,
    SNAPSHOT,
    SUBSCRIPTIONS,
    VEEAM,
    BackupFtp,
    Disk,
    Distribution,
    IpSummary,
    Location,
    Migration,
    SnapshotState,
    Veeam,
    count_items,
    newest_veeam_point,
    parse_backup_ftp,
    parse_bytes,
    parse_disk,
    parse_distribution,
    parse_location,
    parse_migration,
    parse_options,
    parse_snapshot,
    parse_veeam,
    summarize_ips,
)
from exporter.facts import Fact
from exporter.model import ParseProblem, Vps, newest_restore_point
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import OvhApiError, OvhError
from exporter.revisions import DETAILS, DISK_LIST, OTHER_BACKUPS

# migration2018 offers VPS 2016 and 2018 a move to the 2020 range: later ranges are not asked.
_LAST_VERSION_YEAR_WITH_MIGRATION_2018 = 2018


@dataclass(frozen=True)
class Target:
    """One VPS to read, the client to read it with, and where parse problems go."""

    client: OvhClient
    name: str
    vps: Vps | None
    problems: list[ParseProblem]
    # Last values of facts whose group is not due: they stand for a read.
    reuse: Mapping[Fact[Any], Any] = field(default_factory=dict)

    async def get(self, route: str, *, params: Mapping[str, str] | None = None, **path: str) -> Any:
        """GET a route of this VPS."""
        return await self.client.get(route, params=params, serviceName=self.name, **path)

    async def get_optional(
        self, route: str, *, params: Mapping[str, str] | None = None, **path: str
    ) -> tuple[bool, Any]:
        """GET a resource the VPS may lack: (False, None) when OVH answers 404."""
        try:
            return True, await self.get(route, params=params, **path)
        except OvhApiError as error:
            if error.not_found:
                return False, None
            raise

    async def get_objects(self, route: str, item_route: str) -> list[Any]:
        """Every object of a list route of this VPS; the first item that failed is raised."""
        listing = await self.client.get_objects(route, item_route=item_route, serviceName=self.name)
        for error in listing.failed.values():
            raise error
        return listing.objects


def _always(_value: Any) -> bool:
    """Any last value of the fact can stand for a read."""
    return True


@dataclass(frozen=True)
class Reader:
    """How one fact is read, and whether its last value may stand for a read."""

    fact: Fact[Any]
    read: Callable[[Target], Awaitable[Any]]
    # The revisions group of a slow-changing fact; None for a fact read every run.
    group: str | None = None
    # Whether a last value may stand for a read when the group is not due.
    keeps: Callable[[Any], bool] = _always


async def read_location(target: Target) -> Location | None:
    """The datacenter of the VPS."""
    found, data = await target.get_optional(ROUTE_DATACENTER)
    return parse_location(data, ROUTE_DATACENTER, target.problems) if found else None


async def read_distribution(target: Target) -> Distribution | None:
    """The installed OS template; a VPS installed from an image has none."""
    found, data = await target.get_optional(ROUTE_DISTRIBUTION)
    return parse_distribution(data, ROUTE_DISTRIBUTION, target.problems) if found else None


async def read_ips(target: Target) -> IpSummary:
    """The IPs of the VPS, counted."""
    items = await target.get_objects(ROUTE_IPS, ROUTE_IP)
    return summarize_ips(items, ROUTE_IPS, target.problems)


async def read_options(target: Target) -> dict[str, bool]:
    """Whether each option the VPS lists is subscribed."""
    items = await target.get_objects(ROUTE_OPTIONS, ROUTE_OPTION)
    return parse_options(items, ROUTE_OPTIONS, target.problems)


async def read_migration_2020(target: Target) -> Migration | None:
    """The VPS's offer of a migration to the current range."""
    found, data = await target.get_optional(ROUTE_MIGRATION_2020)
    if not found:
        return None
    return parse_migration(data, ROUTE_MIGRATION_2020, target.problems, MIGRATION_STATUSES["2020"])


async def read_migration_2018(target: Target) -> Migration | None:
    """The offer of a migration from the 2016/2018 ranges, asked only of VPS of those ranges."""
    if not _may_migrate_from_2018(target.vps):
        return None
    found, data = await target.get_optional(ROUTE_MIGRATION_2018)
    if not found:
        return None
    return parse_migration(data, ROUTE_MIGRATION_2018, target.problems, MIGRATION_STATUSES["2018"])


def _may_migrate_from_2018(vps: Vps | None) -> bool:
    """False only for a VPS whose model version ("2019v1", "2025v1") is of a later range."""
    year = (vps.version if vps else "")[:4]
    return not year.isdigit() or int(year) <= _LAST_VERSION_YEAR_WITH_MIGRATION_2018


async def read_secondary_dns(target: Target) -> int | None:
    """How many domains use OVH's secondary DNS for this VPS."""
    data = await target.get(ROUTE_SECONDARY_DNS)
    return count_items(data, ROUTE_SECONDARY_DNS, target.problems)


async def read_disks(target: Target) -> tuple[Disk, ...]:
    """The disks of the VPS, each with its used space; the list is reused when not due."""
    disks: list[Disk] = list(target.reuse.get(DISKS, ()))
    if DISKS not in target.reuse:
        for item in await target.get_objects(ROUTE_DISKS, ROUTE_DISK):
            disk = parse_disk(item, ROUTE_DISKS, target.problems)
            if disk is not None:
                disks.append(disk)
    used = await asyncio.gather(*(_disk_used(target, disk.id) for disk in disks))
    return tuple(
        Disk(disk.id, disk.size_bytes, disk.type, disk.state, used_bytes)
        for disk, used_bytes in zip(disks, used, strict=True)
    )


async def _disk_used(target: Target, disk_id: str) -> float | None:
    """The used space of one disk in bytes; None when OVH has no figure for it (404)."""
    found, data = await target.get_optional(ROUTE_DISK_USE, params={"type": "used"}, id=disk_id)
    return parse_bytes(data, ROUTE_DISK_USE, target.problems) if found else None


async def read_snapshot(target: Target) -> SnapshotState:
    """The VPS's snapshot; OVH answers 404 when there is none."""
    found, data = await target.get_optional(ROUTE_SNAPSHOT)
    if not found:
        return SnapshotState(present=False)
    return parse_snapshot(data, ROUTE_SNAPSHOT, target.problems)


async def read_attached_backups(target: Target) -> int | None:
    """How many automated backups are attached to the VPS; None without the option."""
    found, data = await target.get_optional(ROUTE_ATTACHED_BACKUPS)
    return count_items(data, ROUTE_ATTACHED_BACKUPS, target.problems) if found else None


async def read_veeam(target: Target) -> Veeam:
    """The Veeam backup, and its restore points when it is on; absent means not enabled."""
    found, data = await target.get_optional(ROUTE_VEEAM)
    if not found:
        return Veeam(enabled=False)
    enabled = parse_veeam(data, ROUTE_VEEAM, target.problems)
    if not enabled:
        return Veeam(enabled=enabled)
    points = await target.get_objects(ROUTE_VEEAM_POINTS, ROUTE_VEEAM_POINT)
    count, newest = newest_veeam_point(points, ROUTE_VEEAM_POINTS, target.problems)
    return Veeam(enabled=True, restore_points=count, newest=newest)


async def read_backup_ftp(target: Target) -> BackupFtp | None:
    """The FTP backup space; None without the option."""
    found, data = await target.get_optional(ROUTE_BACKUP_FTP)
    return parse_backup_ftp(data, ROUTE_BACKUP_FTP, target.problems) if found else None


def _veeam_off(value: Veeam) -> bool:
    """A Veeam backup that is off has no restore points to come."""
    return not value.enabled


def _no_backup_ftp(value: BackupFtp | None) -> bool:
    """An absent FTP backup space has no usage to change."""
    return value is None


# What each job reads besides what the first version read.
DETAIL_READERS: Sequence[Reader] = (
    Reader(LOCATION, read_location, DETAILS),
    Reader(DISTRIBUTION, read_distribution, DETAILS),
    Reader(IPS, read_ips, DETAILS),
    Reader(SUBSCRIPTIONS, read_options, DETAILS),
    Reader(MIGRATION_2020, read_migration_2020, DETAILS),
    Reader(MIGRATION_2018, read_migration_2018, DETAILS),
    Reader(SECONDARY_DNS, read_secondary_dns, DETAILS),
)
# Used space changes by itself: the reader runs every time, and reuses only the list.
DISK_READERS: Sequence[Reader] = (Reader(DISKS, read_disks, DISK_LIST, keeps=lambda _v: False),)
BACKUP_READERS: Sequence[Reader] = (
    Reader(SNAPSHOT, read_snapshot, OTHER_BACKUPS),
    Reader(ATTACHED_BACKUPS, read_attached_backups, OTHER_BACKUPS),
    Reader(VEEAM, read_veeam, OTHER_BACKUPS, keeps=_veeam_off),
    Reader(BACKUP_FTP, read_backup_ftp, OTHER_BACKUPS, keeps=_no_backup_ftp),
)


@dataclass
class Readings:
    """What the readers of one VPS got: each fact's value, and the failures of the others."""

    values: list[tuple[Fact[Any], Any]] = field(default_factory=list)
    failures: list[OvhError] = field(default_factory=list)
    # The groups of which a fact could not be read: they stay due.
    failed_groups: set[str] = field(default_factory=set)


async def read_facts(target: Target, readers: Sequence[Reader]) -> Readings:
    """Run every reader for one VPS at once; a failed one leaves the others' values intact.

    A reader whose fact has a reusable last value in `target.reuse` is not run:
    the value is handed back as read.
    """

    async def one(reader: Reader) -> tuple[Fact[Any], Any, OvhError | None]:
        """Run one reader, handing back its failure instead of raising it."""
        if reader.fact in target.reuse and reader.keeps(target.reuse[reader.fact]):
            return reader.fact, target.reuse[reader.fact], None
        try:
            return reader.fact, await reader.read(target), None
        except OvhError as error:
            return reader.fact, None, error

    readings = Readings()
    results = await asyncio.gather(*(one(reader) for reader in readers))
    for reader, (fact, value, error) in zip(readers, results, strict=True):
        if error is None:
            readings.values.append((fact, value))
        else:
            readings.failures.append(error)
            if reader.group is not None:
                readings.failed_groups.add(reader.group)
    return readings


async def count_restore_points(
    client: OvhClient, name: str, states: Sequence[str], problems: list[ParseProblem]
) -> dict[str, int]:
    """Count the automated backup restore points of the VPS in each of `states`."""

    async def count(state: str) -> int:
        """Count the restore points in one state."""
        points = await client.get(ROUTE_RESTORE_POINTS, params={"state": state}, serviceName=name)
        return newest_restore_point(points, ROUTE_RESTORE_POINTS, problems)[0]

    return dict(zip(states, await asyncio.gather(*(count(state) for state in states)), strict=True))
