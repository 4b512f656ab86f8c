"""Every fault of OVH's, injected by the simulator: the exporter stays up, says what happened,
keeps its good series, and recovers on its own once the fault ends."""

import asyncio
import datetime as dt
import random
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from exporter import metrics
from exporter.daemon import Daemon
from exporter.scheduler import run_job
from exporter.simulator import SimulatorConfig, generate_fleet
from exporter.simulator.faults import (
    Fault,
    Faults,
    expire_tokens,
    restore_credentials,
    revoke_credentials,
    skew_clock,
)
from tests.faultrig import ACCOUNT, INTERVAL, STALE_AFTER, FaultRig, fault_rig, of_vps, vps_series
from tests.fleets import ALPHA, BRAVO, CHARLIE, known_fleet
from tests.support import demo_settings, running_simulator, scrape, select
from tests.support import value as sample

VPS = "/vps/{serviceName}"
TASKS = "/vps/{serviceName}/tasks"
SERVICE_INFOS = "/vps/{serviceName}/serviceInfos"
BACKUP = "/vps/{serviceName}/automatedBackup"
TOKEN = "oauth2_token"

Logs = list[dict[str, Any]]


def warnings(logs: Logs) -> list[dict[str, Any]]:
    """The log entries at warning level or above."""
    return [entry for entry in logs if entry["log_level"] in ("warning", "error")]


def events(logs: Logs, event: str) -> list[dict[str, Any]]:
    """The log entries of one event."""
    return [entry for entry in logs if entry["event"] == event]


async def baseline(rig: FaultRig) -> dict[Any, float]:
    """Run every core job once without faults and return the VPS series it gave."""
    await rig.run()
    series = vps_series(await rig.scrape())
    for name in (ALPHA, BRAVO, CHARLIE):
        assert of_vps(series, name) > 0, name
    return series


# Slowness and broken connections: retried, nothing lost.


async def test_latency_past_the_timeout_is_a_timeout_retried_away() -> None:
    async with fault_rig(timeout=0.2) as rig:
        before = await baseline(rig)
        slow = rig.faults.add(Fault("latency", route=SERVICE_INFOS, vps=ALPHA, delay=0.4, times=1))

        with capture_logs() as logs:
            await rig.run("billing")
        series = await rig.scrape()

    assert slow.hits == 1
    assert rig.requests(SERVICE_INFOS, "timeout") == 1
    assert rig.requests(SERVICE_INFOS, "200") == 6
    assert rig.mono.slept == [0.5]
    assert vps_series(series) == before
    assert warnings(logs) == []


async def test_connection_resets_are_retried_away() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        reset = rig.faults.add(Fault("reset", route=TASKS, vps=BRAVO, times=2))

        with capture_logs() as logs:
            await rig.run("tasks")
        series = await rig.scrape()

    assert reset.hits == 2
    assert rig.requests(TASKS, "connection_error") == 2
    assert rig.sent(TASKS) == 3 + 3 + 2
    assert rig.job_ok("tasks")
    assert vps_series(series) == before
    assert warnings(logs) == []


async def test_a_truncated_body_is_a_connection_error_retried_away() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        cut = rig.faults.add(Fault("truncate", route="/vps", times=1))

        await rig.run("vps")
        series = await rig.scrape()

    assert cut.hits == 1
    assert (rig.requests("/vps", "connection_error"), rig.requests("/vps", "200")) == (1, 2)
    assert rig.job_ok("vps")
    assert vps_series(series) == before


async def test_a_body_slower_than_the_timeout_is_retried_away() -> None:
    async with fault_rig(timeout=0.2) as rig:
        before = await baseline(rig)
        slow = rig.faults.add(
            Fault("slow_body", route=SERVICE_INFOS, vps=CHARLIE, delay=0.4, times=1)
        )

        await rig.run("billing")
        series = await rig.scrape()

    assert slow.hits == 1
    assert rig.requests(SERVICE_INFOS, "timeout") == 1
    assert vps_series(series) == before


# Errors and throttling.


def hits_until(successes: int, rate: float, seed: int) -> int:
    """How many draws of a seeded source fall below `rate` before `successes` draws do not."""
    source = random.Random(seed)
    hits = passed = 0
    while passed < successes:
        if source.random() < rate:
            hits += 1
        else:
            passed += 1
    return hits


