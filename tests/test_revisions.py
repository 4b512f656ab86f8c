"""Slow-changing facts are read again only when OVH shows the VPS changed, or when they are old."""

import datetime as dt
from collections import Counter
from dataclasses import replace

from exporter import details
from exporter.facts import Fact, FactStore, kept
from exporter.jobs import ROUTE_RESTORE_POINTS, ROUTE_SERVICE_INFOS, ROUTE_TASKS, ROUTE_VPS_LIST
from exporter.revisions import DETAILS, Revisions, task_mark
from exporter.simulator import SimulatorConfig, sim_task
from exporter.simulator.faults import Fault
from tests.faultrig import INTERVAL, STALE_AFTER, FaultRig, fault_rig, vps_series
from tests.fleets import ALPHA, BRAVO, CHARLIE, DELTA, details_fleet

EVERY_JOB = ("vps", "tasks", "backups", "billing", "details", "disks")
HOUR = 3600.0
# The fleet's VPS with an automated backup enabled.
BACKED_UP = (ALPHA, DELTA)


def test_the_first_mark_of_a_source_raises_nothing_and_a_different_one_does() -> None:
    revisions = Revisions(max_age=HOUR)
    revisions.observe("a", "vps", ("running",))
    assert revisions.current("a") == 0
    revisions.observe("a", "vps", ("running",))
    assert revisions.current("a") == 0
    revisions.observe("a", "vps", ("stopped",))
    revisions.observe("a", "tasks", frozenset({(1, "doing")}))
    revisions.observe("a", "tasks", frozenset({(1, "done")}))
    assert revisions.current("a") == 2
    assert revisions.current("b") == 0


def test_a_group_is_due_until_read_then_on_a_new_revision_or_age() -> None:
    revisions = Revisions(max_age=HOUR)
    assert revisions.due(DETAILS, "a", 0.0)
    revisions.read(DETAILS, "a", revisions.current("a"), 0.0)
    assert not revisions.due(DETAILS, "a", HOUR - 1)
    assert revisions.due(DETAILS, "a", HOUR)
    # A change seen while the group was being read leaves it due.
    revisions.observe("a", "vps", 1)
    revisions.observe("a", "vps", 2)
    assert revisions.due(DETAILS, "a", 10.0)
    revisions.read(DETAILS, "a", revisions.current("a"), 10.0)
    assert not revisions.due(DETAILS, "a", 20.0)


def test_unknown_signals_make_every_group_due() -> None:
    revisions = Revisions(max_age=HOUR)
    revisions.read(DETAILS, "a", 0, 0.0)
    revisions.read(DETAILS, "b", 0, 0.0)
    revisions.unsure = {"a"}
    assert [revisions.due(DETAILS, name, 1.0) for name in "ab"] == [True, False]
    revisions.blind = True
    assert [revisions.due(DETAILS, name, 1.0) for name in "ab"] == [True, True]


def test_a_max_age_of_zero_reads_every_run() -> None:
    revisions = Revisions(max_age=0)
    revisions.read(DETAILS, "a", 0, 0.0)
    assert revisions.due(DETAILS, "a", 0.0)


def test_every_change_of_mark_raises_the_revision_none_included() -> None:
    revisions = Revisions(max_age=HOUR)
    for mark in ("x", None, "y", "y", None):
        revisions.observe("a", "vps", mark)
    # x -> None, None -> y and y -> None are changes; the first mark and y -> y are not.
    assert revisions.current("a") == 3


def test_forget_drops_departed_vps() -> None:
    revisions = Revisions(max_age=HOUR)
    for name in "ab":
        revisions.observe(name, "vps", 1)
        revisions.observe(name, "vps", 2)
        revisions.read(DETAILS, name, 1, 0.0)
    revisions.unsure = {"a", "b"}
    revisions.forget(["b"])
    assert revisions.revision == {"b": 1}
    assert revisions.unsure == {"b"}
    # A VPS that comes back starts afresh: due, and its first mark raises nothing.
    assert revisions.due(DETAILS, "a", 1.0)
    revisions.observe("a", "vps", 3)
    assert revisions.current("a") == 0


