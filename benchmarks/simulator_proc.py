"""The simulated OVH account in its own process, so its CPU and memory stay out of the exporter's.

It serves one generated fleet twice on loopback: once with the benchmark's
per-request latency (what the exporter and the baseline's timed sample talk to)
and once without (where the baseline's walk over the whole fleet is counted).
One JSON line on stdout gives both URLs; afterwards each line read on stdin is
a command: `counts` prints the requests received so far by port and route,
`paths FILE` writes the distinct [route, path] pairs the slow port answered to
FILE (the exporter's reads, for the naive baseline to replay), `reset` forgets
every request. The process exits when stdin closes.
"""

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

from aiohttp import web

from exporter import simulator
from exporter.simulator.app import API_PREFIX

# The clock and the token: every client reads them once, they are no data.
UNSIGNED_ROUTES = frozenset({"/auth/time", "/auth/oauth2/token", ""})

# Generated fleets are dated from the day of the run, the exporter's today: every
# run describes the same fleet, and its backups and expirations are as recent for
# the exporter as the generator made them.


def _url(runner: web.AppRunner) -> str:
    """The API base URL of a simulator listening on port 0."""
    for address in runner.addresses:
        if isinstance(address, tuple):
            return f"http://127.0.0.1:{address[1]}/1.0"
    raise RuntimeError("the simulator is not listening")


def _paths(runner: web.AppRunner) -> list[tuple[str, str]]:
    """The distinct API reads one simulator answered, as [route, path], in the order first seen."""
    seen: dict[tuple[str, str], None] = {}
    for request in runner.app[simulator.REQUEST_LOG]:
        if request.method == "GET" and request.route not in UNSIGNED_ROUTES:
            seen[(request.route, request.path.removeprefix(API_PREFIX))] = None
    return list(seen)


def _write_paths(runner: web.AppRunner, file: Path) -> int:
    """Write the distinct reads to `file` as JSON; returns how many there were."""
    paths = _paths(runner)
    file.write_text(json.dumps(paths), encoding="utf-8")
    return len(paths)


def _counts(runner: web.AppRunner) -> dict[str, int]:
    """Requests received by one simulator, by route template."""
    return dict(Counter(request.route for request in runner.app[simulator.REQUEST_LOG]))


async def _main(size: int, seed: int, latency: float) -> None:
    """Serve the fleet until stdin closes, answering commands read from it."""
    fleet = simulator.generate_fleet(size, seed, today=dt.date.today())
    slow = await simulator.serve(fleet, simulator.SimulatorConfig(latency=latency), "127.0.0.1", 0)
    fast = await simulator.serve(fleet, simulator.SimulatorConfig(latency=0.0), "127.0.0.1", 0)
    runners = {"slow": slow, "fast": fast}
    print(json.dumps({name: _url(runner) for name, runner in runners.items()}), flush=True)
    try:
        while command := (await asyncio.to_thread(sys.stdin.readline)).strip():
            if command == "counts":
                answer = {name: _counts(runner) for name, runner in runners.items()}
                print(json.dumps(answer), flush=True)
            elif command.startswith("paths "):
                written = _write_paths(slow, Path(command.removeprefix("paths ")))
                print(json.dumps({"paths": written}), flush=True)
            elif command == "reset":
                for runner in runners.values():
                    runner.app[simulator.REQUEST_LOG].clear()
                print("{}", flush=True)
    finally:
        for runner in runners.values():
            await runner.cleanup()


def main() -> None:
    """Parse the fleet's size, seed and latency, then serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(_main(args.size, args.seed, args.latency))


if __name__ == "__main__":
    main()
