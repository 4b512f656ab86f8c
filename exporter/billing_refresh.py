"""Reads of the account-wide billing routes, shared by the `billing` and `account` jobs.

The account's VPS subscriptions come from one expanded listing of `/services`
(one GET per service only when OVH answers ids), filtered to VPS routes,
rather than from one call per VPS.
"""

from dataclasses import dataclass

from exporter.billing import (
    AccountInfo,
    PaymentMethod,
    ServiceBilling,
    parse_account,
    parse_payment_method,
    parse_service,
)
from exporter.model import ParseProblem
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import OvhError

ROUTE_SERVICES = "/services"
ROUTE_SERVICE = "/services/{serviceId}"
ROUTE_ME = "/me"
ROUTE_PAYMENT_METHODS = "/me/payment/method"
ROUTE_PAYMENT_METHOD = "/me/payment/method/{paymentMethodId}"


@dataclass(frozen=True)
class VpsServices:
    """The VPS subscriptions read, by VPS name, and the services whose own GET failed, by id."""

    services: dict[str, ServiceBilling]
    failed: dict[str, OvhError]


async def read_vps_services(client: OvhClient, problems: list[ParseProblem]) -> VpsServices:
    """Read every service of the account and keep those of VPS; raises if the listing fails.

    Each page is parsed as it comes and dropped: an account's services are all
    its products, several times its VPS.
    """
    services: dict[str, ServiceBilling] = {}
    failed: dict[str, OvhError] = {}
    async for page in client.object_pages(ROUTE_SERVICES, item_route=ROUTE_SERVICE):
        for item in page.objects:
            parsed = parse_service(item, ROUTE_SERVICE, problems)
            if parsed is not None:
                services[parsed[0]] = parsed[1]
        failed |= page.failed
    return VpsServices(services, failed)


async def read_account_info(client: OvhClient, problems: list[ParseProblem]) -> AccountInfo:
    """Read the account's subsidiary and currency from `/me`."""
    return parse_account(await client.get(ROUTE_ME), ROUTE_ME, problems)


async def read_payment_methods(
    client: OvhClient, problems: list[ParseProblem]
) -> tuple[PaymentMethod, ...]:
    """Read every payment method; a method that could not be read fails the whole read."""
    listing = await client.get_objects(ROUTE_PAYMENT_METHODS, item_route=ROUTE_PAYMENT_METHOD)
    for error in listing.failed.values():
        raise error
    parsed = (
        parse_payment_method(item, ROUTE_PAYMENT_METHOD, problems) for item in listing.objects
    )
    return tuple(sorted((m for m in parsed if m is not None), key=lambda m: m.method_id))
