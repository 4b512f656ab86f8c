"""The naive baseline: list ids, one GET per object, one at a time, and render on every scrape.

It reads exactly the data the exporter read in the same benchmark run, the way
an exporter written without OVH's list expansion would: it replays every path
the exporter asked the simulator for, without the expansion headers, and for a
list route (one the simulator also serves with an `/{id}` after it) it then
GETs each object of the list; each call waits for the previous one. It serves
the exporter's own series through prometheus_client's HTTP server, which runs
`generate_latest` on every scrape.

Walking 10,000 VPS one call at a time at 50 ms a call takes hours, so the walk
is split in two. The timed sample walks the account-wide paths and the paths of
the first `--sample` VPS in sequence at the benchmark's latency; the count walks
every path on the zero-latency port, `--workers` VPS at a time, which changes
how long it takes but not a single call it makes. The refresh time is the
sample's time per call times the count. The process prints one JSON line with
its port and measurements, then serves until stdin closes.
"""

import argparse
import asyncio
import json
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import quote, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from pydantic import SecretStr

from exporter import simulator
from exporter.ovh.auth import ApplicationKey, signed_headers
from exporter.simulator.app import API_PREFIX

# One read of the exporter: its route template and its path with the query.
Read = tuple[str, str]
# A path's VPS, to group the paths VPS by VPS.
_VPS_PATH = re.compile(r"^/vps/([^/?]+)")
_KEY = ApplicationKey(
    simulator.DEMO_APPLICATION_KEY,
    SecretStr(simulator.DEMO_APPLICATION_SECRET),
    SecretStr(simulator.DEMO_CONSUMER_KEY),
)


def api_routes() -> frozenset[str]:
    """Every route template the simulator serves, without the `/1.0` prefix."""
    app = simulator.create_app(simulator.Fleet())
    templates = set()
    for resource in app.router.resources():
        canonical = resource.canonical
        if canonical.startswith(API_PREFIX + "/"):
            templates.add(canonical.removeprefix(API_PREFIX))
    return frozenset(templates)


def list_routes(templates: frozenset[str]) -> frozenset[str]:
    """The list routes: those whose objects each have their own route."""
    return frozenset(route.rsplit("/", 1)[0] for route in templates if route.endswith("}"))


class Walker:
    """Sends signed GETs one at a time (per worker) and counts them."""

    def __init__(self, endpoint: str, lists: frozenset[str]) -> None:
        """Talk to the simulator at `endpoint` (its API base URL)."""
        self.endpoint = endpoint.rstrip("/")
        self.lists = lists
        self.calls = 0
        self._http = httpx.AsyncClient(timeout=60.0)
        self._delta = 0

    async def __aenter__(self) -> "Walker":
        """Read OVH's clock once, as every signed client does."""
        answer = await self._http.get(self.endpoint + "/auth/time")
        self._delta = int(answer.json()) - int(time.time())
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def get(self, path: str) -> Any:
        """One signed GET of an API path; 404 (an absent option) is an answer too."""
        url = self.endpoint + path
        headers = signed_headers(_KEY, "GET", url, int(time.time()) + self._delta)
        response = await self._http.get(url, headers=headers)
        self.calls += 1
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    async def walk(self, route: str, path: str, items: int | None = None, at_once: int = 1) -> None:
        """GET one path the exporter read, then each object when it is a list of ids.

        `items` stops after that many objects; `at_once` GETs that many objects at a
        time, which changes how long the walk takes but not which calls it makes.
        """
        answer = await self.get(path)
        if route not in self.lists or not isinstance(answer, list):
            return
        base = urlsplit(path).path
        pending = iter(answer[:items])

        async def worker() -> None:
            """GET the next object until none is left."""
            for item in pending:
                await self.get(f"{base}/{quote(str(item), safe='')}")

        await asyncio.gather(*(worker() for _ in range(at_once)))


def group(paths: Iterable[Read]) -> tuple[list[Read], list[list[Read]]]:
    """The account-wide paths, and the paths of each VPS in the order first seen."""
    account: list[Read] = []
    by_vps: dict[str, list[Read]] = {}
    for route, path in paths:
        match = _VPS_PATH.match(path)
        if match is None:
            account.append((route, path))
        else:
            by_vps.setdefault(match.group(1), []).append((route, path))
    return account, list(by_vps.values())


async def timed_sample(
    endpoint: str, lists: frozenset[str], account: list[Read], vps: list[list[Read]], sample: int
) -> tuple[int, float]:
    """Walk, strictly in sequence, the first `sample` VPS and objects of each account list."""
    async with Walker(endpoint, lists) as walker:
        started = time.perf_counter()
        for route, path in account:
            await walker.walk(route, path, items=sample)
        for paths in vps[:sample]:
            for route, path in paths:
                await walker.walk(route, path)
        return walker.calls, time.perf_counter() - started