def test_the_task_mark_holds_every_task_done_ones_included() -> None:
    items = [
        {"id": 1, "state": "doing", "type": "rebootVm"},
        {"id": 2, "state": "done", "type": "upgradeVm"},
        {"state": "todo"},
    ]
    mark = task_mark(items, ROUTE_TASKS)
    assert mark == hash(frozenset({(1, "doing"), (2, "done"), (None, "todo")}))
    # The order of the list does not matter; a task's new state or a new task does.
    assert task_mark(list(reversed(items)), ROUTE_TASKS) == mark
    assert task_mark([*items[:1], {**items[1], "state": "error"}, items[2]], ROUTE_TASKS) != mark
    assert task_mark([*items, {"id": 3, "state": "done"}], ROUTE_TASKS) != mark
    assert task_mark([], ROUTE_TASKS) == hash(frozenset())


async def run_round(rig: FaultRig, *jobs: str) -> Counter[str]:
    """Run the jobs in turn and count the requests each route received meanwhile."""
    before = len(rig.log())
    await rig.run(*(jobs or EVERY_JOB))
    # The clock's offset is read once, whatever the round.
    return Counter(request.route for request in rig.log()[before:] if request.route != "/auth/time")


def paths(rig: FaultRig, since: int) -> list[str]:
    """The paths requested since the `since`-th request."""
    return [request.path for request in rig.log()[since:]]


async def test_an_unchanged_fleet_costs_only_what_changes_by_itself() -> None:
    async with fault_rig(details_fleet(), reread_after=6 * HOUR) as rig:
        first = await run_round(rig)
        before = vps_series(await rig.scrape())
        rig.wall.advance(60.0)
        second = await run_round(rig)
        after = vps_series(await rig.scrape())

    disks_in_use = first[details.ROUTE_DISK_USE]
    assert disks_in_use == 7
    assert second == {
        ROUTE_VPS_LIST: 1,
        ROUTE_TASKS: 5,
        "/services": 1,
        # Used space changes by itself; the list of disks does not.
        details.ROUTE_DISK_USE: disks_in_use,
        # The newest restore points are older than a day: a new one may be there.
        ROUTE_RESTORE_POINTS: len(BACKED_UP),
        # DELTA's Veeam backup is on: its restore points come every day.
        details.ROUTE_VEEAM: 1,
        details.ROUTE_VEEAM_POINTS: 1,
        # DELTA's and ECHO's FTP backup spaces: their usage changes.
        details.ROUTE_BACKUP_FTP: 2,
    }
    assert sum(first.values()) >= 3 * sum(second.values())
    # Every value is still exported, the same.
    assert after == before
    assert rig.job_ok("details")
    assert rig.job_ok("backups")
    assert rig.job_ok("billing")


async def test_a_restore_point_younger_than_a_day_is_not_looked_for_again() -> None:
    fleet = details_fleet()
    async with fault_rig(fleet, reread_after=6 * HOUR) as rig:
        newest = dt.datetime.fromtimestamp(rig.wall() - 2 * HOUR, dt.UTC).isoformat()
        fleet.vps[ALPHA].restore_points["available"].append(newest)
        await run_round(rig)
        rig.wall.advance(HOUR)
        second = await run_round(rig, "backups")

    # DELTA's newest point is a month old; ALPHA's is two hours old.
    assert second[ROUTE_RESTORE_POINTS] == 1


async def test_a_new_task_reads_that_vps_again_and_no_other() -> None:
    fleet = details_fleet()
    async with fault_rig(fleet, reread_after=6 * HOUR) as rig:
        first = await run_round(rig)
        fleet.vps[DELTA].tasks.append(sim_task(501, "reinstallVm", "todo"))
        rig.wall.advance(60.0)
        since = len(rig.log())
        second = await run_round(rig, "tasks", "details")
        read = paths(rig, since)

    detail_routes = {
        details.ROUTE_DATACENTER,
        details.ROUTE_DISTRIBUTION,
        details.ROUTE_IPS,
        details.ROUTE_OPTIONS,
        details.ROUTE_MIGRATION_2020,
        details.ROUTE_MIGRATION_2018,
        details.ROUTE_SECONDARY_DNS,
    }
    assert {route for route in second if route != ROUTE_TASKS} == detail_routes
    details_read = [path for path in read if "/tasks" not in path]
    assert details_read
    assert all(f"/vps/{DELTA}/" in path for path in details_read)
    assert len(details_read) < sum(first[route] for route in detail_routes)


