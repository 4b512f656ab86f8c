"""The aiohttp transport under the OVH client: exact URLs, its pool bound, httpx's errors."""

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web

from exporter.ovh.transport import AiohttpTransport

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """An aiohttp server on a free loopback port answering every path with `handler`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def raw_server(answer: bytes) -> AsyncIterator[str]:
    """A TCP server on loopback that reads a request's head, writes `answer` and closes."""

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(reply, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def client(
    max_connections: int = 4, timeout: float = 5.0
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client sending through the aiohttp transport."""
    transport = AiohttpTransport(max_connections)
    async with httpx.AsyncClient(transport=transport, timeout=timeout) as http:
        yield http


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_url_reaches_the_server_byte_for_byte() -> None:
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        return web.json_response({"ok": True})

    path = "/1.0/vps/vps-a.vps.ovh.net/ips/2001%3A41d0%3A%3A1?state=done&type=a%20b"
    async with serving(record) as base, client() as http:
        response = await http.get(base + path)

    assert seen == [path]
    assert response.status_code == 200
    assert response.json() == {"ok": True}


async def test_headers_and_a_form_body_are_sent_and_a_gzip_answer_is_decoded() -> None:
    received: dict[str, str] = {}

    async def echo(request: web.Request) -> web.Response:
        received["signature"] = request.headers["X-Ovh-Signature"]
        received["method"] = request.method
        received["body"] = (await request.read()).decode()
        body = gzip.compress(b'{"answer": 42}')
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    async with serving(echo) as base, client() as http:
        response = await http.post(
            base + "/token",
            data={"grant_type": "client_credentials"},
            headers={"X-Ovh-Signature": "$1$abc"},
        )

    assert received == {
        "signature": "$1$abc",
        "method": "POST",
        "body": "grant_type=client_credentials",
    }
    assert response.json() == {"answer": 42}


async def test_no_more_connections_than_the_bound_are_open_at_once() -> None:
    in_flight = 0
    peak = 0

    async def slow(_request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return web.json_response([])

    async with serving(slow) as base, client(max_connections=3) as http:
        answers = await asyncio.gather(*(http.get(f"{base}/vps/{n}") for n in range(12)))

    assert [answer.status_code for answer in answers] == [200] * 12
    assert peak == 3


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/1.0/vps")


async def test_an_answer_that_is_not_http_is_a_protocol_error() -> None:
    async with raw_server(b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as base, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(base + "/1.0/vps")


async def test_a_body_cut_short_is_a_read_error() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[1, 2"
    async with raw_server(answer) as base, client() as http:
        with pytest.raises(httpx.ReadError):
            await http.get(base + "/1.0/vps")


async def test_a_silent_server_is_a_read_timeout() -> None:
    async def silent(_request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response([])

    async with serving(silent) as base, client(timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(base + "/1.0/vps")


async def test_a_dropped_keep_alive_connection_is_not_sent_again_unseen() -> None:
    hits = 0

    async def drop_the_second(request: web.Request) -> web.StreamResponse:
        nonlocal hits
        hits += 1
        if hits == 2:
            assert request.transport is not None
            request.transport.close()
            await asyncio.sleep(0.1)
        return web.json_response([])

    async with serving(drop_the_second) as base, client(max_connections=1) as http:
        first = await http.get(base + "/1.0/vps")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(base + "/1.0/vps")

    assert first.status_code == 200
    # The reused connection dropped under the second GET: one attempt, no hidden resend.
    assert hits == 2


async def test_closing_closes_the_pool_and_a_bound_below_one_is_refused() -> None:
    async def ok(_request: web.Request) -> web.Response:
        return web.json_response([])

    transport = AiohttpTransport(2)
    async with serving(ok) as base:
        async with httpx.AsyncClient(transport=transport) as http:
            await http.get(base + "/1.0/vps")
            session = transport._session
            assert session is not None
            assert not session.closed
        assert session.closed

    with pytest.raises(ValueError, match="at least 1, got 0"):
        AiohttpTransport(0)


async def test_chunked_framing_broken_after_the_first_bytes_ends_within_the_timeout() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n"

    async def break_late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head)
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(b"zz\r\n")  # Not a chunk size.
        await writer.drain()
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(break_late, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = asyncio.get_running_loop().time()
    try:
        async with client(timeout=0.5) as http:
            with pytest.raises(httpx.TransportError):
                await asyncio.wait_for(http.get(f"http://127.0.0.1:{port}/1.0/vps"), 4)
    finally:
        server.close()
    assert asyncio.get_running_loop().time() - started < 2.0


async def test_a_long_header_is_read_as_httpx_read_it() -> None:
    async def long_header(_request: web.Request) -> web.Response:
        return web.json_response([], headers={"X-Long": "a" * 20_000})

    async with serving(long_header) as base, client() as http:
        response = await http.get(base + "/1.0/vps")

    assert response.headers["X-Long"] == "a" * 20_000
