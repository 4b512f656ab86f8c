"""The refresh jobs: each pulls one kind of data for every VPS of an account."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog

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
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import OvhApiError, OvhError
from exporter.store import AccountState, Entry

T = TypeVar("T")

ROUTE_VPS_LIST = "/vps"
ROUTE_VPS = "/vps/{serviceName}"
ROUTE_TASKS = "/vps/{serviceName}/tasks"
ROUTE_TASK = "/vps/{serviceName}/tasks/{id}"
ROUTE_BACKUP = "/vps/{serviceName}/automatedBackup"
ROUTE_RESTORE_POINTS = "/vps/{serviceName}/automatedBackup/restorePoints"
ROUTE_SERVICE_INFOS = "/vps/{serviceName}/serviceInfos"

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
            log.warning(
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
        }

    async def refresh_vps(self) -> RunReport:
        """List the account's VPS with their details; a VPS that left is forgotten."""
        report = RunReport(self.state.name, "vps")
        problems: list[ParseProblem] = []
        try:
            listing = await self.client.get_objects(ROUTE_VPS_LIST, item_route=ROUTE_VPS)
        except OvhError as error:
            report.fail(None, error)
            return report

        now = self._clock()
        current: dict[str, Entry[Vps]] = {}
        for item in listing.objects:
            vps = parse_vps(item, ROUTE_VPS, problems)
            if vps is not None:
                current[vps.name] = Entry(vps, now)
        for name, failure in listing.failed.items():
            report.fail(name, failure)
            if name in self.state.vps:
                current[name] = self.state.vps[name]

        self.state.vps = current
        self.state.forget_departed()
        self._listed.set()
        self._record(problems)
        return report

    async def refresh_tasks(self) -> RunReport:
        """Count each VPS's open tasks, and count tasks newly seen in error."""
        problems: list[ParseProblem] = []

        async def fetch(name: str) -> TaskSummary:
            listing = await self.client.get_objects(
                ROUTE_TASKS, item_route=ROUTE_TASK, serviceName=name
            )
            for error in listing.failed.values():
                raise error
            return summarize_tasks(listing.objects, ROUTE_TASKS, problems)

        report, results = await self._each_vps("tasks", fetch)
        for name, summary in results.items():
            self._count_new_errors(name, summary)
        self._store(self.state.tasks, results)
        self._record(problems)
        return report

    async def refresh_backups(self) -> RunReport:
        """Read each VPS's automated backup state and its newest available restore point."""
        problems: list[ParseProblem] = []

        async def fetch(name: str) -> BackupStatus:
            try:
                backup = await self.client.get(ROUTE_BACKUP, serviceName=name)
            except OvhApiError as error:
                if error.not_found:
                    return BackupStatus(enabled=False, restore_points=None, last_restore_point=None)
                raise
            if not parse_backup_state(backup, ROUTE_BACKUP, problems):
                return BackupStatus(enabled=False, restore_points=None, last_restore_point=None)
            points = await self.client.get(
                ROUTE_RESTORE_POINTS, params={"state": "available"}, serviceName=name
            )
            count, newest = newest_restore_point(points, ROUTE_RESTORE_POINTS, problems)
            return BackupStatus(enabled=True, restore_points=count, last_restore_point=newest)

        report, results = await self._each_vps("backups", fetch)
        self._store(self.state.backups, results)
        self._record(problems)
        return report

    async def refresh_billing(self) -> RunReport:
        """Read each VPS's expiration, renewal and service status."""
        problems: list[ParseProblem] = []

        async def fetch(name: str) -> ServiceInfo:
            data = await self.client.get(ROUTE_SERVICE_INFOS, serviceName=name)
            return parse_service_infos(data, ROUTE_SERVICE_INFOS, problems)

        report, results = await self._each_vps("billing", fetch)
        self._store(self.state.billing, results)
        self._record(problems)
        return report

    async def _each_vps(
        self, job: str, fetch: Callable[[str], Awaitable[T]]
    ) -> tuple[RunReport, dict[str, T]]:
        """Run `fetch` for every VPS at once (the client bounds concurrency); keep the successes."""
        report = RunReport(self.state.name, job)
        if not await self._wait_for_listing(job):
            report.fail(None, OvhError(ROUTE_VPS_LIST, "the VPS list has not been read yet"))
            return report, {}

        names = list(self.state.vps)

        async def one(name: str) -> T | None:
            try:
                return await fetch(name)
            except OvhError as error:
                report.fail(name, error)
                return None

        values = await asyncio.gather(*(one(name) for name in names))
        return report, {
            name: value for name, value in zip(names, values, strict=True) if value is not None
        }

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
            table[name] = Entry(value, now)

    def _count_new_errors(self, name: str, summary: TaskSummary) -> None:
        """Add tasks seen in error for the first time to the VPS's error counter."""
        seen = self.state.seen_error_tasks.get(name, frozenset())
        counts = self.state.task_errors.setdefault(name, {})
        for task_id, task_type in summary.error_ids.items():
            if task_id not in seen:
                counts[task_type] = counts.get(task_type, 0) + 1
        self.state.seen_error_tasks[name] = frozenset(summary.error_ids)

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