async def test_a_rate_of_server_errors_is_absorbed_by_retries() -> None:
    # Whatever order the three requests draw in, each failed one draws again: the number
    # of failures is the number of draws below the rate before three draws above it.
    sim = SimulatorConfig(faults=Faults(seed=7))
    async with fault_rig(sim=sim, max_attempts=10) as rig:
        before = await baseline(rig)
        flaky = rig.faults.add(Fault("status", route=TASKS, status=500, rate=0.5))

        await rig.run("tasks")
        series = await rig.scrape()

    assert flaky.hits == hits_until(3, 0.5, seed=7) == 5
    assert rig.requests(TASKS, "500") == 5
    assert rig.requests(TASKS, "200") == 6
    assert rig.job_ok("tasks")
    assert vps_series(series) == before


async def test_a_429_burst_waits_its_retry_after_and_pauses_the_account() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        burst = rig.faults.add(Fault("status", status=429, retry_after="2", times=3))

        with capture_logs() as logs:
            await rig.run("tasks")
        series = await rig.scrape()

    assert burst.hits == 3
    assert rig.requests(TASKS, "429") == 3
    assert rig.mono.slept == [2.0, 2.0, 2.0]
    # The retries then waited in the budget, which paused for the same two seconds.
    assert rig.budget.waited_seconds >= 2.0
    assert (
        sample(series, "ovh_exporter_api_budget_wait_seconds_total", account=ACCOUNT)
        == rig.budget.waited_seconds
    )
    assert [entry["attempt"] for entry in events(logs, "retrying")] == [1, 1, 1]
    assert warnings(logs) == []
    assert vps_series(series) == before


async def test_a_429_burst_without_retry_after_backs_off_exponentially() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        rig.faults.add(Fault("status", route="/vps", status=429, times=3))

        await rig.run("vps")
        series = await rig.scrape()

    assert rig.mono.slept == [0.5, 1.0, 2.0]
    assert rig.requests("/vps", "429") == 3
    assert rig.job_ok("vps")
    assert vps_series(series) == before


async def test_a_5xx_storm_keeps_every_series_then_recovers_when_it_ends() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        rig.faults.add(Fault("status", status=503))

        with capture_logs() as logs:
            await rig.run()
        during = await rig.scrape()

        rig.faults.clear()
        with capture_logs() as recovery:
            await rig.run()
        after = await rig.scrape()

    assert vps_series(during) == before
    # The end of the storm is said once per job, at info.
    recovered = [(e["job"], e["log_level"]) for e in events(recovery, "refresh recovered")]
    assert recovered == [(job, "info") for job in ("vps", "tasks", "backups", "billing")]
    assert warnings(recovery) == []
    for job in ("vps", "tasks", "backups", "billing"):
        labels = {"account": ACCOUNT, "refresh_job": job}
        assert sample(during, "ovh_exporter_refresh_success", **labels) == 0
        assert sample(after, "ovh_exporter_refresh_success", **labels) == 1
        assert sample(after, "ovh_exporter_refresh_failures_total", **labels) == 1
    assert rig.requests("/vps", "503") == 4
    assert rig.requests(TASKS, "503") == 3 * 4
    failed = [(entry["job"], entry["route"]) for entry in events(logs, "refresh failed")]
    assert ("vps", "/vps") in failed
    assert failed.count(("tasks", TASKS)) == 1
    tasks_failure = next(
        entry for entry in events(logs, "refresh failed") if entry["job"] == "tasks"
    )
    assert (tasks_failure["status"], tasks_failure["vps_count"]) == (503, 3)
    assert sample(during, "ovh_exporter_auth_ok", account=ACCOUNT) == 1
    assert vps_series(after) == before


async def test_a_long_storm_drops_values_once_stale_and_brings_them_back_after() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        rig.faults.add(Fault("status", status=500))

        rig.wall.advance(STALE_AFTER * INTERVAL)
        await rig.run()
        still = await rig.scrape()
        rig.wall.advance(1)
        await rig.run()
        stale = await rig.scrape()

        rig.faults.clear()
        await rig.run()
        back = await rig.scrape()

    assert vps_series(still) == before
    assert vps_series(stale) == {}
    assert select(stale, "ovh_exporter_refresh_success", refresh_job="vps") != {}
    assert vps_series(back) == before


