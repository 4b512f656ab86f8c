"""Serves one file's bytes as a gzip-encoded /metrics, to measure what sending them costs.

The benchmark scrapes it with the same scrapers as the exporter: the latency of
sending the same bytes from a server that does nothing else is the floor under
the exporter's own. `python -m benchmarks.static_server FILE` prints one JSON
line with its port, then serves until stdin closes.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from aiohttp import web

from exporter.exposition import OPENMETRICS_CONTENT_TYPE


async def _serve(body: bytes) -> None:
    """Answer every GET of /metrics with `body` until stdin closes."""

    async def metrics(_request: web.Request) -> web.Response:
        headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE, "Content-Encoding": "gzip"}
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(address[1] for address in runner.addresses if isinstance(address, tuple))
    print(json.dumps({"port": port}), flush=True)
    try:
        while await asyncio.to_thread(sys.stdin.readline):
            pass
    finally:
        await runner.cleanup()


def main() -> None:
    """Read the file named on the command line and serve it."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("file", type=Path, help="the gzip-compressed exposition to serve")
    args = parser.parse_args()
    asyncio.run(_serve(args.file.read_bytes()))


if __name__ == "__main__":
    main()
