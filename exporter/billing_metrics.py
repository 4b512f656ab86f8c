"""The billing metrics from `/services` and the account metrics from `/me` and its payment methods.

For a VPS whose service ends at expiration, on an account paying in euros::

    ovh_vps_service_pending_action{account="prod",action="terminateAtExpirationDate",vps="..."} 1.0
    ovh_vps_service_monthly_price{account="prod",currency="EUR",vps="..."} 4.2
    ovh_account_payment_methods{account="prod",status="EXPIRED"} 1.0
"""

from collections.abc import Iterator

from prometheus_client.core import Metric

from exporter.billing import (
    ENGAGEMENT_STRATEGIES,
    LIFECYCLE_ACTIONS,
    LIFECYCLE_STATES,
    PAYMENT_METHOD_STATUSES,
    RENEW_MODES,
    USABLE_PAYMENT_STATUS,
)
from exporter.billing_refresh import ROUTE_ME, ROUTE_PAYMENT_METHOD, ROUTE_SERVICE
from exporter.metrics import ACCOUNT_LABELS, VPS_LABELS, Family, define
from exporter.store import AccountSnapshot

_SERVICE = f"{ROUTE_SERVICE} (listed by /services)"
_METHOD = f"{ROUTE_PAYMENT_METHOD} (listed by /me/payment/method)"

SERVICE_INFO = define(
    "ovh_vps_service_info",
    "gauge",
    "The VPS's service id and plan code (billing.plan.code) from /services, value 1.",
    (*VPS_LABELS, "service_id", "plan_code"),
    unit="1",
    route=_SERVICE,
    job="billing",
)
NEXT_BILLING = define(
    "ovh_vps_service_next_billing_timestamp_seconds",
    "gauge",
    "Next billing date of the VPS's service (billing.nextBillingDate), when it has one.",
    VPS_LABELS,
    unit="Unix seconds",
    route=_SERVICE,
    job="billing",
)
CREATION = define(
    "ovh_vps_service_creation_timestamp_seconds",
    "gauge",
    "Creation date of the VPS's service (billing.lifecycle.current.creationDate).",
    VPS_LABELS,
    unit="Unix seconds",
    route=_SERVICE,
    job="billing",
)
TERMINATION = define(
    "ovh_vps_service_termination_timestamp_seconds",
    "gauge",
    "Date the VPS's service is due to end (billing.lifecycle.current.terminationDate), "
    "when a termination is planned.",
    VPS_LABELS,
    unit="Unix seconds",
    route=_SERVICE,
    job="billing",
)
LIFECYCLE_STATE = define(
    "ovh_vps_service_lifecycle_state",
    "gauge",
    "Lifecycle state of the VPS's service (billing.lifecycle.current.state): "
    "1 for the current state, 0 for the others.",
    (*VPS_LABELS, "state"),
    unit="0/1",
    route=_SERVICE,
    job="billing",
)
PENDING_ACTION = define(
    "ovh_vps_service_pending_action",
    "gauge",
    "1 when the action is pending on the VPS's service (billing.lifecycle.current."
    "pendingActions), such as terminateAtExpirationDate; 0 for the other actions.",
    (*VPS_LABELS, "action"),
    unit="0/1",
    route=_SERVICE,
    job="billing",
)
RENEW_MODE = define(
    "ovh_vps_service_renew_mode",
    "gauge",
    "Renewal mode of the VPS's service (billing.renew.current.mode): "
    "1 for the current mode, 0 for the other.",
    (*VPS_LABELS, "mode"),
    unit="0/1",
    route=_SERVICE,
    job="billing",
)
RENEW_PERIOD = define(
    "ovh_vps_service_renew_period_seconds",
    "gauge",
    "Renewal period of the VPS's service (billing.renew.current.period), "
    "a month counted as 2629746 seconds.",
    VPS_LABELS,
    unit="seconds",
    route=_SERVICE,
    job="billing",
)
ENGAGEMENT_END = define(
    "ovh_vps_service_engagement_end_timestamp_seconds",
    "gauge",
    "End of the VPS's engagement (billing.engagement.endDate), when it has one.",
    VPS_LABELS,
    unit="Unix seconds",
    route=_SERVICE,
    job="billing",
)
ENGAGEMENT_STRATEGY = define(
    "ovh_vps_service_engagement_end_strategy",
    "gauge",
    "What happens when the VPS's engagement ends (billing.engagement.endRule.strategy): "
    "1 for the chosen strategy, 0 for the others.",
    (*VPS_LABELS, "strategy"),
    unit="0/1",
    route=_SERVICE,
    job="billing",
)
MONTHLY_PRICE = define(
    "ovh_vps_service_monthly_price",
    "gauge",
    "Price of the VPS's plan (billing.pricing.price.value) per month, in the currency "
    "of the label: the price divided by interval x duration expressed in months.",
    (*VPS_LABELS, "currency"),
    unit="currency units per month",
    route=_SERVICE,
    job="billing",
)