# One VPS or one route failing leaves the others alone.


async def test_a_failing_vps_keeps_its_last_values_and_their_age_until_stale() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        first_read = rig.wall.now
        rig.faults.add(Fault("status", route=SERVICE_INFOS, vps=BRAVO, status=500))

        rig.wall.advance(INTERVAL)
        await rig.run()
        kept = await rig.scrape()

        rig.wall.advance(STALE_AFTER * INTERVAL - INTERVAL + 1)
        await rig.run()
        dropped = await rig.scrape()

        rig.faults.clear()
        await rig.run()
        back = await rig.scrape()

    age = "ovh_exporter_vps_last_success_timestamp_seconds"
    from_service_infos = {spec.name for spec in metrics.registered() if spec.route == SERVICE_INFOS}
    bravo_billing = {
        key for key in before if ("vps", BRAVO) in key[1] and key[0] in from_service_infos
    }
    assert len(bravo_billing) >= 5

    assert vps_series(kept) == before
    assert select(kept, age) == {
        frozenset({"account": ACCOUNT, "vps": BRAVO, "refresh_job": "billing"}.items()): first_read
    }
    assert sample(kept, "ovh_exporter_refresh_success", account=ACCOUNT, refresh_job="billing") == 0
    assert sample(kept, "ovh_exporter_refresh_success", account=ACCOUNT, refresh_job="tasks") == 1

    assert vps_series(dropped) == {k: v for k, v in before.items() if k not in bravo_billing}
    assert select(dropped, age) == {}

    assert select(back, age) == {}
    assert vps_series(back) == before


# Clocks, tokens and credentials.


async def test_a_clock_skew_injected_mid_run_costs_one_more_read_of_auth_time() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        # While it answers the VPS list, OVH's clock jumps 15 minutes ahead.
        jump = rig.faults.add(
            Fault("action", route="/vps", times=1, action=lambda: skew_clock(rig.sim, 900))
        )

        with capture_logs() as logs:
            await rig.run()
        series = await rig.scrape()

    assert jump.hits == 1
    # The three task lists, sent at once with the old delta, were refused together; one
    # fresh reading of /auth/time served all three retries and every request after them.
    assert rig.requests(TASKS, "400") == 3
    assert rig.requests("/auth/time", "200") == 2
    assert rig.requests(TASKS, "200") == 6
    assert all(rig.job_ok(job) for job in ("vps", "tasks", "backups", "billing"))
    assert warnings(logs) == []
    assert vps_series(series) == before


async def test_an_expired_token_is_renewed_once_not_in_a_loop() -> None:
    async with fault_rig(oauth2=True) as rig:
        before = await baseline(rig)
        assert rig.sent("/auth/oauth2/token") == 1
        expire_tokens(rig.sim)

        with capture_logs() as logs:
            await rig.run()
        series = await rig.scrape()

    assert rig.sent("/auth/oauth2/token") == 2
    assert rig.requests(TOKEN, "200") == 2
    # Every request in flight with the dead token was refused once, then sent again.
    assert rig.requests("/vps", "401") == 1
    assert all(rig.job_ok(job) for job in ("vps", "tasks", "backups", "billing"))
    assert sample(series, "ovh_exporter_auth_ok", account=ACCOUNT) == 1
    assert warnings(logs) == []
    assert vps_series(series) == before


