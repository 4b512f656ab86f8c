"""The refresh jobs: each pulls one kind of data for every VPS of an account."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import structlog

from exporter.accounts import selected_vps
from exporter.billing_refresh import (
    read_account_info,
    read_payment_methods,
    read_vps_services,
)
from exporter.bounded import map_bounded
from exporter.cycles import job_rate
from exporter.details import VPS_EXTRAS, parse_backup_plan, parse_vps_extras
from exporter.details_fetch import (
    BACKUP_READERS,
    DETAIL_READERS,
    DISK_READERS,
    Reader,
    Readings,
    Target,
    count_restore_points,
    read_facts,
)
from exporter.facts import kept
from exporter.health import is_service_expired
from exporter.model import (
    BackupStatus,
    ParseProblem,
    ServiceInfo,
    TaskSummary,
    Vps,
    newest_restore_point,
    parse_backup_state,
    parse_service_infos,
    parse_vps,
    summarize_tasks,
)
from exporter.ovh.access import already_reported
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import ManagerSessionError, OvhApiError, OvhError
from exporter.revisions import AUTOMATED_BACKUP, BILLING, task_mark
from exporter.store import AccountState, Entry

T = TypeVar("T")

ROUTE_VPS_LIST = "/vps"
ROUTE_VPS = "/vps/{serviceName}"
ROUTE_TASKS = "/vps/{serviceName}/tasks"
ROUTE_TASK = "/vps/{serviceName}/tasks/{id}"
ROUTE_BACKUP = "/vps/{serviceName}/automatedBackup"
ROUTE_RESTORE_POINTS = "/vps/{serviceName}/automatedBackup/restorePoints"
ROUTE_SERVICE_INFOS = "/vps/{serviceName}/serviceInfos"

# OVH takes one automated backup a day: a VPS whose newest restore point is
# younger than this has no new one to show yet. An hour early, for the drift
# of the backup's start.
RESTORE_POINT_WAIT = 23 * 3600.0

log = structlog.stdlib.get_logger(__name__)


@dataclass
class RunReport:
    """The failures of one job run, grouped so that each is logged once."""

    account: str
    job: str
    failures: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    examples: dict[tuple[str, str], OvhError] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every call of the run succeeded."""
        return not self.failures

    def fail(self, vps: str | None, error: OvhError) -> None:
        """Record that a call failed, for one VPS or for the whole account."""
        key = (error.route, _kind(error))
        self.failures.setdefault(key, []).append(vps or "")
        self.examples.setdefault(key, error)

    def log(self) -> None:
        """Log each kind of failure once, with how many VPS it hit and one example."""
        for key, names in self.failures.items():
            error = self.examples[key]
            affected = [name for name in names if name]
            # The access guard logs refused credentials and missing rules once, not every run;
            # the manager job's session watch does the same for a dead manager session.
            reported = already_reported(error) or isinstance(error, ManagerSessionError)
            emit = log.debug if reported else log.warning
            emit(
                "refresh failed",
                account=self.account,
                job=self.job,
                route=error.route,
                error=str(error),
                status=getattr(error, "status", None),
                query_id=getattr(error, "query_id", None),
                vps_count=len(affected),
                vps_example=affected[0] if affected else None,
            )


def _kind(error: OvhError) -> str:
    """A short name for what went wrong, to group failures."""
    if isinstance(error, OvhApiError):
        return f"{error.status} {error.error_code or ''}".strip()
    return type(error).__name__


