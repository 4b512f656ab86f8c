"""Dashboards and rules against a real Prometheus scraping the exporter on a simulated fleet."""

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from exporter.simulator import Fleet, generate_fleet, sim_task, sim_vps
from tests.deploy_tools import DASHBOARDS, RULES_FILE, load_rules, metric_names
from tests.prometheus import running_prometheus
from tests.support import demo_settings, parse_exposition, running_daemon, running_simulator
from tests.test_dashboards import expressions, load

pytestmark = pytest.mark.prometheus

T = TypeVar("T")
ACCOUNT = "acme"
SHOWCASE = "vps-showcase.vps.ovh.net"
ODDITY = "vps-oddity.vps.ovh.net"


def showcase_fleet() -> Fleet:
    """A generated fleet, plus one VPS with every case and one whose answer surprises."""
    fleet = generate_fleet(size=30, seed=11)
    fleet.vps[SHOWCASE] = sim_vps(
        SHOWCASE,
        engaged_up_to="2027-06-30",
        tasks=[
            sim_task(901, "reinstallVm", "error", "2026-11-20T08:00:00+01:00"),
            sim_task(902, "upgradeVm", "doing", "2026-12-01T09:30:00+01:00"),
        ],
        restore_points={"available": ["2026-12-03T03:10:00+01:00"]},
    )
    fleet.vps[ODDITY] = sim_vps(ODDITY, state="hibernating")
    return fleet


def as_grafana_sends_it(expr: str) -> str:
    """The expression with the variables replaced as Grafana would, for the showcase VPS."""
    for variable, value in {
        "$account": ACCOUNT,
        "$vps": SHOWCASE,
        "$__rate_interval": "2m",
        "$__range": "1h",
    }.items():
        expr = expr.replace(variable, value)
    return expr


class BackgroundLoop:
    """An event loop in its own thread, so the exporter keeps answering between tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, awaitable: Awaitable[T], timeout: float = 60.0) -> T:
        async def wrapper() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class Live:
    """What the tests read: Prometheus's URL and the names the exporter exposes."""

    def __init__(self, url: str, exposed: set[str]) -> None:
        self.url = url
        self.exposed = exposed

    def query(self, expr: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body: dict[str, Any] = response.json()
        return body


@asynccontextmanager
async def stack(tmp_path: Path) -> AsyncIterator[Live]:
    async with (
        running_simulator(showcase_fleet()) as endpoint,
        running_daemon(demo_settings(endpoint, account=ACCOUNT)) as daemon,
        running_prometheus(
            tmp_path, [f"127.0.0.1:{daemon.port}"], rule_files=[RULES_FILE]
        ) as prometheus,
    ):
        text = daemon.exposition.current.text.decode()
        exposed = {name for name, _ in parse_exposition(text)}
        await prometheus.wait_for("ovh_vps_info")
        await prometheus.wait_for("ovh_exporter_refresh_success")
        # A few scrapes and rule evaluations, so that rate() and increase() have data.
        await asyncio.sleep(4)
        yield Live(prometheus.url, exposed)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    background = BackgroundLoop()
    context: AbstractAsyncContextManager[Live] = stack(tmp_path_factory.mktemp("live"))
    try:
        yield background.run(context.__aenter__())
    finally:
        background.run(context.__aexit__(None, None, None))
        background.close()


def dashboard_queries() -> list[tuple[str, str]]:
    return [(path.stem, expr) for path in DASHBOARDS for expr in expressions(load(path))]


@pytest.mark.parametrize(("dashboard", "expr"), dashboard_queries())
def test_every_dashboard_query_returns_data(live: Live, dashboard: str, expr: str) -> None:
    body = live.query(as_grafana_sends_it(expr))

    assert body["status"] == "success", body
    assert body["data"]["result"], f"{dashboard}: no data for {expr}"


@pytest.mark.parametrize("rule", load_rules(), ids=lambda rule: rule.get("alert") or rule["record"])
def test_every_rule_expression_runs_on_the_server(live: Live, rule: dict[str, Any]) -> None:
    body = live.query(rule["expr"])

    assert body["status"] == "success", body


def test_prometheus_loaded_every_rule_and_evaluates_it_cleanly(live: Live) -> None:
    response = httpx.get(f"{live.url}/api/v1/rules", timeout=10).json()
    loaded = [rule for group in response["data"]["groups"] for rule in group["rules"]]

    assert len(loaded) == len(load_rules())
    assert [rule["name"] for rule in loaded if rule["health"] != "ok"] == []


def test_dashboards_and_rules_name_only_exposed_metrics(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = {rule["record"] for rule in load_rules() if "record" in rule}
    used_by_dashboards = {name for _, expr in dashboard_queries() for name in metric_names(expr)}
    used_by_rules = {name for rule in load_rules() for name in metric_names(rule["expr"])}
    known = live.exposed | recorded | {"up"}

    with capsys.disabled():
        unshown = sorted(live.exposed - used_by_dashboards)
        print(f"\nexposed metrics no dashboard shows: {', '.join(unshown) or 'none'}")
    assert sorted((used_by_dashboards | used_by_rules) - known) == []