ACCOUNT_INFO = define(
    "ovh_account_info",
    "gauge",
    "The account's OVH subsidiary (ovhSubsidiary) and currency code (currency.code), value 1.",
    (*ACCOUNT_LABELS, "subsidiary", "currency"),
    unit="1",
    route=ROUTE_ME,
    job="account",
)
PAYMENT_METHODS = define(
    "ovh_account_payment_methods",
    "gauge",
    "Payment methods of the account, by status.",
    (*ACCOUNT_LABELS, "status"),
    unit="payment methods",
    route=_METHOD,
    job="account",
)
PAYMENT_EXPIRATION = define(
    "ovh_account_payment_method_expiration_timestamp_seconds",
    "gauge",
    "Expiration date of each usable (VALID) payment method that has one (expirationDate).",
    (*ACCOUNT_LABELS, "payment_method_id", "payment_type"),
    unit="Unix seconds",
    route=_METHOD,
    job="account",
)
PAYMENT_DEFAULT = define(
    "ovh_account_payment_method_default",
    "gauge",
    "1 for the usable (VALID) payment method OVH charges by default, 0 for the other usable ones.",
    (*ACCOUNT_LABELS, "payment_method_id", "payment_type"),
    unit="0/1",
    route=_METHOD,
    job="account",
)


def _flag(value: bool) -> float:
    """1.0 for True, 0.0 for False."""
    return 1.0 if value else 0.0


def _values(known: tuple[str, ...], current: str | None) -> tuple[str, ...]:
    """The known enum values, plus the current one when OVH sent one this version lacks."""
    if current is None or current in known:
        return known
    return (*known, current)


def _one_of(family: Family, key: list[str], known: tuple[str, ...], current: str | None) -> None:
    """Add one 0/1 series per enum value, 1 for `current`; nothing when it is unknown."""
    if current is None:
        return
    family.add_flags(key, _values(known, current), (current,))


def service_families(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The families of every VPS's subscription, from the `billing` job's `/services` read.

    The families with a sample per state, action, mode or strategy are built one
    at a time, each just before it is rendered: at 10,000 VPS each is tens of
    thousands of samples.
    """
    services = [
        ([account.name, name], service)
        for account in accounts
        for name, service in account.services.items()
    ]
    info = SERVICE_INFO.family()
    next_billing = NEXT_BILLING.family()
    creation = CREATION.family()
    termination = TERMINATION.family()
    engagement_end = ENGAGEMENT_END.family()
    renew_period = RENEW_PERIOD.family()
    price = MONTHLY_PRICE.family()
    for key, service in services:
        service_id = "" if service.service_id is None else str(service.service_id)
        info.add_metric([*key, service_id, service.plan_code], 1.0)
        for family, stamp in (
            (next_billing, service.next_billing),
            (creation, service.creation),
            (termination, service.termination),
            (engagement_end, service.engagement_end),
        ):
            if stamp is not None:
                family.add_metric(key, stamp)
        if service.renew_period_seconds is not None:
            renew_period.add_metric(key, service.renew_period_seconds)
        if service.monthly_price is not None and service.currency:
            price.add_metric([*key, service.currency], service.monthly_price)
    yield from (info, next_billing, creation, termination)

    lifecycle = LIFECYCLE_STATE.family()
    for key, service in services:
        _one_of(lifecycle, key, LIFECYCLE_STATES, service.lifecycle_state)
    yield lifecycle

    pending = PENDING_ACTION.family()
    for key, service in services:
        actions = LIFECYCLE_ACTIONS + tuple(
            sorted(service.pending_actions - set(LIFECYCLE_ACTIONS))
        )
        pending.add_flags(key, actions, service.pending_actions)
    yield pending

    renew_mode = RENEW_MODE.family()
    for key, service in services:
        _one_of(renew_mode, key, RENEW_MODES, service.renew_mode)
    yield from (renew_mode, renew_period, engagement_end)

    strategy = ENGAGEMENT_STRATEGY.family()
    for key, service in services:
        if service.engagement_end is not None:
            _one_of(strategy, key, ENGAGEMENT_STRATEGIES, service.engagement_strategy)
    yield from (strategy, price)


def account_families(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The account's families, from the `account` job."""
    info = ACCOUNT_INFO.family()
    counts = PAYMENT_METHODS.family()
    expiration = PAYMENT_EXPIRATION.family()
    default = PAYMENT_DEFAULT.family()

    for account in accounts:
        if account.account_info is not None:
            facts = account.account_info
            info.add_metric([account.name, facts.subsidiary or "", facts.currency or ""], 1.0)
        if account.payment_methods is None:
            continue
        by_status: dict[str, int] = dict.fromkeys(PAYMENT_METHOD_STATUSES, 0)
        for method in account.payment_methods:
            if method.status is not None:
                by_status[method.status] = by_status.get(method.status, 0) + 1
            if method.status != USABLE_PAYMENT_STATUS:
                continue
            labels = [account.name, str(method.method_id), method.payment_type]
            if method.expiration is not None:
                expiration.add_metric(labels, method.expiration)
            if method.default is not None:
                default.add_metric(labels, _flag(method.default))
        for status, count in by_status.items():
            counts.add_metric([account.name, status], count)

    yield from (info, counts, expiration, default)
