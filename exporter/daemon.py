"""The exporter daemon: OVH client, refresh jobs, scheduler and HTTP server wired together."""

import asyncio
import signal
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from exporter import __version__
from exporter.exposition import Exposition
from exporter.http import create_app
from exporter.jobs import Refresher
from exporter.ovh.auth import OAuth2ClientCredentials
from exporter.ovh.client import OvhClient
from exporter.scheduler import build_scheduler
from exporter.settings import Settings
from exporter.store import AccountState, Store

log = structlog.stdlib.get_logger(__name__)

# How long in-flight OVH requests may take to finish once a stop is asked for.
SHUTDOWN_GRACE_SECONDS = 10.0


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

    async def start(self) -> None:
        """Build every component, listen, and schedule the first refresh of every job."""
        settings = self.settings
        credentials = settings.credentials()
        state = AccountState(
            name=settings.account,
            intervals=settings.intervals(),
            stale_after=settings.stale_after,
        )
        client = OvhClient(
            settings.base_url,
            credentials,
            timeout=settings.request_timeout,
            max_concurrency=settings.max_concurrency,
            observer=state.count_request,
        )
        self.clients.append(client)
        self.refreshers.append(Refresher(state, client))

        self.store = Store([state])
        self.exposition = Exposition(self.store.current)
        self.store.subscribe(self.exposition.update)
        self.exposition.start()

        self.runner = web.AppRunner(create_app(self.exposition, self.store.ready), access_log=None)
        await self.runner.setup()
        listen = settings.listen
        site = web.TCPSite(self.runner, listen.host or None, listen.port)
        await site.start()
        self.port = _bound_port(self.runner, listen.port)

        self.scheduler = build_scheduler(self.refreshers, self.store, self.in_flight)
        self.scheduler.start()
        log.info(
            "exporter started",
            version=__version__,
            account=settings.account,
            endpoint=settings.base_url,
            auth="oauth2"
            if isinstance(credentials, OAuth2ClientCredentials)
            else "application key",
            listen=f"{listen.host or '*'}:{self.port}",
            intervals=settings.intervals(),
        )

    async def stop(self) -> None:
        """Stop scheduling, let in-flight requests finish within a bound, then close."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.in_flight:
            _, pending = await asyncio.wait(self.in_flight, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                task.cancel()
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
    try:
        await daemon.start()
    except OSError as error:
        log.error("cannot listen", address=settings.web_listen_address, error=str(error))
        return 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping")
    await daemon.stop()
    return 0
