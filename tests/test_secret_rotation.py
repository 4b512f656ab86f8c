"""Secret files are read again on SIGHUP and after a refusal: a rotated key needs no restart.

Each test runs the exporter against the simulator with credentials from files,
makes the simulator accept another key (`revoke_credentials`), writes that key
to the file, and checks that the next refresh uses it without losing a series.
"""

import asyncio
import signal
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from benchmarks.soak import ExporterProcess
from exporter import logs, simulator
from exporter.daemon import Daemon
from exporter.ovh.access import AccessGuard, CredentialsRefusedError
from exporter.ovh.auth import ApplicationKey, ManagerSession, OAuth2ClientCredentials
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import OvhApiError
from exporter.rotation import Reading, SecretFile, read_secret
from exporter.scheduler import run_job
from exporter.settings import JOBS, Settings, load_settings
from exporter.simulator import SimulatorConfig
from exporter.simulator.config import DEMO_MANAGER_USERID
from exporter.simulator.faults import revoke_credentials
from tests.fakes import FakeTime
from tests.fleets import ALPHA, BRAVO, CHARLIE, known_fleet
from tests.support import (
    Series,
    bound_port,
    parse_exposition,
    running_daemon,
    running_simulator,
    scrape,
    select,
    value,
)
from tests.test_config_file import keyed_account, served, write_config
from tests.test_manager import manager_fleet

ACCOUNT = "rotating"
RELOADS = "ovh_exporter_credential_reloads_total"
RELOADED = "secret files read again"
UNREADABLE = "cannot read a secret file again: the account keeps the credentials in use"
# A budget no test waits for: only the credentials matter here.
BUDGET = {"requests_per_minute": 60_000, "requests_burst": 10_000}
# A leak is any 12 characters of a secret in a row.
WINDOW = 12

Logs = list[dict[str, Any]]


def events(logged: Logs, event: str) -> Logs:
    """The log entries of one event."""
    return [entry for entry in logged if entry["event"] == event]


