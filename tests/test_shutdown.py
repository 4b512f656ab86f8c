"""SIGTERM on the `ovh-vps-exporter` process while its requests to a slowed OVH are in flight."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler

from benchmarks.soak import ExporterProcess, application_key_env
from exporter import simulator
from tests.fleets import known_fleet
from tests.support import bound_port

# Every job runs at start and not again for 5 s, the shortest interval allowed.
INTERVALS = {
    f"OVH_EXPORTER_INTERVAL_{job}": "5"
    for job in ("VPS", "TASKS", "BACKUPS", "BILLING", "ACCOUNT", "DETAILS", "DISKS")
}
# A budget large enough that no request waits for it: only the latency counts here.
BUDGET = {"OVH_EXPORTER_REQUESTS_PER_MINUTE": "60000", "OVH_EXPORTER_REQUESTS_BURST": "1000"}


@dataclass
class Traffic:
    """When each request reached the simulated account, and when each answer left it."""

    received: list[tuple[float, str]] = field(default_factory=list)
    answered: list[tuple[float, str]] = field(default_factory=list)

    def in_flight(self) -> int:
        """Requests received and not answered yet."""
        return len(self.received) - len(self.answered)


@asynccontextmanager
async def slow_account(latency: float) -> AsyncIterator[tuple[str, Traffic]]:
    """Serve the known fleet with `latency` before every answer, recording the traffic."""
    traffic = Traffic()
    app = simulator.create_app(known_fleet(), simulator.SimulatorConfig(latency=latency))

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        traffic.received.append((time.monotonic(), request.path))
        try:
            return await handler(request)
        finally:
            traffic.answered.append((time.monotonic(), request.path))

    # Outermost, so that the simulator's latency is inside the recorded interval.
    app.middlewares.insert(0, record)
    # Answers still sleeping when the test ends are cancelled rather than waited for.
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}/1.0", traffic
    finally:
        await runner.cleanup()


async def sigterm_while_in_flight(
    latency: float, grace: float
) -> tuple[ExporterProcess, Traffic, float, int, float]:
    """Start the exporter, SIGTERM it once requests are in flight, and wait for it to exit."""
    async with slow_account(latency) as (endpoint, traffic):
        env = application_key_env(endpoint) | INTERVALS | BUDGET
        env["OVH_EXPORTER_SHUTDOWN_GRACE"] = str(grace)
        env["OVH_EXPORTER_REQUEST_TIMEOUT"] = "60"
        exporter = await ExporterProcess.start(env)
        try:
            async with asyncio.timeout(10):
                while not traffic.received:
                    await asyncio.sleep(0.01)
            assert traffic.in_flight() > 0
            signalled = time.monotonic()
            code, gone_after = await exporter.terminate(within=grace + latency + 10)
        except BaseException:
            await exporter.kill()
            raise
    return exporter, traffic, signalled, code, gone_after


async def test_sigterm_lets_in_flight_requests_finish_then_exits_0() -> None:
    latency, grace = 1.0, 30.0

    exporter, traffic, signalled, code, gone_after = await sigterm_while_in_flight(latency, grace)

    assert code == 0, exporter.output()
    # Bounded: the running jobs' remaining requests, a few latencies each, far below the grace.
    assert gone_after < grace, exporter.output()
    waiting = [e for e in exporter.events if e["event"] == "waiting for running refresh jobs"]
    assert len(waiting) == 1
    assert waiting[0]["jobs"] >= 1
    # Every request that reached OVH got its answer, and the jobs were not cut short.
    assert traffic.in_flight() == 0
    assert all(when < signalled + gone_after for when, _ in traffic.answered)
    assert not any("cancelled" in str(e["event"]) for e in exporter.events), exporter.output()
    assert any(when > signalled for when, _ in traffic.answered)
    # The scheduler stopped: no job started again, although their 5 s interval went by
    # during the shutdown (the jobs' chains of requests take several latencies); the
    # VPS list is read once per run of the `vps` job.
    assert gone_after > 5.0, "the shutdown no longer outlasts an interval: raise the latency"
    assert [path for _, path in traffic.received].count("/1.0/vps") == 1
    events = [e["event"] for e in exporter.events]
    assert events.index("stopping") < events.index("exporter stopped") == len(events) - 1


async def test_jobs_slower_than_the_grace_are_cancelled_and_the_exit_is_still_0() -> None:
    latency, grace = 30.0, 1.0

    exporter, _, _, code, gone_after = await sigterm_while_in_flight(latency, grace)

    assert code == 0, exporter.output()
    # The grace, the second given to cancelled jobs to unwind, and the server's close.
    assert gone_after < grace + 3.0, exporter.output()
    cancelled = [
        e
        for e in exporter.events
        if e["event"] == "refresh jobs cancelled: still running after the shutdown grace"
    ]
    assert len(cancelled) == 1
    assert cancelled[0]["jobs"] >= 1
    assert cancelled[0]["grace_seconds"] == grace
    assert exporter.events[-1]["event"] == "exporter stopped"
