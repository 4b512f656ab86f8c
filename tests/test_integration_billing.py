"""Billing beyond serviceInfos: `/services`, `/me` and payment methods, exact values end to end."""

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from exporter.billing import LIFECYCLE_ACTIONS, LIFECYCLE_STATES, PAYMENT_METHOD_STATUSES
from exporter.daemon import Daemon
from exporter.simulator import Fleet, SimulatorConfig, sim_vps
from exporter.simulator.account import (
    PERSONAL_FIELDS,
    SimAccount,
    sim_billing,
    sim_me,
    sim_other_service,
    sim_payment_method,
)
from tests.support import Series, demo_settings, running_daemon, running_simulator, scrape, select
from tests.support import value as sample

ALPHA = "vps-alpha.vps.ovh.net"
BRAVO = "vps-bravo.vps.ovh.net"
CHARLIE = "vps-charlie.vps.ovh.net"
DOMAIN = "example.net"

# serviceInfos dates at midnight in Paris (+01:00), as /services writes them.
JAN_15_2027 = 1799967600
DEC_20_2026 = 1797721200
MAR_01_2027 = 1803855600
JUN_30_2027 = 1814310000
JAN_15_2025 = 1736895600
JUN_01_2024 = 1717196400
CARD_EXPIRY = 1799621999  # 2027-01-10T23:59:59+01:00
MONTH_SECONDS = 2629746.0


def billing_fleet() -> Fleet:
    """Three VPS priced monthly, yearly and quarterly, and an account with every card case."""
    return Fleet.of(
        sim_vps(ALPHA, service_id=501, billing=sim_billing(4.2, "GBP")),
        sim_vps(
            BRAVO,
            service_id=502,
            model_name="vps-2025-model3",
            expiration="2026-12-20",
            creation="2024-06-01",
            renew_automatic=False,
            delete_at_expiration=True,
            service_status="expired",
            engaged_up_to="2027-06-30",
            billing=sim_billing(120.0, "GBP", duration="P1Y", engagement_strategy="CANCEL_SERVICE"),
        ),
        sim_vps(
            CHARLIE,
            service_id=503,
            expiration="2027-03-01",
            service_status="unPaid",
            billing=sim_billing(45.0, "GBP", interval=3),
        ),
        account=SimAccount.of(
            sim_payment_method(3001, default=True, expiration="2027-01-10T23:59:59+01:00"),
            sim_payment_method(3002, status="EXPIRED", expiration="2026-10-31T23:59:59+01:00"),
            sim_payment_method(3003, "SEPA_DIRECT_DEBIT", expiration=None, label="FR76 **** 42"),
            sim_payment_method(3004, "PAYPAL", status="VALIDATING", expiration=None),
            subsidiary="GB",
            currency="GBP",
            other_services=[sim_other_service(900, DOMAIN)],
        ),
    )


@pytest.fixture
async def billing_series() -> AsyncIterator[Series]:
    """One scrape of the exporter after every job ran once against the billing fleet."""
    async with (
        running_simulator(billing_fleet()) as endpoint,
        running_daemon(demo_settings(endpoint, account="prod")) as daemon,
    ):
        yield await scrape(daemon.port)


def by(series: Series, metric: str, label: str) -> dict[tuple[str, str], float]:
    """The samples of `metric` keyed by (vps, the value of `label`)."""
    return {
        (labels["vps"], labels[label]): value
        for label_set, value in select(series, metric).items()
        for labels in [dict(label_set)]
    }


def per_vps(series: Series, metric: str) -> dict[str, float]:
    """The samples of a metric labelled only by account and vps, keyed by VPS."""
    return {dict(labels)["vps"]: value for labels, value in select(series, metric).items()}


def one_hot(current: dict[str, str], known: tuple[str, ...]) -> dict[tuple[str, str], float]:
    """The 0/1 series expected for each VPS's current enum value."""
    return {
        (vps, value): 1.0 if value == chosen else 0.0
        for vps, chosen in current.items()
        for value in known
    }