async def test_a_revoked_client_is_reported_once_and_retried_with_a_growing_delay() -> None:
    async with fault_rig(oauth2=True) as rig:
        before = await baseline(rig)
        revoked = revoke_credentials(rig.sim)
        expire_tokens(rig.sim)

        with capture_logs() as logs:
            await rig.run()
            during = await rig.scrape()
            sent = sum(rig.state.api_requests.values())
            # Within the delay every job skips its run and nothing is sent.
            rig.mono.advance(59)
            await rig.run()
            held = sum(rig.state.api_requests.values())
            rig.mono.advance(1)
            await rig.run("vps")
            again = await rig.scrape()
            restore_credentials(rig.sim, revoked)
            rig.mono.advance(120)
            await rig.run()
        after = await rig.scrape()

    assert rig.sent("/auth/oauth2/token") == 4
    assert rig.requests(TOKEN, "401") == 2
    assert held == sent
    refusals = events(
        logs, "OVH refuses the credentials: no request is sent until the next attempt"
    )
    assert [entry["next_attempt_in_seconds"] for entry in refusals] == [60.0, 120.0]
    assert refusals[0]["route"] == TOKEN
    assert refusals[0]["error_code"] == "invalid_client"
    accepted = events(logs, "OVH accepts the credentials again")
    assert [entry["refusals"] for entry in accepted] == [2]
    assert warnings(logs) == [*refusals, *accepted]

    assert sample(during, "ovh_exporter_auth_ok", account=ACCOUNT) == 0
    assert sample(during, "ovh_exporter_auth_failures_total", account=ACCOUNT) == 1
    assert sample(again, "ovh_exporter_auth_failures_total", account=ACCOUNT) == 2
    assert sample(during, "ovh_exporter_refresh_success", account=ACCOUNT, refresh_job="tasks") == 0
    assert vps_series(during) == before
    assert sample(after, "ovh_exporter_auth_ok", account=ACCOUNT) == 1
    assert sample(after, "ovh_exporter_auth_failures_total", account=ACCOUNT) == 2
    assert all(rig.job_ok(job) for job in ("vps", "tasks", "backups", "billing"))
    assert vps_series(after) == before


async def test_a_revoked_consumer_key_holds_back_every_job_until_the_delay_ends() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        sent_before = rig.sent(TASKS)
        revoked = revoke_credentials(rig.sim)

        with capture_logs() as logs:
            await rig.run()
        during = await rig.scrape()
        restore_credentials(rig.sim, revoked)
        await rig.run()
        still_waiting = rig.state.jobs["vps"].success
        rig.mono.advance(60)
        await rig.run()
        after = await rig.scrape()

    # The listing was refused; the jobs after it sent nothing while the delay ran.
    assert rig.requests("/vps", "403") == 1
    assert rig.sent(TASKS) == sent_before + 3
    assert still_waiting is False
    (refusal,) = warnings(logs)
    assert (refusal["status"], refusal["error_code"]) == (403, "INVALID_CREDENTIAL")
    assert refusal["log_level"] == "error"
    assert sample(during, "ovh_exporter_auth_ok", account=ACCOUNT) == 0
    assert vps_series(during) == before
    assert sample(after, "ovh_exporter_auth_ok", account=ACCOUNT) == 1
    assert vps_series(after) == before


async def test_an_invalid_signature_that_survives_a_fresh_clock_is_a_refusal() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        rig.sim.application_secret = "another-secret"

        with capture_logs() as logs:
            await rig.run("vps")
        series = await rig.scrape()

    # Refused, the clock read again, refused again: then the guard holds requests back.
    assert rig.requests("/vps", "400") == 2
    assert rig.requests("/auth/time", "200") == 2
    (refusal,) = warnings(logs)
    assert refusal["error_code"] == "INVALID_SIGNATURE"
    assert sample(series, "ovh_exporter_auth_ok", account=ACCOUNT) == 0
    assert vps_series(series) == before


async def test_the_server_keeps_serving_self_metrics_while_credentials_are_refused() -> None:
    sim = SimulatorConfig(consumer_key="not-the-demo-key")
    async with fault_rig(sim=sim) as rig:
        await rig.run()
        series = await rig.scrape()

    assert vps_series(series) == {}
    assert sample(series, "ovh_exporter_auth_ok", account=ACCOUNT) == 0
    assert sample(series, "ovh_exporter_auth_failures_total", account=ACCOUNT) == 1
    assert sample(series, "ovh_exporter_refresh_success", account=ACCOUNT, refresh_job="vps") == 0
    assert select(series, "ovh_exporter_build_info") != {}


# Calls not granted, services expired.


