"""The simulated `/services` and `/me` answers, built from the fleet so that they agree with it.

A VPS's TService (the capture spec's shape) is derived at request time from its
serviceInfos and model, plus the pricing and engagement end strategy kept in
`SimVps.billing`: a test that changes serviceInfos sees `/services` follow.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from exporter.simulator.errors import bad_request, not_found
from exporter.simulator.fleet import OVH_OFFSET, Fleet, SimVps, ovh_datetime

# How the simulator maps serviceInfos.status onto the lifecycle state of /services.
LIFECYCLE_OF_STATUS: Final = {
    "ok": "active",
    "inCreation": "active",
    "autorenewInProgress": "toRenew",
    "expired": "unrenewed",
    "unPaid": "unpaid",
    "pendingDebt": "unpaid",
}
ENGAGEMENT_STRATEGIES: Final = (
    "CANCEL_SERVICE",
    "REACTIVATE_ENGAGEMENT",
    "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE",
    "STOP_ENGAGEMENT_KEEP_PRICE",
)
PAYMENT_STATUSES: Final = frozenset(
    {
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
    }
)
_CONTACT_TYPES: Final = ("administrator", "billing", "technical")


def _midnight(day: str | None) -> str | None:
    """Turn serviceInfos's "YYYY-MM-DD" into the date-time /services writes: midnight, Paris."""
    if day is None:
        return None
    return ovh_datetime(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), OVH_OFFSET))


def vps_service(machine: SimVps) -> dict[str, Any]:
    """Build the TService of one VPS from its serviceInfos, model and billing inputs."""
    infos = machine.service_infos
    renew = infos["renew"]
    automatic = bool(renew.get("automatic"))
    terminating = bool(renew.get("deleteAtExpiration"))
    expiration = _midnight(infos["expiration"])
    engaged_up_to = _midnight(infos.get("engagedUpTo"))
    model = machine.vps["model"]
    pricing = dict(machine.billing["pricing"])
    strategy = machine.billing["engagementStrategy"]
    engagement = None
    if engaged_up_to is not None:
        engagement = {
            "endDate": engaged_up_to,
            "endRule": {"possibleStrategies": list(ENGAGEMENT_STRATEGIES), "strategy": strategy},
        }
        pricing["engagementConfiguration"] = {
            "duration": "P12M",
            "type": "periodic",
            "defaultEndAction": strategy,
        }
    return {
        "route": {
            "path": "/vps/{serviceName}",
            "url": f"/vps/{machine.name}",
            "vars": [{"key": "serviceName", "value": machine.name}],
        },
        "billing": {
            "nextBillingDate": None if terminating else expiration,
            "expirationDate": expiration,
            "plan": {"code": model["name"], "invoiceName": model["offer"]},
            "pricing": pricing,
            "group": None,
            "lifecycle": {
                "current": {
                    "pendingActions": ["terminateAtExpirationDate"] if terminating else [],
                    "terminationDate": expiration if terminating else None,
                    "creationDate": _midnight(infos["creation"]),
                    "state": LIFECYCLE_OF_STATUS.get(infos["status"], "active"),
                },
                "capacities": {"actions": ["earlyRenewal", "terminateAtExpirationDate"]},
            },
            "renew": {
                "current": {
                    "mode": "automatic" if automatic else "manual",
                    "nextDate": expiration if automatic else None,
                    "period": renew.get("period"),
                },
                "capacities": {"mode": ["automatic", "manual"]},
            },
            "engagement": engagement,
            "engagementRequest": None,
        },
        "resource": {
            "displayName": machine.vps["displayName"],
            "name": machine.name,
            "state": "suspended" if infos["status"] == "expired" else "active",
            "product": {"name": model["name"], "description": model["offer"]},
            "resellingProvider": None,
        },
        "serviceId": infos["serviceId"],
        "parentServiceId": None,
        "customer": {
            "contacts": [
                {"customerCode": infos["contactAdmin"], "type": kind} for kind in _CONTACT_TYPES
            ]
        },
        "tags": [],
    }


def services(fleet: Fleet) -> list[dict[str, Any]]:
    """Every service of the account, VPS and others, ordered by serviceId."""
    every = [vps_service(machine) for machine in fleet.vps.values()]
    every.extend(fleet.account.other_services)
    return sorted(every, key=lambda service: int(service["serviceId"]))


def find_service(fleet: Fleet, service_id: str) -> dict[str, Any]:
    """The service with this id, or OVH's 404."""
    for service in services(fleet):
        if str(service["serviceId"]) == service_id:
            return service
    raise not_found(f"The requested object (serviceId = {service_id}) does not exist")


def payment_methods(fleet: Fleet, query: Mapping[str, str]) -> list[dict[str, Any]]:
    """The payment methods, filtered on `status`, `paymentType` and `default` like OVH does."""
    status = query.get("status")
    if status is not None and status not in PAYMENT_STATUSES:
        raise bad_request(f"Invalid value for parameter status: {status!r}")
    default = query.get("default")
    if default not in (None, "true", "false"):
        raise bad_request(f"Invalid value for parameter default: {default!r}")
    payment_type = query.get("paymentType")
    return sorted(
        (
            method
            for method in fleet.account.payment_methods
            if status in (None, method["status"])
            and payment_type in (None, method["paymentType"])
            and default in (None, str(method["default"]).lower())
        ),
        key=lambda method: int(method["paymentMethodId"]),
    )


def find_payment_method(fleet: Fleet, method_id: str) -> dict[str, Any]:
    """The payment method with this id, or OVH's 404."""
    for method in fleet.account.payment_methods:
        if str(method["paymentMethodId"]) == method_id:
            return method
    raise not_found(f"The requested object (paymentMethodId = {method_id}) does not exist")
