"""The exporter through the simulated manager: 2API metrics, the same v1 metrics, dead sessions."""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from exporter import simulator
from exporter.daemon import Daemon
from exporter.manager import (
    CAPABILITIES,
    ROUTE_CAPABILITIES,
    ROUTE_INFO,
    ROUTE_TABSUMMARY,
    ROUTE_TASKS_ERROR,
    ROUTE_TASKS_UNCOMPLETED,
)
from exporter.manager_jobs import account_refresher
from exporter.scheduler import run_job
from exporter.settings import Settings, load_settings
from exporter.simulator import (
    DEMO_MANAGER_COOKIE,
    DEMO_MANAGER_SESSION,
    REQUEST_LOG,
    Fleet,
    RecordedRequest,
    SimManager,
    SimulatorConfig,
    sim_task,
)
from exporter.simulator.config import DEMO_MANAGER_USERID
from exporter.store import AccountState
from tests.fleets import ALPHA, BRAVO, CHARLIE, known_fleet
from tests.support import Series, bound_port, running_daemon, scrape, select
from tests.support import value as sample

GIB = 1024**3
TIB = 1024**4
ACCOUNT = "mgr"
DEAD_SESSION_EVENT = (
    "the manager refuses the session: log in to the manager again and give the exporter the new "
    "cookies (OVH_EXPORTER_MANAGER_COOKIE)"
)
# No OVH budget in these tests: they count requests, they do not pace them.
FAST = {"requests_per_minute": 100_000.0, "requests_burst": 100_000}

MANAGER_FAMILIES = {
    "ovh_vps_manager_info",
    "ovh_vps_manager_disk_used_bytes",
    "ovh_vps_manager_disk_size_bytes",
    "ovh_vps_traffic_used_bytes",
    "ovh_vps_traffic_quota_bytes",
    "ovh_vps_should_reengage",
    "ovh_vps_option_available",
    "ovh_vps_option_activated",
    "ovh_vps_manager_ips",
    "ovh_vps_manager_ips_max",
    "ovh_vps_can_get_more_ipv4",
    "ovh_vps_manager_tasks",
    "ovh_vps_upgrade_in_progress",
    "ovh_vps_migration_in_progress",
    "ovh_vps_capability",
}


def manager_fleet() -> Fleet:
    """The known fleet, with 2API answers that hold every case of the manager's metrics.

    ALPHA has usage in GB and TB, an activated veeam, three IPv4 and an offerType
    the 2API spells CLOUD; BRAVO has its disk in the French "Go", its traffic in a
    unit that is not one of bytes, every IPv4 it may have and no capabilities (404);
    CHARLIE has null usage, no IPv6, a migration under way, a zoneType in capitals,
    an unknown version, an option and a capability the exporter does not know, and
    one known capability in capitals.
    """
    fleet = known_fleet()
    fleet.vps[ALPHA].manager = SimManager(
        disk_used={"unit": "GB", "value": 12.5},
        traffic_used={"unit": "TB", "value": 1.5},
        traffic_total={"unit": "TB", "value": 10},
        options={"veeam": (True, True), "snapshot": (True, False), "windows": (False, False)},
        ipv4=3,
        should_reengage=True,
        info={"offerType": "CLOUD"},
    )
    fleet.vps[BRAVO].manager = SimManager(
        disk_used={"unit": "Go", "value": 5},
        traffic_used={"unit": "Mbps", "value": 3},
        ipv4=17,
        should_reengage=None,
        capabilities=None,
    )
    fleet.vps[CHARLIE].tasks.append(sim_task(22, "migrate", "doing"))
    fleet.vps[CHARLIE].manager = SimManager(
        disk_used=None,
        traffic_used=None,
        ipv6=0,
        capabilities=["AUTORENEW", "gpu", "veeam"],
        info={"zoneType": "REGION", "version": "beta"},
        tabsummary={"cpanel": {"optionAvailable": False, "optionActivated": False}},
    )
    return fleet


@asynccontextmanager
async def manager_simulator(
    fleet: Fleet, config: SimulatorConfig
) -> AsyncIterator[tuple[str, list[RecordedRequest]]]:
    """Serve the simulated account on a free loopback port; yields its base URL and request log."""
    runner = await simulator.serve(fleet, config, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}", runner.app[REQUEST_LOG]
    finally:
        await runner.cleanup()


