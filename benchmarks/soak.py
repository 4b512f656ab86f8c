"""Bounded soak of the exporter: many scrapers, short intervals and random OVH faults, on loopback.

The exporter runs as its own `ovh-vps-exporter` process against a simulated
account served by this process, whose faults change every few seconds. Twenty
scrapers (by default) ask `/metrics` over and over, with basic auth, while the
exporter's own figures (resident memory, asyncio tasks, open file descriptors)
are read from its SIGUSR1 self-check. The figures are printed over time, and
the run fails if a scrape went unanswered or a figure grew beyond its tolerance.

    python -m benchmarks.soak --duration 180
"""

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt

from exporter import simulator
from exporter.simulator import faults

# Growth allowed from the quiet end of the warm-up to the quiet end of the recovery
# that follows the faults, measured on the floor (minimum) of each: a leak raises
# the floor, while a refresh or a retry running when a sample is taken only raises
# a peak. Memory may settle a little higher once every code path has run.
TOLERANCE = {"rss_bytes": 8 * 1024 * 1024, "tasks": 2, "open_fds": 4}

# Log events that mean a bug rather than an OVH fault (error-level lines about
# refused credentials are expected while that fault lasts).
CRASH_EVENTS = (
    "refresh job crashed",
    "Task exception was never retrieved",
    "Error handling request",
)

WARMUP, FAULTS_PHASE, RECOVERY = "warm-up", "faults", "recovery"

SCRAPE_USER = "prometheus"
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
# The simulator's routes that a fault may deny (templates without /1.0).
DENIABLE_ROUTES = (
    "/vps/{serviceName}",
    "/vps/{serviceName}/tasks",
    "/vps/{serviceName}/serviceInfos",
    "/vps/{serviceName}/automatedBackup",
    "/vps/{serviceName}/automatedBackup/restorePoints",
)


# The port in the start-up line, as JSON (`"listen": "127.0.0.1:PORT"`) or for a
# console (`listen=127.0.0.1:PORT`).
_LISTENING = re.compile(r'^(?=.*exporter started).*\blisten"?[:=] ?"?[^\s",]*:(\d+)')


def exporter_command() -> list[str]:
    """The `ovh-vps-exporter` console script next to this interpreter, or `python -m exporter`."""
    script = Path(sys.executable).with_name("ovh-vps-exporter")
    return [str(script)] if script.exists() else [sys.executable, "-m", "exporter"]


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any OVH setting of the developer's, plus `extra`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OVH_")}
    env.update(extra)
    return env


@dataclass
class ExporterProcess:
    """An `ovh-vps-exporter serve` process whose output lines (JSON events parsed) are collected."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _reader: "asyncio.Task[None] | None" = None
    _new_line: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def start(
        cls,
        env: Mapping[str, str],
        args: Sequence[str] = (),
        within: float = 20.0,
        log_format: str = "json",
    ) -> "ExporterProcess":
        """Start the exporter on a free loopback port and wait until it listens."""
        process = await asyncio.create_subprocess_exec(
            *exporter_command(),
            "serve",
            "--web.listen-address=127.0.0.1:0",
            f"--log.format={log_format}",
            *args,
            env=clean_environment(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        exporter = cls(process)
        exporter._reader = asyncio.create_task(exporter._read())
        try:
            exporter.port = int(await exporter.wait_for_line(_LISTENING, within))
        except BaseException:
            # Never leave an exporter running behind a failed start.
            await exporter.kill()
            raise
        return exporter

    async def kill(self) -> None:
        """Kill the process at once and collect what it printed."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)

    async def wait_for_line(self, pattern: "re.Pattern[str]", within: float) -> str:
        """Return the first group of the first output line matching `pattern`."""
        async with asyncio.timeout(within):
            while True:
                for line in self.lines:
                    if match := pattern.search(line):
                        return match[1]
                if self.process.returncode is not None and self._reader and self._reader.done():
                    raise RuntimeError(
                        f"the exporter exited ({self.process.returncode}) before printing "
                        f"{pattern.pattern!r}:\n" + "\n".join(self.lines[-20:])
                    )
                self._new_line.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_line.wait(), 0.5)

    async def _read(self) -> None:
        """Collect every output line, and parse those that are JSON log events."""
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    self.events.append(event)
            self._new_line.set()

    async def wait_for(
        self, event: str, within: float, after: int = 0, **fields: object
    ) -> dict[str, Any]:
        """Return the first event named `event` (from index `after`) with these fields."""
        async with asyncio.timeout(within):
            while True:
                for logged in self.events[after:]:
                    if logged.get("event") == event and all(
                        logged.get(key) == value for key, value in fields.items()
                    ):
                        return logged
                if self.process.returncode is not None and self._reader and self._reader.done():
                    raise RuntimeError(
                        f"the exporter exited ({self.process.returncode}) before logging "
                        f"{event!r}:\n" + "\n".join(self.lines[-20:])
                    )
                self._new_line.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_line.wait(), 0.5)

    async def self_check(self, within: float = 5.0) -> dict[str, Any]:
        """Ask the exporter for its figures (SIGUSR1) and return the line it logs."""
        mark = len(self.events)
        self.process.send_signal(signal.SIGUSR1)
        return await self.wait_for("self check", within, after=mark)

    async def terminate(self, within: float = 20.0) -> tuple[int, float]:
        """Send SIGTERM; return the exit code and the seconds until the process was gone."""
        started = time.monotonic()
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), within)
        except BaseException:
            await self.kill()
            raise
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return code, time.monotonic() - started

    def output(self) -> str:
        """Everything the process printed."""
        return "\n".join(self.lines)


