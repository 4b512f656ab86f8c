"""Fleet-scale benchmark: the exporter and a naive baseline against simulated fleets.

For each fleet size the simulator runs in one process (with a per-request
latency), the exporter in another (the exporter's own command, so its peak
memory is its own), and the scrapers in a third (wrk: see `benchmarks/load.py`).
The run reports, per size: OVH calls per full refresh (by job and per VPS), the
refresh's wall time against the ideal `calls x latency / concurrency`,
`/metrics` p50 and p99 under concurrent scrapers, the exposition's size, and
the exporter's peak memory; then
a second refresh of every job on the unchanged fleet (what each refresh costs
once the exporter knows the fleet: see `exporter/revisions.py`); then the naive
baseline of `benchmarks/naive.py` on the same data, the ratios, and each
target's verdict.

    .venv/bin/python -m benchmarks.run                  # 10, 100, 1,000 and 10,000 VPS
    .venv/bin/python -m benchmarks.run --sizes 10 --quick --json out.json
"""

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import re
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/run.py` as well as `python -m benchmarks.run`.
    sys.path.insert(0, str(ROOT))

from benchmarks.load import (  # noqa: E402
    PROMETHEUS_HEADERS,
    SCRAPE_TIMEOUT_SECONDS,
    fetch,
    scrape_load,
)
from benchmarks.processes import Child, child  # noqa: E402
from exporter import simulator  # noqa: E402
from exporter.settings import Settings  # noqa: E402

ACCOUNT = "bench"
# Longer than any run, so that every job refreshes exactly once.
ONE_REFRESH_INTERVAL = 86_400
# High enough that a request budget never holds the benchmark back.
UNLIMITED_BUDGET = 1_000_000_000
# Reads every client makes once, whatever the fleet: not part of a refresh.
ONE_OFF_ROUTES = frozenset({"/auth/time", "oauth2_token"})
# Scrapes of the baseline, one at a time, when concurrent ones would take too long.
BASELINE_LONE_SCRAPES = 3
# Otherwise each of its scrapers is answered about this many times at least.
BASELINE_ROUNDS = 3
# Its scrapes may take this many times as long as the first one, per scraper.
BASELINE_TIMEOUT_FACTOR = 4
# The jobs run above --all-jobs-up-to: about one call per VPS in all (a task list
# each; the others read listings), where a full refresh of every job makes about
# 18, which at 10,000 VPS, 50 ms and 8 in flight is 19 minutes, more than the
# whole benchmark may take.
LARGE_FLEET_JOBS = ("vps", "tasks", "billing")

TARGET_CALL_RATIO = 5.0
TARGET_REFRESH_SLACK = 0.20
TARGET_P99_SECONDS = 0.050
TARGET_LATENCY_RATIO = 20.0
TARGET_PEAK_BYTES = 200 * 1024 * 1024
TARGET_SIZE = 10_000
# Below this many calls per concurrency slot, chains of dependent calls (the
# listing before any per-VPS call, a backup's state before its restore points)
# weigh more than the slots, and the latency/concurrency ideal cannot be reached.
IDEAL_MIN_CALLS_PER_SLOT = 100

_EXPORTER_SAMPLE = re.compile(
    rb"^(?P<name>ovh_exporter_[a-zA-Z0-9_]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$", re.MULTILINE
)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

Sample = tuple[str, dict[str, str], float]


@dataclass
class Options:
    """What one run measures and how hard it pushes."""

    sizes: list[int]
    latency: float
    concurrency: int
    all_jobs_up_to: int
    scrapers: int
    scrape_seconds: float
    baseline_sample: int
    baseline_scrape_seconds: float
    seed: int


@dataclass
class Ours:
    """The exporter's measurements for one fleet size."""

    jobs: list[str]
    calls_by_job: dict[str, int]
    calls_by_route: dict[str, int]
    calls: int
    simulator_calls: int
    concurrency: int
    refresh_seconds: float
    ideal_seconds: float
    job_seconds: dict[str, float]
    failed_jobs: list[str]
    p50_seconds: float
    p99_seconds: float
    scrapes: int
    scrape_seconds: float
    plain_bytes: int
    gzip_bytes: int
    openmetrics_gzip_bytes: int
    peak_rss_bytes: int
    exporter_cpu_seconds: float
    simulator_cpu_seconds: float
    budget_settings: dict[str, str]
    # The second refresh, on the unchanged fleet.
    steady_calls_by_job: dict[str, int] = field(default_factory=dict)
    steady_calls_by_route: dict[str, int] = field(default_factory=dict)
    steady_calls: int = 0
    steady_seconds: float = 0.0
    # The same OpenMetrics bytes from a server that does nothing else, same load.
    floor_p50_seconds: float = 0.0
    floor_p99_seconds: float = 0.0


@dataclass
class Baseline:
    """The naive baseline's measurements for one fleet size."""

    calls: int
    paths: int
    refresh_seconds: float
    refresh_extrapolated: bool
    sample_vps: int
    sample_calls: int
    sample_seconds: float
    p50_seconds: float
    p99_seconds: float
    scrapes: int
    scrapers: int
    peak_rss_bytes: int


@dataclass
class SizeResult:
    """Everything measured for one fleet size, and the ratios baseline / exporter."""

    size: int
    ours: Ours
    baseline: Baseline
    ratios: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# The exporter


def budget_overrides() -> dict[str, str]:
    """Environment that lifts any request budget the exporter's settings have."""
    overrides = {}
    for name, info in Settings.model_fields.items():
        if re.search(r"per_minute|per_second|burst|budget", name):
            value = UNLIMITED_BUDGET if info.annotation is int else float(UNLIMITED_BUDGET)
            overrides[f"OVH_EXPORTER_{name.upper()}"] = str(value)
    return overrides


def exporter_env(endpoint: str, concurrency: int, jobs: tuple[str, ...]) -> dict[str, str]:
    """The exporter's environment: the simulator's demo key, one refresh per job, no budget."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OVH_")}
    env |= {
        "OVH_ENDPOINT": endpoint,
        "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
        "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
        "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
        "OVH_EXPORTER_ACCOUNT": ACCOUNT,
        "OVH_EXPORTER_LOG_FORMAT": "json",
        "OVH_EXPORTER_WEB_LISTEN_ADDRESS": "127.0.0.1:0",
        "OVH_EXPORTER_MAX_CONCURRENCY": str(concurrency),
        "BENCHMARK_JOBS": ",".join(jobs),
    }
    for name in Settings.model_fields:
        if name.startswith("interval_"):
            env[f"OVH_EXPORTER_{name.upper()}"] = str(ONE_REFRESH_INTERVAL)
    return env | budget_overrides()


def wait_for_start(exporter: Child) -> tuple[int, float]:
    """Read the exporter's log until it says it started: its port and its start time."""
    while True:
        line = exporter.line(timeout=60, stream="stderr")
        exporter.stderr_lines.append(line)
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "exporter started":
            port = int(str(event["listen"]).rsplit(":", 1)[1])
            return port, dt.datetime.fromisoformat(event["timestamp"]).timestamp()


def exporter_samples(body: bytes) -> list[Sample]:
    """The exporter's own samples (`ovh_exporter_*`) of a text exposition.

    A regular expression over the bytes finds them without splitting the tens of
    megabytes of a large fleet's exposition into lines, on a machine whose two
    cores the exporter and the simulator are using.
    """
    samples = []
    for match in _EXPORTER_SAMPLE.finditer(body):
        labels = dict(_LABEL.findall(match.group("labels").decode() if match["labels"] else ""))
        samples.append((match.group("name").decode(), labels, float(match.group("value"))))
    return samples


def _per_label(samples: list[Sample], name: str, label: str) -> dict[str, float]:
    """One metric's values summed by one label."""
    values: dict[str, float] = {}
    for sample_name, labels, value in samples:
        if sample_name == name:
            values[labels[label]] = values.get(labels[label], 0.0) + value
    return values


def wait_for_refresh(port: int, sim: Child, jobs: list[str], timeout: float) -> bytes:
    """Wait until every job has run once and the snapshot served counts every call sent.

    Once each job has run no job runs again, so the simulator's count of requests
    is final; the exposition that counts as many is the last snapshot's.
    """
    deadline = time.monotonic() + timeout
    last = b""
    while time.monotonic() < deadline:
        compressed = fetch(port, headers={"Accept": "text/plain", "Accept-Encoding": "gzip"})
        if compressed != last:
            last = compressed
            body = gzip.decompress(compressed)
            samples = exporter_samples(body)
            ran = _per_label(samples, "ovh_exporter_refresh_duration_seconds", "refresh_job")
            if set(ran) >= set(jobs):
                counted = sum(
                    _per_label(samples, "ovh_exporter_api_requests_total", "route").values()
                )
                if counted >= sum(sim.ask("counts")["slow"].values()):
                    return body
        time.sleep(0.25)
    raise RuntimeError(f"the exporter did not finish its refresh within {timeout:.0f} s")


def measure_steady(
    port: int, exporter: Child, sim: Child, jobs: list[str], timeout: float
) -> bytes:
    """Run every job once more (SIGUSR2 to `benchmarks.exporter_main`) and wait for the runs.

    A job's second run ends with its cycle time in the snapshot; the exposition
    that has them all and counts every call the simulator saw is the last one.
    """
    exporter.process.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = gzip.decompress(
            fetch(port, headers={"Accept": "text/plain", "Accept-Encoding": "gzip"})
        )
        samples = exporter_samples(body)
        cycled = _per_label(samples, "ovh_exporter_refresh_cycle_seconds", "refresh_job")
        if set(cycled) >= set(jobs):
            counted = sum(_per_label(samples, "ovh_exporter_api_requests_total", "route").values())
            if counted >= sum(sim.ask("counts")["slow"].values()):
                return body
        time.sleep(0.25)
    raise RuntimeError(f"the exporter did not finish its second refresh within {timeout:.0f} s")


def calls_by_job(samples: list[Sample], by_route: dict[str, int]) -> dict[str, int]:
    """Each job's calls, as the exporter counts them (or, from older exporters, by route)."""
    counted = _per_label(samples, "ovh_exporter_refresh_api_requests", "refresh_job")
    if counted:
        return {job: int(value) for job, value in sorted(counted.items())}
    by_job: dict[str, int] = {}
    for route, count in by_route.items():
        job = route.split("/")[3] if route.startswith("/vps/{serviceName}/") else route
        by_job[job] = by_job.get(job, 0) + count
    return dict(sorted(by_job.items()))


def measure_ours(
    size: int, urls: dict[str, str], sim: Child, options: Options, work: Path
) -> tuple[Ours, bytes]:
    """Run the exporter against the slow simulator, then scrape it; also returns its exposition."""
    sim.ask("reset")
    wanted = () if size <= options.all_jobs_up_to else LARGE_FLEET_JOBS
    argv = [sys.executable, "-m", "benchmarks.exporter_main", "serve"]
    env = exporter_env(urls["slow"], options.concurrency, wanted)
    with child(argv, env, sig=signal.SIGTERM) as exporter:
        jobs = list(json.loads(exporter.line(timeout=60))["jobs"])
        port, _ = wait_for_start(exporter)
        cpu = (exporter.cpu_seconds(), sim.cpu_seconds())
        body = wait_for_refresh(port, sim, jobs, timeout=3600.0)
        cpu = (exporter.cpu_seconds() - cpu[0], sim.cpu_seconds() - cpu[1])
        sim.ask(f"paths {work / 'paths.json'}")

        samples = exporter_samples(body)
        by_route = {
            route: int(count)
            for route, count in _per_label(
                samples, "ovh_exporter_api_requests_total", "route"
            ).items()
        }
        calls = sum(count for route, count in by_route.items() if route not in ONE_OFF_ROUTES)
        seen = sim.ask("counts")["slow"]
        durations = _per_label(samples, "ovh_exporter_refresh_duration_seconds", "refresh_job")
        success = _per_label(samples, "ovh_exporter_refresh_success", "refresh_job")

        plain = fetch(port, headers={"Accept": "text/plain"})
        compressed = fetch(port, headers={"Accept": "text/plain", "Accept-Encoding": "gzip"})
        openmetrics = fetch(port, headers=PROMETHEUS_HEADERS)
        (work / "openmetrics.gz").write_bytes(openmetrics)
        load = scrape_load(port, options.scrapers, options.scrape_seconds)
        steady = exporter_samples(measure_steady(port, exporter, sim, jobs, timeout=3600.0))
        # The peak of the whole run: the first refresh, the scrapes and the second refresh.
        peak = exporter.peak_rss()
        steady_by_job = {
            job: int(count)
            for job, count in sorted(
                _per_label(steady, "ovh_exporter_refresh_api_requests", "refresh_job").items()
            )
        }
        steady_durations = _per_label(
            steady, "ovh_exporter_refresh_duration_seconds", "refresh_job"
        )
        counted = _per_label(steady, "ovh_exporter_api_requests_total", "route")
        steady_by_route = {
            route: int(count) - by_route.get(route, 0)
            for route, count in counted.items()
            if int(count) > by_route.get(route, 0)
        }

    ours = Ours(
        jobs=jobs,
        calls_by_job=calls_by_job(samples, by_route),
        calls_by_route=dict(sorted(by_route.items())),
        calls=calls,
        simulator_calls=sum(n for route, n in seen.items() if route not in ONE_OFF_ROUTES),
        concurrency=options.concurrency,
        # Every job starts at once, so the slowest one's run is the full refresh.
        refresh_seconds=max(durations.values()),
        ideal_seconds=calls * options.latency / options.concurrency,
        job_seconds=durations,
        failed_jobs=sorted(job for job, ok in success.items() if not ok),
        p50_seconds=load.p50_seconds,
        p99_seconds=load.p99_seconds,
        scrapes=load.scrapes,
        scrape_seconds=load.seconds,
        plain_bytes=len(plain),
        gzip_bytes=len(compressed),
        openmetrics_gzip_bytes=len(openmetrics),
        peak_rss_bytes=peak,
        exporter_cpu_seconds=cpu[0],
        simulator_cpu_seconds=cpu[1],
        budget_settings=budget_overrides(),
        steady_calls_by_job=steady_by_job,
        steady_calls_by_route=dict(sorted(steady_by_route.items())),
        steady_calls=sum(steady_by_job.values()),
        steady_seconds=max(steady_durations.values()),
    )
    return ours, plain


def measure_floor(options: Options, work: Path) -> tuple[float, float]:
    """p50 and p99 of the same scrapes against a static server of the exporter's last answer.

    Sending megabytes to 20 scrapers at once takes time whoever sends them: this
    is the latency a server with nothing else to do reaches on this machine.
    """
    argv = [sys.executable, "-m", "benchmarks.static_server", str(work / "openmetrics.gz")]
    with child(argv) as server:
        port = int(json.loads(server.line(timeout=60))["port"])
        load = scrape_load(port, options.scrapers, options.scrape_seconds)
    return load.p50_seconds, load.p99_seconds


# ---------------------------------------------------------------------------
# The baseline


def measure_baseline(urls: dict[str, str], options: Options, work: Path) -> Baseline:
    """Run the naive baseline on the exporter's reads, then scrape it."""
    argv = [
        sys.executable,
        "-m",
        "benchmarks.naive",
        "--slow",
        urls["slow"],
        "--fast",
        urls["fast"],
        "--paths",
        str(work / "paths.json"),
        "--exposition",
        str(work / "exposition.txt"),
        "--sample",
        str(options.baseline_sample),
    ]
    with child(argv) as naive:
        result = json.loads(naive.line(timeout=3600))
        port = int(result["port"])
        started = time.perf_counter()
        fetch(port, headers=PROMETHEUS_HEADERS)
        one = time.perf_counter() - started
        if one * options.scrapers > options.baseline_scrape_seconds:
            # Concurrent scrapes would each wait for all the renders: one scraper
            # gives the render time alone, a lower bound of what they would see.
            scrapers, seconds = 1, one * (BASELINE_LONE_SCRAPES + 1)
        else:
            # Long enough for every scraper to be answered a few times.
            scrapers = options.scrapers
            seconds = max(options.baseline_scrape_seconds, BASELINE_ROUNDS * one * scrapers)
        # A scrape waits for the renders of the scrapes before it, each about `one`.
        timeout = max(SCRAPE_TIMEOUT_SECONDS, BASELINE_TIMEOUT_FACTOR * one * scrapers)
        load = scrape_load(port, scrapers, seconds, timeout=timeout)
        peak = naive.peak_rss()

    return Baseline(
        calls=int(result["calls"]),
        paths=int(result["paths"]),
        refresh_seconds=float(result["refresh_seconds"]),
        refresh_extrapolated=bool(result["refresh_extrapolated"]),
        sample_vps=int(result["sample_vps"]),
        sample_calls=int(result["sample_calls"]),
        sample_seconds=float(result["sample_seconds"]),
        p50_seconds=load.p50_seconds,
        p99_seconds=load.p99_seconds,
        scrapes=load.scrapes,
        scrapers=scrapers,
        peak_rss_bytes=peak,
    )


def default_intervals() -> dict[str, float]:
    """Each refresh job's default interval in seconds, from the exporter's settings."""
    return {
        name.removeprefix("interval_"): float(info.default)
        for name, info in Settings.model_fields.items()
        if name.startswith("interval_")
    }


def hourly_calls(ours: Ours, baseline: Baseline) -> tuple[float, float]:
    """Calls an hour at the default intervals: the exporter's, and the baseline's.

    Each of the exporter's jobs costs its second refresh every interval, plus
    what its first refresh read beyond that once every `reread_after` (or every
    interval, if longer), when the kept facts are read again. The baseline has
    one interval for everything; it gets the exporter's shortest, so that no
    data of the baseline is staler than the exporter's.
    """
    intervals = default_intervals()
    reread = float(Settings.model_fields["reread_after"].default)
    timed = {job: count for job, count in ours.calls_by_job.items() if job in intervals}
    ours_hourly = 0.0
    for job, count in timed.items():
        steady = ours.steady_calls_by_job.get(job, count)
        ours_hourly += steady * 3600.0 / intervals[job]
        ours_hourly += max(count - steady, 0) * 3600.0 / max(reread, intervals[job])
    shortest = min(intervals[job] for job in timed)
    return ours_hourly, baseline.calls * 3600.0 / shortest


def measure_size(size: int, options: Options) -> SizeResult:
    """Everything for one fleet size, each process stopped before the next starts."""
    argv = [
        sys.executable,
        "-m",
        "benchmarks.simulator_proc",
        "--size",
        str(size),
        "--seed",
        str(options.seed),
        "--latency",
        str(options.latency),
    ]
    with tempfile.TemporaryDirectory(prefix="ovh-bench-") as directory, child(argv) as sim:
        work = Path(directory)
        urls = json.loads(sim.line(timeout=120))
        ours, exposition = measure_ours(size, urls, sim, options, work)
        (work / "exposition.txt").write_bytes(exposition)
        ours.floor_p50_seconds, ours.floor_p99_seconds = measure_floor(options, work)
        baseline = measure_baseline(urls, options, work)

    result = SizeResult(size, ours, baseline)
    hourly = hourly_calls(ours, baseline)
    result.ratios = {
        "calls": baseline.calls / max(1, ours.calls),
        "steady_calls": baseline.calls / max(1, ours.steady_calls),
        "calls_per_hour": hourly[1] / max(hourly[0], 1e-9),
        "refresh": baseline.refresh_seconds / max(ours.refresh_seconds, 1e-9),
        "p50": baseline.p50_seconds / max(ours.p50_seconds, 1e-9),
        "p99": baseline.p99_seconds / max(ours.p99_seconds, 1e-9),
    }
    return result


# ---------------------------------------------------------------------------
# Report


def machine() -> dict[str, Any]:
    """The machine the run measured: CPU model, cores, memory, Python."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"^MemTotal:\s+(\d+) kB", meminfo.read_text(), re.MULTILINE)
        memory = int(match.group(1)) * 1024 if match else 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _mb(count: int) -> str:
    return f"{count / 1024 / 1024:.1f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table with right-aligned columns."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def targets(results: list[SizeResult], all_jobs_up_to: int) -> list[tuple[str, bool | None, str]]:
    """Each target with its verdict (None when there is nothing to judge it on).

    The calls are judged where every job ran, on all of the exporter's data; a
    larger fleet runs only some jobs, and its ratio is shown unjudged.
    """
    checks: list[tuple[str, bool | None, str]] = []
    for result in results:
        ours, size = result.ours, result.size
        complete = size <= all_jobs_up_to
        unjudged = "" if complete else f" (not judged: only {', '.join(ours.jobs)})"
        checks.append(
            (
                f"{size:,} VPS: at least {TARGET_CALL_RATIO:g}x fewer calls than the baseline, "
                "per refresh once the fleet is known",
                result.ratios["steady_calls"] >= TARGET_CALL_RATIO if complete else None,
                f"{result.ratios['steady_calls']:.1f}x (first refresh: "
                f"{result.ratios['calls']:.2f}x){unjudged}",
            )
        )
        checks.append(
            (
                f"{size:,} VPS: at least {TARGET_CALL_RATIO:g}x fewer calls than the baseline, "
                "per hour at the default intervals",
                result.ratios["calls_per_hour"] >= TARGET_CALL_RATIO if complete else None,
                f"{result.ratios['calls_per_hour']:.1f}x{unjudged}",
            )
        )
        slots = ours.calls / ours.concurrency
        excess = ours.refresh_seconds / ours.ideal_seconds - 1 if ours.ideal_seconds else 0.0
        judged = slots >= IDEAL_MIN_CALLS_PER_SLOT
        detail = f"{excess:+.1%}"
        if not judged:
            detail += f" (not judged: {slots:.0f} calls per slot)"
        checks.append(
            (
                f"{size:,} VPS: refresh within {TARGET_REFRESH_SLACK:.0%} of the ideal",
                excess <= TARGET_REFRESH_SLACK if judged else None,
                detail,
            )
        )
    for result in [result for result in results if result.size == TARGET_SIZE]:
        ours = result.ours
        checks.append(
            (
                f"{TARGET_SIZE:,} VPS: /metrics p99 under {TARGET_P99_SECONDS * 1000:.0f} ms",
                ours.p99_seconds < TARGET_P99_SECONDS,
                f"{_ms(ours.p99_seconds)} ms (the same bytes from a static server: "
                f"{_ms(ours.floor_p99_seconds)} ms)",
            )
        )
        checks.append(
            (
                f"{TARGET_SIZE:,} VPS: /metrics at least {TARGET_LATENCY_RATIO:g}x faster than "
                "rendering per scrape",
                min(result.ratios["p50"], result.ratios["p99"]) >= TARGET_LATENCY_RATIO,
                f"p50 {result.ratios['p50']:.0f}x, p99 {result.ratios['p99']:.0f}x",
            )
        )
        checks.append(
            (
                f"{TARGET_SIZE:,} VPS: peak memory under {_mb(TARGET_PEAK_BYTES)} MB",
                ours.peak_rss_bytes < TARGET_PEAK_BYTES,
                f"{_mb(ours.peak_rss_bytes)} MB",
            )
        )
    if all(result.size != TARGET_SIZE for result in results):
        checks.append((f"{TARGET_SIZE:,} VPS: p99, 20x and memory", None, "size not run"))
    return checks


def _ours_rows(results: list[SizeResult], all_jobs_up_to: int) -> list[list[str]]:
    """One row per size for the exporter's table."""
    rows = []
    for result in results:
        ours, size = result.ours, result.size
        rows.append(
            [
                f"{size:,}",
                "all" if size <= all_jobs_up_to else ",".join(ours.jobs),
                f"{ours.calls:,}",
                f"{ours.calls / size:.2f}",
                f"{ours.steady_calls / size:.2f}",
                f"{ours.refresh_seconds:.2f}",
                f"{ours.ideal_seconds:.2f}",
                f"{ours.refresh_seconds / ours.ideal_seconds:.2f}" if ours.ideal_seconds else "-",
                f"{ours.exporter_cpu_seconds * 1000 / max(1, ours.calls):.2f}",
                _ms(ours.p50_seconds),
                _ms(ours.p99_seconds),
                _ms(ours.floor_p99_seconds),
                _mb(ours.plain_bytes),
                f"{ours.openmetrics_gzip_bytes / 1024:.0f}",
                _mb(ours.peak_rss_bytes),
            ]
        )
    return rows


def report(results: list[SizeResult], options: Options, elapsed: float) -> str:
    """The whole printed report."""
    host = machine()
    jobs = sorted({job for result in results for job in result.ours.calls_by_job})
    job_rows = [
        [
            f"{r.size:,}",
            refresh,
            *(f"{by_job.get(job, 0) / r.size:.3f}" for job in jobs),
        ]
        for r in results
        for refresh, by_job in (("1st", r.ours.calls_by_job), ("2nd", r.ours.steady_calls_by_job))
    ]
    base_rows = []
    for result in results:
        base, size, ratios = result.baseline, result.size, result.ratios
        base_rows.append(
            [
                f"{size:,}",
                f"{base.calls:,}",
                f"{base.calls / size:.2f}",
                f"{base.refresh_seconds:,.1f}" + ("*" if base.refresh_extrapolated else ""),
                _ms(base.p50_seconds),
                _ms(base.p99_seconds),
                f"{base.scrapes} x{base.scrapers}" + ("+" if base.scrapers == 1 else ""),
                _mb(base.peak_rss_bytes),
                f"{ratios['calls']:.2f}x / {ratios['steady_calls']:.1f}x",
                f"{ratios['calls_per_hour']:.1f}x",
                f"{ratios['refresh']:.1f}x",
                f"{ratios['p50']:.0f}x / {ratios['p99']:.0f}x",
            ]
        )
    largest_all = max(
        (r for r in results if r.size <= options.all_jobs_up_to), key=lambda r: r.size, default=None
    )

    budget = results[0].ours.budget_settings if results else {}
    out = [
        "ovh-vps-exporter fleet benchmark",
        f"machine: {host['cpu']}, {host['cores']} cores, {_mb(host['memory_bytes'])} MB RAM, "
        f"Python {host['python']}, {host['system']}",
        f"simulated OVH latency {options.latency * 1000:.0f} ms per request; exporter "
        f"max_concurrency {options.concurrency}; {options.scrapers} concurrent scrapers (wrk, "
        f"{options.scrape_seconds:g} s a server) sending Prometheus's headers (OpenMetrics, gzip)",
        "request budget lifted: "
        + (", ".join(f"{k}={v}" for k, v in budget.items()) or "no budget setting in this version"),
        f"jobs: every job up to {options.all_jobs_up_to:,} VPS; above, only "
        + ", ".join(LARGE_FLEET_JOBS),
    ]
    if largest_all is not None:
        per_vps = largest_all.ours.calls / largest_all.size
        full = per_vps * TARGET_SIZE * options.latency / options.concurrency
        out.append(
            f"  (every job makes {per_vps:.1f} calls per VPS at {largest_all.size:,} VPS: "
            f"a full refresh of {TARGET_SIZE:,} VPS would need {full / 60:.0f} min at best)"
        )
    out += [
        "",
        "exporter: one full refresh of the jobs, then the scrapes",
        table(
            [
                "VPS",
                "jobs",
                "calls",
                "calls/VPS",
                "2nd/VPS",
                "refresh s",
                "ideal s",
                "x ideal",
                "CPU ms/call",
                "p50 ms",
                "p99 ms",
                "floor",
                "expo MB",
                "gzip KB",
                "peak MB",
            ],
            _ours_rows(results, options.all_jobs_up_to),
        ),
        "  refresh: the slowest job's run (they all start together). ideal: calls x latency / "
        "concurrency.",
        "  CPU: the exporter's during the refresh. expo: the text format. gzip: what "
        "Prometheus receives (OpenMetrics).",
        "  floor: p99 of the same scrapes of the same bytes from a static server, the cost "
        "of sending them here.",
        "  2nd: every job run again on the unchanged fleet: the cost of each refresh once the "
        "exporter knows it.",
        "",
        "calls per VPS in one refresh, by job (as the exporter counts them)",
        table(["VPS", "refresh", *jobs], job_rows),
        "",
        "naive baseline: the same reads as ids then one GET per object, in sequence; "
        "prometheus_client renders every scrape",
        table(
            [
                "VPS",
                "calls",
                "calls/VPS",
                "refresh s",
                "p50 ms",
                "p99 ms",
                "scrapes",
                "peak MB",
                "x calls 1st / 2nd",
                "x calls/h",
                "x refresh",
                "x p50 / p99",
            ],
            base_rows,
        ),
        "  x: baseline / exporter, whose 1st refresh reads everything and 2nd what may have "
        "changed. calls/h: calls an",
        "    hour at the default intervals, everything read again every reread_after, the "
        "baseline reading everything",
        "    at the exporter's shortest interval. * extrapolated: the account's reads and "
        f"{options.baseline_sample} VPS walked in",
        "    sequence at the simulated latency, per call, times the calls counted by walking "
        "every VPS at zero latency",
        "    16 at a time (which changes no call). +: one scraper, as 20 at once would each "
        "wait for 20 renders; the",
        "    latency is then a lower bound, and so is the ratio to the exporter's.",
        "",
        "targets",
    ]
    for name, verdict, detail in targets(results, options.all_jobs_up_to):
        label = "PASS" if verdict else ("FAIL" if verdict is False else "n/a ")
        out.append(f"  {label}  {name}: {detail}")
    out += ["", f"whole run: {elapsed:.0f} s"]
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> tuple[Options, Path | None]:
    """The command line."""
    default_concurrency = Settings.model_fields["max_concurrency"].default
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000,10000", help="comma-separated fleet sizes")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per OVH request")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=default_concurrency,
        help=f"the exporter's max_concurrency (default: its own, {default_concurrency})",
    )
    parser.add_argument(
        "--all-jobs-up-to",
        type=int,
        default=1000,
        help="largest fleet refreshed with every job; larger ones run "
        + ", ".join(LARGE_FLEET_JOBS),
    )
    parser.add_argument("--scrapers", type=int, default=20, help="concurrent scrapers")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated fleets")
    parser.add_argument("--quick", action="store_true", help="fewer scrapes and a smaller sample")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args(argv)
    options = Options(
        sizes=[int(part) for part in args.sizes.split(",") if part.strip()],
        latency=args.latency,
        concurrency=args.concurrency,
        all_jobs_up_to=args.all_jobs_up_to,
        scrapers=args.scrapers,
        scrape_seconds=3.0 if args.quick else 10.0,
        baseline_sample=5 if args.quick else 10,
        baseline_scrape_seconds=2.0 if args.quick else 8.0,
        seed=args.seed,
    )
    return options, args.json


def main(argv: list[str] | None = None) -> int:
    """Run every size, print the report, and write the JSON if asked."""
    options, json_path = parse_args(argv)
    started = time.monotonic()
    results = []
    for size in options.sizes:
        print(f"measuring {size:,} VPS ...", file=sys.stderr, flush=True)
        results.append(measure_size(size, options))
    elapsed = time.monotonic() - started
    print(report(results, options, elapsed))
    if json_path is not None:
        document = {
            "machine": machine(),
            "options": asdict(options),
            "results": [asdict(result) for result in results],
            "targets": [
                {"target": name, "pass": verdict, "value": detail}
                for name, verdict, detail in targets(results, options.all_jobs_up_to)
            ],
            "seconds": elapsed,
        }
        json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
