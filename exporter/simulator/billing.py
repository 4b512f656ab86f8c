"""The simulated `/services` and `/me` answers, built from the fleet so that they agree with it.

A VPS's TService (the capture spec's shape) is derived from its serviceInfos and
model, plus the pricing and engagement end strategy kept in `SimVps.billing`: a
test that changes serviceInfos sees `/services` follow. Each TService is built
when a page or `/services/{serviceId}` first shows it, and kept while what it is
built from stays the same, so that a page of a large fleet costs little more
than its own services.
"""

import datetime as dt
import marshal
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, overload

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
# The enums of the capture spec and me.openapi.json, kept here rather than shared with the
# exporter's parsers so that a mistake in those cannot hide in the simulator too.
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


# A service as the account holds it: a VPS, whose TService is built, or another product's.
_Source = SimVps | dict[str, Any]


def _fingerprint(value: Any) -> bytes | None:
    """Bytes equal only for values alike in every type, item and key order; None if not data."""
    # Not ==, which finds 1, 1.0 and True equal where JSON writes them apart. marshal is
    # fast, and its format 2 has no back-references, so shared objects change no byte.
    try:
        return marshal.dumps(value, 2)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Built:
    """One VPS's TService, and the fingerprint of what `vps_service` built it from."""

    inputs: bytes | None
    service: dict[str, Any]


class Services(Sequence[dict[str, Any]]):
    """The account's services ordered by serviceId; a VPS's is built when first read.

    The objects are shared from one request to the next: callers must not change them.
    """

    def __init__(
        self, sources: Sequence[_Source], ids: Sequence[Any], built: dict[int, _Built]
    ) -> None:
        """Order the sources by their serviceIds `ids` (as given, among equal ones)."""
        order = sorted(range(len(sources)), key=lambda position: int(ids[position]))
        self._sources = [sources[position] for position in order]
        self.ids: tuple[Any, ...] = tuple(ids[position] for position in order)
        self._built = built
        self._positions: dict[str, int] = {}
        for position, service_id in enumerate(self.ids):
            self._positions.setdefault(str(service_id), position)

    def __len__(self) -> int:
        """The number of services."""
        return len(self._sources)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]:
        """The service at `index`."""

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        """The services of a slice, such as one page."""

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        """The service at `index`, or the services of a slice."""
        if isinstance(index, slice):
            return [self._service(source) for source in self._sources[index]]
        return self._service(self._sources[index])

    def find(self, service_id: str) -> dict[str, Any] | None:
        """The first service whose serviceId is written `service_id`, if any."""
        position = self._positions.get(service_id)
        return None if position is None else self._service(self._sources[position])

    def _service(self, source: _Source) -> dict[str, Any]:
        """A service, its TService built again if what it is built from changed."""
        if not isinstance(source, SimVps):
            return source
        inputs = _fingerprint((source.name, source.vps, source.service_infos, source.billing))
        built = self._built.get(id(source))
        if built is None or built.inputs is None or built.inputs != inputs:
            built = _Built(inputs, vps_service(source))
            self._built[id(source)] = built
        return built.service


class _Book:
    """The services of one fleet, arranged again only when a service or a serviceId changes."""

    def __init__(self) -> None:
        """Start with nothing arranged or built."""
        self._layout: bytes | None = None
        self._built: dict[int, _Built] = {}
        self._services = Services([], [], self._built)

    def services(self, fleet: Fleet) -> Services:
        """The fleet's services as they stand."""
        machines = list(fleet.vps.values())
        others = fleet.account.other_services
        ids = [machine.service_infos["serviceId"] for machine in machines]
        ids += [service["serviceId"] for service in others]
        # The arrangement holds its sources, so no id in it can be reused while it stands.
        layout = _fingerprint((list(map(id, machines)), list(map(id, others)), ids))
        if layout is None or layout != self._layout:
            sources: list[_Source] = [*machines, *others]
            present = set(map(id, sources))
            for key in [key for key in self._built if key not in present]:
                del self._built[key]
            self._services = Services(sources, ids, self._built)
            self._layout = layout
        return self._services


_BOOKS: Final[dict[int, _Book]] = {}


def services(fleet: Fleet) -> Services:
    """Every service of the account, VPS and others, ordered by serviceId."""
    book = _BOOKS.get(id(fleet))
    if book is None:
        book = _BOOKS[id(fleet)] = _Book()
        weakref.finalize(fleet, _BOOKS.pop, id(fleet), None)
    return book.services(fleet)


def find_service(fleet: Fleet, service_id: str) -> dict[str, Any]:
    """The service with this id, or OVH's 404."""
    found = services(fleet).find(service_id)
    if found is None:
        raise not_found(f"The requested object (serviceId = {service_id}) does not exist")
    return found


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