def manager_settings(base: str, *, keys: bool = False, **overrides: object) -> Settings:
    """Settings for an account reached through the simulated manager, with API keys if asked."""
    values: dict[str, object] = {
        "web_listen_address": "127.0.0.1:0",
        "account": ACCOUNT,
        "OVH_EXPORTER_MANAGER": base,
        "OVH_EXPORTER_MANAGER_COOKIE": DEMO_MANAGER_COOKIE,
        **FAST,
        **overrides,
    }
    if keys:
        values |= {
            "OVH_ENDPOINT": base + "/1.0",
            "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
            "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
            "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
        }
    return load_settings(values)


def of(series: Series, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric by their labels other than account, sorted."""
    return {
        tuple(sorted((k, v) for k, v in labels if k != "account")): value
        for labels, value in select(series, name, account=ACCOUNT).items()
    }


def per_vps(series: Series, name: str) -> dict[str, float]:
    """The samples of a metric whose only labels are account and vps, by VPS."""
    return {dict(labels)["vps"]: value for labels, value in of(series, name).items()}


def by(series: Series, name: str, label: str) -> dict[tuple[str, str], float]:
    """The samples of a metric with one label besides account and vps, by (vps, label)."""
    return {
        (dict(labels)["vps"], dict(labels)[label]): value
        for labels, value in of(series, name).items()
    }


async def run_every_job(daemon: Daemon) -> None:
    """Run each job of the account once, all at the same time as at start-up, and publish."""
    refresher = daemon.refreshers[0]
    await asyncio.gather(
        *(
            run_job(refresher.state, job, refresh, daemon.store)
            for job, refresh in refresher.jobs().items()
        )
    )
    await daemon.exposition.flush()


def texts(events: Iterable[dict[str, Any]]) -> str:
    """Every captured log event as one text, to search for secrets."""
    return "\n".join(repr(event) for event in events)


def loud_events(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The warnings and errors logged, but for the fleet's deliberate surprises."""
    return [
        event
        for event in events
        if event["log_level"] in ("warning", "error") and event["event"] != "unexpected OVH answer"
    ]


def assert_no_session_secret(text: str) -> None:
    """The session's cookies appear nowhere in `text`."""
    assert DEMO_MANAGER_SESSION not in text
    assert DEMO_MANAGER_USERID not in text
    assert DEMO_MANAGER_COOKIE not in text


@pytest.fixture
async def session_only(
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[tuple[Daemon, list[RecordedRequest], str]]:
    """The exporter on an account with a manager session and no API key, and its /metrics.

    Every log line, the libraries' debug lines included, is searched for the cookie.
    """
    for name in ("", "httpx", "httpcore", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with manager_simulator(manager_fleet(), SimulatorConfig()) as (base, requests):
        with capture_logs() as events:
            async with running_daemon(manager_settings(base)) as daemon:
                async with httpx.AsyncClient() as client:
                    text = (await client.get(f"http://127.0.0.1:{daemon.port}/metrics")).text
                yield daemon, requests, text
        assert_no_session_secret(texts(events))
    lines = "\n".join(
        f"{record.getMessage()} {record.__dict__}"
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
    )
    assert "HTTP Request: GET" in lines
    assert_no_session_secret(lines)


async def test_every_manager_metric_of_a_session_only_account(
    session_only: tuple[Daemon, list[RecordedRequest], str],
) -> None:
    daemon, _, _ = session_only
    series = await scrape(daemon.port)

    assert of(series, "ovh_vps_manager_info") == {
        (
            ("country", "fr"),
            ("datacentre", datacentre),
            ("distribution", "Debian 12"),
            ("model", model),
            ("offer_type", offer_type),
            ("version", version),
            ("vps", name),
            ("zone_type", zone_type),
        ): 1
        for name, model, version, offer_type, zone_type, datacentre in [
            (ALPHA, "vps-2025-model1", "_2025_V_1", "CLOUD", "region", "SBG"),
            (BRAVO, "vps-2025-model3", "_2025_V_1", "SSD", "region", "SBG"),
            (CHARLIE, "vps-2025-model1", "beta", "SSD", "REGION", "GRA"),
        ]
    }
    assert per_vps(series, "ovh_vps_manager_disk_used_bytes") == {
        ALPHA: 12.5 * GIB,
        BRAVO: 5 * GIB,
    }
    assert per_vps(series, "ovh_vps_manager_disk_size_bytes") == {
        ALPHA: 40 * GIB,
        BRAVO: 40 * GIB,
        CHARLIE: 40 * GIB,
    }
    assert per_vps(series, "ovh_vps_traffic_used_bytes") == {ALPHA: 1.5 * TIB}
    assert per_vps(series, "ovh_vps_traffic_quota_bytes") == {ALPHA: 10 * TIB}
    assert per_vps(series, "ovh_vps_should_reengage") == {ALPHA: 1, CHARLIE: 0}

    default_options = {
        "additionalDisk": (1, 0),
        "ftpBackup": (1, 0),
        "snapshot": (1, 0),
        "veeam": (1, 0),
        "windows": (0, 0),
        "windowsActivated": (0, 0),
    }
    options = {
        ALPHA: {"veeam": (1, 1), "snapshot": (1, 0), "windows": (0, 0)},
        BRAVO: default_options,
        CHARLIE: default_options | {"cpanel": (0, 0)},
    }
    for index, metric in enumerate(("ovh_vps_option_available", "ovh_vps_option_activated")):
        assert by(series, metric, "option") == {
            (name, option): flags[index]
            for name, by_option in options.items()
            for option, flags in by_option.items()
        }

    assert by(series, "ovh_vps_manager_ips", "version") == {
        (ALPHA, "v4"): 3,
        (ALPHA, "v6"): 1,
        (BRAVO, "v4"): 17,
        (BRAVO, "v6"): 1,
        (CHARLIE, "v4"): 1,
        (CHARLIE, "v6"): 0,
    }
    assert by(series, "ovh_vps_manager_ips_max", "version") == {
        (name, version): maximum
        for name in (ALPHA, BRAVO, CHARLIE)
        for version, maximum in (("v4", 17), ("v6", 1))
    }
    assert per_vps(series, "ovh_vps_can_get_more_ipv4") == {ALPHA: 1, BRAVO: 0, CHARLIE: 1}

    assert {
        (d["vps"], d["list"], d["type"]): value
        for labels, value in of(series, "ovh_vps_manager_tasks").items()
        for d in [dict(labels)]
    } == {
        (ALPHA, "uncompleted", "upgradeVm"): 1,
        (BRAVO, "uncompleted", "rebootVm"): 2,
        (BRAVO, "error", "rebootVm"): 1,
        (BRAVO, "error", "reinstallVm"): 1,
        (CHARLIE, "uncompleted", "migrate"): 1,
    }
    assert per_vps(series, "ovh_vps_upgrade_in_progress") == {ALPHA: 1, BRAVO: 0, CHARLIE: 0}
    assert per_vps(series, "ovh_vps_migration_in_progress") == {ALPHA: 0, BRAVO: 0, CHARLIE: 1}

    default_capabilities = set(simulator.SimManager().capabilities or ())
    charlie_known_absent = set(CAPABILITIES) - {"autorenew", "veeam"}
    assert by(series, "ovh_vps_capability", "capability") == {
        **{(ALPHA, name): float(name in default_capabilities) for name in CAPABILITIES},
        **{(CHARLIE, name): 0 for name in charlie_known_absent},
        (CHARLIE, "AUTORENEW"): 1,
        (CHARLIE, "gpu"): 1,
        (CHARLIE, "veeam"): 1,
    }

    assert sample(series, "ovh_exporter_manager_session_valid", account=ACCOUNT) == 1
    assert (
        sample(series, "ovh_exporter_refresh_success", account=ACCOUNT, refresh_job="manager") == 1
    )


async def test_surprises_are_counted_by_route(
    session_only: tuple[Daemon, list[RecordedRequest], str],
) -> None:
    daemon, _, _ = session_only
    series = await scrape(daemon.port)

    parse_errors = {
        dict(labels)["route"]: value
        for labels, value in of(series, "ovh_exporter_parse_errors_total").items()
    }
    # BRAVO's traffic unit and CHARLIE's version; CHARLIE's cpanel option; CHARLIE's gpu.
    # The 2API spellings (CLOUD, REGION, _2025_V_1, AUTORENEW, SSD) are no surprise.
    assert {
        route: count
        for route, count in parse_errors.items()
        if route.startswith(("/sws/", "/vps/capabilities/"))
    } == {ROUTE_INFO: 2, ROUTE_TABSUMMARY: 1, ROUTE_CAPABILITIES: 1}


async def test_every_request_goes_through_the_manager(
    session_only: tuple[Daemon, list[RecordedRequest], str],
) -> None:
    daemon, requests, _ = session_only
    series = await scrape(daemon.port)

    assert requests
    assert {request.auth for request in requests} == {"session"}
    assert all(request.path.startswith(("/engine/apiv6/", "/engine/2api/")) for request in requests)
    counts = {
        (dict(labels)["route"], dict(labels)["code"]): value
        for labels, value in of(series, "ovh_exporter_api_requests_total").items()
    }
    # Per VPS: info, tabsummary, the three uncompleted lists, the errors, the capabilities.
    assert {
        key: value for key, value in counts.items() if key[0].startswith(("/sws/", "/vps/c"))
    } == {
        (ROUTE_INFO, "200"): 3,
        (ROUTE_TABSUMMARY, "200"): 3,
        (ROUTE_TASKS_UNCOMPLETED, "200"): 9,
        (ROUTE_TASKS_ERROR, "200"): 3,
        (ROUTE_CAPABILITIES, "200"): 2,
        (ROUTE_CAPABILITIES, "404"): 1,
    }
    assert ("/auth/time", "200") not in counts
    capabilities = [r.path for r in requests if r.route == ROUTE_CAPABILITIES]
    assert sorted(capabilities) == [
        f"/engine/2api/vps/capabilities/{ALPHA}?modelName=vps-2025-model1",
        f"/engine/2api/vps/capabilities/{BRAVO}?modelName=vps-2025-model3",
        f"/engine/2api/vps/capabilities/{CHARLIE}?modelName=vps-2025-model1",
    ]


async def test_the_cookie_is_not_in_metrics(
    session_only: tuple[Daemon, list[RecordedRequest], str],
) -> None:
    _, _, text = session_only

    assert "ovh_exporter_manager_session_valid" in text
    assert_no_session_secret(text)


async def test_the_v1_metrics_are_the_same_through_the_manager() -> None:
    fleet = manager_fleet()
    async with manager_simulator(fleet, SimulatorConfig()) as (base, _):
        keyed_settings = load_settings(
            {
                "web_listen_address": "127.0.0.1:0",
                "account": ACCOUNT,
                "OVH_ENDPOINT": base + "/1.0",
                "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
                "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
                "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
                **FAST,
            }
        )
        async with (
            running_daemon(keyed_settings) as keyed,
            running_daemon(manager_settings(base)) as managed,
        ):
            by_keys = await scrape(keyed.port)
            by_session = await scrape(managed.port)

    def vps_series(series: Series) -> Series:
        return {key: value for key, value in series.items() if key[0].startswith("ovh_vps_")}

    v1 = vps_series(by_keys)
    assert {name for name, _ in v1} >= {
        "ovh_vps_info",
        "ovh_vps_state",
        "ovh_vps_rescue_mode",
        "ovh_vps_locked",
        "ovh_vps_tasks",
        "ovh_vps_expiration_timestamp_seconds",
    }
    assert {name for name, _ in v1} & MANAGER_FAMILIES == set()
    through_manager = vps_series(by_session)
    assert {
        key: value for key, value in through_manager.items() if key[0] not in MANAGER_FAMILIES
    } == v1
    assert {name for name, _ in through_manager} - {name for name, _ in v1} == MANAGER_FAMILIES


async def test_a_dead_session_moves_the_v1_jobs_to_the_api_key() -> None:
    config = SimulatorConfig()
    async with manager_simulator(manager_fleet(), config) as (base, requests):
        with capture_logs() as events:
            async with running_daemon(manager_settings(base, keys=True)) as daemon:
                before = await scrape(daemon.port)
                first = len(requests)
                config.manager_sessions.clear()
                await run_every_job(daemon)
                await run_every_job(daemon)
                after = await scrape(daemon.port)

    # Until the session died, the API key was not used at all.
    assert not [r for r in requests[:first] if r.path.startswith("/1.0/")]
    assert "/1.0/vps" in {r.path for r in requests[first:]}
    assert sample(before, "ovh_exporter_manager_session_valid", account=ACCOUNT) == 1
    assert sample(after, "ovh_exporter_manager_session_valid", account=ACCOUNT) == 0

    jobs = daemon.refreshers[0].jobs()
    for job in jobs:
        labels = {"account": ACCOUNT, "refresh_job": job}
        want = 0 if job == "manager" else 1
        assert sample(after, "ovh_exporter_refresh_success", **labels) == want, job
        failures = sample(after, "ovh_exporter_refresh_failures_total", **labels)
        assert failures == (2 if job == "manager" else 0), job
    assert of(after, "ovh_vps_state") == of(before, "ovh_vps_state")
    assert of(after, "ovh_vps_tasks") == of(before, "ovh_vps_tasks")

    loud = loud_events(events)
    assert [event["event"] for event in loud] == [DEAD_SESSION_EVENT]
    assert loud[0]["consequence"] == (
        "the API v1 jobs continue with the API key; the manager job fails"
    )
    assert loud[0]["account"] == ACCOUNT
    assert_no_session_secret(texts(events))


async def test_a_dead_session_without_a_key_fails_the_jobs_and_keeps_serving() -> None:
    config = SimulatorConfig()
    async with manager_simulator(manager_fleet(), config) as (base, requests):
        with capture_logs() as events:
            async with running_daemon(manager_settings(base)) as daemon:
                refresher = daemon.refreshers[0]
                jobs = refresher.jobs()
                config.manager_sessions.clear()
                # The listing meets the dead session first: after it, no job trusts
                # its kept values (exporter.revisions) and each one calls OVH.
                await run_job(refresher.state, "vps", jobs["vps"], daemon.store)
                await run_every_job(daemon)
                sent = len(requests)
                await run_every_job(daemon)
                checks = requests[sent:]
                dead = await scrape(daemon.port)
                async with httpx.AsyncClient() as client:
                    health = await client.get(f"http://127.0.0.1:{daemon.port}/healthz")

                config.manager_sessions.add(DEMO_MANAGER_SESSION)
                await run_every_job(daemon)
                revived = await scrape(daemon.port)

    # While the session is dead, each job asks once whether it works again, and nothing more.
    assert [(r.path, r.auth) for r in checks] == [("/engine/apiv6/vps", "session")] * len(jobs)
    assert health.status_code == 200
    assert sample(dead, "ovh_exporter_manager_session_valid", account=ACCOUNT) == 0
    for job in jobs:
        labels = {"account": ACCOUNT, "refresh_job": job}
        assert sample(dead, "ovh_exporter_refresh_success", **labels) == 0, job
        runs = 3 if job == "vps" else 2
        assert sample(dead, "ovh_exporter_refresh_failures_total", **labels) == runs, job
        assert sample(revived, "ovh_exporter_refresh_success", **labels) == 1, job
    # The last good values stay until they are stale.
    assert per_vps(dead, "ovh_vps_manager_disk_size_bytes") == {
        ALPHA: 40 * GIB,
        BRAVO: 40 * GIB,
        CHARLIE: 40 * GIB,
    }
    assert sample(revived, "ovh_exporter_manager_session_valid", account=ACCOUNT) == 1

    loud = loud_events(events)
    assert [event["event"] for event in loud] == [
        DEAD_SESSION_EVENT,
        "the manager accepts the session again",
    ]
    assert loud[0]["consequence"] == "every job of the account fails"
    assert loud[0]["status"] == 403
    assert loud[0]["message"] == "This session is invalid"
    assert_no_session_secret(texts(events))


async def test_a_session_dead_at_start_is_reported_once() -> None:
    config = SimulatorConfig(manager_sessions=set())
    async with manager_simulator(manager_fleet(), config) as (base, _):
        with capture_logs() as events:
            daemon = Daemon(manager_settings(base))
            await daemon.start()
            try:
                await run_every_job(daemon)
                await run_every_job(daemon)
                series = await scrape(daemon.port)
            finally:
                await daemon.stop()

    assert sample(series, "ovh_exporter_manager_session_valid", account=ACCOUNT) == 0
    assert not daemon.store.ready()
    loud = [event["event"] for event in loud_events(events)]
    assert loud.count(DEAD_SESSION_EVENT) == 1


def test_an_account_needs_one_kind_of_credentials() -> None:
    state = AccountState("none", {"vps": 60.0}, stale_after=3)

    def unused(*args: object) -> Any:
        raise AssertionError("no client should be built")

    with pytest.raises(ValueError, match="API credentials or a manager session"):
        account_refresher(
            state, unused, api_url="", credentials=None, session=None, manager_url=None
        )


async def test_the_metrics_server_answers_while_the_manager_refuses() -> None:
    config = SimulatorConfig(manager_sessions=set())
    async with manager_simulator(manager_fleet(), config) as (base, _):
        daemon = Daemon(manager_settings(base))
        await daemon.start()
        try:
            await run_every_job(daemon)
            async with httpx.AsyncClient() as client:
                metrics = await client.get(f"http://127.0.0.1:{daemon.port}/metrics")
                ready = await client.get(f"http://127.0.0.1:{daemon.port}/readyz")
        finally:
            await daemon.stop()

    assert metrics.status_code == 200
    assert 'ovh_exporter_manager_session_valid{account="mgr"} 0.0' in metrics.text
    assert ready.status_code == 503
