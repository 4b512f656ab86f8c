"""Turns a snapshot into Prometheus metric families.

For one running VPS the collector emits, among others::

    # HELP ovh_vps_state VPS state (1 for the current one) from /vps/{serviceName}. Refreshed ...
    # TYPE ovh_vps_state gauge
    ovh_vps_state{account="default",state="running",vps="vps-1a2b3c4d.vps.ovh.net"} 1.0
    ovh_vps_state{account="default",state="stopped",vps="vps-1a2b3c4d.vps.ovh.net"} 0.0
"""

import platform
from collections.abc import Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter import __version__, metrics
from exporter.billing_metrics import account_families, service_families
from exporter.collector_details import details_families
from exporter.collector_manager import manager_families
from exporter.cycles import cycle_families
from exporter.health import health_families
from exporter.metrics import SCHEDULED
from exporter.model import RESTORE_POINT_STATES, SERVICE_STATUSES, VPS_STATES
from exporter.rotation import reload_families
from exporter.store import AccountSnapshot, Snapshot

# SCHEDULED stays importable from here: the HELP rule names it collector.SCHEDULED.
__all__ = ["SCHEDULED", "SnapshotCollector"]


def _flag(value: bool) -> float:
    return 1.0 if value else 0.0


def _with_unknown(known: tuple[str, ...], current: str | None) -> tuple[str, ...]:
    """The known enum values, plus the current one when OVH sent a value this version lacks."""
    if current is None or current in known:
        return known
    return (*known, current)


class SnapshotCollector(Collector):
    """Yields every metric of one snapshot; the snapshot is swapped, never mutated."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        """Every family, VPS metrics first, then the exporter's own."""
        accounts = self.snapshot.accounts
        yield from _vps_details(accounts)
        yield from _tasks(accounts)
        yield from _backups(accounts)
        yield from _billing(accounts)
        yield from service_families(accounts)
        yield from account_families(accounts)
        yield from details_families(accounts)
        yield from manager_families(accounts)
        yield from _exporter(accounts)
        yield from cycle_families(accounts)
        yield from health_families(accounts)
        yield from reload_families(accounts)


def _vps_details(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    # One family built at a time, each just before it is rendered: at 10,000 VPS a
    # family is tens of thousands of samples, and the renderer drops each once written.
    fleet = [
        ([account.name, name], vps) for account in accounts for name, vps in account.vps.items()
    ]

    info = metrics.VPS_INFO.family()
    for key, vps in fleet:
        labels = [vps.display_name, vps.model, vps.offer, vps.version, vps.zone]
        info.add_metric([*key, *labels, vps.zone_type, vps.offer_type, vps.cluster], 1.0)
    yield info

    state = metrics.VPS_STATE.family()
    for key, vps in fleet:
        current = () if vps.state is None else (vps.state,)
        state.add_flags(key, _with_unknown(VPS_STATES, vps.state), current)
    yield state

    vcores = metrics.VPS_VCORES.family()
    memory = metrics.VPS_MEMORY.family()
    rescue = metrics.VPS_RESCUE.family()
    locked = metrics.VPS_LOCKED.family()
    for key, vps in fleet:
        if vps.vcores is not None:
            vcores.add_metric(key, vps.vcores)
        if vps.memory_bytes is not None:
            memory.add_metric(key, vps.memory_bytes)
        if vps.netboot_mode is not None:
            rescue.add_metric(key, _flag(vps.netboot_mode.lower() == "rescue"))
        if vps.locked is not None:
            locked.add_metric(key, _flag(vps.locked))
    yield from (vcores, memory, rescue, locked)


def _tasks(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    tasks = metrics.TASKS.family()
    oldest = metrics.TASK_OLDEST.family()
    errors = metrics.TASK_ERRORS.family()

    for account in accounts:
        for name, summary in account.tasks.items():
            for (state, task_type), count in sorted(summary.counts.items()):
                tasks.add_metric([account.name, name, state, task_type], count)
            for (state, task_type), started in sorted(summary.oldest.items()):
                oldest.add_metric([account.name, name, state, task_type], started)
        for name, counts in account.task_errors.items():
            if name in account.vps:
                for task_type, count in sorted(counts.items()):
                    errors.add_metric([account.name, name, task_type], count)

    yield from (tasks, oldest, errors)


def _backups(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    enabled = metrics.BACKUP_ENABLED.family()
    points = metrics.BACKUP_RESTORE_POINTS.family()
    newest = metrics.BACKUP_LAST_RESTORE_POINT.family()

    for account in accounts:
        for name, backup in account.backups.items():
            key = [account.name, name]
            enabled.add_metric(key, _flag(backup.enabled))
            if backup.restore_points is not None:
                points.add_metric([*key, RESTORE_POINT_STATES[0]], backup.restore_points)
            for state, count in sorted(backup.other_restore_points.items()):
                points.add_metric([*key, state], count)
            if backup.last_restore_point is not None:
                newest.add_metric(key, backup.last_restore_point)

    yield from (enabled, points, newest)


def _billing(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    expiration = metrics.EXPIRATION.family()
    engaged = metrics.ENGAGED_UP_TO.family()
    renew = metrics.RENEW_AUTOMATIC.family()
    delete = metrics.DELETE_AT_EXPIRATION.family()
    status = metrics.SERVICE_STATUS.family()

    for account in accounts:
        for name, service in account.billing.items():
            key = [account.name, name]
            if service.expiration is not None:
                expiration.add_metric(key, service.expiration)
            if service.engaged_up_to is not None:
                engaged.add_metric(key, service.engaged_up_to)
            if service.renew_automatic is not None:
                renew.add_metric(key, _flag(service.renew_automatic))
            if service.delete_at_expiration is not None:
                delete.add_metric(key, _flag(service.delete_at_expiration))
            if service.status is not None:
                known = _with_unknown(SERVICE_STATUSES, service.status)
                status.add_flags(key, known, (service.status,))

    yield from (expiration, engaged, renew, delete, status)


def _exporter(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    success = metrics.REFRESH_SUCCESS.family()
    last_success = metrics.REFRESH_LAST_SUCCESS.family()
    duration = metrics.REFRESH_DURATION.family()
    failures = metrics.REFRESH_FAILURES.family()
    requests = metrics.API_REQUESTS.family()
    parse_errors = metrics.PARSE_ERRORS.family()
    build = metrics.BUILD_INFO.family()
    build.add_metric([__version__, platform.python_version()], 1.0)

    for account in accounts:
        for job, status in sorted(account.jobs.items()):
            key = [account.name, job]
            success.add_metric(key, _flag(status.success))
            duration.add_metric(key, status.duration)
            failures.add_metric(key, status.failures)
            if status.last_success is not None:
                last_success.add_metric(key, status.last_success)
        for (route, code), count in sorted(account.api_requests.items()):
            requests.add_metric([account.name, route, code], count)
        for route, count in sorted(account.parse_errors.items()):
            parse_errors.add_metric([account.name, route], count)

    yield from (success, last_success, duration, failures, requests, parse_errors, build)
