"""Dashboards and rules against a real Prometheus scraping the exporter on a simulated fleet."""

import asyncio
import datetime as dt
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from exporter.daemon import Daemon
from exporter.simulator import (
    DEMO_MANAGER_COOKIE,
    Fleet,
    SimManager,
    SimulatorConfig,
    generate_fleet,
    sim_task,
    sim_vps,
)
from exporter.simulator.details import default_ips, primary_disk_id, sim_disk, sim_ip
from exporter.simulator.faults import Fault
from exporter.simulator.fleet import ovh_datetime
from exporter.simulator.manager import APIV6_PREFIX
from tests.deploy_tools import DASHBOARDS, RULES_FILE, load_rules, metric_names
from tests.prometheus import running_prometheus
from tests.support import demo_settings, parse_exposition, running_daemon, running_simulator
from tests.test_dashboards import expressions, load

pytestmark = pytest.mark.prometheus

T = TypeVar("T")
ACCOUNT = "acme"
SHOWCASE = "vps-showcase.vps.ovh.net"
ODDITY = "vps-oddity.vps.ovh.net"
# After its first answer, OVH says the oddity's service expired (460) on its task list:
# the exporter keeps its task counts, marks their age, and sets ovh_vps_service_expired.
# With a manager session the exporter reads the API v1 through the manager's relay, so
# the fault sits on the relayed route as well as on the direct one.
EXPIRED_ROUTES = ("/vps/{serviceName}/tasks", APIV6_PREFIX + "/vps/{serviceName}/tasks")
RERUN_JOB = "tasks"


def showcase_fleet(now: dt.datetime) -> Fleet:
    """A generated fleet, plus one VPS with every case and one whose answers surprise.

    The showcase has two disks (the primary 90 % full), an additional IPv4, a
    snapshot, Veeam, a read-only FTP backup, an attached backup, a migration under
    way, secondary DNS, SLA monitoring, an engagement and, in the manager, a traffic
    quota and an activated option; dates are relative to `now`.
    """

    def ago(**delta: float) -> str:
        """The date-time `delta` before `now`, written the way OVH does."""
        return ovh_datetime(now - dt.timedelta(**delta))

    fleet = generate_fleet(size=30, seed=11, today=now.date())
    primary = primary_disk_id(SHOWCASE)
    showcase = sim_vps(
        SHOWCASE,
        engaged_up_to="2027-06-30",
        tasks=[
            sim_task(901, "reinstallVm", "error", ago(days=14)),
            sim_task(902, "upgradeVm", "doing", ago(hours=5)),
            sim_task(903, "migrate", "todo", ago(minutes=20)),
        ],
        restore_points={"available": [ago(days=2), ago(hours=9)]},
        sla_monitoring=True,
        disks=[
            sim_disk(primary, 40, disk_type="primary", used_mb=37_000.0),
            sim_disk(primary + 1, 100, used_mb=20_480.0),
        ],
        ips=[*default_ips(SHOWCASE, "fr"), sim_ip("198.51.100.7", geolocation="fr")],
        snapshot=ago(days=3),
        migration_status="inProgress",
        migration_date=ago(hours=2),
        secondary_dns_domains=["example.org"],
        attached_backups=[ago(hours=9)],
        veeam_restore_points=[ago(days=1, hours=2), ago(hours=2)],
        veeam_backup=True,
        backup_ftp_quota_gb=100,
        backup_ftp_usage_mb=104_000,
        backup_ftp_read_only_date=ago(days=1),
    )
    showcase.manager = SimManager(
        disk_used={"unit": "MB", "value": 37_000},
        traffic_used={"unit": "GB", "value": 512},
        traffic_total={"unit": "TB", "value": 2},
        options={"veeam": (True, True), "snapshot": (True, True), "additionalDisk": (True, True)},
        ipv4=2,
    )
    fleet.vps[SHOWCASE] = showcase
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
        """Start the loop's thread."""
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, awaitable: Awaitable[T], timeout: float = 60.0) -> T:
        """Await `awaitable` on the loop and return its result."""

        async def wrapper() -> T:
            """Await it inside the loop, which run_coroutine_threadsafe needs a coroutine for."""
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class Live:
    """What the tests read: Prometheus's URL and the names the exporter exposes."""

    def __init__(self, url: str, exposed: set[str]) -> None:
        """Keep the URL and the exposed names."""
        self.url = url
        self.exposed = exposed

    def query(self, expr: str) -> dict[str, Any]:
        """Run an instant query and return Prometheus's whole answer."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body: dict[str, Any] = response.json()
        return body


async def rerun(daemon: Daemon, job: str, timeout: float = 20.0) -> None:
    """Run one refresh job again now, as its next interval would, until a VPS's values lag."""
    assert daemon.scheduler is not None
    daemon.scheduler.modify_job(f"{ACCOUNT}:{job}", next_run_time=dt.datetime.now(dt.UTC))
    async with asyncio.timeout(timeout):
        while not any(account.health.lagging for account in daemon.store.current.accounts):
            await asyncio.sleep(0.05)
    await daemon.exposition.flush()


