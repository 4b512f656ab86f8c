"""The simulated `/services`, `/me` and payment methods: OVH's shapes, filters and checks."""

import copy
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import pytest

from exporter.simulator import Fleet, SimulatorConfig, generate_fleet, sim_vps
from exporter.simulator.account import PERSONAL_FIELDS
from exporter.simulator.billing import PAYMENT_STATUSES, find_service, services, vps_service
from exporter.simulator.faults import Fault
from tests.conftest import shared_json
from tests.test_simulator_auth import Client, FakeClock, signed_get, simulated
from tests.test_simulator_routes import EXPANDED, signed
from tests.test_simulator_schema import FORMATS, assert_valid, to_json_schema

ME_SPEC: dict[str, Any] = shared_json("ovh-api/me.openapi.json")
TODAY = dt.date(2026, 1, 15)
ALPHA = "vps-alpha.vps.ovh.net"
BRAVO = "vps-bravo.vps.ovh.net"
CHARLIE = "vps-charlie.vps.ovh.net"
DELTA = "vps-delta.vps.ovh.net"
ECHO = "vps-echo.vps.ovh.net"
# The default account's one other service, a domain.
DOMAIN_SERVICE_ID = 900_000_001

# TService of the capture spec (manager-capture-spec.md), with the nulls OVH sends for a
# service without engagement, termination or group.
_DATE_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_DATE_TIME = {"anyOf": [{"type": "null"}, _DATE_TIME]}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """A closed JSON object with every property required."""
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


_STRINGS = {"type": "array", "items": {"type": "string"}}
_PRICING = _object(
    {
        "capacities": _STRINGS,
        "description": {"type": "string"},
        "interval": {"type": "integer", "minimum": 1},
        "duration": {"type": "string", "pattern": "^P([0-9]+[YMWD])+$"},
        "minimumQuantity": {"type": "integer"},
        "maximumQuantity": {"type": "integer"},
        "minimumRepeat": {"type": "integer"},
        "maximumRepeat": {"type": ["integer", "null"]},
        "price": _object(
            {
                "currencyCode": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "text": {"type": "string"},
                "value": {"type": "number"},
            }
        ),
        "priceInUcents": {"type": "integer"},
        "pricingMode": {"type": "string"},
        "pricingType": {"type": "string"},
    }
)
_PRICING["properties"]["engagementConfiguration"] = _object(
    {"duration": {"type": "string"}, "type": {"type": "string"}, "defaultEndAction": {}}
)
T_SERVICE = _object(
    {
        "route": _object(
            {
                "path": {"type": "string"},
                "url": {"type": "string"},
                "vars": {
                    "type": "array",
                    "items": _object({"key": {"type": "string"}, "value": {"type": "string"}}),
                },
            }
        ),
        "billing": _object(
            {
                "nextBillingDate": _NULLABLE_DATE_TIME,
                "expirationDate": _DATE_TIME,
                "plan": _object({"code": {"type": "string"}, "invoiceName": {"type": "string"}}),
                "pricing": _PRICING,
                "group": {"type": "null"},
                "lifecycle": _object(
                    {
                        "current": _object(
                            {
                                "pendingActions": _STRINGS,
                                "terminationDate": _NULLABLE_DATE_TIME,
                                "creationDate": _DATE_TIME,
                                "state": {"type": "string"},
                            }
                        ),
                        "capacities": _object({"actions": _STRINGS}),
                    }
                ),
                "renew": _object(
                    {
                        "current": _object(
                            {
                                "mode": {"enum": ["automatic", "manual"]},
                                "nextDate": _NULLABLE_DATE_TIME,
                                "period": {"type": ["integer", "null"]},
                            }
                        ),
                        "capacities": _object({"mode": _STRINGS}),
                    }
                ),
                "engagement": {
                    "anyOf": [
                        {"type": "null"},
                        _object(
                            {
                                "endDate": _DATE_TIME,
                                "endRule": _object(
                                    {
                                        "possibleStrategies": _STRINGS,
                                        "strategy": {"type": "string"},
                                    }
                                ),
                            }
                        ),
                    ]
                },
                "engagementRequest": {"type": "null"},
            }
        ),
        "resource": _object(
            {
                "displayName": {"type": "string"},
                "name": {"type": "string"},
                "state": {"type": "string"},
                "product": _object({"name": {"type": "string"}, "description": {"type": "string"}}),
                "resellingProvider": {"type": ["string", "null"]},
            }
        ),
        "serviceId": {"type": "integer"},
        "parentServiceId": {"type": ["integer", "null"]},
        "customer": _object(
            {
                "contacts": {
                    "type": "array",
                    "items": _object(
                        {"customerCode": {"type": "string"}, "type": {"type": "string"}}
                    ),
                }
            }
        ),
        "tags": _STRINGS,
    }
)


