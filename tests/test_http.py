"""The HTTP endpoints: routes, methods, readiness, content negotiation."""

import gzip
import itertools
import random
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from exporter.exposition import Exposition, Rendered, wants_gzip, wants_openmetrics
from exporter.http import _SLICE, EXPOSITION, _writes, create_app
from exporter.settings import JOBS
from exporter.store import AccountState, JobStatus, Store


@pytest.fixture
async def client_and_state() -> AsyncIterator[tuple[TestClient, AccountState, Store]]:
    state = AccountState("default", dict.fromkeys(JOBS, 60.0), stale_after=3)
    store = Store([state])
    exposition = Exposition(store.current)
    store.subscribe(exposition.update)
    exposition.start()
    async with TestClient(TestServer(create_app(exposition, store.ready))) as client:
        yield client, state, store
    await exposition.stop()


async def test_landing_page_links_to_metrics(
    client_and_state: tuple[TestClient, AccountState, Store],
) -> None:
    client, _, _ = client_and_state
    response = await client.get("/")

    assert response.status == 200
    assert response.content_type == "text/html"
    assert '<a href="metrics">' in await response.text()


async def test_readiness_waits_for_every_job(
    client_and_state: tuple[TestClient, AccountState, Store],
) -> None:
    client, state, store = client_and_state
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 503

    state.jobs["vps"] = JobStatus(success=True, last_success=1.0, duration=0.1, failures=0)
    assert (await client.get("/readyz")).status == 503

    state.jobs["tasks"] = JobStatus(success=False, last_success=None, duration=0.1, failures=1)
    assert (await client.get("/readyz")).status == 503

    state.jobs["tasks"] = JobStatus(success=True, last_success=2.0, duration=0.1, failures=1)
    state.jobs["backups"] = state.jobs["billing"] = state.jobs["account"] = state.jobs["vps"]
    state.jobs["details"] = state.jobs["disks"] = state.jobs["vps"]
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.text() == "ready\n"
    assert store.ready()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/", "/metrics", "/healthz", "/readyz"])
async def test_only_get_and_head_are_allowed(
    client_and_state: tuple[TestClient, AccountState, Store], method: str, path: str
) -> None:
    client, _, _ = client_and_state
    response = await client.request(method, path)

    assert response.status == 405
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD"}


async def test_head_and_unknown_paths(
    client_and_state: tuple[TestClient, AccountState, Store],
) -> None:
    client, _, _ = client_and_state

    assert (await client.head("/metrics")).status == 200
    assert (await client.get("/metrics/extra")).status == 404
    assert (await client.get("/admin")).status == 404


async def test_metrics_before_any_refresh_holds_the_build_info(
    client_and_state: tuple[TestClient, AccountState, Store],
) -> None:
    client, _, _ = client_and_state
    response = await client.get("/metrics")
    text = await response.text()

    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "ovh_exporter_build_info{" in text
    assert "ovh_vps_info{" not in text


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            True,
        ),
        ("text/plain;version=0.0.4", False),
        ("", False),
        ("application/openmetrics-text; q=0", False),
        ("*/*", False),
        ("text/plain;q=1, application/openmetrics-text;q=0.1", False),
        ("APPLICATION/OPENMETRICS-TEXT", True),
        ("application/openmetrics-text;q=0.5, */*;q=0.1", True),
    ],
)
def test_openmetrics_negotiation(accept: str, expected: bool) -> None:
    assert wants_openmetrics(accept) is expected


async def test_a_failing_render_keeps_the_last_exposition(
    monkeypatch: pytest.MonkeyPatch, client_and_state: tuple[TestClient, AccountState, Store]
) -> None:
    client, _, store = client_and_state
    before = await (await client.get("/metrics")).text()

    def broken(snapshot: object) -> None:
        raise RuntimeError("a bug in a collector")

    monkeypatch.setattr("exporter.exposition.render", broken)
    store.publish()
    exposition = client.app[EXPOSITION]
    await exposition.flush()

    assert await (await client.get("/metrics")).text() == before
    monkeypatch.undo()
    store.publish()
    await exposition.flush()
    assert exposition.current.generation == store.current.generation


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip", True),
        ("GZIP, deflate", True),
        ("gzip;q=0", False),
        ("deflate, br", False),
        ("*", True),
        ("", False),
    ],
)
def test_gzip_negotiation(accept_encoding: str, expected: bool) -> None:
    assert wants_gzip(accept_encoding) is expected


def test_a_large_piece_is_written_a_slice_at_a_time() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB: four slices.

    writes = [bytes(write) for write in _writes([body[5:]])]

    assert [len(write) for write in writes] == [_SLICE, _SLICE, _SLICE, _SLICE - 5]
    assert b"".join(writes) == body[5:]


def test_small_pieces_are_joined_up_to_a_slice_and_large_ones_stand_alone() -> None:
    small = [bytes([n % 256]) * 1000 for n in range(300)]  # 300,000 bytes in all: two writes.
    large = b"L" * (_SLICE + 10)
    pieces = [b"header", *small, large, b"tail", b"end"]

    writes = [bytes(write) for write in _writes(pieces)]

    assert [len(write) for write in writes] == [
        6 + 262 * 1000,  # the header and as many small pieces as fit in a slice
        38 * 1000,  # the rest, ended by the large piece
        _SLICE,
        10,
        7,  # the last small pieces, joined
    ]
    assert b"".join(writes) == b"".join(pieces)


def test_empty_pieces_make_no_write() -> None:
    large = b"L" * _SLICE

    writes = [bytes(write) for write in _writes([b"", large, b"", b"", b"a", b""])]

    assert writes == [large, b"a"]


def test_a_lone_small_piece_is_written_without_a_copy() -> None:
    piece = b"x" * 100

    (write,) = _writes([piece])

    assert write is piece


@pytest.mark.parametrize("compressed", [True, False])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_a_body_of_many_pieces_reaches_the_scraper_whole(
    compressed: bool, method: str
) -> None:
    ids = random.Random(7)
    plain = b"".join(
        b'ovh_vps_info{id="%s"} 1\n' % ids.randbytes(16).hex().encode() for _ in range(80_000)
    )
    body = gzip.compress(plain)
    assert len(body) > 4 * _SLICE
    # Tiny, empty, slice-sized and larger pieces, as a render leaves them.
    cuts = [0, 10, 11, 11, 500, 3_000, 3_000 + _SLICE, 4_000 + 3 * _SLICE, len(body)]
    pieces = tuple(body[start:end] for start, end in itertools.pairwise(cuts))
    rendered = Rendered(
        generation=1, gzip_pieces={False: pieces, True: pieces}, plain_sizes={False: len(plain)}
    )
    app = create_app(SimpleNamespace(current=rendered), lambda: True)  # type: ignore[arg-type]
    headers = {"Accept": "text/plain", "Accept-Encoding": "gzip" if compressed else "identity"}

    async with TestClient(TestServer(app), auto_decompress=False) as client:
        response = await client.request(method, "/metrics", headers=headers)
        received = await response.read()

    expected = body if compressed else plain
    assert response.status == 200
    assert int(response.headers["Content-Length"]) == len(expected)
    assert received == (expected if method == "GET" else b"")
    assert response.headers.get("Content-Encoding") == ("gzip" if compressed else None)