async def test_a_changed_listing_or_subscription_reads_the_service_infos_again() -> None:
    fleet = details_fleet()
    async with fault_rig(fleet, reread_after=6 * HOUR) as rig:
        await run_round(rig)
        fleet.vps[CHARLIE].vps["displayName"] = "renamed"
        fleet.vps[BRAVO].billing["engagementStrategy"] = "CANCEL_SERVICE"
        rig.wall.advance(60.0)
        since = len(rig.log())
        second = await run_round(rig, "vps", "billing")
        read = paths(rig, since)

    assert second[ROUTE_SERVICE_INFOS] == 2
    infos = sorted(path for path in read if path.endswith("/serviceInfos"))
    assert infos == [f"/1.0/vps/{BRAVO}/serviceInfos", f"/1.0/vps/{CHARLIE}/serviceInfos"]


async def test_old_facts_are_read_again_after_reread_after() -> None:
    async with fault_rig(details_fleet(), reread_after=HOUR) as rig:
        first = await run_round(rig, "vps", "tasks", "details")
        rig.wall.advance(HOUR)
        second = await run_round(rig, "vps", "tasks", "details")
    assert second == first


async def test_a_failed_listing_leaves_nothing_trusted() -> None:
    async with fault_rig(details_fleet(), reread_after=6 * HOUR) as rig:
        first = await run_round(rig, "vps", "tasks", "details")
        rig.faults.add(Fault("status", route="/vps", status=500))
        rig.wall.advance(60.0)
        second = await run_round(rig, "vps", "tasks", "details")
    assert not rig.job_ok("vps")
    # Every detail is read again: the failed listing could have hidden a change.
    assert {route: count for route, count in second.items() if route != ROUTE_VPS_LIST} == {
        route: count for route, count in first.items() if route != ROUTE_VPS_LIST
    }


async def test_an_expiration_passed_since_the_last_read_reads_the_service_infos_again() -> None:
    fleet = details_fleet()
    async with fault_rig(fleet, reread_after=30 * 24 * HOUR) as rig:
        # BRAVO expires on 2026-12-20: read it the day before, then the day after.
        rig.wall.now = dt.datetime(2026, 12, 19, 12, tzinfo=dt.UTC).timestamp()
        await run_round(rig, "vps", "tasks", "billing")
        rig.wall.now = dt.datetime(2026, 12, 21, 12, tzinfo=dt.UTC).timestamp()
        since = len(rig.log())
        await run_round(rig, "vps", "tasks", "billing")
        read = paths(rig, since)
    assert [path for path in read if path.endswith("/serviceInfos")] == [
        f"/1.0/vps/{BRAVO}/serviceInfos"
    ]


async def test_an_expired_vps_in_an_id_listing_leaves_the_others_trusted() -> None:
    config = SimulatorConfig(expand_lists=False)
    config.faults.add(Fault("status", route="/vps/{serviceName}", vps=CHARLIE, status=460))
    async with fault_rig(details_fleet(), config, reread_after=6 * HOUR) as rig:
        await run_round(rig, "vps", "tasks", "details")
        rig.wall.advance(60.0)
        second = await run_round(rig, "vps", "tasks", "details")
    # The listing's one failure is CHARLIE's expiry, a state: nothing else is read again.
    assert not rig.state.revisions.blind
    assert details.ROUTE_DATACENTER not in second
    assert second[ROUTE_TASKS] == 4


async def test_the_budget_slowing_a_job_down_does_not_make_its_values_stale() -> None:
    async with fault_rig(details_fleet()) as rig:
        await rig.run("vps", "tasks")
        rig.wall.advance(STALE_AFTER * INTERVAL + 1)
        rig.store.publish()
        stale = await rig.scrape()
        # The same age, but the tasks job's last cycle took longer than that.
        previous = rig.state.jobs["tasks"]
        rig.state.jobs["tasks"] = replace(previous, cycle=2 * STALE_AFTER * INTERVAL)
        rig.store.publish()
        kept = await rig.scrape()
    assert not any(name == "ovh_vps_tasks" for name, _ in stale)
    assert any(name == "ovh_vps_tasks" for name, _ in kept)


def test_a_value_read_again_equal_to_the_last_keeps_the_last_object() -> None:
    store = FactStore()
    fact: Fact[list[str]] = Fact("example", "details")
    # Equal lists, distinct objects.
    first, again, changed = ["a", "b"], ["a", "b"], ["a", "c"]
    store.put(fact, "vps-1", first, 1.0)
    store.put(fact, "vps-1", again, 2.0)
    kept_value = store.last(fact, "vps-1")
    assert kept_value is not None
    assert kept_value[0] is first
    assert kept_value[1] == 2.0
    store.put(fact, "vps-1", changed, 3.0)
    assert store.last(fact, "vps-1") == (changed, 3.0)
    assert kept(None, changed) is changed