def write_secrets(folder: Path, monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    """Write each credential to a file of `folder` and point `<NAME>_FILE` at it."""
    for name, secret in values.items():
        path = folder / name.lower()
        path.write_text(secret + "\n", encoding="utf-8")
        monkeypatch.setenv(f"{name}_FILE", str(path))


def keyed_settings(endpoint: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """One account whose application key, secret and consumer key are all files."""
    write_secrets(
        folder,
        monkeypatch,
        {
            "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
            "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
            "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
        },
    )
    return load_settings(
        {
            "web_listen_address": "127.0.0.1:0",
            "account": ACCOUNT,
            "OVH_ENDPOINT": endpoint,
            **BUDGET,
        }
    )


def rotate_consumer_key(sim: SimulatorConfig, folder: Path) -> str:
    """Make the simulator accept only a new consumer key, and write it where the exporter reads."""
    revoke_credentials(sim)
    (folder / "ovh_consumer_key").write_text(sim.consumer_key + "\n", encoding="utf-8")
    return sim.consumer_key


async def refresh_everything(daemon: Daemon) -> Series:
    """Run every job of every account once, as the scheduler would, and scrape the result."""
    for refresher in daemon.refreshers:
        for job, refresh in refresher.jobs().items():
            await run_job(refresher.state, job, refresh, daemon.store)
    await daemon.exposition.flush()
    return await scrape(daemon.port)


def vps_series(series: Series) -> Series:
    """The ovh_vps_* samples: the values no rotation may lose or change."""
    return {key: sample for key, sample in series.items() if key[0].startswith("ovh_vps_")}


def reloads(series: Series, account: str = ACCOUNT) -> dict[str, float]:
    """The reload counter of one account, by outcome."""
    return {
        dict(labels)["outcome"]: sample
        for labels, sample in select(series, RELOADS, account=account).items()
    }


def refused(series: Series, account: str = ACCOUNT) -> float:
    """Requests OVH refused with 401 or 403, whatever the route."""
    return sum(
        sample
        for labels, sample in select(
            series, "ovh_exporter_api_requests_total", account=account
        ).items()
        if dict(labels)["code"] in ("401", "403")
    )


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets of which `text` holds 12 characters in a row."""
    return [
        secret
        for secret in secrets
        if any(secret[i : i + WINDOW] in text for i in range(len(secret) - WINDOW + 1))
    ]


# SIGHUP, called in the process: the next refresh uses the new key, nothing is lost.


async def test_a_reload_swaps_in_the_rotated_key_and_the_next_refresh_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = SimulatorConfig()
    async with running_simulator(known_fleet(), sim) as endpoint:
        settings = keyed_settings(endpoint, tmp_path, monkeypatch)
        async with running_daemon(settings) as daemon:
            before = await scrape(daemon.port)
            client = daemon.clients[0]
            rotate_consumer_key(sim, tmp_path)

            with capture_logs() as logged:
                readings = daemon.reload_secrets()
            # Published by the reload itself, before any job runs.
            await daemon.exposition.flush()
            at_once = await scrape(daemon.port)
            after = await refresh_everything(daemon)
            state = daemon.store.accounts[0]

    assert readings == [Reading(ACCOUNT, "changed", ("OVH_CONSUMER_KEY_FILE",))]
    (line,) = events(logged, RELOADED)
    assert line["log_level"] == "info"
    assert line["trigger"] == "SIGHUP"
    assert line["changed"] == {ACCOUNT: ["OVH_CONSUMER_KEY_FILE"]}
    assert line["unchanged"] == []
    assert line["failed"] == {}
    assert "restart" in line["other_settings"]
    assert [entry for entry in logged if entry["log_level"] != "info"] == []

    assert isinstance(client.credentials, ApplicationKey)
    assert client.credentials.consumer_key.get_secret_value() == sim.consumer_key
    assert reloads(before) == {"changed": 0, "unchanged": 0, "failed": 0}
    assert reloads(at_once) == {"changed": 1, "unchanged": 0, "failed": 0}
    assert reloads(after) == {"changed": 1, "unchanged": 0, "failed": 0}
    # The simulator accepts nothing but the new key: every job succeeded with it.
    assert {job: status.success for job, status in state.jobs.items()} == dict.fromkeys(
        state.intervals, True
    )
    assert refused(after) == 0
    # OVH's clock was read once, at start: the new key kept the delta.
    assert state.api_requests[("/auth/time", "200")] == 1
    assert vps_series(after) == vps_series(before)
    assert set(before) <= set(after)


async def test_a_reload_of_unchanged_files_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_simulator(known_fleet()) as endpoint:
        settings = keyed_settings(endpoint, tmp_path, monkeypatch)
        async with running_daemon(settings) as daemon:
            credentials = daemon.clients[0].credentials
            with capture_logs() as logged:
                readings = daemon.reload_secrets()
                daemon.reload_secrets()
            await daemon.exposition.flush()
            series = await scrape(daemon.port)

    assert readings == [Reading(ACCOUNT, "unchanged")]
    assert [line["unchanged"] for line in events(logged, RELOADED)] == [[ACCOUNT], [ACCOUNT]]
    assert daemon.clients[0].credentials is credentials
    assert reloads(series) == {"changed": 0, "unchanged": 2, "failed": 0}


async def test_a_rotated_oauth2_secret_drops_the_cached_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = SimulatorConfig()
    async with running_simulator(known_fleet(), sim) as endpoint:
        write_secrets(tmp_path, monkeypatch, {"OVH_CLIENT_SECRET": simulator.DEMO_CLIENT_SECRET})
        settings = load_settings(
            {
                "web_listen_address": "127.0.0.1:0",
                "account": ACCOUNT,
                "OVH_ENDPOINT": endpoint,
                "OVH_CLIENT_ID": simulator.DEMO_CLIENT_ID,
                "oauth2_token_url": endpoint.removesuffix("/1.0") + "/auth/oauth2/token",
                **BUDGET,
            }
        )
        async with running_daemon(settings) as daemon:
            before = await scrape(daemon.port)
            state = daemon.store.accounts[0]
            tokens_before = state.api_requests[("oauth2_token", "200")]
            revoke_credentials(sim)
            (tmp_path / "ovh_client_secret").write_text(sim.client_secret, encoding="utf-8")

            readings = daemon.reload_secrets()
            after = await refresh_everything(daemon)

    assert readings == [Reading(ACCOUNT, "changed", ("OVH_CLIENT_SECRET_FILE",))]
    assert tokens_before == 1
    # The old token still worked, yet a new one was asked for with the new secret.
    assert state.api_requests[("oauth2_token", "200")] == 2
    assert ("oauth2_token", "401") not in state.api_requests
    assert all(status.success for status in state.jobs.values())
    assert vps_series(after) == vps_series(before)


async def test_a_rotated_manager_cookie_reaches_both_manager_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = SimulatorConfig()
    new_session = "rotatedSession" + "1" * 18
    new_cookie = f"SESSION={new_session}; USERID={DEMO_MANAGER_USERID}"
    async with served(manager_fleet(), sim) as base:
        write_secrets(
            tmp_path, monkeypatch, {"OVH_EXPORTER_MANAGER_COOKIE": simulator.DEMO_MANAGER_COOKIE}
        )
        settings = load_settings(
            {
                "web_listen_address": "127.0.0.1:0",
                "account": ACCOUNT,
                "OVH_EXPORTER_MANAGER": base,
                **BUDGET,
            }
        )
        async with running_daemon(settings) as daemon:
            before = await scrape(daemon.port)
            sim.manager_sessions.clear()
            sim.manager_sessions.add(new_session)
            (tmp_path / "ovh_exporter_manager_cookie").write_text(new_cookie, encoding="utf-8")

            readings = daemon.reload_secrets()
            after = await refresh_everything(daemon)
            state = daemon.store.accounts[0]

    assert readings == [Reading(ACCOUNT, "changed", ("OVH_EXPORTER_MANAGER_COOKIE_FILE",))]
    cookies = [
        client.credentials.cookie.get_secret_value()
        for client in daemon.clients
        if isinstance(client.credentials, ManagerSession)
    ]
    # The manager's API v1 relay and its 2API each send the new cookies.
    assert cookies == [new_cookie, new_cookie]
    assert "manager" in state.jobs
    assert all(status.success for status in state.jobs.values())
    assert value(after, "ovh_exporter_manager_session_valid", account=ACCOUNT) == 1
    assert vps_series(after) == vps_series(before)


# A refusal by OVH reads the files once before the next attempt, without SIGHUP.


async def test_a_refusal_reads_the_files_again_before_the_next_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = SimulatorConfig()
    async with running_simulator(known_fleet(), sim) as endpoint:
        settings = keyed_settings(endpoint, tmp_path, monkeypatch)
        async with running_daemon(settings) as daemon:
            before = await scrape(daemon.port)
            state, refresher = daemon.store.accounts[0], daemon.refreshers[0]
            guard = state.health.access
            assert guard is not None
            # The delay after a refusal, a minute by default, shortened so the test need not wait.
            guard.min_delay = guard.max_delay = 0.05
            rotate_consumer_key(sim, tmp_path)

            with capture_logs() as logged:
                await run_job(state, "vps", refresher.jobs()["vps"], daemon.store)
                refused_run = state.jobs["vps"].success
                lines_after_refusal = len(events(logged, RELOADED))
                await asyncio.sleep(0.1)
                after = await refresh_everything(daemon)

    assert refused_run is False
    assert lines_after_refusal == 0
    (line,) = events(logged, RELOADED)
    assert line["trigger"] == "credentials refused"
    assert line["changed"] == {ACCOUNT: ["OVH_CONSUMER_KEY_FILE"]}
    assert [entry["event"] for entry in logged if entry["log_level"] in ("warning", "error")] == [
        "OVH refuses the credentials: no request is sent until the next attempt",
        "OVH accepts the credentials again",
    ]
    assert state.api_requests[("/vps", "403")] == 1
    assert refused(after) == 1
    assert all(status.success for status in state.jobs.values())
    assert reloads(after) == {"changed": 1, "unchanged": 0, "failed": 0}
    assert vps_series(after) == vps_series(before)
    assert set(before) <= set(after)


def test_the_guard_calls_its_hook_once_per_refusal_when_the_delay_ends() -> None:
    clock = FakeTime()
    guard = AccessGuard("acct", min_delay=60, max_delay=300, clock=clock)
    calls: list[float] = []
    guard.before_retry = lambda: calls.append(clock())
    refusal = OvhApiError("/vps", 403, "INVALID_CREDENTIAL", "This credential does not exist", None)

    guard.check("/vps")
    guard.failed(refusal)
    clock.advance(30)
    with pytest.raises(CredentialsRefusedError):
        guard.check("/vps")
    clock.advance(30)
    guard.check("/vps")
    guard.check("/vps")
    assert calls == [clock()]

    # A second refusal earns a longer delay and one more reading; new credentials end it at once.
    guard.failed(refusal)
    guard.retry_now()
    guard.check("/vps")
    assert calls == [clock()]
    guard.succeeded()
    assert guard.ok


# A file that cannot be read keeps the credentials in use, and says which setting.


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [
        (lambda path: path.write_text("  \n", encoding="utf-8"), "the file it names is empty"),
        (lambda path: path.unlink(), "cannot read the file it names: No such file or directory"),
        (lambda path: path.write_bytes(b"\xff\xfe\x00"), "the file it names is not UTF-8 text"),
    ],
    ids=["empty", "missing", "not-utf8"],
)
async def test_a_broken_file_keeps_the_old_credentials_and_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, breakage: Any, problem: str
) -> None:
    async with running_simulator(known_fleet()) as endpoint:
        settings = keyed_settings(endpoint, tmp_path, monkeypatch)
        async with running_daemon(settings) as daemon:
            before = await scrape(daemon.port)
            credentials = daemon.clients[0].credentials
            breakage(tmp_path / "ovh_consumer_key")

            with capture_logs() as logged:
                readings = daemon.reload_secrets()
            after = await refresh_everything(daemon)
            state = daemon.store.accounts[0]

    assert readings == [Reading(ACCOUNT, "failed", ("OVH_CONSUMER_KEY_FILE",))]
    (warning,) = [entry for entry in logged if entry["log_level"] == "warning"]
    assert warning["event"] == UNREADABLE
    assert warning["setting"] == "OVH_CONSUMER_KEY_FILE"
    assert warning["account"] == ACCOUNT
    assert warning["problem"] == problem
    assert str(tmp_path) not in str(warning)
    (line,) = events(logged, RELOADED)
    assert line["failed"] == {ACCOUNT: ["OVH_CONSUMER_KEY_FILE"]}
    assert line["changed"] == {}

    assert daemon.clients[0].credentials is credentials
    assert all(status.success for status in state.jobs.values())
    assert reloads(after) == {"changed": 0, "unchanged": 0, "failed": 1}
    assert vps_series(after) == vps_series(before)


def test_an_invalid_manager_cookie_file_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "cookie"
    path.write_text("SESSION=only-half-of-it", encoding="utf-8")
    file = SecretFile("manager_cookie", "OVH_EXPORTER_MANAGER_COOKIE_FILE", path)

    with pytest.raises(ValueError, match="missing USERID") as caught:
        read_secret(file)
    assert "only-half" not in str(caught.value)
    path.write_text(simulator.DEMO_MANAGER_COOKIE + "\n", encoding="utf-8")
    assert read_secret(file) == simulator.DEMO_MANAGER_COOKIE


# Accounts of --config.file: only those with `<key>_file` keys are read again.


async def test_config_file_accounts_read_their_own_files_only(tmp_path: Path) -> None:
    rotating_sim, inline_sim = SimulatorConfig(), SimulatorConfig()
    secrets_folder = tmp_path / "secrets"
    secrets_folder.mkdir()
    (secrets_folder / "ck").write_text(simulator.DEMO_CONSUMER_KEY, encoding="utf-8")
    async with (
        served(known_fleet(), rotating_sim) as rotating_base,
        served(known_fleet(), inline_sim) as inline_base,
    ):
        rotating = keyed_account(ACCOUNT, rotating_base)
        del rotating["consumer_key"]
        # Relative to the configuration file's folder, as at start.
        rotating["consumer_key_file"] = "secrets/ck"
        config = write_config(tmp_path, [rotating, keyed_account("inline", inline_base)])
        settings = load_settings(
            {"web_listen_address": "127.0.0.1:0", "config_file": str(config), **BUDGET}
        )
        async with running_daemon(settings) as daemon:
            before = await scrape(daemon.port)
            revoke_credentials(rotating_sim)
            (secrets_folder / "ck").write_text(rotating_sim.consumer_key, encoding="utf-8")

            with capture_logs() as logged:
                readings = daemon.reload_secrets()
            after = await refresh_everything(daemon)

    setting = f"--config.file: account {ACCOUNT!r}: consumer_key_file"
    assert readings == [Reading(ACCOUNT, "changed", (setting,))]
    (line,) = events(logged, RELOADED)
    assert line["changed"] == {ACCOUNT: [setting]}
    assert reloads(after) == {"changed": 1, "unchanged": 0, "failed": 0}
    assert reloads(after, "inline") == {"changed": 0, "unchanged": 0, "failed": 0}
    assert refused(after) == 0
    assert all(status.success for state in daemon.store.accounts for status in state.jobs.values())
    assert vps_series(after) == vps_series(before)


async def test_without_secret_files_a_reload_says_there_is_nothing_to_read() -> None:
    async with running_simulator(known_fleet()) as endpoint:
        settings = load_settings(
            {
                "web_listen_address": "127.0.0.1:0",
                "OVH_ENDPOINT": endpoint,
                "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
                "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
                "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
                **BUDGET,
            }
        )
        async with running_daemon(settings) as daemon:
            with capture_logs() as logged:
                readings = daemon.reload_secrets()
            series = await scrape(daemon.port)

    assert readings == []
    assert [entry["event"] for entry in logged] == [
        "no secret is given as a file: nothing to read again"
    ]
    assert reloads(series, "default") == {"changed": 0, "unchanged": 0, "failed": 0}


# The client's side of a rotation.


async def test_a_refusal_of_replaced_credentials_does_not_hold_back_the_new_ones() -> None:
    # OVH holds every request a while, so the key can change while one is on its way.
    sim = SimulatorConfig(latency=0.3)
    revoke_credentials(sim)
    old = ApplicationKey(
        simulator.DEMO_APPLICATION_KEY,
        SecretStr(simulator.DEMO_APPLICATION_SECRET),
        SecretStr(simulator.DEMO_CONSUMER_KEY),
    )
    guard = AccessGuard("acct")
    runner = await simulator.serve(known_fleet(), sim, "127.0.0.1", 0)
    received = runner.app[simulator.REQUEST_LOG]
    try:
        endpoint = f"http://127.0.0.1:{bound_port(runner)}/1.0"
        async with OvhClient(endpoint, old, access=guard) as client:
            sent_with_old = asyncio.create_task(client.get("/vps"))
            async with asyncio.timeout(5):
                while not any(request.route == "/vps" for request in received):
                    await asyncio.sleep(0.01)
            client.replace_credentials(replace(old, consumer_key=SecretStr(sim.consumer_key)))
            with pytest.raises(OvhApiError) as caught:
                await sent_with_old
            listing = await client.get("/vps")
    finally:
        await runner.cleanup()

    # The old key's refusal arrived after the swap: it closes nothing, the new key goes at once.
    assert (caught.value.status, caught.value.error_code) == (403, "INVALID_CREDENTIAL")
    assert guard.ok
    assert guard.failures == 0
    assert sorted(listing) == [ALPHA, BRAVO, CHARLIE]


async def test_a_client_refuses_credentials_of_another_kind_or_token_url() -> None:
    key = ApplicationKey("app", SecretStr("as-0123456789abcdef"), SecretStr("ck-0123456789abcdef"))
    oauth2 = OAuth2ClientCredentials(
        "EU.id", SecretStr("cs-0123456789abcdef"), "http://127.0.0.1:1/token"
    )
    async with (
        OvhClient("http://127.0.0.1:1/1.0", key) as keyed,
        OvhClient("http://127.0.0.1:1/1.0", oauth2) as bearer,
    ):
        with pytest.raises(ValueError, match="expected ApplicationKey, got ManagerSession") as kind:
            keyed.replace_credentials(ManagerSession(SecretStr(simulator.DEMO_MANAGER_COOKIE)))
        moved = OAuth2ClientCredentials("EU.id", oauth2.client_secret, "http://127.0.0.1:2/token")
        with pytest.raises(ValueError, match="token URL cannot change"):
            bearer.replace_credentials(moved)
        rotated = ApplicationKey("app", key.application_secret, SecretStr("ck-new-0123456789"))
        keyed.replace_credentials(rotated)

    assert keyed.credentials is rotated
    assert bearer.credentials is oauth2
    assert "0123456789" not in str(kind.value)


# No output shows a secret, the new ones included.


async def test_rotated_secrets_reach_no_log_and_no_metric(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    logs.configure("debug", "json")
    request.addfinalizer(logs.configure)
    sim = SimulatorConfig()
    shown: list[str] = []
    async with running_simulator(known_fleet(), sim) as endpoint:
        settings = keyed_settings(endpoint, tmp_path, monkeypatch)
        async with running_daemon(settings) as daemon:
            # Through SIGHUP's reload, then a broken file, then a refusal's reading.
            first = rotate_consumer_key(sim, tmp_path)
            readings = daemon.reload_secrets()
            (tmp_path / "ovh_consumer_key").write_text("", encoding="utf-8")
            readings += daemon.reload_secrets()
            guard = daemon.store.accounts[0].health.access
            assert guard is not None
            guard.min_delay = guard.max_delay = 0.05
            second = rotate_consumer_key(sim, tmp_path)
            shown.append(await _metrics_text(daemon.port))
            await refresh_everything(daemon)
            await asyncio.sleep(0.1)
            await refresh_everything(daemon)
            shown.append(await _metrics_text(daemon.port))
            shown.append(repr(daemon.clients[0].credentials))
    output = capfd.readouterr()
    shown.extend([output.out, output.err, repr(readings)])

    assert [reading.outcome for reading in readings] == ["changed", "failed"]
    assert '"trigger": "credentials refused"' in output.err
    assert '"event": "secret files read again"' in output.err
    assert reloads(parse_exposition(shown[1])) == {"changed": 2, "unchanged": 0, "failed": 1}
    assert [leaks(text, [first, second]) for text in shown] == [[]] * len(shown)
    # The demo values hold runs of zeros, which other numbers may hold too: sought whole.
    demo = (simulator.DEMO_CONSUMER_KEY, simulator.DEMO_APPLICATION_SECRET)
    assert [text for text in shown if any(secret in text for secret in demo)] == []


async def _metrics_text(port: int) -> str:
    """The text /metrics answers."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    response.raise_for_status()
    return response.text


# A real SIGHUP to the `ovh-vps-exporter` process.


async def test_sighup_to_the_process_rotates_the_key_without_a_restart(tmp_path: Path) -> None:
    sim = SimulatorConfig()
    files = {
        "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
        "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
    }
    for name, secret in files.items():
        (tmp_path / name.lower()).write_text(secret, encoding="utf-8")
    async with running_simulator(known_fleet(), sim) as endpoint:
        env = {
            "OVH_ENDPOINT": endpoint,
            "OVH_EXPORTER_ACCOUNT": ACCOUNT,
            "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
            **{f"{name}_FILE": str(tmp_path / name.lower()) for name in files},
            # Every job runs again 5 s after its last run, the shortest interval allowed.
            **{f"OVH_EXPORTER_INTERVAL_{job.upper()}": "5" for job in JOBS},
            "OVH_EXPORTER_REQUESTS_PER_MINUTE": "60000",
            "OVH_EXPORTER_REQUESTS_BURST": "10000",
        }
        exporter = await ExporterProcess.start(env)
        try:
            before = await _until(exporter.port, _every_job_ok)
            new_key = rotate_consumer_key(sim, tmp_path)
            mark = len(exporter.events)
            exporter.process.send_signal(signal.SIGHUP)
            line = await exporter.wait_for(RELOADED, within=10, after=mark)
            at_reload = await scrape(exporter.port)
            after = await _until(
                exporter.port, lambda s: _vps_ok(s) > _vps_ok(at_reload) and _every_job_ok(s)
            )
            code, _ = await exporter.terminate()
        except BaseException:
            await exporter.kill()
            raise

    assert code == 0, exporter.output()
    assert line["trigger"] == "SIGHUP"
    assert line["changed"] == {ACCOUNT: ["OVH_CONSUMER_KEY_FILE"]}
    assert line["failed"] == {}
    assert reloads(after) == {"changed": 1, "unchanged": 0, "failed": 0}
    # The simulator accepts nothing but the new key: the same process went on with it.
    assert value(after, "ovh_exporter_refresh_success", account=ACCOUNT, refresh_job="vps") == 1
    assert vps_series(after) == vps_series(before)
    assert set(before) <= set(after)
    assert leaks(exporter.output(), [new_key]) == []
    assert simulator.DEMO_CONSUMER_KEY not in exporter.output()


def _vps_ok(series: Series) -> float:
    """How many `/vps` listings OVH answered with 200."""
    requests = "ovh_exporter_api_requests_total"
    return sum(select(series, requests, account=ACCOUNT, route="/vps", code="200").values())


def _every_job_ok(series: Series) -> bool:
    """Tell whether the last run of every refresh job succeeded."""
    jobs = select(series, "ovh_exporter_refresh_success", account=ACCOUNT)
    return len(jobs) == len(JOBS) and all(ok == 1 for ok in jobs.values())


async def _until(port: int, done: Any, within: float = 20.0) -> Series:
    """Scrape until `done(series)` holds, and return that scrape."""
    async with asyncio.timeout(within):
        while True:
            series = await scrape(port)
            if done(series):
                return series
            await asyncio.sleep(0.2)
