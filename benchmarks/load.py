"""Concurrent scrapers for the benchmark: wrk, on loopback, in a process of its own.

The scrapers must not be what the benchmark measures. Twenty threads of Python
sharing one interpreter lock were: serving the same bytes from a server that
did nothing else, their p99 was twice their p50 and they spent most of a core.
wrk (Debian's package `wrk`) keeps the same twenty connections busy from native
threads, sends the headers Prometheus sends, gzip included, and reports its
latency percentiles through `wrk_report.lua`.

wrk corrects its percentiles for coordinated omission: a scrape slower than
twice the mean time between a connection's scrapes adds samples for the
scrapes it held back, between that mean and its own time. When a few scrapes
are much slower than the rest, the percentiles come out higher than those of
the scrapes alone. Scrapes still unanswered when a run ends (one a connection
at most) are not counted.
"""

import http.client
import json
import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPORT_SCRIPT = Path(__file__).resolve().parent / "wrk_report.lua"

# What Prometheus 2.x and 3.x send when scraping.
PROMETHEUS_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
    "Accept-Encoding": "gzip",
    "User-Agent": "ovh-vps-exporter-benchmark",
}

# One GET of the benchmark's own, the naive baseline's renders included.
FETCH_TIMEOUT_SECONDS = 600
# A scrape slower than this fails the run. wrk keeps a counter for each
# microsecond up to it (80 MB of address space, touched only where used), so
# it is raised only for the naive baseline, whose scrapes take seconds.
SCRAPE_TIMEOUT_SECONDS = 10.0


class LoadError(RuntimeError):
    """wrk is missing, failed, or saw a failed scrape (an error status, timeout or socket error)."""


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured: latency percentiles in seconds, and the scrapes answered."""

    p50_seconds: float
    p99_seconds: float
    max_seconds: float
    scrapes: int
    seconds: float


def fetch(port: int, path: str = "/metrics", headers: dict[str, str] | None = None) -> bytes:
    """One GET on loopback; raises on any status but 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=FETCH_TIMEOUT_SECONDS)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
        return body
    finally:
        connection.close()


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def wrk_threads(scrapers: int, cores: int) -> int:
    """The most threads, one a core at most, that share `scrapers` connections evenly.

    wrk gives each thread `connections / threads` connections and drops the
    remainder: 20 on 8 threads would be 16.
    """
    return max(n for n in range(1, max(1, min(scrapers, cores)) + 1) if scrapers % n == 0)


def wrk_command(
    port: int,
    scrapers: int,
    seconds: float,
    path: str = "/metrics",
    timeout: float = SCRAPE_TIMEOUT_SECONDS,
) -> list[str]:
    """wrk's command line: `scrapers` connections for `seconds`, on at most one thread a core."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise LoadError(
            "the benchmark's scrapers are wrk's, and wrk is not on PATH: "
            "install it (Debian and Ubuntu: apt-get install wrk)"
        )
    command = [
        wrk,
        f"--threads={wrk_threads(scrapers, usable_cores())}",
        f"--connections={scrapers}",
        f"--duration={max(1, math.ceil(seconds))}s",
        f"--timeout={max(1, math.ceil(timeout))}s",
        f"--script={REPORT_SCRIPT}",
    ]
    for name, value in PROMETHEUS_HEADERS.items():
        command.append(f"--header={name}: {value}")
    return [*command, f"http://127.0.0.1:{port}{path}"]


def parse_report(stdout: str) -> LoadResult:
    """The JSON line `wrk_report.lua` printed; raises if any scrape failed or none ended."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise LoadError(f"wrk printed no report: {stdout[-500:]!r}")
    report = json.loads(lines[-1])
    failed = {
        name: report[name]
        for name in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
        if report[name]
    }
    if failed:
        raise LoadError(f"wrk saw failed scrapes: {failed}")
    if not report["requests"]:
        raise LoadError("no scrape was answered within the run")
    return LoadResult(
        p50_seconds=report["p50_us"] / 1e6,
        p99_seconds=report["p99_us"] / 1e6,
        max_seconds=report["max_us"] / 1e6,
        scrapes=int(report["requests"]),
        seconds=report["duration_us"] / 1e6,
    )


def scrape_load(
    port: int,
    scrapers: int,
    seconds: float,
    path: str = "/metrics",
    timeout: float = SCRAPE_TIMEOUT_SECONDS,
) -> LoadResult:
    """Keep `scrapers` scrapes in flight for `seconds`, each sent when the last is answered.

    A scrape slower than `timeout` seconds fails the run.
    """
    run = subprocess.run(
        wrk_command(port, scrapers, seconds, path, timeout),
        capture_output=True,
        text=True,
        timeout=seconds + timeout + 60,
        check=False,
    )
    if run.returncode != 0:
        raise LoadError(f"wrk exited with {run.returncode}: {run.stderr.strip()[-500:]}")
    return parse_report(run.stdout)