@contextlib.asynccontextmanager
async def simulated_account(
    fleet: simulator.Fleet, config: simulator.SimulatorConfig
) -> AsyncIterator[str]:
    """Serve the simulated account on a free loopback port; yields its API base URL."""
    runner = await simulator.serve(fleet, config, "127.0.0.1", 0)
    try:
        port = next(address[1] for address in runner.addresses if isinstance(address, tuple))
        yield f"http://127.0.0.1:{port}/1.0"
    finally:
        await runner.cleanup()


def application_key_env(endpoint: str) -> dict[str, str]:
    """The environment that points the exporter at the simulator with its demo key."""
    return {
        "OVH_ENDPOINT": endpoint,
        "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
        "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
        "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
    }


# Faults, each a change to the simulated account's live configuration, most of them
# through its per-route fault injection; `heal` undoes them all.
Fault = Callable[[simulator.SimulatorConfig, random.Random], None]


def _injected(**fault: Any) -> Fault:
    """A fault of the simulator's injection, on a random share of every route's requests."""

    def apply(config: simulator.SimulatorConfig, rng: random.Random) -> None:
        config.faults.add(faults.Fault(route=faults.ANY_ROUTE, rate=rng.uniform(0.2, 0.6), **fault))

    return apply


def _not_granted(config: simulator.SimulatorConfig, rng: random.Random) -> None:
    config.denied_routes = frozenset(rng.sample(DENIABLE_ROUTES, rng.randint(1, 3)))


def _revoked(config: simulator.SimulatorConfig, rng: random.Random) -> None:
    faults.revoke_credentials(config)


def _clock_skew(config: simulator.SimulatorConfig, rng: random.Random) -> None:
    faults.skew_clock(config, rng.choice((-1, 1)) * rng.randint(400, 4000))


def _slow(config: simulator.SimulatorConfig, rng: random.Random) -> None:
    config.latency = rng.uniform(0.1, 0.4)


FAULTS: dict[str, Fault] = {
    "5xx storm": _injected(kind="status", status=503),
    "429 with Retry-After": _injected(kind="status", status=429, retry_after="1"),
    "429 without Retry-After": _injected(kind="status", status=429),
    "connection resets": _injected(kind="reset"),
    "truncated bodies": _injected(kind="truncate"),
    "malformed JSON": _injected(kind="malformed"),
    "proxy HTML pages": _injected(kind="html", status=502),
    "slow bodies": _injected(kind="slow_body", delay=0.5),
    # Longer than the exporter's request timeout in the soak.
    "timeouts": _injected(kind="latency", delay=1.5),
    "slow answers": _slow,
    "not granted": _not_granted,
    "credentials revoked": _revoked,
    "clock skew": _clock_skew,
}


def heal(config: simulator.SimulatorConfig) -> None:
    """Undo every fault."""
    config.faults.clear()
    config.latency = 0.0
    config.denied_routes = frozenset()
    config.consumer_key = simulator.DEMO_CONSUMER_KEY
    config.client_secret = simulator.DEMO_CLIENT_SECRET
    config.clock_skew = 0


@dataclass(frozen=True)
class Sample:
    """The exporter's figures at one moment of the run, with the scrapes counted so far."""

    elapsed: float
    rss_bytes: int
    tasks: int
    open_fds: int
    scrapes: int
    failures: int
    fault: str
    phase: str


@dataclass
class ScrapeStats:
    """What the scrapers saw."""

    answered: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def fail(self, why: str) -> None:
        """Count a scrape that got no good answer, keeping a few reasons."""
        self.failed += 1
        if len(self.examples) < 5:
            self.examples.append(why)