async def test_a_call_not_granted_is_logged_once_with_its_rule_and_stops_nothing_else() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        rig.sim.denied_routes = frozenset({BACKUP})

        with capture_logs() as logs:
            await rig.run()
            await rig.run()
        series = await rig.scrape()

    (granted,) = warnings(logs)
    assert granted["access_rule"] == "GET /vps/*/automatedBackup"
    assert granted["route"] == BACKUP
    assert rig.requests(BACKUP, "403") == 2 * 3
    assert (
        sample(series, "ovh_exporter_api_requests_total", account=ACCOUNT, route=BACKUP, code="403")
        == 6
    )
    for job in ("vps", "tasks", "billing"):
        assert rig.job_ok(job), job
    assert not rig.job_ok("backups")
    assert vps_series(series) == before
    assert sample(series, "ovh_exporter_auth_ok", account=ACCOUNT) == 1


async def test_an_expired_service_is_a_state_not_a_failure() -> None:
    async with fault_rig() as rig:
        before = await baseline(rig)
        expired = rig.faults.add(Fault("status", route=TASKS, vps=BRAVO, status=460))

        with capture_logs() as logs:
            await rig.run("tasks")
        during = await rig.scrape()
        rig.faults.remove(expired)
        await rig.run("tasks")
        after = await rig.scrape()

    def flags(series: Any) -> dict[str, float]:
        return {
            dict(labels)["vps"]: value
            for labels, value in select(series, "ovh_vps_service_expired").items()
        }

    assert flags(before) == {ALPHA: 0, BRAVO: 0, CHARLIE: 0}
    assert flags(during) == {ALPHA: 0, BRAVO: 1, CHARLIE: 0}
    assert flags(after) == {ALPHA: 0, BRAVO: 0, CHARLIE: 0}
    assert rig.requests(TASKS, "460") == 1
    assert sample(during, "ovh_exporter_refresh_success", account=ACCOUNT, refresh_job="tasks") == 1
    assert warnings(logs) == []
    unchanged = {k: v for k, v in vps_series(during).items() if k[0] != "ovh_vps_service_expired"}
    assert unchanged == {k: v for k, v in before.items() if k[0] != "ovh_vps_service_expired"}


# Bad input: counted, logged, and the rest of the snapshot intact.

HUGE = b"[" + b'"padding",' * 10_000 + b'"end"]'
DEEP = b"[" * 20_000 + b"]" * 20_000


async def bad_answer_on_bravo(
    fault: Fault, max_attempts: int = 4
) -> tuple[FaultRig, dict[Any, float], dict[Any, float], Logs]:
    """Baseline, then one billing run with `fault` on BRAVO's serviceInfos."""
    async with fault_rig(max_body_bytes=64 * 1024, max_attempts=max_attempts) as rig:
        before = await baseline(rig)
        rig.faults.add(fault)
        rig.wall.advance(INTERVAL)
        with capture_logs() as logs:
            await rig.run("billing")
        series = await rig.scrape()
    return rig, before, series, logs


def assert_bravo_kept(rig: FaultRig, before: dict[Any, float], series: dict[Any, float]) -> None:
    """BRAVO's billing values are the last good ones, marked as such; the rest is intact."""
    assert vps_series(series) == before
    age = select(series, "ovh_exporter_vps_last_success_timestamp_seconds")
    assert age == {
        frozenset({"account": ACCOUNT, "vps": BRAVO, "refresh_job": "billing"}.items()): (
            rig.wall.now - INTERVAL
        )
    }
    assert rig.requests(SERVICE_INFOS, "200") == 3 + 2
    assert select(series, "ovh_exporter_parse_errors_total") == {}


async def test_malformed_json_fails_one_vps_without_retry() -> None:
    rig, before, series, logs = await bad_answer_on_bravo(
        Fault("malformed", route=SERVICE_INFOS, vps=BRAVO)
    )

    assert rig.requests(SERVICE_INFOS, "invalid_response") == 1
    (failure,) = events(logs, "refresh failed")
    assert failure["error"].startswith(
        f"GET {SERVICE_INFOS}: non-JSON answer (application/json): {{"
    )
    assert failure["vps_example"] == BRAVO
    assert_bravo_kept(rig, before, series)