@asynccontextmanager
async def stack(tmp_path: Path) -> AsyncIterator[Live]:
    """Simulator, exporter (API keys and manager session) and Prometheus with the rules."""
    config = SimulatorConfig()
    for route in EXPIRED_ROUTES:
        config.faults.add(Fault("status", route=route, vps=ODDITY, status=460, after=1))
    async with running_simulator(showcase_fleet(dt.datetime.now(dt.UTC)), config) as endpoint:
        settings = demo_settings(
            endpoint,
            account=ACCOUNT,
            OVH_EXPORTER_MANAGER=endpoint.removesuffix("/1.0"),
            OVH_EXPORTER_MANAGER_COOKIE=DEMO_MANAGER_COOKIE,
        )
        async with (
            running_daemon(settings) as daemon,
            running_prometheus(
                tmp_path, [f"127.0.0.1:{daemon.port}"], rule_files=[RULES_FILE]
            ) as prometheus,
        ):
            await rerun(daemon, RERUN_JOB)
            text = daemon.exposition.current.text.decode()
            exposed = {name for name, _ in parse_exposition(text)}
            await prometheus.wait_for("ovh_vps_info")
            await prometheus.wait_for("ovh_exporter_vps_last_success_timestamp_seconds")
            # A few scrapes and rule evaluations, so that rate() and increase() have data.
            await asyncio.sleep(4)
            yield Live(prometheus.url, exposed)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One stack for the whole module, running in a background loop."""
    background = BackgroundLoop()
    context: AbstractAsyncContextManager[Live] = stack(tmp_path_factory.mktemp("live"))
    try:
        yield background.run(context.__aenter__())
    finally:
        background.run(context.__aexit__(None, None, None))
        background.close()


def dashboard_queries() -> list[tuple[str, str]]:
    """Every query of every dashboard, with the dashboard's name."""
    return [(path.stem, expr) for path in DASHBOARDS for expr in expressions(load(path))]


@pytest.mark.parametrize(("dashboard", "expr"), dashboard_queries())
def test_every_dashboard_query_returns_data(live: Live, dashboard: str, expr: str) -> None:
    """Each panel and variable query parses and finds data in the showcase fleet."""
    body = live.query(as_grafana_sends_it(expr))

    assert body["status"] == "success", body
    assert body["data"]["result"], f"{dashboard}: no data for {expr}"


@pytest.mark.parametrize("rule", load_rules(), ids=lambda rule: rule.get("alert") or rule["record"])
def test_every_rule_expression_runs_on_the_server(live: Live, rule: dict[str, Any]) -> None:
    """Each recording and alerting expression runs on the real server."""
    body = live.query(rule["expr"])

    assert body["status"] == "success", body


def test_prometheus_loaded_every_rule_and_evaluates_it_cleanly(live: Live) -> None:
    """Prometheus loaded as many rules as the file holds, and none failed to evaluate."""
    response = httpx.get(f"{live.url}/api/v1/rules", timeout=10).json()
    loaded = [rule for group in response["data"]["groups"] for rule in group["rules"]]

    assert len(loaded) == len(load_rules())
    assert [rule["name"] for rule in loaded if rule["health"] != "ok"] == []


def active_alerts(live: Live, name: str) -> set[tuple[str, ...]]:
    """The subjects (VPS and disk, or account and payment method) of an alert pending or firing."""
    result = live.query(f'ALERTS{{alertname="{name}"}}')["data"]["result"]
    return {
        tuple(
            sample["metric"][label]
            for label in ("account", "vps", "disk", "payment_method_id")
            if label in sample["metric"]
        )
        for sample in result
    }


def test_disk_ratio_is_recorded_per_disk_from_the_exporter(live: Live) -> None:
    """The recording rule gives each disk of the showcase its used share, not the manager's."""
    result = live.query(f'ovh_vps:disk_used_ratio{{vps="{SHOWCASE}"}}')["data"]["result"]

    ratios = {sample["metric"]["disk"]: float(sample["value"][1]) for sample in result}
    primary = primary_disk_id(SHOWCASE)
    assert ratios == {str(primary): 37_000 / 40_960, str(primary + 1): 20_480 / 102_400}


def test_new_alerts_single_out_the_fleet_cases(live: Live) -> None:
    """The new alerts pick the fleet's full disk, 460 and expiring card, and nothing else."""
    terminating = active_alerts(live, "OvhVpsDeleteAtExpiration")

    assert active_alerts(live, "OvhVpsDiskNearlyFull") == {
        (ACCOUNT, SHOWCASE, str(primary_disk_id(SHOWCASE)))
    }
    assert active_alerts(live, "OvhVpsServiceExpired") == {(ACCOUNT, ODDITY)}
    # The generated account's default card expires in 20 days; the others have no date.
    assert active_alerts(live, "OvhAccountPaymentMethodExpiringSoon") == {(ACCOUNT, "2001")}
    # Its one termination is at expiration, which OvhVpsDeleteAtExpiration reports alone.
    assert len(terminating) == 1
    assert active_alerts(live, "OvhVpsPendingTermination") == set()
    for healthy in (
        "OvhAccountNoUsablePaymentMethod",
        "OvhApiCredentialsRefused",
        "OvhApiAccessDenied",
        "OvhExporterManagerSessionInvalid",
    ):
        assert active_alerts(live, healthy) == set(), healthy


def test_dashboards_and_rules_name_only_exposed_metrics(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rules and dashboards read only exposed or recorded series; the unshown ones are printed."""
    recorded = {rule["record"] for rule in load_rules() if "record" in rule}
    used_by_dashboards = {name for _, expr in dashboard_queries() for name in metric_names(expr)}
    used_by_rules = {name for rule in load_rules() for name in metric_names(rule["expr"])}
    known = live.exposed | recorded | {"up"}

    with capsys.disabled():
        unshown = sorted(live.exposed - used_by_dashboards)
        print(f"\nexposed metrics no dashboard shows: {', '.join(unshown) or 'none'}")
    assert sorted((used_by_dashboards | used_by_rules) - known) == []
