"""The benchmark's scrapers: wrk's command line, its report, and real runs on loopback."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks import load
from tests.conftest import require_binary

BODY = b'ovh_vps_state{serviceName="vps-1.vps.ovh.net",state="running"} 1\n' * 1000


@contextmanager
def serving(status: int) -> Iterator[tuple[int, list[dict[str, str]]]]:
    """A keep-alive HTTP server on loopback answering every GET with `status` and BODY."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            """Answer with `status` and BODY, noting the request's headers."""
            seen.append(dict(self.headers))
            self.send_response(status)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *_args: object) -> None:
            """Quiet: the test reads what it needs from `seen`."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_wrk_command_caps_threads_at_the_cores_and_sends_prometheus_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(load.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(load, "usable_cores", lambda: 2)

    command = load.wrk_command(8080, scrapers=20, seconds=2.5)

    assert command[0] == "/usr/bin/wrk"
    assert "--threads=2" in command
    assert "--connections=20" in command
    assert "--duration=3s" in command
    assert f"--timeout={load.SCRAPE_TIMEOUT_SECONDS:.0f}s" in command
    assert "--timeout=25s" in load.wrk_command(8080, scrapers=1, seconds=9, timeout=24.2)
    assert f"--script={load.REPORT_SCRIPT}" in command
    assert "--header=Accept-Encoding: gzip" in command
    assert f"--header=Accept: {load.PROMETHEUS_HEADERS['Accept']}" in command
    assert command[-1] == "http://127.0.0.1:8080/metrics"
    # wrk refuses fewer connections than threads.
    assert "--threads=1" in load.wrk_command(8080, scrapers=1, seconds=1)


@pytest.mark.parametrize(
    ("scrapers", "cores", "threads"),
    [(20, 2, 2), (20, 3, 2), (20, 8, 5), (20, 12, 10), (20, 64, 20), (7, 4, 1), (1, 8, 1)],
)
def test_wrk_threads_share_the_connections_evenly(scrapers: int, cores: int, threads: int) -> None:
    # wrk drops the connections a thread count does not divide.
    assert load.wrk_threads(scrapers, cores) == threads


def test_a_missing_wrk_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load.shutil, "which", lambda _name: None)

    with pytest.raises(load.LoadError, match="apt-get install wrk"):
        load.scrape_load(1, scrapers=1, seconds=1)


REPORT = (
    '{"requests": 400, "duration_us": 2000000, "bytes": 4000000, "p50_us": 1500, '
    '"p99_us": 4200, "max_us": 9000, "connect_errors": 0, "read_errors": 0, '
    '"write_errors": 0, "status_errors": 0, "timeouts": 0}'
)


def test_the_report_is_read_in_seconds() -> None:
    result = load.parse_report("Running 2s test @ http://127.0.0.1:1/metrics\n" + REPORT + "\n")

    assert result == load.LoadResult(
        p50_seconds=0.0015, p99_seconds=0.0042, max_seconds=0.009, scrapes=400, seconds=2.0
    )


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        ("unable to connect to 127.0.0.1:1 Connection refused\n", "wrk printed no report"),
        (REPORT.replace('"status_errors": 0', '"status_errors": 7'), "'status_errors': 7"),
        (REPORT.replace('"timeouts": 0', '"timeouts": 1'), "'timeouts': 1"),
        (REPORT.replace('"requests": 400', '"requests": 0'), "no scrape was answered"),
    ],
)
def test_a_run_with_failed_or_no_scrapes_is_an_error(stdout: str, message: str) -> None:
    with pytest.raises(load.LoadError, match=message):
        load.parse_report(stdout)


def test_wrk_scrapes_a_real_server_with_prometheus_headers() -> None:
    require_binary("wrk", package="wrk")

    with serving(200) as (port, seen):
        result = load.scrape_load(port, scrapers=4, seconds=1)

    assert result.scrapes >= 10
    assert len(seen) >= result.scrapes
    assert 0 < result.p50_seconds <= result.p99_seconds <= result.max_seconds < 1
    assert 0.9 < result.seconds < 2
    assert seen[0]["Accept-Encoding"] == "gzip"
    assert seen[0]["Accept"].startswith("application/openmetrics-text;version=1.0.0")


def test_wrk_fails_the_run_when_the_server_answers_errors() -> None:
    require_binary("wrk", package="wrk")

    with serving(500) as (port, _seen), pytest.raises(load.LoadError, match="status_errors"):
        load.scrape_load(port, scrapers=2, seconds=1)
