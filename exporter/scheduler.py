"""APScheduler set-up: one interval job per kind of data and account, never overlapping."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from exporter.cycles import RUNNING_JOB, JobMeter
from exporter.jobs import Refresher, RunReport
from exporter.store import AccountState, JobStatus, Store

log = structlog.stdlib.get_logger(__name__)


async def run_job(
    state: AccountState,
    job: str,
    refresh: Callable[[], Awaitable[RunReport]],
    store: Store,
    *,
    in_flight: set["asyncio.Task[object]"] | None = None,
    clock: Callable[[], float] = time.time,
    meter: JobMeter | None = None,
) -> None:
    """Run one refresh, record its outcome, and publish a new snapshot whatever happened.

    Requests sent during the run are counted for `job`; `meter` measures the
    cycle since the job's previous start and checks the account's budget.
    """
    task = asyncio.current_task()
    if in_flight is not None and task is not None:
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    started = time.monotonic()
    cycle = meter.start(job) if meter is not None else None
    sent_before = state.job_requests.get(job, 0)
    running = RUNNING_JOB.set(job)
    try:
        report = await refresh()
        report.log()
        success = report.ok
    except Exception:  # A bug, not an OVH fault: logged with its traceback, the daemon stays up.
        log.exception("refresh job crashed", account=state.name, job=job)
        success = False
    finally:
        RUNNING_JOB.reset(running)

    previous = state.jobs.get(job)
    if success and previous is not None and not previous.success:
        # The failures were logged as they came; say when they are over.
        log.info("refresh recovered", account=state.name, job=job, failures_total=previous.failures)
    state.jobs[job] = JobStatus(
        success=success,
        last_success=clock() if success else (previous.last_success if previous else None),
        duration=time.monotonic() - started,
        failures=(previous.failures if previous else 0) + (0 if success else 1),
        requests=state.job_requests.get(job, 0) - sent_before,
        cycle=cycle if cycle is not None or previous is None else previous.cycle,
    )
    if meter is not None:
        budget = state.health.budget
        # Judged on runs after the first: a first run reads everything, later ones
        # what may have changed (exporter.revisions).
        meter.check_budget(
            budget.per_minute if budget is not None else None,
            state.intervals,
            {
                name: status.requests
                for name, status in state.jobs.items()
                if status.cycle is not None
            },
        )
    store.publish()


def build_scheduler(
    refreshers: list[Refresher], store: Store, in_flight: set["asyncio.Task[object]"]
) -> AsyncIOScheduler:
    """Schedule every job of every account, each first run at start-up.

    Running jobs are kept in `in_flight`, so that a stop can wait for them.
    """
    scheduler = AsyncIOScheduler(timezone=UTC)
    start = datetime.now(UTC)
    for refresher in refreshers:
        state = refresher.state
        meter = JobMeter(state.name)
        for job, refresh in refresher.jobs().items():
            scheduler.add_job(
                run_job,
                trigger="interval",
                seconds=state.intervals[job],
                args=(state, job, refresh, store),
                kwargs={"in_flight": in_flight, "meter": meter},
                id=f"{state.name}:{job}",
                name=f"{state.name}:{job}",
                next_run_time=start + timedelta(milliseconds=10),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
    return scheduler