async def test_an_html_error_page_from_a_proxy_is_retried_then_reported() -> None:
    rig, before, series, logs = await bad_answer_on_bravo(
        Fault("html", route=SERVICE_INFOS, vps=BRAVO, status=502)
    )

    assert rig.requests(SERVICE_INFOS, "502") == 4
    (failure,) = events(logs, "refresh failed")
    assert failure["status"] == 502
    assert (
        "non-JSON answer (text/html): <html> <head><title>502 Bad Gateway</title>"
        in (failure["error"])
    )
    assert_bravo_kept(rig, before, series)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"<html><body>Please log in</body></html>", "text/html", "non-JSON answer (text/html)"),
        (b"", "application/json", "non-JSON answer (application/json): "),
        (HUGE, "application/json", "the body is larger than 65536 bytes"),
        (DEEP, "application/json", "non-JSON answer (application/json): [[[["),
        (b'{"status": "ok", "expiration": "2027-', "application/json", "non-JSON answer"),
    ],
    ids=["html-200", "empty", "huge", "deep", "truncated-json"],
)
async def test_an_unusable_success_answer_fails_one_vps(
    body: bytes, content_type: str, reason: str
) -> None:
    rig, before, series, logs = await bad_answer_on_bravo(
        Fault("body", route=SERVICE_INFOS, vps=BRAVO, body=body, content_type=content_type)
    )

    assert rig.requests(SERVICE_INFOS, "invalid_response") == 1
    (failure,) = events(logs, "refresh failed")
    assert reason in failure["error"]
    assert_bravo_kept(rig, before, series)


async def test_wrong_types_and_unknown_values_are_counted_and_the_rest_is_kept() -> None:
    def corrupt(info: dict[str, Any]) -> dict[str, Any]:
        return {
            **info,
            "expiration": 20270115,
            "status": "suspended",
            "renew": {**info["renew"], "automatic": "yes"},
        }

    async with fault_rig() as rig:
        before = await baseline(rig)
        rig.faults.add(Fault("mutate", route=SERVICE_INFOS, vps=BRAVO, mutate=corrupt))
        with capture_logs() as logs:
            await rig.run("billing")
            await rig.run("billing")
        series = await rig.scrape()

    assert (
        sample(series, "ovh_exporter_parse_errors_total", account=ACCOUNT, route=SERVICE_INFOS) == 6
    )
    surprises = events(logs, "unexpected OVH answer")
    assert sorted(entry["field"] for entry in surprises) == [
        "expiration",
        "renew.automatic",
        "status",
    ]
    assert rig.job_ok("billing")

    gone = {
        ("ovh_vps_expiration_timestamp_seconds", BRAVO),
        ("ovh_vps_renew_automatic", BRAVO),
    }
    now = vps_series(series)
    for (name, labels), value in before.items():
        vps = dict(labels).get("vps")
        if (name, vps) in gone:
            assert (name, labels) not in now
        elif name == "ovh_vps_service_status" and vps == BRAVO:
            assert now[(name, labels)] == 0.0
        else:
            assert now[(name, labels)] == value, (name, vps)
    assert (
        sample(series, "ovh_vps_service_status", account=ACCOUNT, vps=BRAVO, status="suspended")
        == 1
    )
    assert sample(series, "ovh_vps_delete_at_expiration", account=ACCOUNT, vps=BRAVO) == 1


async def test_an_unknown_vps_state_gets_its_own_series() -> None:
    def hibernate(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**item, "state": "hibernating"} if item["name"] == BRAVO else item for item in items
        ]

    async with fault_rig() as rig:
        before = await baseline(rig)
        rig.faults.add(Fault("mutate", route="/vps", mutate=hibernate))
        await rig.run("vps")
        series = await rig.scrape()

    states = {
        dict(labels)["state"]: value
        for labels, value in select(series, "ovh_vps_state", vps=BRAVO).items()
    }
    assert states["hibernating"] == 1
    assert sum(states.values()) == 1
    assert sample(series, "ovh_exporter_parse_errors_total", account=ACCOUNT, route=VPS) == 1
    unchanged = {
        k: v for k, v in before.items() if not (k[0] == "ovh_vps_state" and ("vps", BRAVO) in k[1])
    }
    assert {k: v for k, v in vps_series(series).items() if k in unchanged} == unchanged


