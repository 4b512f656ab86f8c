"""The simulated account's own objects: `/me`, its payment methods and its other services.

Every personal value here is invented and plainly fake: the simulator answers
`/me` in full, as OVH does, so that tests can prove the exporter keeps none of it.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

# Monthly prices of the simulator's catalogue, invented for the simulation.
MONTHLY_PRICES: Final = {
    "vps-2025-model1": 4.2,
    "vps-2025-model2": 7.8,
    "vps-2025-model3": 15.6,
    "vps-2025-model4": 27.0,
    "vps-starter-1-2-20": 3.0,
    "vps-value-1-2-40": 5.5,
    "vps-essential-2-4-80": 11.0,
    "vps-comfort-4-8-160": 22.0,
}
DEFAULT_MONTHLY_PRICE: Final = 6.0

# What OVH's /me says about a person: fake values, all of which must stay out of /metrics.
PERSONAL_FIELDS: Final = {
    "nichandle": "zz4242-ovh",
    "email": "jane.placeholder@example.com",
    "spareEmail": "jane.spare@example.org",
    "firstname": "Janeplaceholder",
    "name": "Doeplaceholder",
    "organisation": "Placeholder Widgets SARL",
    "address": "42 rue du Faux Exemple",
    "complementaryAddress": "Batiment Z",
    "city": "Villefictive",
    "zip": "99999",
    "area": "Nowhere",
    "phone": "+33.999999999",
    "fax": None,
    "birthDay": "01/01/1970",
    "birthCity": "Imaginaire",
    "vat": "FR00999999999",
    "customerCode": "9999-9999-99",
    "nationalIdentificationNumber": None,
    "companyNationalIdentificationNumber": "99999999900099",
    "italianSDI": None,
    "purposeOfPurchase": None,
    "corporationType": None,
}


def sim_me(subsidiary: str = "FR", currency: str = "EUR") -> dict[str, Any]:
    """Build a full nichandle.Nichandle: `ovhSubsidiary` and `currency` as given, the rest fake."""
    symbols = {"EUR": "€", "GBP": "£", "CAD": "$", "USD": "$", "PLN": "zł", "CZK": "Kč"}
    return {
        **PERSONAL_FIELDS,
        "country": subsidiary if subsidiary != "EU" else "IE",
        "phoneCountry": "FR",
        "phoneType": "mobile",
        "language": "fr_FR",
        "currency": {"code": currency, "symbol": symbols.get(currency, currency)},
        "ovhCompany": "ovh",
        "ovhSubsidiary": subsidiary,
        "state": "complete",
        "legalform": "corporation",
        "kycValidated": True,
        "sex": None,
    }


def sim_payment_method(
    method_id: int,
    payment_type: str = "CREDIT_CARD",
    *,
    status: str = "VALID",
    default: bool = False,
    expiration: str | None = "2028-06-30T23:59:59+01:00",
    created: str = "2024-03-01T10:00:00+01:00",
    label: str = "4970 10** **** 0001",
) -> dict[str, Any]:
    """Build one me.payment.PaymentMethod; the label mimics masked card digits on purpose."""
    sub_type = "VISA" if payment_type == "CREDIT_CARD" else None
    return {
        "paymentMethodId": method_id,
        "paymentMeanId": method_id + 5000,
        "paymentType": payment_type,
        "paymentSubType": sub_type,
        "label": label,
        "description": "Carte de Janeplaceholder",
        "status": status,
        "default": default,
        "oneclick": payment_type == "CREDIT_CARD",
        "integration": "IFRAME_VANTIV" if payment_type == "CREDIT_CARD" else "REDIRECT",
        "creationDate": created,
        "lastUpdate": created,
        "expirationDate": expiration,
        "billingContactId": None,
        "formSessionId": None,
        "merchantId": None,
        "icon": {"name": payment_type.lower(), "data": None, "url": None},
    }


def sim_pricing(
    price: float, currency: str = "EUR", duration: str = "P1M", interval: int = 1
) -> dict[str, Any]:
    """Build the TPricing of a service: `price` in `currency` for each `interval` x `duration`."""
    return {
        "capacities": ["renew"],
        "description": f"Rental fees every {interval} x {duration}",
        "interval": interval,
        "duration": duration,
        "minimumQuantity": 1,
        "maximumQuantity": 1,
        "minimumRepeat": 1,
        "maximumRepeat": None,
        "price": {"currencyCode": currency, "text": f"{price:.2f} {currency}", "value": price},
        "priceInUcents": round(price * 100_000_000),
        "pricingMode": "default",
        "pricingType": "rental",
    }


def sim_billing(
    price: float = DEFAULT_MONTHLY_PRICE,
    currency: str = "EUR",
    duration: str = "P1M",
    interval: int = 1,
    engagement_strategy: str = "REACTIVATE_ENGAGEMENT",
) -> dict[str, Any]:
    """Build the billing inputs of a simulated VPS that serviceInfos does not hold."""
    return {
        "pricing": sim_pricing(price, currency, duration, interval),
        "engagementStrategy": engagement_strategy,
    }


def sim_other_service(service_id: int, name: str = "example.net") -> dict[str, Any]:
    """Build the TService of a product that is not a VPS (a domain), which the exporter skips."""
    return {
        "route": {
            "path": "/domain/{serviceName}",
            "url": f"/domain/{name}",
            "vars": [{"key": "serviceName", "value": name}],
        },
        "billing": {
            "nextBillingDate": "2027-02-01T00:00:00+01:00",
            "expirationDate": "2027-02-01T00:00:00+01:00",
            "plan": {"code": "domain-net", "invoiceName": "Domain .net"},
            "pricing": sim_pricing(13.0, duration="P1Y"),
            "group": None,
            "lifecycle": {
                "current": {
                    "pendingActions": [],
                    "terminationDate": None,
                    "creationDate": "2020-02-01T00:00:00+01:00",
                    "state": "active",
                },
                "capacities": {"actions": ["terminateAtExpirationDate"]},
            },
            "renew": {
                "current": {
                    "mode": "automatic",
                    "nextDate": "2027-02-01T00:00:00+01:00",
                    "period": 12,
                },
                "capacities": {"mode": ["automatic", "manual"]},
            },
            "engagement": None,
            "engagementRequest": None,
        },
        "resource": {
            "displayName": name,
            "name": name,
            "state": "active",
            "product": {"name": "domain", "description": "Domain name"},
            "resellingProvider": None,
        },
        "serviceId": service_id,
        "parentServiceId": None,
        "customer": {"contacts": []},
        "tags": [],
    }


def _default_payment_methods() -> list[dict[str, Any]]:
    """One valid default card, expiring long after any test date."""
    return [sim_payment_method(1001, default=True)]


@dataclass
class SimAccount:
    """The account-level answers: `/me`, its payment methods, and services that are not VPS."""

    me: dict[str, Any] = field(default_factory=sim_me)
    payment_methods: list[dict[str, Any]] = field(default_factory=_default_payment_methods)
    other_services: list[dict[str, Any]] = field(
        default_factory=lambda: [sim_other_service(900_000_001)]
    )

    @classmethod
    def of(
        cls,
        *methods: dict[str, Any],
        subsidiary: str = "FR",
        currency: str = "EUR",
        other_services: Sequence[dict[str, Any]] | None = None,
    ) -> "SimAccount":
        """Build an account with these payment methods (none given: the default card)."""
        return cls(
            me=sim_me(subsidiary, currency),
            payment_methods=list(methods) if methods else _default_payment_methods(),
            other_services=[sim_other_service(900_000_001)]
            if other_services is None
            else list(other_services),
        )


def generated_account(now: dt.datetime) -> SimAccount:
    """The account of a generated fleet described at `now` (aware): every payment-method case.

    A default card that expires in 20 days, a card that expired two months ago,
    a valid SEPA direct debit without expiration, and a PayPal account still
    being validated; plus one domain among the services.
    """

    def at(days: int) -> str:
        """The moment `days` from `now`, written the way OVH does."""
        return (now + dt.timedelta(days=days)).isoformat(timespec="seconds")

    return SimAccount.of(
        sim_payment_method(2001, default=True, expiration=at(20), created=at(-700)),
        sim_payment_method(
            2002, status="EXPIRED", expiration=at(-60), created=at(-1500), label="5132 **** 0002"
        ),
        sim_payment_method(
            2003, "SEPA_DIRECT_DEBIT", expiration=None, created=at(-400), label="FR76 **** 003"
        ),
        sim_payment_method(2004, "PAYPAL", status="VALIDATING", expiration=None, created=at(-1)),
    )
