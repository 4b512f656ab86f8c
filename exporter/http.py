"""The HTTP endpoints: /metrics, a landing page, /healthz and /readyz."""

import html
from collections.abc import Callable, Iterable, Iterator

from aiohttp import web

from exporter import __version__
from exporter.exposition import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    Exposition,
    wants_gzip,
    wants_openmetrics,
)
from exporter.httpguard import MAX_BODY_BYTES, REQUEST_LIMITS, bounded_body, quiet_client_errors
from exporter.webconfig import WebConfig, apply_web_config

EXPOSITION = web.AppKey("exposition", Exposition)
# Bytes of an exposition written to a connection at a time.
_SLICE = 256 * 1024
ReadyCheck = Callable[[], bool]
READY: web.AppKey[ReadyCheck] = web.AppKey("ready")

_LANDING = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>OVH VPS Exporter</title></head>
<body>
<h1>OVH VPS Exporter</h1>
<p>Version {version}. Prometheus metrics of OVHcloud VPS, refreshed on a schedule.</p>
<ul>
<li><a href="metrics">metrics</a></li>
<li><a href="healthz">healthz</a>: the process is alive</li>
<li><a href="readyz">readyz</a>: every refresh job has succeeded once</li>
</ul>
</body>
</html>
"""


async def metrics(request: web.Request) -> web.StreamResponse:
    """Serve the last rendered snapshot, in the format and encoding the scraper asked for.

    The gzip bytes are kept and sent as they are, a slice at a time; a scraper
    without gzip gets them decompressed piece by piece. Either way a scrape holds
    no more than a slice in its connection's buffer.
    """
    rendered = request.app[EXPOSITION].current
    openmetrics = wants_openmetrics(request.headers.get("Accept", ""))
    compressed = wants_gzip(request.headers.get("Accept-Encoding", ""))
    response = web.StreamResponse(
        headers={
            "Content-Type": OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE,
            "Vary": "Accept, Accept-Encoding",
        }
    )
    pieces: Iterable[bytes]
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
        pieces = rendered.gzip_pieces[openmetrics]
        response.content_length = rendered.gzip_size(openmetrics)
    else:
        pieces = rendered.plain_pieces(openmetrics)
        response.content_length = rendered.plain_sizes[openmetrics]
    await response.prepare(request)
    if request.method != "HEAD":
        for write in _writes(pieces):
            await response.write(write)
    await response.write_eof()
    return response


def _writes(pieces: Iterable[bytes]) -> Iterator[bytes | memoryview]:
    """The body as writes of at most a slice: large pieces cut, runs of small ones joined.

    Written whole, the part of a body the socket does not take at once is
    copied into the connection's buffer: 20 scrapes of a 5 MB exposition at
    once would hold 100 MB there. aiohttp waits for the buffer to drain after
    each write that leaves it past its limit, so a scrape holds a slice at most.
    A render leaves many small pieces too (a counter's header differs between
    the formats, so it is a piece of its own), and each write is a system call
    and a TCP segment: those are joined, up to a slice.
    """
    run: list[bytes] = []
    size = 0
    for piece in pieces:
        if not piece:
            continue
        if run and size + len(piece) > _SLICE:
            yield run[0] if len(run) == 1 else b"".join(run)
            run, size = [], 0
        if len(piece) >= _SLICE:
            view = memoryview(piece)
            for start in range(0, len(view), _SLICE):
                yield view[start : start + _SLICE]
        else:
            run.append(piece)
            size += len(piece)
    if run:
        yield run[0] if len(run) == 1 else b"".join(run)


async def landing(request: web.Request) -> web.Response:
    """A small page linking to the other endpoints."""
    return web.Response(
        text=_LANDING.format(version=html.escape(__version__)), content_type="text/html"
    )


async def healthz(request: web.Request) -> web.Response:
    """Alive as long as the event loop answers."""
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    """Ready once every refresh job has succeeded at least once."""
    if request.app[READY]():
        return web.Response(text="ready\n")
    return web.Response(status=503, text="not ready: some refresh jobs have not succeeded yet\n")


def create_app(
    exposition: Exposition, ready: ReadyCheck, web_config: WebConfig | None = None
) -> web.Application:
    """The exporter's web app; only GET and HEAD are routed, so others get 405 with Allow."""
    app = web.Application(
        client_max_size=MAX_BODY_BYTES, handler_args=REQUEST_LIMITS, middlewares=[bounded_body]
    )
    quiet_client_errors()
    if web_config is not None:
        apply_web_config(app, web_config)
    app[EXPOSITION] = exposition
    app[READY] = ready
    app.router.add_get("/", landing)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