class Refresher:
    """Runs the refresh jobs of one account against its OVH client."""

    def __init__(
        self,
        state: AccountState,
        client: OvhClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.client = client
        self._clock = clock
        self._listed = asyncio.Event()
        self._logged_problems: set[tuple[str, str]] = set()

    def jobs(self) -> dict[str, Callable[[], Awaitable[RunReport]]]:
        """Each job by name."""
        return {
            "vps": self.refresh_vps,
            "tasks": self.refresh_tasks,
            "backups": self.refresh_backups,
            "billing": self.refresh_billing,
            "account": self.refresh_account,
            "details": self.refresh_details,
            "disks": self.refresh_disks,
        }

    async def refresh_vps(self) -> RunReport:
        """List the account's VPS with their details; a VPS that left is forgotten."""
        report = RunReport(self.state.name, "vps")
        problems: list[ParseProblem] = []
        now = self._clock()
        current: dict[str, Entry[Vps]] = {}
        failed: dict[str, OvhError] = {}
        try:
            # Each page is parsed and dropped before the next is read: at 10,000 VPS
            # the whole listing is about 20 MB of decoded JSON.
            pages = self.client.object_pages(ROUTE_VPS_LIST, item_route=ROUTE_VPS)
            async for page in pages:
                listing = selected_vps(page, self.state.selects)
                failed |= listing.failed
                for item in listing.objects:
                    self._list_vps(item, current, problems, now)
        except OvhError as error:
            report.fail(None, error)
            self.state.revisions.blind = True
            self._record(problems)
            return report
        expired = {name for name, failure in failed.items() if is_service_expired(failure)}
        # An expired VPS is a known state; any other failure may hide a change.
        self.state.revisions.blind = bool(failed.keys() - expired)
        for name, failure in failed.items():
            if name not in expired:
                report.fail(name, failure)
            if name in self.state.vps:
                current[name] = self.state.vps[name]

        self.state.health.record_listing([*current, *failed], expired)
        self.state.vps = current
        self.state.forget_departed()
        self._listed.set()
        self._record(problems)
        return report

    def _list_vps(
        self, item: object, current: dict[str, Entry[Vps]], problems: list[ParseProblem], now: float
    ) -> None:
        """Add one VPS of the listing to `current`, and note what its entry shows."""
        vps = parse_vps(item, ROUTE_VPS, problems)
        if vps is None:
            return
        last = self.state.vps.get(vps.name)
        vps = kept(None if last is None else last.value, vps)
        current[vps.name] = Entry(vps, now)
        self.state.revisions.observe(vps.name, "vps", vps)
        extras = parse_vps_extras(item, ROUTE_VPS, problems)
        self.state.facts.put(VPS_EXTRAS, vps.name, extras, now)

    async def refresh_tasks(self) -> RunReport:
        """Count each VPS's open tasks, and count tasks newly seen in error."""
        problems: list[ParseProblem] = []

        async def fetch(name: str) -> TaskSummary:
            listing = await self.client.get_objects(
                ROUTE_TASKS, item_route=ROUTE_TASK, serviceName=name
            )
            for error in listing.failed.values():
                raise error
            self.state.revisions.observe(name, "tasks", task_mark(listing.objects, ROUTE_TASKS))
            return summarize_tasks(listing.objects, ROUTE_TASKS, problems)

        report, results = await self._each_vps("tasks", fetch)
        # A VPS whose tasks could not be read may have changed unseen.
        self.state.revisions.unsure = set(self.state.vps) - results.keys()
        for name, summary in results.items():
            self._count_new_errors(name, summary)
        self._store(self.state.tasks, results)
        self._record(problems)
        return report

    async def refresh_backups(self) -> RunReport:
        """Read each VPS's automated backup and restore points, then its other backups.

        The plan, and the restore points being restored, are read again only when
        the VPS changed (`exporter.revisions`); the available restore points when
        a day's backup may have added one.
        """
        problems: list[ParseProblem] = []
        revisions = self.state.revisions

        async def fetch(name: str) -> BackupStatus:
            revision, now = revisions.current(name), self._clock()
            kept = self.state.backups.get(name)
            if kept is not None and not revisions.due(AUTOMATED_BACKUP, name, now):
                return await self._newer_restore_points(name, kept.value, now, problems)
            status = await read_backup(name)
            revisions.read(AUTOMATED_BACKUP, name, revision, now)
            return status

        async def read_backup(name: str) -> BackupStatus:
            try:
                backup = await self.client.get(ROUTE_BACKUP, serviceName=name)
            except OvhApiError as error:
                if error.not_found:
                    return BackupStatus(enabled=False, restore_points=None, last_restore_point=None)
                raise
            rotation, schedule = parse_backup_plan(backup, ROUTE_BACKUP, problems)
            if not parse_backup_state(backup, ROUTE_BACKUP, problems):
                return BackupStatus(
                    enabled=False,
                    restore_points=None,
                    last_restore_point=None,
                    rotation=rotation,
                    schedule_seconds=schedule,
                )
            points = await self.client.get(
                ROUTE_RESTORE_POINTS, params={"state": "available"}, serviceName=name
            )
            count, newest = newest_restore_point(points, ROUTE_RESTORE_POINTS, problems)
            others = await count_restore_points(
                self.client, name, ("restoring", "restored"), problems
            )
            return BackupStatus(
                enabled=True,
                restore_points=count,
                last_restore_point=newest,
                rotation=rotation,
                schedule_seconds=schedule,
                other_restore_points=others,
            )

        report, results = await self._each_vps("backups", fetch)
        self._store(self.state.backups, results)
        self._record(problems)
        return await self._refresh_facts("backups", BACKUP_READERS, report)

    async def _newer_restore_points(
        self, name: str, kept: BackupStatus, now: float, problems: list[ParseProblem]
    ) -> BackupStatus:
        """The kept backup status; its available restore points read again if one may be new."""
        newest = kept.last_restore_point
        if not kept.enabled or (newest is not None and now - newest < RESTORE_POINT_WAIT):
            return kept
        points = await self.client.get(
            ROUTE_RESTORE_POINTS, params={"state": "available"}, serviceName=name
        )
        count, newest = newest_restore_point(points, ROUTE_RESTORE_POINTS, problems)
        return replace(kept, restore_points=count, last_restore_point=newest)

    async def refresh_billing(self) -> RunReport:
        """Read every VPS's subscription from one `/services` list, then the serviceInfos due.

        A VPS's serviceInfos is read again only when its subscription in
        `/services` (or anything else of the VPS) changed, when its expiration
        date passed since the last read, or after `reread_after` seconds.
        """
        problems: list[ParseProblem] = []
        report = RunReport(self.state.name, "billing")
        revisions = self.state.revisions
        if not await self._ready("billing", report):
            return report
        try:
            read = await read_vps_services(self.client, problems)
        except OvhError as error:
            report.fail(None, error)
        else:
            for failure in read.failed.values():
                report.fail(None, failure)
            members = self.state.vps.keys()
            services = {name: value for name, value in read.services.items() if name in members}
            for name, service in services.items():
                revisions.observe(name, "services", service)
            self._store(self.state.services, services)

        async def fetch(name: str) -> ServiceInfo:
            revision, now = revisions.current(name), self._clock()
            kept = self.state.billing.get(name)
            if kept is not None and not revisions.due(BILLING, name, now):
                expiration, read = kept.value.expiration, revisions.last_read(BILLING, name)
                if expiration is None or read is None or not read < expiration <= now:
                    return kept.value
            data = await self.client.get(ROUTE_SERVICE_INFOS, serviceName=name)
            info = parse_service_infos(data, ROUTE_SERVICE_INFOS, problems)
            revisions.read(BILLING, name, revision, now)
            return info

        report, results = await self._each_vps("billing", fetch, report)
        self._store(self.state.billing, results)
        self._record(problems)
        return report

    async def refresh_account(self) -> RunReport:
        """Read the account's subsidiary and currency, and its payment methods."""
        report = RunReport(self.state.name, "account")
        problems: list[ParseProblem] = []
        try:
            info = await read_account_info(self.client, problems)
        except OvhError as error:
            report.fail(None, error)
        else:
            self.state.account_info = Entry(info, self._clock())
        try:
            methods = await read_payment_methods(self.client, problems)
        except OvhError as error:
            report.fail(None, error)
        else:
            self.state.payment_methods = Entry(methods, self._clock())
        self._record(problems)
        return report

    async def refresh_details(self) -> RunReport:
        """Read each VPS's location, OS, IPs, options, migration offers and secondary DNS."""
        return await self._refresh_facts("details", DETAIL_READERS)

    async def refresh_disks(self) -> RunReport:
        """Read each VPS's disks: size, type, state and used space."""
        return await self._refresh_facts("disks", DISK_READERS)

    async def _refresh_facts(
        self, job: str, readers: Sequence[Reader], report: RunReport | None = None
    ) -> RunReport:
        """Read some facts of every VPS; a fact whose calls failed keeps its last good value."""
        problems: list[ParseProblem] = []
        revisions = self.state.revisions
        groups = {reader.group for reader in readers if reader.group is not None}

        async def fetch(name: str) -> Readings:
            entry = self.state.vps.get(name)
            revision, now = revisions.current(name), self._clock()
            due = {group for group in groups if revisions.due(group, name, now)}
            reuse = {}
            for reader in readers:
                last = self.state.facts.last(reader.fact, name)
                if reader.group is not None and reader.group not in due and last is not None:
                    reuse[reader.fact] = last[0]
            vps = entry.value if entry else None
            readings = await read_facts(Target(self.client, name, vps, problems, reuse), readers)
            # An expired service answers 460 everywhere: the VPS is expired, as in other jobs.
            for error in readings.failures:
                if is_service_expired(error):
                    raise error
            for group in due - readings.failed_groups:
                revisions.read(group, name, revision, now)
            return readings

        report, results = await self._each_vps(job, fetch, report)
        now = self._clock()
        for name, readings in results.items():
            for error in readings.failures:
                report.fail(name, error)
            for fact, value in readings.values:
                self.state.facts.put(fact, name, value, now)
        self._record(problems)
        return report

    async def _each_vps(
        self, job: str, fetch: Callable[[str], Awaitable[T]], report: RunReport | None = None
    ) -> tuple[RunReport, dict[str, T]]:
        """Run `fetch` for every VPS, a bounded number at a time; keep the successes."""
        report = report or RunReport(self.state.name, job)
        if not await self._ready(job, report):
            return report, {}

        names = list(self.state.vps)
        expired: set[str] = set()
        if self.client.budget is not None:
            self.client.budget.pace(job, self._rate(job))

        async def one(name: str) -> T | None:
            try:
                return await fetch(name)
            except OvhError as error:
                # 460: the service expired, a state of the VPS (ovh_vps_service_expired).
                if is_service_expired(error):
                    expired.add(name)
                else:
                    report.fail(name, error)
                return None

        values = await map_bounded(one, names)
        self.state.health.record_expired(job, names, expired)
        return report, {
            name: value for name, value in zip(names, values, strict=True) if value is not None
        }

    def _rate(self, job: str) -> float | None:
        """The job's pace in requests a second (see `cycles.job_rate`); None for none.

        Only requests sent through `_each_vps` are paced: the account-wide reads
        of a job (a listing) go at once.

        A job's first run is not paced: the first values come as fast as the
        budget's burst and rate allow.
        """
        budget = self.client.budget
        if budget is None or job not in self.state.jobs:
            return None
        requests = {name: status.requests for name, status in self.state.jobs.items()}
        return job_rate(budget.per_minute, self.state.intervals, requests, job)

    async def _ready(self, job: str, report: RunReport) -> bool:
        """Whether per-VPS calls may go out: credentials not refused, and the VPS listed."""
        try:
            # Skip the run, sending nothing, while OVH's refusal of the credentials holds.
            self.client.access.check(ROUTE_VPS_LIST)
        except OvhError as error:
            report.fail(None, error)
            return False
        if not await self._wait_for_listing(job):
            report.fail(None, OvhError(ROUTE_VPS_LIST, "the VPS list has not been read yet"))
            return False
        return True

    async def _wait_for_listing(self, job: str) -> bool:
        """Wait, at most one interval, for the first VPS listing of the account."""
        if self._listed.is_set():
            return True
        try:
            await asyncio.wait_for(self._listed.wait(), timeout=self.state.intervals[job])
        except TimeoutError:
            return False
        return True

    def _store(self, table: dict[str, Entry[T]], results: dict[str, T]) -> None:
        """Save fresh per-VPS values, leaving the failed VPS's last good ones in place."""
        now = self._clock()
        for name, value in results.items():
            last = table.get(name)
            table[name] = Entry(kept(None if last is None else last.value, value), now)

    def _count_new_errors(self, name: str, summary: TaskSummary) -> None:
        """Add tasks seen in error for the first time to the VPS's error counter."""
        seen = self.state.seen_error_tasks.get(name, frozenset())
        for task_id, task_type in summary.error_ids.items():
            if task_id not in seen:
                counts = self.state.task_errors.setdefault(name, {})
                counts[task_type] = counts.get(task_type, 0) + 1
        # Most VPS have no task in error: they hold nothing here.
        if summary.error_ids:
            self.state.seen_error_tasks[name] = frozenset(summary.error_ids)
        else:
            self.state.seen_error_tasks.pop(name, None)

    def _record(self, problems: list[ParseProblem]) -> None:
        """Count parse problems, and log each route and field's first one."""
        for problem in problems:
            self.state.count_parse_error(problem.route)
            key = (problem.route, problem.field)
            if key not in self._logged_problems:
                self._logged_problems.add(key)
                log.warning(
                    "unexpected OVH answer",
                    account=self.state.name,
                    route=problem.route,
                    field=problem.field,
                    detail=problem.detail,
                )
