"""An httpx transport that sends through aiohttp's connection pool.

httpx's own pool (httpcore 1.0) walks every pooled connection, polling each idle
socket, whenever a request starts or ends; with 32 requests in flight that
took most of a refresh's CPU, about 1.7 ms per OVH call on one core, against
0.6 ms through aiohttp's pool (`benchmarks/`). aiohttp is already the
exporter's HTTP server, so this costs no new dependency. httpx keeps building
the requests, signing them, enforcing read-only and decoding bodies; only the
wire moves here. Every aiohttp failure becomes the httpx exception that
describes it, so the client's error handling is the same whatever the transport.
"""

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
import yarl

# Bytes read from a response body at a time.
_CHUNK = 64 * 1024
# Bounds on an answer's status line or one header, and on its number of headers.
_HEADER_BYTES = 64 * 1024
_HEADERS = 1024


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """Raise each aiohttp or timeout failure as the httpx exception of the same meaning."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connecting timed out") from exc
    except aiohttp.SocketTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "reading timed out") from exc
    except TimeoutError as exc:  # aiohttp's other timeouts, and asyncio's.
        raise httpx.TimeoutException(str(exc) or "timed out") from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc)) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(str(exc) or "server disconnected") from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.ReadError(str(exc) or "the body was cut short") from exc
    except aiohttp.ClientResponseError as exc:  # An answer that is not valid HTTP.
        raise httpx.RemoteProtocolError(str(exc)) from exc
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
        raise httpx.UnsupportedProtocol(str(exc)) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise httpx.NetworkError(str(exc) or type(exc).__name__) from exc


class _Body(httpx.AsyncByteStream):
    """A response body read from aiohttp as it arrives; closing hands the connection back."""

    def __init__(self, response: aiohttp.ClientResponse, read_timeout: float | None) -> None:
        """Read from `response`, each chunk within `read_timeout` seconds (None: no bound)."""
        self._response = response
        self._read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The body, a chunk at a time.

        Each read has its own deadline besides aiohttp's socket timeout: with
        aiohttp's C parser, a chunked body whose framing breaks after its first
        bytes stops the socket timer without waking the reader, which would then
        wait for ever (aiohttp 3.14).
        """
        chunks = aiter(self._response.content.iter_chunked(_CHUNK))
        while True:
            try:
                with _as_httpx_errors():
                    async with asyncio.timeout(self._read_timeout):
                        chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except httpx.TimeoutException as exc:
                raise httpx.ReadTimeout("no body bytes within the read timeout") from exc
            yield chunk

    async def aclose(self) -> None:
        """Release the connection: back to the pool if the body was read, closed otherwise."""
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests over at most `max_connections` pooled aiohttp connections.

    The session is made at the first request, on the event loop that sends it.
    TLS is verified with httpx's default context, so certificates are checked
    against the same authorities as with httpx's own transport.
    """

    def __init__(self, max_connections: int, verify: ssl.SSLContext | None = None) -> None:
        """Pool at most `max_connections` connections; `verify` overrides the TLS context."""
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        self._max_connections = max_connections
        self._ssl = verify
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        """The session, made on first use."""
        if self._session is None:
            context = self._ssl if self._ssl is not None else httpx.create_ssl_context()
            connector = aiohttp.TCPConnector(limit=self._max_connections, ssl=context)
            # No proxy from the environment and no cookies: the same as the httpx
            # client, which is given its transport and keeps no cookies it is not sent.
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=False,
                # httpx's own parser has no limit below these; aiohttp's defaults
                # (8 KB a header, 128 headers) would refuse answers httpx read.
                max_line_size=_HEADER_BYTES,
                max_field_size=_HEADER_BYTES,
                max_headers=_HEADERS,
            )
            # aiohttp sends a GET once more, unseen, when a reused connection drops
            # under it (RFC 9112, 9.3.1). OVH counts that request against the budget,
            # so it is left to the client's retry policy, which counts, paces and
            # spaces every attempt. aiohttp has no public switch for this; its own
            # test client turns it off the same way.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request; the body is streamed to httpx, which decodes it."""
        timeouts = request.extensions.get("timeout", {})
        pool, connect = timeouts.get("pool"), timeouts.get("connect")
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's `connect` covers the wait for a pooled connection and the
            # connection itself; httpx bounds the two apart.
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=timeouts.get("read"),
        )
        content = await request.aread()
        with _as_httpx_errors():
            response = await self._open().request(
                request.method,
                # As httpx encoded it: the signature covers these exact bytes (but an
                # empty query's "?", which yarl drops and the client never sends).
                yarl.URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=content or None,
                allow_redirects=False,
                timeout=timeout,
            )
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response, timeouts.get("read")),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
            # Lets the connections' transports finish closing before the loop may end.
            await asyncio.sleep(0)