async def test_vps_services(billing_series: Series) -> None:
    series = billing_series

    assert select(series, "ovh_vps_service_info") == {
        frozenset(
            {"account": "prod", "vps": vps, "service_id": sid, "plan_code": plan}.items()
        ): 1.0
        for vps, sid, plan in [
            (ALPHA, "501", "vps-2025-model1"),
            (BRAVO, "502", "vps-2025-model3"),
            (CHARLIE, "503", "vps-2025-model1"),
        ]
    }
    assert per_vps(series, "ovh_vps_service_next_billing_timestamp_seconds") == {
        ALPHA: JAN_15_2027,
        CHARLIE: MAR_01_2027,
    }
    assert per_vps(series, "ovh_vps_service_creation_timestamp_seconds") == {
        ALPHA: JAN_15_2025,
        BRAVO: JUN_01_2024,
        CHARLIE: JAN_15_2025,
    }
    assert per_vps(series, "ovh_vps_service_termination_timestamp_seconds") == {BRAVO: DEC_20_2026}
    assert by(series, "ovh_vps_service_lifecycle_state", "state") == one_hot(
        {ALPHA: "active", BRAVO: "unrenewed", CHARLIE: "unpaid"}, LIFECYCLE_STATES
    )
    assert by(series, "ovh_vps_service_pending_action", "action") == {
        (vps, action): 1.0 if (vps, action) == (BRAVO, "terminateAtExpirationDate") else 0.0
        for vps in (ALPHA, BRAVO, CHARLIE)
        for action in LIFECYCLE_ACTIONS
    }
    assert by(series, "ovh_vps_service_renew_mode", "mode") == one_hot(
        {ALPHA: "automatic", BRAVO: "manual", CHARLIE: "automatic"}, ("automatic", "manual")
    )
    # A manual renewal has no period.
    assert per_vps(series, "ovh_vps_service_renew_period_seconds") == {
        ALPHA: MONTH_SECONDS,
        CHARLIE: MONTH_SECONDS,
    }
    assert per_vps(series, "ovh_vps_service_engagement_end_timestamp_seconds") == {
        BRAVO: JUN_30_2027
    }
    assert by(series, "ovh_vps_service_engagement_end_strategy", "strategy") == {
        (BRAVO, "CANCEL_SERVICE"): 1.0,
        (BRAVO, "REACTIVATE_ENGAGEMENT"): 0.0,
        (BRAVO, "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE"): 0.0,
        (BRAVO, "STOP_ENGAGEMENT_KEEP_PRICE"): 0.0,
    }
    # 4.20 a month; 120.00 a year is 10.00 a month; 45.00 every 3 x P1M is 15.00 a month.
    assert by(series, "ovh_vps_service_monthly_price", "currency") == {
        (ALPHA, "GBP"): 4.2,
        (BRAVO, "GBP"): 10.0,
        (CHARLIE, "GBP"): 15.0,
    }
    assert sum(select(series, "ovh_vps_service_monthly_price").values()) == pytest.approx(29.2)


async def test_services_of_other_products_are_left_out(billing_series: Series) -> None:
    assert not [key for key in billing_series if any(DOMAIN in value for _, value in key[1])]
    assert select(billing_series, "ovh_exporter_parse_errors_total") == {}


async def test_account_and_payment_methods(billing_series: Series) -> None:
    series = billing_series

    assert select(series, "ovh_account_info") == {
        frozenset({"account": "prod", "subsidiary": "GB", "currency": "GBP"}.items()): 1.0
    }
    counts = {
        dict(labels)["status"]: value
        for labels, value in select(series, "ovh_account_payment_methods").items()
    }
    assert counts == {
        status: {"VALID": 2.0, "EXPIRED": 1.0, "VALIDATING": 1.0}.get(status, 0.0)
        for status in PAYMENT_METHOD_STATUSES
    }

    def method(name: str) -> dict[tuple[str, str], float]:
        return {
            (dict(labels)["payment_method_id"], dict(labels)["payment_type"]): value
            for labels, value in select(series, name).items()
        }

    # Only usable (VALID) methods, and only those that expire, have an expiration series.
    assert method("ovh_account_payment_method_expiration_timestamp_seconds") == {
        ("3001", "CREDIT_CARD"): CARD_EXPIRY
    }
    assert method("ovh_account_payment_method_default") == {
        ("3001", "CREDIT_CARD"): 1.0,
        ("3003", "SEPA_DIRECT_DEBIT"): 0.0,
    }


