"""The exporter's own command, with the benchmark told which refresh jobs it schedules.

`python -m benchmarks.exporter_main serve ...` is `python -m exporter serve ...`
in the same process (so its peak memory is the exporter's), except that it
prints one JSON line on stdout naming the scheduled refresh jobs, that
`BENCHMARK_JOBS` (comma-separated job names), when set, leaves every other job
out of the schedule (at 10,000 VPS a full refresh of every job takes longer
than the whole benchmark may), and that SIGUSR2 runs every job again at once:
the benchmark's second round, on a fleet that did not change.
"""

import json
import os
import signal
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from exporter import cli, daemon


def _announcing(build: Any) -> Any:
    """Wrap `build_scheduler`: drop the jobs not asked for, then name the rest on stdout."""
    wanted = {name for name in os.environ.get("BENCHMARK_JOBS", "").split(",") if name}

    def build_scheduler(*args: Any, **kwargs: Any) -> Any:
        """Build the exporter's scheduler, keep the wanted jobs, and say which run."""
        scheduler = build(*args, **kwargs)
        kept = []
        for job in scheduler.get_jobs():
            name = job.id.split(":", 1)[-1]
            if wanted and name not in wanted:
                scheduler.remove_job(job.id)
            else:
                kept.append(name)
        print(json.dumps({"jobs": sorted(set(kept))}), flush=True)

        def run_again(_signum: int, _frame: FrameType | None) -> None:
            """Run every scheduled job now, once more."""
            now = datetime.now(UTC)
            for job in scheduler.get_jobs():
                job.modify(next_run_time=now)
            scheduler.wakeup()

        signal.signal(signal.SIGUSR2, run_again)
        return scheduler

    return build_scheduler


def main() -> int:
    """Run the exporter's command line."""
    daemon.build_scheduler = _announcing(daemon.build_scheduler)  # type: ignore[assignment]
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