# The request budget, and the daemon as a whole.


async def test_a_large_fleet_slows_down_to_the_budget_instead_of_being_throttled() -> None:
    fleet = generate_fleet(25, seed=3, today=dt.date(2026, 12, 4))
    async with fault_rig(fleet, per_minute=60, burst=5) as rig:
        started = rig.budget_time.now
        await rig.run("vps", "billing")
        series = await rig.scrape()

    sent = sum(rig.state.api_requests.values())
    assert sent >= 25 + 2
    # Five went at once, then one a second: the budget's clock moved one second per request.
    assert rig.budget_time.now - started == pytest.approx(sent - 5, abs=1e-6)
    assert rig.budget_time.slept == [pytest.approx(1.0)] * len(rig.budget_time.slept)
    assert not [key for key in rig.state.api_requests if key[1] == "429"]
    waited = sample(series, "ovh_exporter_api_budget_wait_seconds_total", account=ACCOUNT)
    assert waited == rig.budget.waited_seconds
    assert waited >= sent - 5
    assert rig.job_ok("vps")
    assert rig.job_ok("billing")


async def wait_for_job(daemon: Daemon, job: str) -> None:
    """Wait until the scheduler has run `job` once."""
    async with asyncio.timeout(10):
        while job not in daemon.store.accounts[0].jobs:
            await asyncio.sleep(0.01)
        await daemon.exposition.flush()


async def test_the_daemon_builds_each_account_budget_and_retries_from_its_settings() -> None:
    async with running_simulator(known_fleet()) as endpoint:
        settings = demo_settings(
            endpoint,
            account="wired",
            requests_per_minute=6000,
            requests_burst=700,
            retry_max_attempts=2,
            retry_after_max=5,
        )
        daemon = Daemon(settings)
        await daemon.start()
        try:
            await wait_for_job(daemon, "vps")
            series = await scrape(daemon.port)
        finally:
            await daemon.stop()

    client = daemon.clients[0]
    health = daemon.store.accounts[0].health
    assert client.budget is health.budget
    assert client.budget is not None
    assert (client.budget.per_minute, client.budget.burst) == (6000, 700)
    assert (client.retry.max_attempts, client.retry.max_retry_after) == (2, 5)
    assert client.access is health.access
    assert client.access.account == "wired"
    assert sample(series, "ovh_exporter_auth_ok", account="wired") == 1
    assert sample(series, "ovh_exporter_api_budget_wait_seconds_total", account="wired") == 0


async def test_the_daemon_stays_up_through_a_storm_and_recovers_after_it() -> None:
    sim = SimulatorConfig()
    sim.faults.add(Fault("status", route=TASKS, status=503))
    async with running_simulator(known_fleet(), sim) as endpoint:
        daemon = Daemon(demo_settings(endpoint, account="stormy", retry_max_attempts=1))
        await daemon.start()
        try:
            await wait_for_job(daemon, "tasks")
            during = await scrape(daemon.port)
            async with httpx.AsyncClient() as http:
                health = await http.get(f"http://127.0.0.1:{daemon.port}/healthz")

            sim.faults.clear()
            state, refresher = daemon.store.accounts[0], daemon.refreshers[0]
            await run_job(state, "tasks", refresher.jobs()["tasks"], daemon.store)
            await daemon.exposition.flush()
            after = await scrape(daemon.port)
        finally:
            await daemon.stop()

    assert health.status_code == 200
    assert (
        sample(during, "ovh_exporter_refresh_success", account="stormy", refresh_job="tasks") == 0
    )
    assert sample(during, "ovh_exporter_refresh_success", account="stormy", refresh_job="vps") == 1
    assert (
        sample(during, "ovh_exporter_api_requests_total", account="stormy", route=TASKS, code="503")
        == 3
    )
    assert select(during, "ovh_vps_tasks") == {}
    assert sample(after, "ovh_exporter_refresh_success", account="stormy", refresh_job="tasks") == 1
    assert (
        sample(after, "ovh_vps_tasks", account="stormy", vps=BRAVO, state="todo", type="rebootVm")
        == 2
    )
