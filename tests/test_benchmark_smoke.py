"""The fleet benchmark runs end to end on a tiny fleet and prints every column it promises."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_prints_its_tables_and_writes_json(tmp_path: Path) -> None:
    require_binary("wrk", package="wrk")
    output = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--sizes",
            "10",
            "--quick",
            "--latency",
            "0.005",
            "--scrapers",
            "4",
            "--json",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()

    exporter_header = lines[
        lines.index("exporter: one full refresh of the jobs, then the scrapes") + 1
    ]
    assert exporter_header.split() == [
        "VPS",
        "jobs",
        "calls",
        "calls/VPS",
        "2nd/VPS",
        "refresh",
        "s",
        "ideal",
        "s",
        "x",
        "ideal",
        "CPU",
        "ms/call",
        "p50",
        "ms",
        "p99",
        "ms",
        "floor",
        "expo",
        "MB",
        "gzip",
        "KB",
        "peak",
        "MB",
    ]
    row = lines[lines.index(exporter_header) + 2].split()
    assert row[:2] == ["10", "all"]
    assert any(line.startswith("machine: ") and "cores" in line for line in lines)
    assert any(line.strip().startswith(("PASS", "FAIL", "n/a")) for line in lines)

    document = json.loads(output.read_text())
    (result,) = document["results"]
    ours, baseline = result["ours"], result["baseline"]
    assert result["size"] == 10
    # The simulator saw exactly the calls the exporter counted.
    assert ours["calls"] == ours["simulator_calls"] > 10
    assert sum(ours["calls_by_job"].values()) >= ours["calls"]
    assert 0 < ours["p50_seconds"] <= ours["p99_seconds"]
    assert ours["scrapes"] > 0
    # The same bytes were scraped from a static server too.
    assert 0 < ours["floor_p50_seconds"] <= ours["floor_p99_seconds"]
    assert ours["peak_rss_bytes"] > 10 * 1024 * 1024
    # The baseline fetched objects one by one: more calls than the exporter for the same reads.
    assert baseline["calls"] > ours["calls"]
    # The second refresh of the unchanged fleet reads only what changes by itself.
    assert 0 < ours["steady_calls"] < ours["calls"] / 3
    assert ours["steady_calls"] == sum(ours["steady_calls_by_job"].values())
    assert ours["steady_calls_by_job"]["details"] == 0
    assert set(result["ratios"]) == {
        "calls",
        "steady_calls",
        "calls_per_hour",
        "refresh",
        "p50",
        "p99",
    }
    assert document["machine"]["cores"] >= 1
