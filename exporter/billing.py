"""What the exporter keeps of the account's billing answers, and the parsers that build it.

`/services/{serviceId}` (the capture spec's TService) describes one VPS's
subscription; `/me` gives the account's subsidiary and currency, and nothing
else of it is ever read; `/me/payment/method/{paymentMethodId}` describes one
way of paying. Like `exporter.model`, the parsers record surprises as
`ParseProblem` and never raise.

Prices are normalised to a monthly amount: the price of a TService pays for
`interval` times `duration` (an ISO 8601 duration such as `P1M` or `P1Y`; an
absent interval counts as 1), and that period is converted to months with
1 year = 12 months and 1 day = 12 / 365.2425 of a month (the mean Gregorian
month, 30.436875 days). The same month, 2,629,746 seconds, turns a renewal
period into seconds.
"""

import re
from dataclasses import dataclass

from exporter.model import Fields, ParseProblem

# The route a VPS's service carries in TService.route.path.
VPS_SERVICE_ROUTE = "/vps/{serviceName}"

# The enums of OVH's services.expanded.Service (see docs/metrics.md for their series).
LIFECYCLE_STATES = ("active", "error", "rupture", "terminated", "toRenew", "unpaid", "unrenewed")
LIFECYCLE_ACTIONS = (
    "earlyRenewal",
    "terminate",
    "terminateAtEngagementDate",
    "terminateAtExpirationDate",
)
RENEW_MODES = ("automatic", "manual")
ENGAGEMENT_STRATEGIES = (
    "CANCEL_SERVICE",
    "REACTIVATE_ENGAGEMENT",
    "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE",
    "STOP_ENGAGEMENT_KEEP_PRICE",
)
# me.payment.method.StatusEnum in me.openapi.json.
PAYMENT_METHOD_STATUSES = (
    "CANCELED",
    "CANCELING",
    "CREATED",
    "CREATING",
    "ERROR",
    "EXPIRED",
    "FAILED",
    "MAINTENANCE",
    "PAUSED",
    "REJECTED",
    "REPLACED",
    "VALID",
    "VALIDATING",
)
USABLE_PAYMENT_STATUS = "VALID"

DAYS_PER_MONTH = 365.2425 / 12
SECONDS_PER_MONTH = DAYS_PER_MONTH * 86_400

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")


def duration_months(text: str) -> float | None:
    """Convert an ISO 8601 date duration (`P1M`, `P1Y`, `P30D`, `P1Y6M`) to months; None if not one.

    A duration with a time part or of zero length has no month value.
    """
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.groups()):
        return None
    years, months, weeks, days = (int(part or 0) for part in match.groups())
    total = years * 12 + months + (weeks * 7 + days) / DAYS_PER_MONTH
    return total or None


@dataclass(frozen=True, slots=True)
class ServiceBilling:
    """The subscription of one VPS as `/services/{serviceId}` describes it."""

    service_id: int | None
    plan_code: str
    next_billing: float | None
    expiration: float | None
    creation: float | None
    termination: float | None
    lifecycle_state: str | None
    pending_actions: frozenset[str]
    renew_mode: str | None
    renew_period_seconds: float | None
    engagement_end: float | None
    engagement_strategy: str | None
    monthly_price: float | None
    currency: str | None


def parse_service(
    data: object, route: str, problems: list[ParseProblem]
) -> tuple[str, ServiceBilling] | None:
    """Parse one TService; returns the VPS name and its billing, or None for another product."""
    fields = Fields(data, route, problems)
    if fields.nested("route").text("path") != VPS_SERVICE_ROUTE:
        return None
    name = fields.nested("resource").text("name")
    if not name:
        fields.problem("resource.name", "missing on a VPS service")
        return None

    billing = fields.nested("billing")
    lifecycle = billing.nested("lifecycle").nested("current")
    renew = billing.nested("renew").nested("current")
    engagement = billing.nested("engagement")
    monthly_price, currency = _monthly_price(billing.nested("pricing"))
    return name, ServiceBilling(
        service_id=fields.integer("serviceId"),
        plan_code=billing.nested("plan").text("code") or "",
        next_billing=billing.timestamp("nextBillingDate"),
        expiration=billing.timestamp("expirationDate"),
        creation=lifecycle.timestamp("creationDate"),
        termination=lifecycle.timestamp("terminationDate"),
        lifecycle_state=lifecycle.enum("state", LIFECYCLE_STATES),
        pending_actions=frozenset(_known(lifecycle, "pendingActions", LIFECYCLE_ACTIONS)),
        renew_mode=renew.enum("mode", RENEW_MODES),
        renew_period_seconds=_renew_period(renew),
        engagement_end=engagement.timestamp("endDate"),
        engagement_strategy=engagement.nested("endRule").enum("strategy", ENGAGEMENT_STRATEGIES),
        monthly_price=monthly_price,
        currency=currency,
    )


def _known(fields: Fields, key: str, known: tuple[str, ...]) -> tuple[str, ...]:
    """A list of enum values, each kept as sent; unknown ones are recorded as surprises."""
    values = fields.strings(key)
    for value in values:
        if value not in known:
            fields.problem(key, f"unknown value {value!r}")
    return values


def _renew_period(renew: Fields) -> float | None:
    """The renewal period in seconds, from months (capture spec) or a duration such as `P1M`."""
    value = renew.data.get("period")
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value) * SECONDS_PER_MONTH
    months = duration_months(value) if isinstance(value, str) else None
    if months is None:
        renew.problem("period", f"not a number of months or a duration: {str(value)[:40]!r}")
        return None
    return months * SECONDS_PER_MONTH


def _monthly_price(pricing: Fields) -> tuple[float | None, str | None]:
    """The price per month and its currency code, as the module docstring describes."""
    price = pricing.nested("price")
    currency = price.text("currencyCode")
    value = price.number("value")
    duration = pricing.text("duration")
    interval = pricing.integer("interval")
    if value is None or duration is None:
        return None, currency
    months = duration_months(duration)
    if months is None:
        pricing.problem("duration", f"not an ISO 8601 date duration: {duration[:40]!r}")
        return None, currency
    if interval is not None and interval < 1:
        pricing.problem("interval", f"expected a positive number, got {interval}")
        return None, currency
    return value / (months * (interval or 1)), currency


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """The only facts of `/me` the exporter keeps: nothing that identifies a person."""

    subsidiary: str | None
    currency: str | None


def parse_account(data: object, route: str, problems: list[ParseProblem]) -> AccountInfo:
    """Read `ovhSubsidiary` and `currency.code` from a nichandle.Nichandle, and no other field."""
    fields = Fields(data, route, problems)
    return AccountInfo(
        subsidiary=fields.text("ovhSubsidiary"),
        currency=fields.nested("currency").text("code"),
    )


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """One payment method, without its label or description (they can hold card digits)."""

    method_id: int
    payment_type: str
    status: str | None
    default: bool | None
    expiration: float | None


def parse_payment_method(
    data: object, route: str, problems: list[ParseProblem]
) -> PaymentMethod | None:
    """Parse one me.payment.PaymentMethod; None when it has no id."""
    fields = Fields(data, route, problems)
    method_id = fields.integer("paymentMethodId")
    if method_id is None:
        fields.problem("paymentMethodId", "missing")
        return None
    return PaymentMethod(
        method_id=method_id,
        payment_type=fields.text("paymentType") or "",
        status=fields.enum("status", PAYMENT_METHOD_STATUSES),
        default=fields.boolean("default"),
        expiration=fields.timestamp("expirationDate"),
    )