@dataclass
class SoakReport:
    """Everything measured during one soak run."""

    options: "SoakOptions"
    samples: list[Sample]
    stats: ScrapeStats
    faults: list[str]
    exit_code: int
    stop_seconds: float
    crashes: list[str]

    @property
    def scrapes(self) -> int:
        """Scrapes sent."""
        return self.stats.answered + self.stats.failed

    def _quiet(self, phase: str) -> list[Sample]:
        """The second half of a phase's samples, once the exporter has settled."""
        samples = [s for s in self.samples if s.phase == phase]
        if len(samples) < 2:
            raise ValueError(f"only {len(samples)} samples in the {phase} phase: run longer")
        return samples[len(samples) // 2 :]

    def growth(self) -> dict[str, float]:
        """Per figure, the floor after the recovery minus the floor before the faults."""
        before, after = self._quiet(WARMUP), self._quiet(RECOVERY)
        return {
            name: min(getattr(s, name) for s in after) - min(getattr(s, name) for s in before)
            for name in TOLERANCE
        }

    def problems(self) -> list[str]:
        """Why the run failed, if it did."""
        found = []
        if self.stats.failed:
            found.append(f"{self.stats.failed} scrapes unanswered: {self.stats.examples}")
        if self.stats.answered == 0:
            found.append("no scrape was answered")
        for name, grown in self.growth().items():
            if grown > TOLERANCE[name]:
                found.append(f"{name} grew by {grown:g} (tolerance {TOLERANCE[name]})")
        if self.exit_code != 0:
            found.append(f"exit code {self.exit_code} after SIGTERM")
        if self.crashes:
            found.append(f"crashes logged: {self.crashes[:3]}")
        return found

    def table(self) -> str:
        """The figures over time, one line per sample, then a summary."""
        lines = [
            f"{'t (s)':>7} {'RSS MiB':>8} {'tasks':>6} {'fds':>5} {'scrapes':>8} "
            f"{'failed':>7}  phase: fault",
        ]
        for s in self.samples:
            lines.append(
                f"{s.elapsed:7.1f} {s.rss_bytes / 2**20:8.1f} {s.tasks:6d} {s.open_fds:5d} "
                f"{s.scrapes:8d} {s.failures:7d}  {s.phase}: {s.fault}"
            )
        latencies = sorted(self.stats.latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
        median = statistics.median(latencies) if latencies else float("nan")
        growth = self.growth()
        lines += [
            f"scrapes: {self.scrapes} sent, {self.stats.answered} answered, "
            f"{self.stats.failed} failed; latency median {median * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms",
            "faults applied: " + (", ".join(self.faults) or "none"),
            "growth (floor after the recovery - floor before the faults): "
            + ", ".join(
                f"{name} {value / 2**20 if name == 'rss_bytes' else value:+.1f}"
                f"{' MiB' if name == 'rss_bytes' else ''}"
                for name, value in growth.items()
            ),
            f"SIGTERM: exit code {self.exit_code} after {self.stop_seconds:.2f} s",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class SoakOptions:
    """How long and how hard to soak."""

    duration: float = 180.0
    scrapers: int = 20
    scrape_pause: float = 0.1
    fleet_size: int = 40
    seed: int = 1
    interval: float = 5.0
    request_timeout: float = 1.0
    # OVH's fair-use budget would stretch each refresh over minutes with a 5 s interval;
    # a large one lets refreshes complete, so the whole cycle runs many times.
    requests_per_minute: float = 6000.0
    shutdown_grace: float = 5.0
    fault_every: float = 8.0
    sample_every: float = 3.0
    warmup: float = 10.0
    recovery: float = 20.0
    basic_auth: bool = True


async def _scraper(
    url: str, authorization: str | None, pause: float, stats: ScrapeStats, stop: asyncio.Event
) -> None:
    """Scrape `url` on one keep-alive connection until `stop` is set."""
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        gzip_next = False
        while not stop.is_set():
            headers = {"Accept": PROMETHEUS_ACCEPT}
            if authorization is not None:
                headers["Authorization"] = authorization
            headers["Accept-Encoding"] = "gzip" if gzip_next else "identity"
            gzip_next = not gzip_next
            started = time.monotonic()
            try:
                async with session.get(url, headers=headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        stats.fail(f"HTTP {response.status}")
                    elif b"ovh_exporter_build_info" not in body:
                        stats.fail("an answer without the exporter's build info")
                    else:
                        stats.answered += 1
                        stats.latencies.append(time.monotonic() - started)
            except (aiohttp.ClientError, TimeoutError) as error:
                stats.fail(f"{type(error).__name__}: {error}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)


def _web_config(directory: Path, password: str) -> Path:
    """Write a web config file asking for basic auth, with a bcrypt hash of `password`."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    path = directory / "web.yml"
    path.write_text(f"basic_auth_users:\n  {SCRAPE_USER}: '{hashed}'\n", encoding="utf-8")
    return path


async def run_soak(
    options: SoakOptions, progress: Callable[[str], None] | None = None
) -> SoakReport:
    """Run one soak and return its figures; `progress` gets a line per sample as it is taken."""
    rng = random.Random(options.seed)
    config = simulator.SimulatorConfig()
    fleet = simulator.generate_fleet(options.fleet_size, options.seed)
    password = f"soak-{rng.getrandbits(64):016x}"
    stats = ScrapeStats()
    samples: list[Sample] = []
    faults: list[str] = []
    stop = asyncio.Event()

    with tempfile.TemporaryDirectory(prefix="ovh-soak-") as tmp:
        args = (
            [f"--web.config.file={_web_config(Path(tmp), password)}"] if options.basic_auth else []
        )
        async with simulated_account(fleet, config) as endpoint:
            env = application_key_env(endpoint) | {
                f"OVH_EXPORTER_INTERVAL_{job}": str(options.interval)
                for job in ("VPS", "TASKS", "BACKUPS", "BILLING")
            }
            env["OVH_EXPORTER_REQUEST_TIMEOUT"] = str(options.request_timeout)
            env["OVH_EXPORTER_REQUESTS_PER_MINUTE"] = str(options.requests_per_minute)
            env["OVH_EXPORTER_REQUESTS_BURST"] = str(int(options.requests_per_minute // 10))
            env["OVH_EXPORTER_SHUTDOWN_GRACE"] = str(options.shutdown_grace)
            exporter = await ExporterProcess.start(env, args)
            try:
                url = f"http://127.0.0.1:{exporter.port}/metrics"
                pair = base64.b64encode(f"{SCRAPE_USER}:{password}".encode()).decode()
                auth = f"Basic {pair}" if options.basic_auth else None
                scrapers = [
                    asyncio.create_task(_scraper(url, auth, options.scrape_pause, stats, stop))
                    for _ in range(options.scrapers)
                ]
                started = time.monotonic()
                next_fault = started + options.warmup
                fault, phase = "none", WARMUP
                faults_end = options.duration - options.recovery
                while (elapsed := time.monotonic() - started) < options.duration:
                    if elapsed >= faults_end and phase != RECOVERY:
                        heal(config)
                        fault, phase = "none", RECOVERY
                    elif phase != RECOVERY and time.monotonic() >= next_fault:
                        phase = FAULTS_PHASE
                        heal(config)
                        fault = rng.choice([*FAULTS, "none"])
                        if fault != "none":
                            FAULTS[fault](config, rng)
                            faults.append(fault)
                        next_fault += options.fault_every
                    figures = await exporter.self_check()
                    sample = Sample(
                        elapsed,
                        int(figures["rss_bytes"]),
                        int(figures["tasks"]),
                        int(figures["open_fds"]),
                        stats.answered + stats.failed,
                        stats.failed,
                        fault,
                        phase,
                    )
                    samples.append(sample)
                    if progress is not None:
                        progress(
                            f"{sample.elapsed:7.1f}s rss {sample.rss_bytes / 2**20:6.1f} MiB "
                            f"tasks {sample.tasks:4d} fds {sample.open_fds:4d} "
                            f"scrapes {sample.scrapes:7d} failed {sample.failures}  "
                            f"{phase}: {fault}"
                        )
                    await asyncio.sleep(options.sample_every)
                stop.set()
                await asyncio.gather(*scrapers)
                heal(config)
            finally:
                stop.set()
                code, stop_seconds = await exporter.terminate()
    crashes = [
        json.dumps(event)
        for event in exporter.events
        if event.get("level") == "critical" or str(event.get("event", "")).startswith(CRASH_EVENTS)
    ] + [line for line in exporter.lines if line.startswith("Traceback")]
    return SoakReport(options, samples, stats, faults, code, stop_seconds, crashes)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak from the command line and print its figures; exit 1 if it failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = SoakOptions()
    parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds")
    parser.add_argument("--scrapers", type=int, default=defaults.scrapers)
    parser.add_argument("--fleet-size", type=int, default=defaults.fleet_size)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--interval", type=float, default=defaults.interval, help="refresh (s)")
    parser.add_argument("--fault-every", type=float, default=defaults.fault_every, help="seconds")
    parser.add_argument("--sample-every", type=float, default=defaults.sample_every)
    parser.add_argument("--no-basic-auth", action="store_true")
    args = parser.parse_args(argv)
    options = SoakOptions(
        duration=args.duration,
        scrapers=args.scrapers,
        fleet_size=args.fleet_size,
        seed=args.seed,
        interval=args.interval,
        fault_every=args.fault_every,
        sample_every=args.sample_every,
        basic_auth=not args.no_basic_auth,
    )
    report = asyncio.run(run_soak(options, progress=lambda line: print(line, flush=True)))
    print(report.table())
    problems = report.problems()
    print("FAILED:\n  " + "\n  ".join(problems) if problems else "PASSED", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
