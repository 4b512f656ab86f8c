"""The billing parsers: TService, /me and payment methods, surprises counted and never raised."""

from typing import Any

import pytest

from exporter.billing import (
    SECONDS_PER_MONTH,
    AccountInfo,
    PaymentMethod,
    ServiceBilling,
    duration_months,
    parse_account,
    parse_payment_method,
    parse_service,
)
from exporter.model import ParseProblem
from exporter.simulator import sim_vps
from exporter.simulator.account import sim_billing, sim_me, sim_other_service, sim_payment_method
from exporter.simulator.billing import vps_service

ROUTE = "/services/{serviceId}"
NAME = "vps-0a0b0c0d.vps.ovh.net"


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("P1M", 1.0),
        ("P3M", 3.0),
        ("P1Y", 12.0),
        ("P1Y6M", 18.0),
        ("P2W", 14 / 30.436875),
        ("P30D", 30 / 30.436875),
        ("PT1H", None),
        ("P0M", None),
        ("P", None),
        ("1M", None),
        ("monthly", None),
    ],
)
def test_durations_in_months(text: str, months: float | None) -> None:
    assert duration_months(text) == (pytest.approx(months) if months else None)


def service(**billing: Any) -> dict[str, Any]:
    """A simulated TService of one VPS, with some of its billing replaced."""
    data = vps_service(sim_vps(NAME, service_id=77, engaged_up_to="2027-06-30"))
    data["billing"].update(billing)
    return data


def test_a_vps_service_is_read_whole() -> None:
    problems: list[ParseProblem] = []

    parsed = parse_service(service(), ROUTE, problems)

    assert parsed == (
        NAME,
        ServiceBilling(
            service_id=77,
            plan_code="vps-2025-model1",
            next_billing=1799967600.0,
            expiration=1799967600.0,
            creation=1736895600.0,
            termination=None,
            lifecycle_state="active",
            pending_actions=frozenset(),
            renew_mode="automatic",
            renew_period_seconds=SECONDS_PER_MONTH,
            engagement_end=1814310000.0,
            engagement_strategy="REACTIVATE_ENGAGEMENT",
            monthly_price=6.0,
            currency="EUR",
        ),
    )
    assert problems == []


@pytest.mark.parametrize(
    ("pricing", "monthly"),
    [
        (sim_billing(120.0, duration="P1Y")["pricing"], 10.0),
        (sim_billing(45.0, interval=3)["pricing"], 15.0),
        (sim_billing(90.0, duration="P6M")["pricing"], 15.0),
        ({**sim_billing(8.0)["pricing"], "interval": None}, 8.0),
    ],
)
def test_prices_are_normalised_to_a_month(pricing: dict[str, Any], monthly: float) -> None:
    parsed = parse_service(service(pricing=pricing), ROUTE, [])

    assert parsed is not None
    assert parsed[1].monthly_price == pytest.approx(monthly)


def test_a_renewal_period_may_be_months_or_a_duration() -> None:
    renew = {"current": {"mode": "manual", "nextDate": None, "period": "P1Y"}}

    parsed = parse_service(service(renew=renew), ROUTE, [])

    assert parsed is not None
    assert parsed[1].renew_period_seconds == 12 * SECONDS_PER_MONTH
    assert parsed[1].renew_mode == "manual"


def test_surprises_are_kept_raw_or_skipped_and_recorded() -> None:
    problems: list[ParseProblem] = []
    lifecycle = {
        "current": {
            "pendingActions": ["terminateAtExpirationDate", "hibernate", 7],
            "terminationDate": "soon",
            "creationDate": "2025-01-15",
            "state": "frozen",
        }
    }
    pricing = {**sim_billing()["pricing"], "duration": "monthly"}

    parsed = parse_service(service(lifecycle=lifecycle, pricing=pricing), ROUTE, problems)

    assert parsed is not None
    billing = parsed[1]
    assert billing.lifecycle_state == "frozen"
    assert billing.pending_actions == frozenset({"terminateAtExpirationDate", "hibernate"})
    assert billing.termination is None
    assert billing.creation == 1736899200.0  # A bare date is midnight UTC.
    assert billing.monthly_price is None
    assert billing.currency == "EUR"
    assert [(p.field, p.detail) for p in problems] == [
        ("billing.pricing.duration", "not an ISO 8601 date duration: 'monthly'"),
        ("billing.lifecycle.current.terminationDate", "not a date: 'soon'"),
        ("billing.lifecycle.current.state", "unknown value 'frozen'"),
        ("billing.lifecycle.current.pendingActions", "expected a list of strings"),
        ("billing.lifecycle.current.pendingActions", "unknown value 'hibernate'"),
    ]
    assert {p.route for p in problems} == {ROUTE}


def test_other_products_and_nameless_vps_are_left_out() -> None:
    problems: list[ParseProblem] = []
    nameless = service()
    nameless["resource"]["name"] = ""

    assert parse_service(sim_other_service(5), ROUTE, problems) is None
    assert problems == []
    assert parse_service(nameless, ROUTE, problems) is None
    assert parse_service(["not", "an", "object"], ROUTE, problems) is None
    assert [p.field for p in problems] == ["resource.name", "(body)"]


def test_only_subsidiary_and_currency_are_read_from_me() -> None:
    problems: list[ParseProblem] = []

    assert parse_account(sim_me("GB", "GBP"), "/me", problems) == AccountInfo("GB", "GBP")
    assert parse_account({"currency": None}, "/me", problems) == AccountInfo(None, None)
    assert problems == []
    assert "email" not in AccountInfo.__slots__


def test_payment_methods_keep_no_label() -> None:
    problems: list[ParseProblem] = []
    card = sim_payment_method(9, expiration="2027-01-10T23:59:59+01:00", default=True)

    assert parse_payment_method(card, "/me/payment/method", problems) == PaymentMethod(
        method_id=9,
        payment_type="CREDIT_CARD",
        status="VALID",
        default=True,
        expiration=1799621999.0,
    )
    assert parse_payment_method({"status": "VALID"}, "/me/payment/method", problems) is None
    assert [p.field for p in problems] == ["paymentMethodId"]
    assert "label" not in PaymentMethod.__slots__
