"""Property tests: the parsers and the client's JSON handling fed random and mutated OVH answers.

The answers start as the simulator's own (the shapes OVH sends); one part is
then replaced, removed or broken. Whatever the mutation, nothing raises past
the parsing layer, and every field the mutation did not touch reads as before.
"""

import asyncio
import datetime as dt
import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from exporter import model
from exporter.exposition import render
from exporter.model import (
    ParseProblem,
    newest_restore_point,
    parse_service_infos,
    parse_vps,
    summarize_tasks,
)
from exporter.ovh.auth import ApplicationKey
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import OvhApiError, OvhError, OvhResponseError
from exporter.ovh.retry import RetryPolicy
from exporter.simulator import generate_fleet
from exporter.store import AccountState, Entry, Snapshot

ROUTE = "/vps/{serviceName}"
FLEET = list(generate_fleet(25, seed=11, today=dt.date(2026, 12, 4)).vps.values())
PROFILE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Where each parsed field comes from in the answer.
VPS_SOURCES = {
    "name": ("name",),
    "display_name": ("displayName",),
    "state": ("state",),
    "model": ("model", "name"),
    "offer": ("model", "offer"),
    "version": ("model", "version"),
    "zone": ("zone",),
    "zone_type": ("zoneType",),
    "offer_type": ("offerType",),
    "cluster": ("cluster",),
    "vcores": ("vcore",),
    "memory_bytes": ("memoryLimit",),
    "netboot_mode": ("netbootMode",),
    "locked": ("lockStatus", "locked"),
}
SERVICE_SOURCES = {
    "status": ("status",),
    "expiration": ("expiration",),
    "engaged_up_to": ("engagedUpTo",),
    "renew_automatic": ("renew", "automatic"),
    "delete_at_expiration": ("renew", "deleteAtExpiration"),
}

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    # Numbers JSON allows and doubles do not hold: past 2**53, and past the largest double.
    | st.sampled_from([2**53 + 1, -(2**64), 10**400, 1.7e308, -1e300])
    | st.text(max_size=30)
    | st.sampled_from(["2026-12-04", "2026-12-04T03:00:00+01:00", "running", "ok", "enabled"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# A mutation: a new value for one part of the answer, or the part removed.
REMOVED = object()
replacements = json_values | st.just(REMOVED)


def paths(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path of a JSON object, nested objects included."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))


def mutated(data: dict[str, Any], path: tuple[str, ...], new: Any) -> dict[str, Any]:
    """A deep copy of `data` with the value at `path` replaced by `new` (or removed)."""
    copy = json.loads(json.dumps(data))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if new is REMOVED:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


def touches(path: tuple[str, ...], source: tuple[str, ...]) -> bool:
    """Tell whether changing `path` can change what is read from `source`."""
    shortest = min(len(path), len(source))
    return path[:shortest] == source[:shortest]


def untouched(
    parsed: Any, sources: dict[str, tuple[str, ...]], path: tuple[str, ...]
) -> dict[str, Any]:
    """The parsed fields whose source the mutation at `path` did not touch."""
    known = {item.name for item in fields(parsed)}
    return {
        name: getattr(parsed, name)
        for name, source in sources.items()
        if name in known and not touches(path, source)
    }


def problem_fields(problems: list[ParseProblem]) -> set[str]:
    """The field paths the parser complained about."""
    return {problem.field for problem in problems}


def complaint_is_about(field: str, path: tuple[str, ...]) -> bool:
    """Tell whether a complaint names the mutated part, or a part inside or above it."""
    named = tuple(field.split("."))
    return touches(path, named) or field == "name"


@st.composite
def mutated_answer(
    draw: st.DrawFn, pick: Callable[[Any], dict[str, Any]]
) -> tuple[dict[str, Any], tuple[str, ...], dict[str, Any]]:
    """A simulator answer, a path in it, and the answer with that path mutated."""
    machine = draw(st.sampled_from(FLEET))
    original = pick(machine)
    path = draw(st.sampled_from(sorted(paths(original))))
    return original, path, mutated(original, path, draw(replacements))


@PROFILE
@given(mutated_answer(lambda machine: machine.vps))
def test_a_mutated_vps_answer_keeps_every_field_it_did_not_touch(
    case: tuple[dict[str, Any], tuple[str, ...], dict[str, Any]],
) -> None:
    original, path, answer = case
    before = parse_vps(original, ROUTE, [])
    problems: list[ParseProblem] = []
    after = parse_vps(answer, ROUTE, problems)

    assert before is not None
    if path[0] == "name" and after is None:
        assert "name" in problem_fields(problems)
        return
    assert after is not None
    assert untouched(after, VPS_SOURCES, path) == untouched(before, VPS_SOURCES, path)
    assert all(complaint_is_about(field, path) for field in problem_fields(problems)), problems


@PROFILE
@given(mutated_answer(lambda machine: machine.service_infos))
def test_a_mutated_service_infos_answer_keeps_every_field_it_did_not_touch(
    case: tuple[dict[str, Any], tuple[str, ...], dict[str, Any]],
) -> None:
    original, path, answer = case
    before = parse_service_infos(original, "/vps/{serviceName}/serviceInfos", [])
    problems: list[ParseProblem] = []
    after = parse_service_infos(answer, "/vps/{serviceName}/serviceInfos", problems)

    assert untouched(after, SERVICE_SOURCES, path) == untouched(before, SERVICE_SOURCES, path)
    assert all(complaint_is_about(field, path) for field in problem_fields(problems)), problems


def with_tasks(machine: Any) -> bool:
    """Whether a VPS has tasks to mutate."""
    return bool(machine.tasks)


@PROFILE
@given(
    st.sampled_from([machine for machine in FLEET if with_tasks(machine)]),
    st.data(),
)
def test_a_mutated_task_changes_only_its_own_share_of_the_summary(
    machine: Any, data: st.DataObject
) -> None:
    tasks = [dict(task) for task in machine.tasks]
    index = data.draw(st.integers(min_value=0, max_value=len(tasks) - 1))
    path = data.draw(st.sampled_from(sorted(paths(tasks[index]))))
    broken = mutated(tasks[index], path, data.draw(replacements))
    others = tasks[:index] + tasks[index + 1 :]

    whole = summarize_tasks([*others, broken], "/vps/{serviceName}/tasks", [])
    alone = summarize_tasks([broken], "/vps/{serviceName}/tasks", [])
    rest = summarize_tasks(others, "/vps/{serviceName}/tasks", [])

    counts = dict(rest.counts)
    for key, count in alone.counts.items():
        counts[key] = counts.get(key, 0) + count
    assert whole.counts == counts
    assert {**rest.error_ids, **alone.error_ids} == whole.error_ids
    for key, started in rest.oldest.items():
        assert whole.oldest[key] <= started


@PROFILE
@given(
    st.lists(
        st.sampled_from(["2026-12-01T03:00:00+01:00", "2026-12-03T03:00:00+01:00"]) | json_values,
        max_size=6,
    )
)
def test_restore_points_count_every_item_and_date_the_readable_ones(items: list[Any]) -> None:
    problems: list[ParseProblem] = []
    count, newest = newest_restore_point(items, "/restorePoints", problems)

    readable = [model.parse_timestamp(item) for item in items if isinstance(item, str)]
    stamps = [stamp for stamp in readable if stamp is not None]
    assert count == len(items)
    assert newest == max(stamps, default=None)
    assert len(problems) == len(items) - len(stamps)


def object_parsers() -> list[Callable[..., Any]]:
    """Every parser of exporter.model that takes one answer, a route and a problem list."""
    found = []
    for _, function in inspect.getmembers(model, inspect.isfunction):
        parameters = list(inspect.signature(function).parameters)
        if function.__module__ == model.__name__ and parameters[1:] == ["route", "problems"]:
            found.append(function)
    assert {parser.__name__ for parser in found} >= {
        "parse_vps",
        "parse_service_infos",
        "parse_backup_state",
        "newest_restore_point",
        "summarize_tasks",
    }, found
    return found


PARSERS = object_parsers()


@PROFILE
@given(st.sampled_from(PARSERS), json_values)
def test_no_parser_raises_on_any_json(parser: Callable[..., Any], answer: Any) -> None:
    problems: list[ParseProblem] = []
    if parser is summarize_tasks:
        answer = answer if isinstance(answer, list) else [answer]
    parser(answer, ROUTE, problems)
    assert all(problem.route == ROUTE for problem in problems)


@PROFILE
@given(mutated_answer(lambda machine: machine.vps))
@example(({}, ("vcore",), {**FLEET[0].vps, "vcore": 10**400}))
@example(({}, ("memoryLimit",), {**FLEET[0].vps, "memoryLimit": 1.7e308}))
def test_whatever_a_vps_answer_holds_its_snapshot_renders(
    case: tuple[dict[str, Any], tuple[str, ...], dict[str, Any]],
) -> None:
    _, _, answer = case
    vps = parse_vps(answer, ROUTE, [])
    state = AccountState(
        "default",
        dict.fromkeys(("vps", "tasks", "backups", "billing", "account"), 60.0),
        stale_after=3,
    )
    if vps is not None:
        state.vps[vps.name] = Entry(vps, updated=1000.0)
    snapshot = Snapshot(generation=1, created=1000.0, accounts=(state.snapshot(1000.0),))

    rendered = render(snapshot)

    info_lines = [line for line in rendered.text.splitlines() if line.startswith(b"ovh_vps_info{")]
    assert len(info_lines) == (0 if vps is None else 1)


# The client's JSON handling.

KEY = ApplicationKey("app-key", SecretStr("app-secret"), SecretStr("consumer-key"))
REAL_BODY = json.dumps(FLEET[0].vps).encode()


def body_mutations() -> st.SearchStrategy[bytes]:
    """Bodies as a broken proxy or network would pass them on: cut, flipped, padded, random."""
    cut = st.integers(min_value=0, max_value=len(REAL_BODY)).map(lambda end: REAL_BODY[:end])
    flipped = st.tuples(
        st.integers(min_value=0, max_value=len(REAL_BODY) - 1), st.integers(0, 255)
    ).map(lambda change: REAL_BODY[: change[0]] + bytes([change[1]]) + REAL_BODY[change[0] + 1 :])
    padded = st.binary(max_size=20).map(lambda junk: REAL_BODY + junk)
    encoded = json_values.map(lambda value: json.dumps(value).encode())
    return cut | flipped | padded | st.binary(max_size=200) | encoded | st.just(REAL_BODY)


async def fetch(status: int, body: bytes, content_type: str) -> tuple[Any, list[str]]:
    """GET one VPS from a fake OVH answering `body`; returns its value or error, and the codes."""
    codes: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/time"):
            return httpx.Response(200, json=1_700_000_000)
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})

    client = OvhClient(
        "https://api.ovh.test/1.0",
        KEY,
        transport=httpx.MockTransport(answer),
        observer=lambda route, code: codes.append(code),
        retry=RetryPolicy(max_attempts=1),
        max_body_bytes=4096,
    )
    try:
        return await client.get(ROUTE, serviceName="vps-1"), codes
    except OvhError as error:
        return error, codes
    finally:
        await client.aclose()


@PROFILE
@given(
    st.sampled_from([200, 200, 200, 400, 404, 429, 500, 502, 503]),
    body_mutations(),
    st.sampled_from(["application/json", "text/html", "text/plain", "application/octet-stream"]),
)
def test_the_client_turns_any_body_into_a_value_or_an_ovh_error(
    status: int, body: bytes, content_type: str
) -> None:
    result, codes = asyncio.run(fetch(status, body, content_type))

    try:
        expected: Any = json.loads(body)
        valid = len(body) <= 4096
    except (ValueError, RecursionError):
        valid = False
    if len(body) > 4096:
        assert isinstance(result, OvhResponseError)
    elif status == 200 and valid:
        # Compared as JSON text, so that a NaN the body spelled out equals itself.
        assert json.dumps(result) == json.dumps(expected)
        assert codes[-1] == "200"
    elif status == 200:
        assert isinstance(result, OvhResponseError)
        assert codes[-1] == "invalid_response"
    else:
        assert isinstance(result, OvhApiError)
        assert result.status == status
        assert codes[-1] == str(status)