def me_definitions() -> dict[str, Any]:
    """me.openapi.json's schemas, every property required and no other allowed."""
    components = copy.deepcopy(ME_SPEC["components"]["schemas"])
    for component in components.values():
        if component.get("type") == "object" and "properties" in component:
            component["required"] = sorted(component["properties"])
            component["additionalProperties"] = False
    return {name: to_json_schema(component) for name, component in components.items()}


ME_DEFINITIONS = me_definitions()


def me_schema(route: str, expanded: bool = False) -> dict[str, Any]:
    """The JSON Schema of the 200 answer of `GET route` in me.openapi.json."""
    operation = ME_SPEC["paths"][route]["get"]
    if expanded:
        assert operation["x-expanded-response"] == "MePaymentPaymentMethod"
        item = {"$ref": "#/$defs/me.payment.PaymentMethod"}
        return {"$defs": ME_DEFINITIONS, "type": "array", "items": item}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return {"$defs": ME_DEFINITIONS, **to_json_schema(schema)}


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    """A generated fleet of 40, with every billing and payment-method case."""
    return generate_fleet(40, seed=21, today=TODAY)


@pytest.fixture
async def client(fleet: Fleet) -> AsyncIterator[Client]:
    """A simulator serving the generated fleet, on the fake clock."""
    async with simulated(fleet, SimulatorConfig(clock=FakeClock())) as client:
        yield client


async def test_me_answers_in_the_shape_of_me_openapi(client: Client) -> None:
    me = await signed_get(client, "/1.0/me")

    assert_valid(me, me_schema("/me"), "/me")
    assert me["ovhSubsidiary"] == "FR"
    assert me["currency"] == {"code": "EUR", "symbol": "€"}


async def test_payment_methods_answer_in_the_shape_of_me_openapi(client: Client) -> None:
    route = "/me/payment/method"
    ids = await signed_get(client, f"/1.0{route}")
    objects = await (await signed(client, f"/1.0{route}", EXPANDED)).json()

    assert_valid(ids, me_schema(route), route)
    assert_valid(objects, me_schema(route, expanded=True), f"{route} expanded")
    assert ids == [2001, 2002, 2003, 2004]
    for method_id, expanded in zip(ids, objects, strict=True):
        one = await signed_get(client, f"/1.0{route}/{method_id}")
        assert_valid(one, me_schema(f"{route}/{{paymentMethodId}}"), f"{route}/{method_id}")
        assert one == expanded


def test_the_strict_me_schema_catches_what_it_should() -> None:
    good = {**PERSONAL_FIELDS}
    with pytest.raises(AssertionError, match="'country' is a required property"):
        assert_valid(good, me_schema("/me"), "me")
    method = me_schema("/me/payment/method/{paymentMethodId}")
    with pytest.raises(AssertionError, match="'NEARLY_VALID' is not one of"):
        assert_valid({"status": "NEARLY_VALID"}, method, "method")


async def test_payment_methods_are_filtered_like_ovh(client: Client) -> None:
    route = "/1.0/me/payment/method"

    assert await signed_get(client, f"{route}?status=VALID") == [2001, 2003]
    assert await signed_get(client, f"{route}?default=true") == [2001]
    assert await signed_get(client, f"{route}?paymentType=PAYPAL") == [2004]
    refused = await signed(client, f"{route}?status=valid")
    assert refused.status == 400
    assert (await refused.json())["class"] == "Client::BadRequest"
    missing = await signed(client, f"{route}/9999")
    assert missing.status == 404


async def test_generated_cards_cover_expired_and_expiring_soon(client: Client) -> None:
    methods = await (await signed(client, "/1.0/me/payment/method", EXPANDED)).json()
    noon = dt.datetime.combine(TODAY, dt.time(12), dt.timezone(dt.timedelta(hours=1)))

    def expires_in_days(method: dict[str, Any]) -> float | None:
        date = method["expirationDate"]
        return None if date is None else (dt.datetime.fromisoformat(date) - noon).days

    assert [(m["status"], m["default"], expires_in_days(m)) for m in methods] == [
        ("VALID", True, 20),
        ("EXPIRED", False, -60),
        ("VALID", False, None),
        ("VALIDATING", False, None),
    ]


