"""The exporter's parts wired as the daemon wires them, against the simulator, on fake time.

Tests drive the refresh jobs one run at a time, move the clocks by hand, and
scrape the real HTTP server, so that each fault can be injected, watched and
lifted in a few milliseconds.
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from aiohttp import web
from pydantic import SecretStr

from exporter import simulator
from exporter.cycles import RUNNING_JOB
from exporter.exposition import Exposition
from exporter.http import create_app
from exporter.jobs import Refresher
from exporter.ovh.access import AccessGuard
from exporter.ovh.auth import ApplicationKey, Credentials, OAuth2ClientCredentials
from exporter.ovh.budget import RequestBudget
from exporter.ovh.client import OvhClient
from exporter.ovh.retry import RetryPolicy
from exporter.revisions import Revisions
from exporter.scheduler import run_job
from exporter.settings import JOBS
from exporter.simulator.faults import Faults
from exporter.store import AccountState, Store
from tests.fakes import FakeTime
from tests.fleets import known_fleet
from tests.support import Series, bound_port, scrape

ACCOUNT = "faulty"
# The jobs of the first version; other jobs may call routes the simulator does not know.
CORE_JOBS = ("vps", "tasks", "backups", "billing")
INTERVAL = 60.0
STALE_AFTER = 3


class FaultRig:
    """One account's state, client, jobs, store and HTTP server, on a simulator with faults."""

    def __init__(
        self,
        fleet: simulator.Fleet,
        sim: simulator.SimulatorConfig,
        *,
        oauth2: bool,
        timeout: float,
        max_body_bytes: int,
        max_attempts: int,
        per_minute: float,
        burst: int,
        reread_after: float,
    ) -> None:
        """Keep the options; `start` builds everything."""
        self.fleet = fleet
        self.sim = sim
        self.oauth2 = oauth2
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.max_attempts = max_attempts
        self.per_minute = per_minute
        self.burst = burst
        self.reread_after = reread_after
        # The jobs' wall clock, the retries' and guard's clock, and the budget's clock (which
        # the jobs' pacing waits on too).
        self.wall = FakeTime(1_800_000_000.0)
        self.mono = FakeTime()
        self.budget_time = FakeTime()
        self.port = 0

    @property
    def faults(self) -> Faults:
        """The faults the simulator injects."""
        return self.sim.faults

    async def start(self) -> None:
        """Serve the simulator and the exporter's HTTP server, both on free loopback ports."""
        self._sim_runner = await simulator.serve(self.fleet, self.sim, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{bound_port(self._sim_runner)}"
        self.state = AccountState(
            ACCOUNT,
            dict.fromkeys(JOBS, INTERVAL),
            stale_after=STALE_AFTER,
            revisions=Revisions(max_age=self.reread_after),
        )
        self.budget = RequestBudget(
            self.per_minute,
            self.burst,
            clock=self.budget_time,
            sleep=self.budget_time.sleep,
            key=RUNNING_JOB.get,
        )
        self.access = AccessGuard(ACCOUNT, clock=self.mono)
        self.state.health.budget = self.budget
        self.state.health.access = self.access
        self.client = OvhClient(
            base + "/1.0",
            self._credentials(base),
            timeout=self.timeout,
            max_body_bytes=self.max_body_bytes,
            observer=self.state.count_request,
            budget=self.budget,
            retry=RetryPolicy(
                max_attempts=self.max_attempts, sleep=self.mono.sleep, fraction=lambda: 1.0
            ),
            access=self.access,
        )
        self.refresher = Refresher(self.state, self.client, clock=self.wall)
        self.store = Store([self.state], clock=self.wall)
        self.exposition = Exposition(self.store.current)
        self.store.subscribe(self.exposition.update)
        self.exposition.start()
        self._http = web.AppRunner(create_app(self.exposition, self.store.ready))
        await self._http.setup()
        await web.TCPSite(self._http, "127.0.0.1", 0).start()
        self.port = bound_port(self._http)

    async def stop(self) -> None:
        """Stop everything `start` started."""
        await self.client.aclose()
        await self.exposition.stop()
        await self._http.cleanup()
        await self._sim_runner.cleanup()

    def _credentials(self, base: str) -> Credentials:
        """The simulator's demo credentials of the kind asked for."""
        if self.oauth2:
            return OAuth2ClientCredentials(
                simulator.DEMO_CLIENT_ID,
                SecretStr(simulator.DEMO_CLIENT_SECRET),
                base + "/auth/oauth2/token",
            )
        return ApplicationKey(
            simulator.DEMO_APPLICATION_KEY,
            SecretStr(simulator.DEMO_APPLICATION_SECRET),
            SecretStr(simulator.DEMO_CONSUMER_KEY),
        )

    async def run(self, *jobs: str) -> None:
        """Run the named jobs (default: the core ones) in turn, as the scheduler would."""
        refreshes = self.refresher.jobs()
        for job in jobs or CORE_JOBS:
            await run_job(self.state, job, refreshes[job], self.store, clock=self.wall)

    async def scrape(self) -> Series:
        """Scrape the exporter's /metrics once the newest snapshot is rendered."""
        await self.exposition.flush()
        return await scrape(self.port)

    def sent(self, route: str) -> int:
        """How many requests for `route` reached the simulator."""
        log = self._sim_runner.app[simulator.REQUEST_LOG]
        return sum(1 for request in log if request.route == route)

    def log(self) -> list[simulator.RecordedRequest]:
        """Every request that reached the simulator so far."""
        return list(self._sim_runner.app[simulator.REQUEST_LOG])

    def requests(self, route: str, code: str) -> int:
        """ovh_exporter_api_requests_total for one route and code, as counted so far."""
        return self.state.api_requests.get((route, code), 0)

    def job_ok(self, job: str) -> bool:
        """Whether the job's last run succeeded."""
        return self.state.jobs[job].success


def vps_series(series: Series) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The ovh_vps_* samples: the values that must survive every fault."""
    return {key: value for key, value in series.items() if key[0].startswith("ovh_vps_")}


def of_vps(series: Mapping[tuple[str, frozenset[tuple[str, str]]], float], name: str) -> int:
    """How many samples name VPS `name`."""
    return sum(1 for _, labels in series if ("vps", name) in labels)


@asynccontextmanager
async def fault_rig(
    fleet: simulator.Fleet | None = None,
    sim: simulator.SimulatorConfig | None = None,
    *,
    oauth2: bool = False,
    timeout: float = 5.0,
    max_body_bytes: int = 1024 * 1024,
    max_attempts: int = 4,
    per_minute: float = 6000.0,
    burst: int = 1000,
    reread_after: float = 0.0,
) -> AsyncIterator[FaultRig]:
    """A started rig on the known fleet (or `fleet`), stopped on exit.

    By default every run reads every route (`reread_after` 0), since the faults
    under test are on the routes; tests of `exporter.revisions` give a max age.
    """
    rig = FaultRig(
        fleet or known_fleet(),
        sim or simulator.SimulatorConfig(),
        oauth2=oauth2,
        timeout=timeout,
        max_body_bytes=max_body_bytes,
        max_attempts=max_attempts,
        per_minute=per_minute,
        burst=burst,
        reread_after=reread_after,
    )
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()
