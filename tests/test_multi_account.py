"""Several accounts in one exporter: each its own client and jobs, a failing one harms no other."""

import asyncio
from pathlib import Path
from typing import Any

import pytest

from exporter import logs, simulator
from exporter.daemon import Daemon
from exporter.settings import load_settings
from exporter.simulator import SimulatorConfig
from tests.fleets import ALPHA, BRAVO, CHARLIE, known_fleet
from tests.support import Series, scrape, select
from tests.test_config_file import keyed_account, served, write_config

# Series whose value is a duration or a moment, which differ from one run to the next.
TIMING = ("_duration_seconds", "_last_success_timestamp_seconds", "_cycle_seconds", "_wait_")
# Jobs that wait one interval for a first VPS listing: short for accounts that never list.
SLOW_WITHOUT_LISTING = ("tasks", "backups", "billing", "details", "disks")


async def run_until_every_job_ran(accounts: list[dict[str, Any]], folder: Path) -> Series:
    """Run the exporter on these config-file accounts until each job of each ran once."""
    settings = load_settings(
        {
            "web_listen_address": "127.0.0.1:0",
            "config_file": str(write_config(folder, accounts)),
        }
    )
    daemon = Daemon(settings)
    await daemon.start()
    try:
        async with asyncio.timeout(30):
            while not all(
                set(state.jobs) == set(state.intervals) for state in daemon.store.accounts
            ):
                await asyncio.sleep(0.02)
        daemon.store.publish()
        await daemon.exposition.flush()
        return await scrape(daemon.port)
    finally:
        await daemon.stop()


def of_account(series: Series, account: str) -> Series:
    """The series of one account, timing series left out."""
    return {
        (name, labels): value
        for (name, labels), value in series.items()
        if ("account", account) in labels and not any(part in name for part in TIMING)
    }


async def test_an_account_with_bad_credentials_leaves_the_other_untouched(
    tmp_path: Path,
) -> None:
    refused = SimulatorConfig(consumer_key="another-consumer-key-0000000000")
    async with served(known_fleet()) as good_base, served(known_fleet(), refused) as bad_base:
        alone = await run_until_every_job_ran([keyed_account("good", good_base)], tmp_path)
        short = dict.fromkeys(SLOW_WITHOUT_LISTING, 5)
        both = await run_until_every_job_ran(
            [
                keyed_account("good", good_base),
                keyed_account("bad", bad_base, intervals=short),
            ],
            tmp_path,
        )

    good = of_account(both, "good")
    assert good == of_account(alone, "good")
    assert len(select(good, "ovh_vps_info")) == 3
    assert {
        dict(labels)["refresh_job"]: value
        for labels, value in select(good, "ovh_exporter_refresh_success").items()
    } == dict.fromkeys(("vps", "tasks", "backups", "billing", "account", "details", "disks"), 1)

    bad = of_account(both, "bad")
    assert set(select(bad, "ovh_exporter_refresh_success").values()) == {0.0}
    assert len(select(bad, "ovh_exporter_refresh_success")) == 7
    assert [name for name, _ in bad if name.startswith(("ovh_vps_", "ovh_account_"))] == []
    refusals = {
        dict(labels)["code"]
        for labels in select(bad, "ovh_exporter_api_requests_total", route="/vps")
    }
    assert refusals == {"403"}


async def test_include_and_exclude_choose_the_exported_vps(tmp_path: Path) -> None:
    async with served(known_fleet()) as base:
        series = await run_until_every_job_ran(
            [
                keyed_account(
                    "picky",
                    base,
                    include=["vps-a*", "vps-c*"],
                    exclude=["*charlie*"],
                )
            ],
            tmp_path,
        )

    assert {dict(labels)["vps"] for labels in select(series, "ovh_vps_info")} == {ALPHA}
    assert not [key for key in series if ("vps", BRAVO) in key[1] or ("vps", CHARLIE) in key[1]]
    requests = {
        dict(labels)["route"]: value
        for labels, value in select(series, "ovh_exporter_api_requests_total").items()
    }
    # The account is listed once; only the chosen VPS are read one by one.
    assert requests["/vps"] == 1
    assert requests["/vps/{serviceName}/serviceInfos"] == 1
    assert requests["/vps/{serviceName}/tasks"] == 1


async def test_file_secrets_reach_no_log_and_no_metric(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    logs.configure("debug", "json")
    request.addfinalizer(logs.configure)
    (tmp_path / "ck").write_text(simulator.DEMO_CONSUMER_KEY + "\n")
    wrong = "as-wrong-secret-0123456789abcdef"
    async with served(known_fleet()) as base:
        good = keyed_account("good", base)
        del good["consumer_key"]
        good["consumer_key_file"] = "ck"
        bad = {**keyed_account("bad", base), "application_secret": wrong}
        series = await run_until_every_job_ran(
            [good, {**bad, "intervals": dict.fromkeys(SLOW_WITHOUT_LISTING, 5)}], tmp_path
        )
    output = capfd.readouterr()
    logged = output.out + output.err

    assert '"event": "account configured"' in logged
    assert "INVALID_SIGNATURE" in logged
    exposed = " ".join(f"{name} {sorted(labels)}" for name, labels in series)
    for secret in (simulator.DEMO_APPLICATION_SECRET, simulator.DEMO_CONSUMER_KEY, wrong):
        assert secret not in logged
        assert secret not in exposed
