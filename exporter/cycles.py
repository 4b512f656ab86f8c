"""What each refresh job costs and achieves: requests per run, cycle time, and the budget's fit.

`job_rate` paces each job's requests so that the account uses its request
budget evenly over the jobs' intervals, each job at its share.

The scheduler runs every job with `RUNNING_JOB` set to the job's name, so the
account's request counter can tell which job each request to OVH was sent for.
After each run it keeps the run's requests and the time since the job's previous
start (the cycle it actually achieves, which a slow run or a tight budget
stretches past the configured interval), and `JobMeter` warns once when the
account's request budget cannot serve a job, or all jobs together, within their
intervals. The collector shows both per job::

    ovh_exporter_refresh_api_requests{account="default",refresh_job="tasks"} 250.0
    ovh_exporter_refresh_cycle_seconds{account="default",refresh_job="tasks"} 60.0
"""

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from prometheus_client.core import Metric

from exporter.metrics import define

if TYPE_CHECKING:
    from exporter.store import AccountSnapshot

log = structlog.stdlib.get_logger(__name__)

# The refresh job the current task works for; asyncio copies it into every task
# a job starts, so requests sent from gathered per-VPS tasks still count for it.
RUNNING_JOB: ContextVar[str | None] = ContextVar("running_refresh_job", default=None)

_JOB_LABELS = ("account", "refresh_job")
# The key of the account-wide warning among the per-job ones.
_ALL_JOBS = ""

REFRESH_REQUESTS = define(
    "ovh_exporter_refresh_api_requests",
    "gauge",
    "Requests to the OVH API sent by the last run of the refresh job.",
    _JOB_LABELS,
    unit="requests",
)
REFRESH_CYCLE = define(
    "ovh_exporter_refresh_cycle_seconds",
    "gauge",
    "Time between the starts of the refresh job's last two runs: the interval it achieves.",
    _JOB_LABELS,
    unit="seconds",
)


@dataclass
class JobMeter:
    """One account's record of when each job last started, and of the budget warnings given."""

    account: str
    clock: Callable[[], float] = time.monotonic
    _starts: dict[str, float] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)

    def start(self, job: str) -> float | None:
        """Note that `job` starts now; returns the seconds since its previous start, if any."""
        now = self.clock()
        previous = self._starts.get(job)
        self._starts[job] = now
        return None if previous is None else now - previous

    def check_budget(
        self,
        per_minute: float | None,
        intervals: Mapping[str, float],
        requests: Mapping[str, int],
    ) -> None:
        """Warn once for each job, and once for all of them, that the budget cannot fit.

        `requests` holds each job's requests per run; a job fits when those
        requests, at `per_minute`, take no longer than its interval, and the
        jobs fit together when their requests a minute stay within `per_minute`
        (judged once every job of `intervals` has run).
        """
        if per_minute is None:
            return
        for job, count in sorted(requests.items()):
            interval = intervals.get(job)
            needed = count * 60.0 / per_minute
            if interval is None or needed <= interval or job in self._warned:
                continue
            self._warned.add(job)
            log.warning(
                "refresh job cannot keep its interval within the request budget",
                account=self.account,
                job=job,
                requests_per_run=count,
                requests_per_minute=per_minute,
                needed_seconds=round(needed, 1),
                interval_seconds=interval,
                short_by_seconds=round(needed - interval, 1),
            )

        if not intervals.keys() <= requests.keys():
            return  # A partial sum would understate the demand, and it is warned about once.
        demand = sum(
            count * 60.0 / intervals[job] for job, count in requests.items() if job in intervals
        )
        if demand > per_minute and _ALL_JOBS not in self._warned:
            self._warned.add(_ALL_JOBS)
            log.warning(
                "refresh jobs together need more requests than the budget allows",
                account=self.account,
                requests_per_minute_needed=round(demand, 1),
                requests_per_minute=per_minute,
                cycles_stretched_by=round(demand / per_minute, 2),
            )


def job_rate(
    per_minute: float | None,
    intervals: Mapping[str, float],
    requests: Mapping[str, int],
    job: str,
) -> float | None:
    """The requests a second the job may send: its share of the budget; None for no pacing.

    `requests` holds each job's requests in its last run. Together the jobs ask
    `sum(requests / interval)` requests a second; each gets the share of the
    budget's rate that its own demand is of that sum. Below the budget a job
    then spreads its requests over the account's load times its interval;
    above, over more than its interval, as the budget would make it anyway, but
    without starving the other jobs. No budget, or no request in the job's last
    run: None.
    """
    interval = intervals.get(job)
    own = requests.get(job, 0)
    if per_minute is None or interval is None or own <= 0:
        return None
    demand = sum(n / intervals[name] for name, n in requests.items() if name in intervals)
    return per_minute / 60.0 * (own / interval) / demand


def cycle_families(accounts: Iterable["AccountSnapshot"]) -> Iterator[Metric]:
    """Each job's requests per run and achieved cycle, from the accounts' job statuses."""
    requests = REFRESH_REQUESTS.family()
    cycles = REFRESH_CYCLE.family()
    for account in accounts:
        for job, status in sorted(account.jobs.items()):
            key = [account.name, job]
            requests.add_metric(key, status.requests)
            if status.cycle is not None:
                cycles.add_metric(key, status.cycle)
    yield from (requests, cycles)
