"""How well each account reaches OVH (budget, credentials, expired services, kept values).

The collector yields these families after its own::

    # HELP ovh_exporter_auth_ok 1 while OVH accepts the account's credentials, ...
    # TYPE ovh_exporter_auth_ok gauge
    ovh_exporter_auth_ok{account="default"} 1.0
    # HELP ovh_vps_service_expired 1 when OVH answers 460 (service expired) for the VPS ...
    # TYPE ovh_vps_service_expired gauge
    ovh_vps_service_expired{account="default",vps="vps-1a2b3c4d.vps.ovh.net"} 0.0
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, TypedDict

from prometheus_client.core import Metric

from exporter import metrics
from exporter.cycles import RUNNING_JOB
from exporter.ovh.access import AccessGuard
from exporter.ovh.budget import RequestBudget
from exporter.ovh.errors import OvhApiError, OvhError
from exporter.ovh.retry import RetryPolicy
from exporter.settings import Settings

if TYPE_CHECKING:
    from exporter.store import AccountSnapshot

SERVICE_EXPIRED = metrics.define(
    "ovh_vps_service_expired",
    "gauge",
    "1 when OVH answers 460 (service expired) for the VPS on a route of the last run of "
    "any refresh job, 0 otherwise.",
    metrics.VPS_LABELS,
    unit="0/1",
    job="vps",
)
VPS_LAST_SUCCESS = metrics.define(
    "ovh_exporter_vps_last_success_timestamp_seconds",
    "gauge",
    "When the refresh job last read this VPS; only for VPS whose values are older than the "
    "job's newest ones, because its later reads failed.",
    ("account", "vps", "refresh_job"),
    unit="Unix seconds",
)
BUDGET_WAIT = metrics.define(
    "ovh_exporter_api_budget_wait_seconds_total",
    "counter",
    "Time requests to the OVH API spent waiting for the account's request budget.",
    metrics.ACCOUNT_LABELS,
    unit="seconds",
)
AUTH_OK = metrics.define(
    "ovh_exporter_auth_ok",
    "gauge",
    "1 while OVH accepts the account's credentials, 0 from a refusal until a request is "
    "accepted again.",
    metrics.ACCOUNT_LABELS,
    unit="0/1",
)
AUTH_FAILURES = metrics.define(
    "ovh_exporter_auth_failures_total",
    "counter",
    "Refusals of the account's credentials by OVH; each one pauses the account's requests "
    "for a delay that doubles while they last.",
    metrics.ACCOUNT_LABELS,
    unit="refusals",
)


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """The account's health at one moment, as the collector shows it."""

    budget_wait_seconds: float | None = None
    auth_ok: bool | None = None
    auth_failures: int = 0
    expired: frozenset[str] = frozenset()
    lagging: Mapping[tuple[str, str], float] = field(default_factory=dict)


@dataclass
class AccountHealth:
    """What the jobs and the OVH client of one account learn about reaching OVH."""

    budget: RequestBudget | None = None
    access: AccessGuard | None = None
    # VPS name -> the jobs whose last run met a 460 (service expired) for it.
    expired: dict[str, set[str]] = field(default_factory=dict)

    def record_expired(self, job: str, checked: Iterable[str], expired: Iterable[str]) -> None:
        """After a run of `job` that asked about the `checked` VPS, note those that answered 460."""
        hit = set(expired)
        for name in checked:
            jobs = self.expired.get(name, set())
            if name in hit:
                jobs.add(job)
            else:
                jobs.discard(job)
            if jobs:
                self.expired[name] = jobs
            else:
                self.expired.pop(name, None)

    def record_listing(self, listed: Iterable[str], expired: Iterable[str]) -> None:
        """After the VPS list was read: note expired VPS and forget those no longer listed."""
        names = set(listed)
        for name in self.expired.keys() - names:
            del self.expired[name]
        self.record_expired("vps", names, expired)

    def snapshot(self, lagging: Mapping[tuple[str, str], float]) -> HealthSnapshot:
        """Freeze the current figures, with the kept values' read times in `lagging`."""
        return HealthSnapshot(
            budget_wait_seconds=None if self.budget is None else self.budget.waited_seconds,
            auth_ok=None if self.access is None else self.access.ok,
            auth_failures=0 if self.access is None else self.access.failures,
            expired=frozenset(self.expired),
            lagging=MappingProxyType(dict(lagging)),
        )


def is_service_expired(error: OvhError) -> bool:
    """Tell whether OVH answered 460: the service has expired, a state rather than a fault."""
    return isinstance(error, OvhApiError) and error.service_expired


class ClientOptions(TypedDict):
    """The OvhClient keywords that set how it copes with OVH's faults."""

    budget: RequestBudget
    retry: RetryPolicy
    access: AccessGuard


def client_options(settings: Settings, account: str, health: "AccountHealth") -> ClientOptions:
    """Build one account's budget, retry policy and access guard from the settings.

    The budget and the guard are also kept in `health`, where snapshots read them.
    """
    health.budget = RequestBudget(
        settings.requests_per_minute, settings.requests_burst, key=RUNNING_JOB.get
    )
    health.access = AccessGuard(account)
    retry = RetryPolicy(
        max_attempts=settings.retry_max_attempts, max_retry_after=settings.retry_after_max
    )
    return ClientOptions(budget=health.budget, retry=retry, access=health.access)


def lagging(job: str, updated: Mapping[str, float]) -> dict[tuple[str, str], float]:
    """The VPS of one job's table whose value is older than the table's newest, with its time.

    A run stamps every value it reads with the same time, so a value older than
    the newest is one kept from an earlier run after this VPS's reads failed.
    """
    if not updated:
        return {}
    newest = max(updated.values())
    return {(job, name): stamp for name, stamp in updated.items() if stamp < newest}


def health_families(accounts: Iterable["AccountSnapshot"]) -> Iterator[Metric]:
    """Every family of this module, filled from each account's snapshot."""
    expired = SERVICE_EXPIRED.family()
    last_success = VPS_LAST_SUCCESS.family()
    wait = BUDGET_WAIT.family()
    auth_ok = AUTH_OK.family()
    auth_failures = AUTH_FAILURES.family()

    for account in accounts:
        health = account.health
        for name in sorted(account.vps.keys() | health.expired):
            expired.add_metric([account.name, name], 1.0 if name in health.expired else 0.0)
        for (job, name), stamp in sorted(health.lagging.items()):
            last_success.add_metric([account.name, name, job], stamp)
        if health.budget_wait_seconds is not None:
            wait.add_metric([account.name], health.budget_wait_seconds)
        if health.auth_ok is not None:
            auth_ok.add_metric([account.name], 1.0 if health.auth_ok else 0.0)
            auth_failures.add_metric([account.name], health.auth_failures)

    yield from (expired, last_success, wait, auth_ok, auth_failures)