async def test_services_answer_in_the_shape_of_the_capture_spec(
    client: Client, fleet: Fleet
) -> None:
    validator = jsonschema.Draft202012Validator(T_SERVICE, format_checker=FORMATS)
    ids = await signed_get(client, "/1.0/services")
    objects = await (await signed(client, "/1.0/services", EXPANDED)).json()

    assert ids == sorted(ids)
    assert len(ids) == len(fleet.vps) + 1  # and the account's domain
    for service_id, service in zip(ids, objects, strict=True):
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(service)]
        assert problems == [], service_id
        assert await signed_get(client, f"/1.0/services/{service_id}") == service

    vps = [service for service in objects if service["route"]["path"] == "/vps/{serviceName}"]
    assert sorted(service["resource"]["name"] for service in vps) == sorted(fleet.vps)
    for service in vps:
        infos = fleet.vps[service["resource"]["name"]].service_infos
        assert service["serviceId"] == infos["serviceId"]
        assert service["billing"]["expirationDate"] == f"{infos['expiration']}T00:00:00+01:00"


async def test_generated_services_cover_termination_and_engagement(client: Client) -> None:
    objects = await (await signed(client, "/1.0/services", EXPANDED)).json()
    billing = [service["billing"] for service in objects]

    terminating = [b for b in billing if b["lifecycle"]["current"]["pendingActions"]]
    assert [b["lifecycle"]["current"]["pendingActions"] for b in terminating] == [
        ["terminateAtExpirationDate"]
    ]
    assert (
        terminating[0]["lifecycle"]["current"]["terminationDate"]
        == (terminating[0]["expirationDate"])
    )
    assert terminating[0]["nextBillingDate"] is None
    engaged = [b for b in billing if b["engagement"] is not None]
    assert len(engaged) == 4
    assert {b["engagement"]["endRule"]["strategy"] for b in engaged} == {"REACTIVATE_ENGAGEMENT"}
    assert {b["pricing"]["price"]["currencyCode"] for b in billing} == {"EUR"}


async def test_unknown_service_is_404_and_every_route_checks_the_signature(
    client: Client,
) -> None:
    missing = await signed(client, "/1.0/services/1")
    assert missing.status == 404
    assert (await missing.json())["class"] == "Client::NotFound"
    for path in ("/1.0/services", "/1.0/me", "/1.0/me/payment/method"):
        unsigned = await client.get(path)
        assert unsigned.status == 401, path
        assert (await unsigned.json())["errorCode"] == "NOT_CREDENTIAL"


async def test_a_route_can_be_denied() -> None:
    config = SimulatorConfig(clock=FakeClock(), denied_routes=frozenset({"/me"}))
    async with simulated(generate_fleet(3, seed=1, today=TODAY), config) as client:
        refused = await signed(client, "/1.0/me")
        body = await refused.json()

    assert refused.status == 403
    assert body["errorCode"] == "NOT_GRANTED_CALL"


def test_payment_statuses_are_those_of_me_openapi() -> None:
    statuses = ME_SPEC["components"]["schemas"]["me.payment.method.StatusEnum"]["enum"]

    assert set(statuses) == PAYMENT_STATUSES


def built_afresh(fleet: Fleet) -> list[dict[str, Any]]:
    """Every service of `fleet` built from nothing, in the order `/services` gives them."""
    every = [vps_service(machine) for machine in fleet.vps.values()]
    every.extend(fleet.account.other_services)
    return sorted(every, key=lambda service: int(service["serviceId"]))


def three_vps() -> Fleet:
    """Alpha, Bravo and Charlie, services 101 to 103, each at the default 6.00 EUR a month."""
    return Fleet.of(
        sim_vps(ALPHA, service_id=101),
        sim_vps(BRAVO, service_id=102),
        sim_vps(CHARLIE, service_id=103),
    )


async def expanded_body(client: Client, headers: dict[str, str] | None = None) -> bytes:
    """The raw body of one page of `/services` expanded, expecting 200."""
    response = await signed(client, "/1.0/services", {**EXPANDED, **(headers or {})})
    assert response.status == 200, await response.text()
    return await response.read()


