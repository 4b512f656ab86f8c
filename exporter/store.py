"""Per-account state written by the refresh jobs, and the immutable snapshots read by scrapes."""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, TypeVar

from exporter.billing import AccountInfo, PaymentMethod, ServiceBilling
from exporter.cycles import RUNNING_JOB
from exporter.facts import FactSnapshot, FactStore
from exporter.health import AccountHealth, HealthSnapshot, lagging
from exporter.manager import ManagerSnapshot, ManagerState
from exporter.model import BackupStatus, ServiceInfo, TaskSummary, Vps
from exporter.revisions import Revisions

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    """One value fetched from OVH, with the time it was fetched."""

    value: T
    updated: float


@dataclass(frozen=True, slots=True)
class JobStatus:
    """Outcome of a refresh job's last run."""

    success: bool
    last_success: float | None
    duration: float
    failures: int
    # Requests the run sent, and the seconds since the job's previous start (None at first).
    requests: int = 0
    cycle: float | None = None


@dataclass
class AccountState:
    """Everything the jobs of one account know; written only on the event loop."""

    name: str
    intervals: Mapping[str, float]
    stale_after: int
    vps: dict[str, Entry[Vps]] = field(default_factory=dict)
    tasks: dict[str, Entry[TaskSummary]] = field(default_factory=dict)
    backups: dict[str, Entry[BackupStatus]] = field(default_factory=dict)
    billing: dict[str, Entry[ServiceInfo]] = field(default_factory=dict)
    services: dict[str, Entry[ServiceBilling]] = field(default_factory=dict)
    account_info: Entry[AccountInfo] | None = None
    payment_methods: Entry[tuple[PaymentMethod, ...]] | None = None
    facts: FactStore = field(default_factory=FactStore)
    revisions: Revisions = field(default_factory=Revisions)
    manager: ManagerState = field(default_factory=ManagerState)
    task_errors: dict[str, dict[str, int]] = field(default_factory=dict)
    seen_error_tasks: dict[str, frozenset[int]] = field(default_factory=dict)
    jobs: dict[str, JobStatus] = field(default_factory=dict)
    api_requests: dict[tuple[str, str], int] = field(default_factory=dict)
    # Requests sent so far for each refresh job, whatever their route.
    job_requests: dict[str, int] = field(default_factory=dict)
    parse_errors: dict[str, int] = field(default_factory=dict)
    vps_listed: bool = False
    health: AccountHealth = field(default_factory=AccountHealth)
    # Readings of the account's secret files since start, by outcome (exporter.rotation).
    credential_reloads: dict[str, int] = field(default_factory=dict)
    # Which VPS of the account are exported (the include and exclude patterns).
    selects: Callable[[str], bool] = field(default=lambda _name: True, repr=False)

    def count_request(self, route: str, code: str) -> None:
        """Count one exchange with OVH (the client's observer)."""
        key = (route, code)
        self.api_requests[key] = self.api_requests.get(key, 0) + 1
        job = RUNNING_JOB.get()
        if job is not None:
            self.job_requests[job] = self.job_requests.get(job, 0) + 1

    def count_parse_error(self, route: str) -> None:
        """Count one surprise in an OVH answer."""
        self.parse_errors[route] = self.parse_errors.get(route, 0) + 1

    def forget_departed(self) -> None:
        """Drop what is known of VPS that are no longer in the account."""
        for table in (self.tasks, self.backups, self.billing, self.services, self.task_errors):
            for name in table.keys() - self.vps.keys():
                del table[name]
        for name in self.seen_error_tasks.keys() - self.vps.keys():
            del self.seen_error_tasks[name]
        self.facts.forget(self.vps.keys())
        self.revisions.forget(self.vps.keys())
        self.manager.forget(self.vps.keys())

    def achieved_intervals(self) -> dict[str, float]:
        """Each job's interval, stretched to its last cycle or run where those took longer."""
        intervals = dict(self.intervals)
        for job, status in self.jobs.items():
            if job in intervals:
                intervals[job] = max(intervals[job], status.cycle or 0.0, status.duration)
        return intervals

    def snapshot(self, now: float) -> "AccountSnapshot":
        """Freeze the current state, leaving out values older than `stale_after` intervals.

        A job's interval here is the longest of its setting, its last achieved
        cycle and its last run's duration: a job the request budget slows down
        keeps its values, and only failures make them stale.
        """
        members = self.vps.keys()
        kept: dict[tuple[str, str], float] = {}
        intervals = self.achieved_intervals()

        def fresh(job: str, table: Mapping[str, Entry[T]]) -> Mapping[str, T]:
            oldest = now - self.stale_after * intervals[job]
            entries = {
                name: entry
                for name, entry in table.items()
                if name in members and entry.updated >= oldest
            }
            for key, stamp in lagging(job, {n: e.updated for n, e in entries.items()}).items():
                kept[key] = min(stamp, kept.get(key, stamp))
            return MappingProxyType({name: entry.value for name, entry in entries.items()})

        def current(job: str, entry: Entry[T] | None) -> T | None:
            if entry is None or entry.updated < now - self.stale_after * intervals[job]:
                return None
            return entry.value

        return AccountSnapshot(
            name=self.name,
            vps=fresh("vps", self.vps),
            tasks=fresh("tasks", self.tasks),
            backups=fresh("backups", self.backups),
            billing=fresh("billing", self.billing),
            task_errors=MappingProxyType(
                {name: dict(counts) for name, counts in self.task_errors.items()}
            ),
            jobs=MappingProxyType(dict(self.jobs)),
            api_requests=MappingProxyType(dict(self.api_requests)),
            parse_errors=MappingProxyType(dict(self.parse_errors)),
            services=fresh("billing", self.services),
            account_info=current("account", self.account_info),
            payment_methods=current("account", self.payment_methods),
            facts=self.facts.snapshot(now, intervals, self.stale_after, members),
            manager=self.manager.snapshot(now, intervals.get("manager"), self.stale_after, members),
            credential_reloads=MappingProxyType(dict(self.credential_reloads)),
            # Evaluated last: the fresh() calls above fill `kept`.
            health=self.health.snapshot(kept),
        )


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """What one account looked like when a snapshot was taken."""

    name: str
    vps: Mapping[str, Vps]
    tasks: Mapping[str, TaskSummary]
    backups: Mapping[str, BackupStatus]
    billing: Mapping[str, ServiceInfo]
    task_errors: Mapping[str, Mapping[str, int]]
    jobs: Mapping[str, JobStatus]
    api_requests: Mapping[tuple[str, str], int]
    parse_errors: Mapping[str, int]
    services: Mapping[str, ServiceBilling] = field(default_factory=dict)
    account_info: AccountInfo | None = None
    payment_methods: tuple[PaymentMethod, ...] | None = None
    facts: FactSnapshot = field(default_factory=FactSnapshot)
    manager: ManagerSnapshot = field(default_factory=ManagerSnapshot)
    health: HealthSnapshot = field(default_factory=HealthSnapshot)
    credential_reloads: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every account at one moment; scrapes only ever see a whole one."""

    generation: int
    created: float
    accounts: tuple[AccountSnapshot, ...]


class Store:
    """Holds the latest snapshot and builds a new one whenever a job finishes."""

    def __init__(self, accounts: list[AccountState], clock: Callable[[], float] = time.time):
        self.accounts = accounts
        self._clock = clock
        self._listeners: list[Callable[[Snapshot], None]] = []
        self.current = Snapshot(generation=0, created=clock(), accounts=())
        self.publish()

    def subscribe(self, listener: Callable[[Snapshot], None]) -> None:
        """Call `listener` with every new snapshot."""
        self._listeners.append(listener)

    def publish(self) -> Snapshot:
        """Build a snapshot from every account's state and swap it in."""
        now = self._clock()
        snapshot = Snapshot(
            generation=self.current.generation + 1,
            created=now,
            accounts=tuple(account.snapshot(now) for account in self.accounts),
        )
        self.current = snapshot
        for listener in self._listeners:
            listener(snapshot)
        return snapshot

    def ready(self) -> bool:
        """True once every job of every account has succeeded at least once."""
        return all(
            len(account.jobs) == len(account.intervals)
            and all(status.last_success is not None for status in account.jobs.values())
            for account in self.accounts
        )
