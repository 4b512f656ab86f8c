"""The refresh jobs of an account reached through the OVHcloud manager with a session.

With a manager session, the API v1 jobs go through the manager (`/engine/apiv6`)
and the `manager` job reads the 2API (`/engine/2api`). When the manager refuses
the session, the refusal is logged once, `ovh_exporter_manager_session_valid`
drops to 0, and the v1 jobs move to the account's API key if it has one, for
good; without one, every job of the account fails until the session works again,
which each run checks with one request.
"""

import asyncio
import time
from asyncio import FIRST_COMPLETED
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from exporter.jobs import ROUTE_VPS_LIST, Refresher, RunReport
from exporter.manager import (
    read_capabilities,
    read_info,
    read_tabsummary,
    read_tasks,
)
from exporter.model import ParseProblem
from exporter.ovh.auth import Credentials, ManagerSession, OAuth2ClientCredentials
from exporter.ovh.client import OvhClient, RequestObserver
from exporter.ovh.errors import ManagerSessionError, OvhError
from exporter.ovh.managers import APIV6_PATH, TWOAPI_PATH
from exporter.store import AccountState

T = TypeVar("T")

Job = Callable[[], Awaitable[RunReport]]
ClientFactory = Callable[[str, Credentials | ManagerSession, RequestObserver], OvhClient]

MANAGER_JOB = "manager"

log = structlog.stdlib.get_logger(__name__)


def _session_error(report: RunReport) -> ManagerSessionError | None:
    """The first refusal of the manager session among a run's failures, if any."""
    for error in report.examples.values():
        if isinstance(error, ManagerSessionError):
            return error
    return None


