"""Concurrent scrapers for the benchmark: a thread pool in the benchmark's own process.

The exporter under test runs in another process, so the scrapers never share
its event loop or its interpreter lock; each thread keeps one loopback
connection open (reopened when the server closes it) and sends the headers
Prometheus sends, gzip included.
"""

import http.client
import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

# What Prometheus 2.x and 3.x send when scraping.
PROMETHEUS_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
    "Accept-Encoding": "gzip",
    "User-Agent": "ovh-vps-exporter-benchmark",
}


@dataclass(frozen=True)
class LoadResult:
    """Latencies of every scrape, in seconds, and the bytes of the last answer."""

    latencies: list[float]
    body_bytes: int
    seconds: float

    def percentile(self, share: float) -> float:
        """The nearest-rank percentile of the latencies, `share` between 0 and 1."""
        return percentile(self.latencies, share)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` of them at or below."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def fetch(port: int, path: str = "/metrics", headers: dict[str, str] | None = None) -> bytes:
    """One GET on loopback; raises on any status but 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
        return body
    finally:
        connection.close()


def scrape_load(port: int, scrapers: int, requests: int, path: str = "/metrics") -> LoadResult:
    """Send `requests` scrapes from `scrapers` threads at once, each as fast as answers come."""
    remaining = iter(range(requests))
    take = threading.Lock()
    latencies: list[float] = []
    sizes: list[int] = []

    def scraper() -> None:
        """Scrape until the shared budget of requests is spent."""
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            while True:
                with take:
                    if next(remaining, None) is None:
                        return
                started = time.perf_counter()
                connection.request("GET", path, headers=PROMETHEUS_HEADERS)
                response = connection.getresponse()
                body = response.read()
                latencies.append(time.perf_counter() - started)
                if response.status != 200:
                    raise RuntimeError(f"GET {path} answered {response.status}")
                sizes.append(len(body))
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=scrapers) as pool:
        for future in [pool.submit(scraper) for _ in range(scrapers)]:
            future.result()
    return LoadResult(latencies, sizes[-1] if sizes else 0, time.perf_counter() - started)