async def test_no_personal_data_reaches_metrics() -> None:
    fleet = billing_fleet()
    async with (
        running_simulator(fleet) as endpoint,
        running_daemon(demo_settings(endpoint, account="prod")) as daemon,
        httpx.AsyncClient() as client,
    ):
        text = (await client.get(f"http://127.0.0.1:{daemon.port}/metrics")).text

    assert "ovh_account_payment_methods" in text
    personal = [value for value in PERSONAL_FIELDS.values() if isinstance(value, str)]
    for method in fleet.account.payment_methods:
        personal += [method["label"], method["description"]]
    assert len(personal) > 20
    # Labels and HELP lines are where words go; sample values are numbers, whose digits
    # may repeat a fake zip code or phone number by chance.
    words = "\n".join(
        re.findall(r"\{[^}]*\}", text) + [line for line in text.splitlines() if line[:1] == "#"]
    )
    assert [value for value in personal if value in words] == []
    # The contact codes of TService are personal too.
    assert sim_me()["customerCode"] not in text


async def test_id_lists_fall_back_to_one_get_per_object() -> None:
    config = SimulatorConfig(expand_lists=False)
    # One GET per object costs more than the default burst of the request budget.
    async with (
        running_simulator(billing_fleet(), config) as endpoint,
        running_daemon(demo_settings(endpoint, account="prod", requests_burst=1000)) as daemon,
    ):
        series = await scrape(daemon.port)

    requests = {
        dict(labels)["route"]: value
        for labels, value in select(series, "ovh_exporter_api_requests_total").items()
    }
    # Every service of the account is read, the domain included, before it is left out.
    assert requests["/services"] == 1
    assert requests["/services/{serviceId}"] == 4
    assert requests["/me/payment/method"] == 1
    assert requests["/me/payment/method/{paymentMethodId}"] == 4
    assert by(series, "ovh_vps_service_monthly_price", "currency") == {
        (ALPHA, "GBP"): 4.2,
        (BRAVO, "GBP"): 10.0,
        (CHARLIE, "GBP"): 15.0,
    }
    assert sample(series, "ovh_account_payment_methods", account="prod", status="VALID") == 2


async def test_a_route_not_granted_fails_its_job_and_spares_the_rest() -> None:
    config = SimulatorConfig(denied_routes=frozenset({"/services", "/me/payment/method"}))
    async with running_simulator(billing_fleet(), config) as endpoint:
        daemon = Daemon(demo_settings(endpoint, account="prod"))
        await daemon.start()
        try:
            series = await wait_for_jobs(daemon, ("vps", "billing", "account"))
        finally:
            await daemon.stop()

    success = {
        dict(labels)["refresh_job"]: value
        for labels, value in select(series, "ovh_exporter_refresh_success").items()
    }
    assert success["billing"] == 0
    assert success["account"] == 0
    assert success["vps"] == 1
    # serviceInfos and /me were granted: their metrics are there, the others are not.
    assert per_vps(series, "ovh_vps_expiration_timestamp_seconds") == {
        ALPHA: 1799971200,
        BRAVO: 1797724800,
        CHARLIE: 1803859200,
    }
    assert select(series, "ovh_account_info") != {}
    assert select(series, "ovh_vps_service_info") == {}
    assert select(series, "ovh_account_payment_methods") == {}


async def wait_for_jobs(daemon: Daemon, jobs: tuple[str, ...]) -> Series:
    """Wait until each of `jobs` has run once (failed or not), then scrape."""
    state = daemon.store.accounts[0]
    async with asyncio.timeout(20):
        while not all(job in state.jobs for job in jobs):
            await asyncio.sleep(0.02)
    daemon.store.publish()
    await daemon.exposition.flush()
    return await scrape(daemon.port)
