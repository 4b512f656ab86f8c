"""docs/metrics.md is the generator's output, and it describes exactly what /metrics exposes."""

import asyncio
import datetime as dt
import tempfile
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter import simulator
from exporter.docs import main, render
from exporter.metrics import MetricSpec, define, registered
from exporter.settings import load_settings
from exporter.simulator.fleet import EVERY_CASE_FROM
from tests.support import running_daemon
from tests.test_config_file import keyed_account, served, write_config
from tests.test_manager import manager_fleet

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
TODAY = dt.date(2026, 12, 4)

# Each family by name: its type, HELP and the labels its samples carry (None: no sample).
Exposed = dict[str, tuple[str, str, frozenset[str] | None]]

# Families a healthy run of two accounts leaves without samples: their label sets are
# checked only by name here. Each needs a failure or a second run to get a sample.
WITHOUT_SAMPLES_WHEN_HEALTHY = frozenset(
    {
        "ovh_exporter_refresh_cycle_seconds",  # Needs two runs of a job.
        "ovh_exporter_vps_last_success_timestamp_seconds",  # Only for VPS whose reads failed.
    }
)


def test_the_reference_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/metrics.md is out of date: run python -m exporter.docs --output docs/metrics.md"
    )


def test_the_check_option_tells_an_outdated_file(tmp_path: Path) -> None:
    stale = tmp_path / "metrics.md"
    stale.write_text(render().replace("ovh_vps_state", "ovh_vps_status", 1))

    assert main(["--check", str(stale)]) == 1
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", str(stale)]) == 0
    assert stale.read_text() == render()


def test_definitions_follow_the_naming_rules() -> None:
    with pytest.raises(ValueError, match="counters, and only counters, end in _total"):
        define("ovh_vps_things", "counter", "Things.", ("account", "vps"))
    with pytest.raises(ValueError, match="start with the labels account and vps"):
        define("ovh_vps_things", "gauge", "Things.", ("vps",))
    with pytest.raises(ValueError, match="already defined"):
        define("ovh_vps_state", "gauge", "Again.", ("account", "vps", "state"))
    assert "ovh_vps_things" not in {spec.name for spec in registered()}


@pytest.fixture(scope="module")
def exposed() -> Exposed:
    """Every family /metrics exposes, against two simulated accounts holding every case."""
    return asyncio.run(_scrape_two_accounts())


async def _scrape_two_accounts() -> Exposed:
    """Run the exporter on a keyed account and on one reached through the manager's session.

    The first holds every case of the generated fleet, the second every case of the 2API.
    """
    # Seed 8 gives, among every other case, a migration under way with its date.
    keyed = simulator.generate_fleet(EVERY_CASE_FROM * 2, seed=8, today=TODAY)
    # The 2API's answers with every case of its metrics (a traffic quota, for one).
    managed = manager_fleet()
    async with served(keyed) as keyed_base, served(managed) as managed_base:
        with tempfile.TemporaryDirectory() as folder:
            config = write_config(
                Path(folder),
                [
                    keyed_account("keys", keyed_base),
                    {
                        **keyed_account("manager", managed_base),
                        "manager": managed_base,
                        "manager_cookie": simulator.DEMO_MANAGER_COOKIE,
                    },
                ],
            )
            settings = load_settings(
                {
                    "web_listen_address": "127.0.0.1:0",
                    "config_file": str(config),
                    "requests_burst": 100_000,
                    "requests_per_minute": 100_000.0,
                }
            )
            async with running_daemon(settings, timeout=60) as daemon, httpx.AsyncClient() as c:
                text = (await c.get(f"http://127.0.0.1:{daemon.port}/metrics")).text
    return {
        family.name: (
            family.type,
            family.documentation,
            frozenset(label for sample in family.samples for label in sample.labels)
            if family.samples
            else None,
        )
        for family in text_string_to_metric_families(text)
    }


def family_name(spec: MetricSpec) -> str:
    """The name the text parser gives the family: counters lose `_total`."""
    return spec.name.removesuffix("_total") if spec.type == "counter" else spec.name


def test_every_documented_metric_is_exposed_with_its_type_help_and_labels(
    exposed: Exposed,
) -> None:
    documented = {
        family_name(spec): (spec.type, spec.documentation, frozenset(spec.labels))
        for spec in registered()
    }
    assert sorted(set(documented) - set(exposed)) == [], "documented but not exposed"
    unobserved = {name for name, (_, _, labels) in exposed.items() if labels is None}
    assert unobserved == WITHOUT_SAMPLES_WHEN_HEALTHY
    different = {
        name: (documented[name], exposed[name])
        for name in documented
        if documented[name][:2] != exposed[name][:2]
        or exposed[name][2] not in (None, documented[name][2])
    }
    assert different == {}


def test_every_exposed_metric_is_documented(exposed: Exposed) -> None:
    documented = {family_name(spec) for spec in registered()}
    assert sorted(set(exposed) - documented) == [], "exposed but not in docs/metrics.md"
    text = DOC.read_text(encoding="utf-8")
    assert [
        spec.name for spec in registered() if f"| `{spec.name}` | {spec.type} |" not in text
    ] == []
