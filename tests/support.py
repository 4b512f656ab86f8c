"""Helpers shared by the integration and end-to-end tests."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from exporter import simulator
from exporter.daemon import Daemon
from exporter.settings import Settings, load_settings

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def bound_port(runner: web.AppRunner) -> int:
    """The port a runner listening on port 0 was given."""
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise AssertionError("the runner is not listening")


@asynccontextmanager
async def running_simulator(
    fleet: simulator.Fleet, config: simulator.SimulatorConfig | None = None
) -> AsyncIterator[str]:
    """Serve a simulated account on a free loopback port; yields its API base URL."""
    runner = await simulator.serve(fleet, config or simulator.SimulatorConfig(), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}/1.0"
    finally:
        await runner.cleanup()


def demo_settings(endpoint: str, **overrides: object) -> Settings:
    """Settings for the exporter against the simulator's demo application key."""
    return load_settings(
        {
            "web_listen_address": "127.0.0.1:0",
            "OVH_ENDPOINT": endpoint,
            "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
            "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
            "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
            # The request budget has tests of its own (test_faults.py); here it must not pace
            # the refresh of a generated fleet to OVH's 60 requests a minute.
            "requests_per_minute": 60_000,
            "requests_burst": 10_000,
            **overrides,
        }
    )


@asynccontextmanager
async def running_daemon(settings: Settings, timeout: float = 20.0) -> AsyncIterator[Daemon]:
    """Start the exporter in this process and wait until every job has succeeded once."""
    daemon = Daemon(settings)
    await daemon.start()
    try:
        async with asyncio.timeout(timeout):
            while not daemon.store.ready():
                await asyncio.sleep(0.02)
            await daemon.exposition.flush()
        yield daemon
    finally:
        await daemon.stop()


async def scrape(port: int, accept: str = "text/plain") -> Series:
    """Scrape /metrics once and index every sample by name and labels."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept})
    response.raise_for_status()
    return parse_exposition(response.text)


def parse_exposition(text: str) -> Series:
    """Index the samples of a text exposition by name and label set."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def select(series: Series, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of one metric whose labels include `labels`."""
    wanted = set(labels.items())
    return {
        label_set: value
        for (sample_name, label_set), value in series.items()
        if sample_name == name and wanted <= label_set
    }


def value(series: Series, name: str, **labels: str) -> float:
    """The one sample of `name` with exactly these labels."""
    return series[(name, frozenset(labels.items()))]