async def counted_walk(
    endpoint: str, lists: frozenset[str], account: list[Read], vps: list[list[Read]], workers: int
) -> int:
    """Walk every path, `workers` VPS (or account list objects) at a time."""
    async with Walker(endpoint, lists) as walker:
        for route, path in account:
            await walker.walk(route, path, at_once=workers)
        queue: Iterator[list[Read]] = iter(vps)

        async def worker() -> None:
            """Take the next VPS until none is left."""
            for paths in queue:
                for route, path in paths:
                    await walker.walk(route, path)

        await asyncio.gather(*(worker() for _ in range(workers)))
        return walker.calls


class _Server(ThreadingMixIn, WSGIServer):
    """prometheus_client's threaded WSGI server, with a backlog for every scraper.

    Its own keeps five waiting connections, and a sixth scraper's connection
    waits a second for the SYN to be sent again: a cost of the backlog, not of
    rendering, which is what the baseline is here to measure.
    """

    daemon_threads = True
    request_queue_size = 128


class _Quiet(WSGIRequestHandler):
    """No line on stderr per scrape."""

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_UNESCAPE = re.compile(r"\\(.)")
_ESCAPED = {"n": "\n", "\\": "\\", '"': '"'}


def _unescape(text: str) -> str:
    """Undo the text format's escaping of label values and HELP."""
    if "\\" not in text:
        return text
    return _UNESCAPE.sub(lambda match: _ESCAPED.get(match.group(1), match.group(0)), text)


def read_families(exposition: str) -> list[Metric]:
    """The metric families of a text exposition written by prometheus_client.

    prometheus_client's own parser takes minutes and gigabytes on 10,000 VPS;
    this reads only what that writer writes: HELP and TYPE before each family,
    then one sample per line, without timestamps.
    """
    families: list[Metric] = []
    documentation = ""
    for line in exposition.splitlines():
        if line.startswith("# HELP "):
            documentation = _unescape(line.split(" ", 3)[3] if line.count(" ") >= 3 else "")
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            if kind == "counter":
                name = name.removesuffix("_total")
            families.append(Metric(name, documentation, kind))
        elif line and not line.startswith("#"):
            match = _SAMPLE.match(line)
            if match is None:
                raise ValueError(f"not a sample line: {line[:80]}")
            labels = {key: _unescape(value) for key, value in _LABEL.findall(match[2] or "")}
            families[-1].add_sample(match[1], labels, float(match[3]))
    return families


class Replayed(Collector):
    """Yields the exporter's series, read once; prometheus_client renders them on each scrape.

    A real naive exporter would also build these objects from its data on each
    scrape; building them once makes the baseline faster, not slower.
    """

    def __init__(self, exposition: str) -> None:
        """Read the exporter's text exposition."""
        self.families = read_families(exposition)

    def collect(self) -> Iterator[Metric]:
        """Every family, as the exporter exposed it."""
        yield from self.families


async def measure(args: argparse.Namespace, paths: list[tuple[str, str]]) -> dict[str, Any]:
    """Time the sample and count the whole walk."""
    lists = list_routes(api_routes())
    account, vps = group(paths)
    sample_calls, sample_seconds = await timed_sample(args.slow, lists, account, vps, args.sample)
    calls = await counted_walk(args.fast, lists, account, vps, args.workers)
    complete = sample_calls >= calls
    return {
        "calls": calls,
        "paths": len(paths),
        "sample_vps": min(args.sample, len(vps)),
        "sample_calls": sample_calls,
        "sample_seconds": sample_seconds,
        "refresh_seconds": sample_seconds if complete else sample_seconds / sample_calls * calls,
        "refresh_extrapolated": not complete,
    }


def main() -> None:
    """Walk, serve the exporter's series with prometheus_client, and wait for stdin to close."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slow", required=True, help="simulator URL with the latency")
    parser.add_argument("--fast", required=True, help="simulator URL without latency")
    parser.add_argument("--paths", required=True, help="JSON file: the [route, path] read")
    parser.add_argument("--exposition", required=True, help="the exporter's text exposition")
    parser.add_argument("--sample", type=int, default=20, help="VPS walked in the timed sample")
    parser.add_argument("--workers", type=int, default=16, help="VPS walked at once when counting")
    args = parser.parse_args()

    pairs = json.loads(Path(args.paths).read_text(encoding="utf-8"))
    result = asyncio.run(measure(args, [(route, path) for route, path in pairs]))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Replayed(Path(args.exposition).read_text(encoding="utf-8")))
    server = make_server("127.0.0.1", 0, make_wsgi_app(registry), _Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    result["port"] = server.server_port
    print(json.dumps(result), flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
