"""A short soak (about 25 s): 20 scrapers, 5 s refreshes, random OVH faults, nothing grows.

`python -m benchmarks.soak` runs the same for minutes and prints the same figures.
"""

from benchmarks.soak import TOLERANCE, SoakOptions, run_soak


async def test_short_soak_answers_every_scrape_and_grows_nothing() -> None:
    options = SoakOptions(
        duration=28.0,
        scrapers=20,
        fleet_size=20,
        warmup=6.0,
        fault_every=3.0,
        recovery=10.0,
        sample_every=1.0,
    )

    report = await run_soak(options)

    print(report.table())  # Shown with -s, and on failure.
    assert report.stats.failed == 0, report.stats.examples
    assert report.stats.answered >= 1000
    assert report.faults, "no fault was injected"
    assert report.crashes == []
    assert report.exit_code == 0
    growth = report.growth()
    for name, limit in TOLERANCE.items():
        assert growth[name] <= limit, report.table()
    assert report.problems() == []
