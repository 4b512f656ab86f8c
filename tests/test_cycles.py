"""Requests per job run, achieved cycles, and the warning when the request budget cannot fit."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from structlog.testing import capture_logs

from exporter.cycles import RUNNING_JOB, JobMeter, job_rate
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

    meter = JobMeter("prod")
    with capture_logs() as first:
        await run_job(state, "tasks", refresh, store, meter=meter)
    with capture_logs() as logs:
        await run_job(state, "tasks", refresh, store, meter=meter)

    # A first run reads everything: the budget is judged from the second on.
    assert [entry for entry in first if entry["log_level"] == "warning"] == []
    warning = next(entry for entry in logs if entry.get("job") == "tasks")
    assert warning["needed_seconds"] == 120.0
    assert warning["short_by_seconds"] == 60.0


def test_each_job_gets_the_share_of_the_budget_its_demand_is_of_the_whole() -> None:
    intervals = {"tasks": 60.0, "details": 900.0}
    # 30 requests a minute of tasks and 2 of details: 15/16 and 1/16 of the demand.
    requests = {"tasks": 30, "details": 30}
    assert job_rate(64.0, intervals, requests, "tasks") == pytest.approx(64 / 60 * 15 / 16)
    assert job_rate(64.0, intervals, requests, "details") == pytest.approx(64 / 60 / 16)
    # The shares add up to the budget's rate, whether the demand is below it or above.
    assert job_rate(16.0, intervals, requests, "tasks") == pytest.approx(16 / 60 * 15 / 16)


def test_no_budget_or_no_request_last_run_means_no_pace() -> None:
    intervals = {"tasks": 60.0, "details": 900.0}
    assert job_rate(None, intervals, {"tasks": 30}, "tasks") is None
    assert job_rate(60.0, intervals, {}, "tasks") is None
    assert job_rate(60.0, intervals, {"tasks": 30, "details": 0}, "details") is None
    assert job_rate(60.0, intervals, {"tasks": 30}, "unknown") is None


async def test_a_job_paces_its_requests_at_its_share_of_the_budget() -> None:
    async with fault_rig(per_minute=600.0) as rig:
        await rig.run("vps", "tasks")
        assert rig.budget_time.slept == []  # A first run goes as fast as the budget allows.
        await rig.run("tasks")
    # Tasks sent 3 requests of the 5 a minute (the listing and the first read of OVH's
    # clock the others): 3/5 of 10 a second, one request every 1/6 s. The budget's
    # fake clock moves by each wait, so each of the two later requests waits 1/6 s.
    assert rig.state.jobs["tasks"].requests == 3
    assert rig.state.jobs["vps"].requests == 2
    assert rig.budget_time.slept == [pytest.approx(1 / 6), pytest.approx(1 / 6)]
    # Pacing is no wait for the budget.
    assert rig.budget.waited_seconds == 0.0


async def test_a_lifted_budget_paces_to_nothing() -> None:
    async with fault_rig(per_minute=1e9) as rig:
        await rig.run("vps", "tasks")
        await rig.run("tasks")
    # 10 million requests a second for tasks: a tenth of a microsecond apart.
    assert len(rig.budget_time.slept) == 2
    assert sum(rig.budget_time.slept) < 1e-6


async def test_a_paced_run_with_nothing_to_read_takes_no_time() -> None:
    async with fault_rig(per_minute=600.0, reread_after=3600.0) as rig:
        await rig.run("vps", "tasks", "details")
        await rig.run("details")
    # The second run of details had nothing due: no request, so no wait.
    assert rig.state.jobs["details"].requests == 0
    assert rig.budget_time.slept == []