class ManagerRefresher(Refresher):
    """The jobs of an account with a manager session: the v1 jobs, guarded, and the 2API job."""

    def __init__(
        self,
        state: AccountState,
        client: OvhClient,
        manager_client: OvhClient,
        *,
        keyed_client: OvhClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Run the v1 jobs with `client` (through the manager) until its session dies."""
        super().__init__(state, client, clock)
        self.session_client = client
        self.manager_client = manager_client
        self.keyed_client = keyed_client
        self._refusal: ManagerSessionError | None = None
        # Set while the session is dead and no key can list the VPS in its place.
        self._unlistable = asyncio.Event()

    def jobs(self) -> dict[str, Job]:
        """Each v1 job guarded against a dead session, then the manager job."""
        jobs = {name: self._guarded(name, run) for name, run in super().jobs().items()}
        jobs[MANAGER_JOB] = self.refresh_manager
        return jobs

    def answered(self, code: str) -> None:
        """Learn from one exchange with the manager: any success shows the session works."""
        if code.startswith("2") and self.state.manager.session_valid is None:
            self.state.manager.session_valid = True

    def _guarded(self, job: str, run: Job) -> Job:
        """Wrap a v1 job: a dead session moves it to the API key and runs it again at once."""

        async def guarded() -> RunReport:
            """Run the job, or fail it without a request while the session is known dead."""
            if self.client is self.session_client:
                refusal = await self._still_dead()
                if refusal is not None:
                    return _failed(self.state.name, job, refusal)
            report = await run()
            refusal = _session_error(report)
            if refusal is not None:
                self._session_lost(refusal)
                if self.keyed_client is not None:
                    self.client = self.keyed_client
                    return await run()
            return self._blamed(job, report)

        return guarded

    async def refresh_manager(self) -> RunReport:
        """Read each VPS's 2API views; each route that fails keeps its own last good values."""
        report = RunReport(self.state.name, MANAGER_JOB)
        refusal = await self._still_dead()
        if refusal is not None:
            report.fail(None, refusal)
            return report

        problems: list[ParseProblem] = []
        state = self.state.manager

        async def fetch(name: str) -> None:
            """Read the info first (it names the model), then the other routes together."""
            info = await read_info(self.manager_client, name, problems)
            now = self._clock()
            state.info[name] = (info, now)
            vps = self.state.vps.get(name)
            model = vps.value.model if vps is not None and vps.value.model else info.model

            async def capabilities_of() -> frozenset[str] | _Absent:
                """The model's capabilities, or the mark of a model the 2API has none for."""
                found = await read_capabilities(self.manager_client, name, model, problems)
                return _ABSENT if found is None else found

            summary, tasks, capabilities = await asyncio.gather(
                _attempt(report, name, read_tabsummary(self.manager_client, name, problems)),
                _attempt(report, name, read_tasks(self.manager_client, name, problems)),
                _attempt(report, name, capabilities_of()),
            )
            now = self._clock()
            _keep(state.summary, name, summary, now)
            _keep(state.tasks, name, tasks, now)
            if isinstance(capabilities, _Absent):
                state.capabilities.pop(name, None)
            else:
                _keep(state.capabilities, name, capabilities, now)

        await self._each_vps(MANAGER_JOB, fetch, report)
        refusal = _session_error(report)
        if refusal is not None:
            self._session_lost(refusal)
        self._record(problems)
        return self._blamed(MANAGER_JOB, report)

    async def _wait_for_listing(self, job: str) -> bool:
        """Wait for the first VPS listing, unless the session died and no key can list instead."""
        if self._listed.is_set():
            return True
        listing = asyncio.ensure_future(super()._wait_for_listing(job))
        unlistable = asyncio.ensure_future(self._unlistable.wait())
        done, pending = await asyncio.wait({listing, unlistable}, return_when=FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        return listing in done and listing.result()

    def _blamed(self, job: str, report: RunReport) -> RunReport:
        """While the session is dead, a failed run of a job that needs it fails for that reason."""
        needs_session = job == MANAGER_JOB or self.client is self.session_client
        dead = self.state.manager.session_valid is False
        if report.ok or not needs_session or not dead or self._refusal is None:
            return report
        return _failed(self.state.name, job, self._refusal)

    async def _still_dead(self) -> ManagerSessionError | None:
        """While the session is known dead, ask the manager once whether it works again."""
        if self.state.manager.session_valid is not False:
            return None
        try:
            await self.session_client.get(ROUTE_VPS_LIST)
        except ManagerSessionError as refusal:
            return refusal
        except OvhError:
            # Not a verdict on the session: let the run meet the fault and report it.
            return None
        self._unlistable.clear()
        if self.state.manager.session_valid is False:  # Another job's check may have said so.
            self.state.manager.session_valid = True
            log.warning("the manager accepts the session again", account=self.state.name)
        return None

    def _session_lost(self, refusal: ManagerSessionError) -> None:
        """Mark the session dead and say so, once, with what the exporter does about it."""
        self._refusal = refusal
        if self.keyed_client is None:
            self._unlistable.set()
        if self.state.manager.session_valid is False:
            return
        self.state.manager.session_valid = False
        if self.keyed_client is not None:
            consequence = "the API v1 jobs continue with the API key; the manager job fails"
        else:
            consequence = "every job of the account fails"
        log.error(
            "the manager refuses the session: log in to the manager again and give the exporter "
            "the new cookies (OVH_EXPORTER_MANAGER_COOKIE)",
            account=self.state.name,
            consequence=consequence,
            route=refusal.route,
            status=refusal.status,
            message=refusal.message,
            query_id=refusal.query_id,
        )


class _Absent:
    """Marks a route that answered 404 for an optional resource."""


_ABSENT = _Absent()


async def _attempt(report: RunReport, name: str, read: Awaitable[T]) -> T | None:
    """Await one route's read; a failure goes to the run's report and gives None."""
    try:
        return await read
    except OvhError as error:
        report.fail(name, error)
        return None


def _keep(table: dict[str, tuple[T, float]], name: str, value: T | None, now: float) -> None:
    """Save a fresh value, leaving the last good one in place when the read failed."""
    if value is not None:
        table[name] = (value, now)


def _failed(account: str, job: str, error: OvhError) -> RunReport:
    """A run of `job` whose one failure, for the whole account, is `error`."""
    report = RunReport(account, job)
    report.fail(None, error)
    return report


def account_refresher(
    state: AccountState,
    make_client: ClientFactory,
    *,
    api_url: str,
    credentials: Credentials | None,
    session: ManagerSession | None,
    manager_url: str | None,
) -> tuple[Refresher, list[OvhClient]]:
    """The refresher of one account and every client it holds, for its kinds of credentials.

    With API credentials only, the v1 jobs use them. With a manager session, the
    v1 jobs go through the manager and the manager job reads the 2API; API
    credentials, when also given, take over the v1 jobs if the session dies.
    """
    keyed = None if credentials is None else make_client(api_url, credentials, state.count_request)
    if session is None or manager_url is None:
        if keyed is None:
            raise ValueError("an account needs API credentials or a manager session")
        return Refresher(state, keyed), [keyed]

    refresher: ManagerRefresher | None = None

    def observe(route: str, code: str) -> None:
        """Count the exchange, and let the refresher learn the session works."""
        state.count_request(route, code)
        if refresher is not None:
            refresher.answered(code)

    apiv6 = make_client(manager_url + APIV6_PATH, session, observe)
    twoapi = make_client(manager_url + TWOAPI_PATH, session, observe)
    refresher = ManagerRefresher(state, apiv6, twoapi, keyed_client=keyed)
    clients = [apiv6, twoapi] if keyed is None else [apiv6, twoapi, keyed]
    return refresher, clients


def describe_credentials(credentials: Credentials | None, session: ManagerSession | None) -> str:
    """Name the kinds of credentials an account uses, for the start-up log line."""
    kinds = []
    if session is not None:
        kinds.append("manager session")
    if isinstance(credentials, OAuth2ClientCredentials):
        kinds.append("oauth2")
    elif credentials is not None:
        kinds.append("application key")
    return " + ".join(kinds)
