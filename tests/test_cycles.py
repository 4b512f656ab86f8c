"""Requests per job run, achieved cycles, and the warning when the request budget cannot fit."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from structlog.testing import capture_logs

from exporter.cycles import RUNNING_JOB, JobMeter, spacing
from exporter.exposition import render
from exporter.jobs import RunReport
from exporter.ovh.budget import RequestBudget
from exporter.scheduler import run_job
from exporter.settings import JOBS
from exporter.store import AccountState, Store
from tests.faultrig import fault_rig
from tests.support import parse_exposition


def _state() -> AccountState:
    return AccountState("prod", dict.fromkeys(JOBS, 60.0), stale_after=3)


class _Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_each_request_counts_for_the_job_that_sent_it() -> None:
    state = _state()
    store = Store([state])
    both_started = asyncio.Barrier(2)

    def job_sending(route: str, count: int) -> Callable[[], Awaitable[RunReport]]:
        async def refresh() -> RunReport:
            await both_started.wait()

            async def one() -> None:
                await asyncio.sleep(0)
                state.count_request(route, "200")

            # Sent from tasks the job starts, interleaved with the other job's.
            await asyncio.gather(*(one() for _ in range(count)))
            return RunReport("prod", route)

        return refresh

    await asyncio.gather(
        run_job(state, "tasks", job_sending("/vps/{serviceName}/tasks", 7), store),
        run_job(state, "backups", job_sending("/vps/{serviceName}/automatedBackup", 3), store),
    )
    state.count_request("/auth/time", "200")  # Outside any job: counted, but for no job.

    assert state.jobs["tasks"].requests == 7
    assert state.jobs["backups"].requests == 3
    assert sum(state.api_requests.values()) == 11
    assert RUNNING_JOB.get() is None


async def test_requests_are_those_of_the_last_run_and_cycle_the_time_between_starts() -> None:
    state = _state()
    store = Store([state])
    clock = _Clock()
    meter = JobMeter("prod", clock=clock)
    sent = iter([4, 9])

    async def refresh() -> RunReport:
        for _ in range(next(sent)):
            state.count_request("/vps/{serviceName}/tasks", "200")
        return RunReport("prod", "tasks")

    await run_job(state, "tasks", refresh, store, meter=meter)
    first = state.jobs["tasks"]
    clock.now += 61.5
    await run_job(state, "tasks", refresh, store, meter=meter)
    second = state.jobs["tasks"]

    assert (first.requests, first.cycle) == (4, None)
    assert (second.requests, second.cycle) == (9, 61.5)


async def test_the_exposition_shows_requests_per_run_and_cycle() -> None:
    state = _state()
    store = Store([state])
    clock = _Clock()
    meter = JobMeter("prod", clock=clock)

    async def refresh() -> RunReport:
        state.count_request("/vps", "200")
        state.count_request("/vps", "200")
        return RunReport("prod", "vps")

    await run_job(state, "vps", refresh, store, meter=meter)
    clock.now += 60.25
    await run_job(state, "vps", refresh, store, meter=meter)
    series = parse_exposition(render(store.current).text.decode())

    key = frozenset({"account": "prod", "refresh_job": "vps"}.items())
    assert series[("ovh_exporter_refresh_api_requests", key)] == 2.0
    assert series[("ovh_exporter_refresh_cycle_seconds", key)] == 60.25


def test_a_job_whose_requests_cannot_fit_its_interval_is_warned_about_once() -> None:
    meter = JobMeter("prod")
    intervals = {"tasks": 60.0, "vps": 60.0}

    with capture_logs() as logs:
        meter.check_budget(60.0, intervals, {"vps": 1, "tasks": 150})
        meter.check_budget(60.0, intervals, {"vps": 1, "tasks": 180})

    job_warnings = [entry for entry in logs if entry.get("job") == "tasks"]
    assert len(job_warnings) == 1
    warning = job_warnings[0]
    assert warning["log_level"] == "warning"
    assert warning["requests_per_run"] == 150
    assert warning["needed_seconds"] == 150.0
    assert warning["interval_seconds"] == 60.0
    assert warning["short_by_seconds"] == 90.0
    assert not [entry for entry in logs if entry.get("job") == "vps"]


def test_jobs_that_fit_alone_but_not_together_are_warned_about_once() -> None:
    meter = JobMeter("prod")
    intervals = {"tasks": 60.0, "backups": 120.0}

    with capture_logs() as logs:
        # Until every job has run, the demand is not known: no verdict yet.
        meter.check_budget(60.0, intervals, {"tasks": 40})
        assert logs == []
        # 40 a minute for tasks, 40 a minute for backups: each fits 60, together they do not.
        meter.check_budget(60.0, intervals, {"tasks": 40, "backups": 80})
        meter.check_budget(60.0, intervals, {"tasks": 40, "backups": 80})

    assert len(logs) == 1
    assert logs[0]["event"] == "refresh jobs together need more requests than the budget allows"
    assert logs[0]["requests_per_minute_needed"] == 80.0
    assert logs[0]["cycles_stretched_by"] == 1.33


def test_no_budget_or_a_budget_that_fits_gives_no_warning() -> None:
    meter = JobMeter("prod")
    with capture_logs() as logs:
        meter.check_budget(None, {"tasks": 60.0}, {"tasks": 10_000})
        meter.check_budget(60.0, {"tasks": 60.0, "billing": 3600.0}, {"tasks": 50, "billing": 500})
    assert logs == []


async def test_run_job_checks_the_accounts_budget() -> None:
    state = _state()
    state.health.budget = RequestBudget(per_minute=6.0, burst=60)
    store = Store([state])

    async def refresh() -> RunReport:
        for _ in range(12):
            state.count_request("/vps/{serviceName}/tasks", "200")
        return RunReport("prod", "tasks")

    with capture_logs() as logs:
        await run_job(state, "tasks", refresh, store, meter=JobMeter("prod"))

    warning = next(entry for entry in logs if entry.get("job") == "tasks")
    assert warning["needed_seconds"] == 120.0
    assert warning["short_by_seconds"] == 60.0


def test_spacing_spreads_each_job_over_the_load_times_its_interval() -> None:
    intervals = {"tasks": 60.0, "details": 900.0}
    # 30 requests a minute of tasks and 2 of details, against a budget of 64: load 0.5.
    requests = {"tasks": 30, "details": 30}
    assert spacing(64.0, intervals, requests, "tasks", 30) == 60.0 * 0.5 / 30
    assert spacing(64.0, intervals, requests, "details", 10) == 900.0 * 0.5 / 10
    # Over the budget: the spread outgrows the interval, as the budget would make it.
    assert spacing(16.0, intervals, requests, "tasks", 30) == 60.0 * 2.0 / 30


def test_spacing_is_zero_without_budget_history_or_a_second_vps() -> None:
    intervals = {"tasks": 60.0}
    assert spacing(None, intervals, {"tasks": 30}, "tasks", 30) == 0.0
    assert spacing(60.0, intervals, {}, "tasks", 30) == 0.0
    assert spacing(60.0, intervals, {"tasks": 30}, "tasks", 1) == 0.0
    assert spacing(60.0, intervals, {"tasks": 30}, "unknown", 30) == 0.0


async def test_a_job_paces_its_vps_at_the_budgets_rate() -> None:
    async with fault_rig(per_minute=600.0) as rig:
        rig.state.intervals["tasks"] = 60.0
        await rig.run("vps", "tasks")
        assert rig.pace_time.slept == []  # A first run goes as fast as the budget allows.
        await rig.run("tasks")
    # 5 requests a minute (3 of tasks; the listing and the first read of OVH's clock)
    # against 600: a load of 1/120, so the three VPS start 60 / 120 / 3 = 0.167 s apart.
    assert rig.state.jobs["tasks"].requests == 3
    assert rig.state.jobs["vps"].requests == 2
    gap = 60.0 / 120 / 3
    assert rig.pace_time.slept == [pytest.approx(gap, abs=0.02), pytest.approx(2 * gap, abs=0.02)]


async def test_a_lifted_budget_does_not_pace() -> None:
    async with fault_rig(per_minute=1e9) as rig:
        rig.state.intervals["tasks"] = 60.0
        await rig.run("vps", "tasks")
        await rig.run("tasks")
    assert rig.pace_time.slept == []
