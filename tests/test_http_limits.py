"""Bounded requests: oversized lines, headers and bodies get a 4xx, and the server lives on."""

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from exporter.exposition import Exposition
from exporter.http import create_app
from exporter.httpguard import MAX_BODY_BYTES, REQUEST_LIMITS
from exporter.settings import JOBS
from exporter.store import AccountState, Store

# Looks like a credential, so a test can prove it never reaches the log.
TOKEN = "Bearer eyLEAKCHECK" + "x" * 5000


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    state = AccountState("default", dict.fromkeys(JOBS, 60.0), stale_after=3)
    store = Store([state])
    exposition = Exposition(store.current)
    exposition.start()
    async with TestServer(create_app(exposition, store.ready), host="127.0.0.1") as test_server:
        yield test_server
    await exposition.stop()


async def exchange(server: TestServer, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes on a new connection; return the status and the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
    status_line = answer.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), answer


def get(path: str = "/metrics", headers: bytes = b"", body: bytes = b"") -> bytes:
    """A raw HTTP/1.1 GET that closes the connection after the answer."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
        + headers
        + b"\r\n"
        + body
    )


def test_the_bounds_are_small_and_explicit() -> None:
    assert REQUEST_LIMITS == {
        "max_line_size": 4096,
        "max_field_size": 4096,
        "max_headers": 64,
        "keepalive_timeout": 75.0,
    }
    assert MAX_BODY_BYTES == 1024


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (get("/metrics?" + "a" * 5000), 400),
        (get(headers=b"X-Long: " + b"a" * 5000 + b"\r\n"), 400),
        (get(headers=f"Authorization: {TOKEN}\r\n".encode()), 400),
        (get(headers=b"".join(b"X-H%d: v\r\n" % i for i in range(100))), 400),
        (get(headers=b"Content-Length: 2048\r\n", body=b"a" * 2048), 413),
        (
            get(
                headers=b"Transfer-Encoding: chunked\r\n",
                body=b"800\r\n" + b"a" * 2048 + b"\r\n0\r\n\r\n",
            ),
            413,
        ),
        (
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n" + b"a" * 10,
            413,
        ),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ],
    ids=[
        "long-url",
        "long-header",
        "long-authorization",
        "too-many-headers",
        "large-body",
        "large-chunked-body",
        "huge-declared-body",
        "tls-to-plain-port",
    ],
)
async def test_oversized_or_malformed_requests_get_a_4xx(
    server: TestServer, request_bytes: bytes, status: int
) -> None:
    answer_status, _ = await exchange(server, request_bytes)

    assert answer_status == status
    # The server is still there and answers the next, well-formed request.
    after, answer = await exchange(server, get())
    assert after == 200
    assert b"ovh_exporter_build_info" in answer


async def test_requests_within_the_bounds_are_served(server: TestServer) -> None:
    near_limits = get(
        "/metrics?" + "a" * 3000,
        headers=b"X-Long: "
        + b"a" * 4000
        + b"\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(50)),
    )
    assert (await exchange(server, near_limits))[0] == 200
    small_body = get(headers=b"Content-Length: 1000\r\n", body=b"a" * 1000)
    assert (await exchange(server, small_body))[0] == 200


async def test_refusals_are_logged_as_one_debug_line_without_the_request(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    bad = get(headers=f"Authorization: {TOKEN}\r\n".encode())

    caplog.set_level(logging.INFO)
    await exchange(server, bad)
    assert [r for r in caplog.records if r.name == "aiohttp.server"] == []

    caplog.set_level(logging.DEBUG)
    await exchange(server, bad)
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert [(r.levelno, r.getMessage(), r.exc_info) for r in records] == [
        (logging.DEBUG, "bad request refused", None)
    ]
    assert vars(records[0])["status"] == 400
    assert vars(records[0])["error"] == "LineTooLong"
    assert "LEAKCHECK" not in caplog.text


async def test_unknown_paths_are_404(server: TestServer) -> None:
    for path in ("/metrics/extra", "/admin", "/%2e%2e/etc/passwd", "/.env"):
        assert (await exchange(server, get(path)))[0] == 404