async def test_every_page_of_services_is_what_a_fresh_build_would_answer(
    client: Client, fleet: Fleet
) -> None:
    expected = built_afresh(fleet)
    pages = []
    for number in range(1, 8):
        paging = {"X-Pagination-Size": "7", "X-Pagination-Number": str(number)}
        pages.append(await expanded_body(client, paging))

    assert len(expected) == 41
    assert pages == [json.dumps(expected[start : start + 7]).encode() for start in range(0, 49, 7)]
    assert pages[-1] == b"[]"
    assert await signed_get(client, "/1.0/services") == [s["serviceId"] for s in expected]


async def test_services_follow_every_change_to_the_fleet() -> None:
    fleet = three_vps()
    fleet.vps[DELTA] = sim_vps(DELTA, service_id=104)
    alpha, bravo, charlie = fleet.vps[ALPHA], fleet.vps[BRAVO], fleet.vps[CHARLIE]

    def rename_and_expire_alpha() -> None:
        """Change serviceInfos and the VPS object of Alpha."""
        alpha.service_infos["status"] = "expired"
        alpha.vps["displayName"] = "renamed"

    def renew_charlie_every_1_0_month() -> None:
        """Equal to the 1 it replaces, yet written "1.0": the answer must change all the same."""
        charlie.service_infos["renew"]["period"] = 1.0

    def move_bravo_first() -> None:
        """Change the serviceId of Bravo, and so the order."""
        bravo.service_infos["serviceId"] = 100

    def replace_delta_with_echo() -> None:
        """Remove a VPS and add another."""
        del fleet.vps[DELTA]
        fleet.vps[ECHO] = sim_vps(ECHO, service_id=105)

    changes = [
        rename_and_expire_alpha,
        renew_charlie_every_1_0_month,
        move_bravo_first,
        replace_delta_with_echo,
    ]
    async with simulated(fleet, SimulatorConfig(clock=FakeClock())) as client:
        answers = [await expanded_body(client)]
        for change in changes:
            change()
            answers.append(await expanded_body(client))
            assert answers[-1] == json.dumps(built_afresh(fleet)).encode(), change.__name__
        ids = await signed_get(client, "/1.0/services")
        one = await signed_get(client, "/1.0/services/101")

    assert len(set(answers)) == len(answers)
    assert ids == [100, 101, 103, 105, DOMAIN_SERVICE_ID]
    assert [answer.count(b'"period": 1.0}') for answer in answers] == [0, 0, 1, 1, 1]
    assert one["resource"]["displayName"] == "renamed"
    assert one["resource"]["state"] == "suspended"
    assert one["billing"]["lifecycle"]["current"]["state"] == "unrenewed"
    assert json.loads(answers[0])[0]["billing"]["lifecycle"]["current"]["state"] == "active"


def test_a_service_is_built_again_only_when_what_it_is_built_from_changes() -> None:
    fleet = three_vps()
    first = list(services(fleet))

    fleet.vps[BRAVO].service_infos["renew"]["period"] = 12
    second = list(services(fleet))

    assert [service["serviceId"] for service in second] == [101, 102, 103, DOMAIN_SERVICE_ID]
    assert [new is old for new, old in zip(second, first, strict=True)] == [
        True,
        False,
        True,
        True,
    ]
    assert first[1]["billing"]["renew"]["current"]["period"] == 1
    assert second[1]["billing"]["renew"]["current"]["period"] == 12
    assert find_service(fleet, "102") is second[1]


async def test_a_mutated_services_answer_leaves_the_next_one_whole() -> None:
    fleet = three_vps()
    config = SimulatorConfig(clock=FakeClock())

    def scramble(body: Any) -> Any:
        """Change every service of the answer in place."""
        for service in body:
            service["billing"]["plan"]["code"] = "scrambled"
        return body

    fault = config.faults.add(Fault("mutate", route="/services", mutate=scramble, times=1))
    async with simulated(fleet, config) as client:
        faulty = json.loads(await expanded_body(client))
        whole = await expanded_body(client)
        one = await signed_get(client, "/1.0/services/101")

    assert fault.hits == 1
    assert {service["billing"]["plan"]["code"] for service in faulty} == {"scrambled"}
    assert whole == json.dumps(built_afresh(fleet)).encode()
    assert one["billing"]["plan"]["code"] == "vps-2025-model1"
