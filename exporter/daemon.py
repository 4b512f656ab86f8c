"""The exporter daemon: OVH client, refresh jobs, scheduler and HTTP server wired together."""

import asyncio
import os
import signal
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from exporter import __version__, rotation, selfcheck
from exporter.accounts import AccountConfig
from exporter.exposition import Exposition
from exporter.health import client_options
from exporter.http import create_app
from exporter.jobs import Refresher
from exporter.manager_jobs import account_refresher, describe_credentials
from exporter.ovh.auth import Credentials, ManagerSession
from exporter.ovh.client import OvhClient, RequestObserver
from exporter.revisions import Revisions
from exporter.scheduler import build_scheduler
from exporter.settings import Settings
from exporter.store import AccountState, Store
from exporter.webconfig import WebConfigError, load_web_config

log = structlog.stdlib.get_logger(__name__)


@dataclass
class Daemon:
    """A running exporter; `start` brings it up, `stop` takes it down in order."""

    settings: Settings
    store: Store = field(init=False)
    exposition: Exposition = field(init=False)
    clients: list[OvhClient] = field(default_factory=list)
    refreshers: list[Refresher] = field(default_factory=list)
    runner: web.AppRunner | None = None
    scheduler: AsyncIOScheduler | None = None
    in_flight: set["asyncio.Task[object]"] = field(default_factory=set)
    port: int = 0
    secrets: rotation.CredentialRotation = field(default_factory=rotation.CredentialRotation)

    async def start(self) -> None:
        """Build every component, listen, and schedule the first refresh of every job."""
        settings = self.settings
        accounts = settings.accounts()
        self.secrets = rotation.CredentialRotation(rotation.secret_files(settings, os.environ))
        self.store = Store([self._add_account(account) for account in accounts])
        self.exposition = Exposition(self.store.current)
        self.store.subscribe(self.exposition.update)
        self.exposition.start()

        path = settings.web_config_file
        web_config = load_web_config(path) if path is not None else None
        app = create_app(self.exposition, self.store.ready, web_config)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        listen = settings.listen
        tls = web_config.ssl_context if web_config is not None else None
        site = web.TCPSite(self.runner, listen.host or None, listen.port, ssl_context=tls)
        await site.start()
        self.port = _bound_port(self.runner, listen.port)

        self.scheduler = build_scheduler(self.refreshers, self.store, self.in_flight)
        self.scheduler.start()
        log.info(
            "exporter started",
            version=__version__,
            accounts=[account.name for account in accounts],
            listen=f"{listen.host or '*'}:{self.port}",
        )

    def _add_account(self, account: AccountConfig) -> AccountState:
        """Build one account's state, clients and jobs; nothing is sent to OVH yet."""
        settings = self.settings
        state = AccountState(
            name=account.name,
            intervals=account.intervals,
            stale_after=settings.stale_after,
            selects=account.selects,
            revisions=Revisions(max_age=settings.reread_after),
        )
        options = client_options(settings, state.name, state.health)

        def make_client(
            endpoint: str, secret: Credentials | ManagerSession, observer: RequestObserver
        ) -> OvhClient:
            """One client of the account; all of them share its budget, retries and guard."""
            return OvhClient(
                endpoint,
                secret,
                timeout=settings.request_timeout,
                max_concurrency=settings.max_concurrency,
                observer=observer,
                **options,
            )

        refresher, clients = account_refresher(
            state,
            make_client,
            api_url=account.base_url,
            credentials=account.credentials,
            session=account.session,
            manager_url=account.manager_url,
        )
        self.clients.extend(clients)
        self.refreshers.append(refresher)
        self.secrets.watch(state, account.credentials, account.session, clients)
        log.info(
            "account configured",
            account=account.name,
            endpoint=account.base_url,
            auth=describe_credentials(account.credentials, account.session),
            intervals=dict(account.intervals),
            include=list(account.include),
            exclude=list(account.exclude),
        )
        return state

    def reload_secrets(self) -> list[rotation.Reading]:
        """Read every secret given as a file again (SIGHUP) and swap in what changed."""
        readings = self.secrets.reload_all(rotation.ON_SIGNAL)
        if readings:  # Shows the reload counters now, not at the next job's end.
            self.store.publish()
        return readings

    async def stop(self) -> None:
        """Stop scheduling, let in-flight requests finish within a bound, then close."""
        if self.scheduler is not None:
            # Paused, not shut down yet: APScheduler's asyncio executor cancels running jobs
            # on shutdown, whatever `wait` says.
            self.scheduler.pause()
        if self.in_flight:
            log.info("waiting for running refresh jobs", jobs=len(self.in_flight))
            grace = self.settings.shutdown_grace
            _, pending = await asyncio.wait(self.in_flight, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning(
                    "refresh jobs cancelled: still running after the shutdown grace",
                    jobs=len(pending),
                    grace_seconds=grace,
                )
                await asyncio.wait(pending, timeout=1.0)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        for client in self.clients:
            await client.aclose()
        await self.exposition.stop()
        if self.runner is not None:
            await self.runner.cleanup()
        log.info("exporter stopped")


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    """The port actually bound (differs from the requested one when that was 0)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested


async def serve(settings: Settings) -> int:
    """Run the exporter until SIGTERM or SIGINT; returns the process exit code."""
    daemon = Daemon(settings)
    # Before the start is logged, so that a SIGUSR1 sent on seeing it finds the handler.
    selfcheck.install(asyncio.get_running_loop())
    # Before the start too: SIGHUP's default action would end the process.
    rotation.install(asyncio.get_running_loop(), daemon.reload_secrets)
    try:
        await daemon.start()
    except OSError as error:
        log.error("cannot listen", address=settings.web_listen_address, error=str(error))
        return 1
    except WebConfigError as error:  # The file changed since the settings checked it.
        log.error("invalid web config file", problems=error.problems)
        return 2

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping")
    await daemon.stop()
    return 0
