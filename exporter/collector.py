"""Turns a snapshot into Prometheus metric families.

For one running VPS the collector emits, among others::

    # HELP ovh_vps_state VPS state (1 for the current one) from /vps/{serviceName}. Refreshed ...
    # TYPE ovh_vps_state gauge
    ovh_vps_state{account="default",state="running",vps="vps-1a2b3c4d.vps.ovh.net"} 1.0
    ovh_vps_state{account="default",state="stopped",vps="vps-1a2b3c4d.vps.ovh.net"} 0.0
"""

import platform
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import __version__
from exporter.model import RESTORE_POINT_STATES, SERVICE_STATUSES, VPS_STATES
from exporter.store import AccountSnapshot, Snapshot

VPS_LABELS = ["account", "vps"]

# Every VPS metric's HELP ends with this, so nobody mistakes a value for a live reading.
SCHEDULED = "Refreshed on a schedule, not at scrape time."


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        name, f"{documentation} {SCHEDULED}", labels=VPS_LABELS + (labels or [])
    )


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
        yield from _exporter(accounts)


def _vps_details(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    info = _gauge(
        "ovh_vps_info",
        "VPS details from /vps/{serviceName}, value 1.",
        ["display_name", "model", "offer", "version", "zone", "zone_type", "offer_type", "cluster"],
    )
    state = _gauge(
        "ovh_vps_state",
        "VPS state from /vps/{serviceName}: 1 for the current state, 0 for the others.",
        ["state"],
    )
    vcores = _gauge("ovh_vps_vcores", "Virtual cores of the VPS.")
    memory = _gauge("ovh_vps_memory_bytes", "Memory of the VPS in bytes (memoryLimit).")
    rescue = _gauge("ovh_vps_rescue_mode", "1 when the VPS boots in rescue mode (netbootMode).")
    locked = _gauge("ovh_vps_locked", "1 when OVH has locked the VPS (lockStatus.locked).")

    for account in accounts:
        for name, vps in account.vps.items():
            key = [account.name, name]
            info.add_metric(
                [
                    *key,
                    vps.display_name,
                    vps.model,
                    vps.offer,
                    vps.version,
                    vps.zone,
                    vps.zone_type,
                    vps.offer_type,
                    vps.cluster,
                ],
                1.0,
            )
            known = (
                VPS_STATES
                if vps.state in VPS_STATES or vps.state is None
                else (
                    *VPS_STATES,
                    vps.state,
                )
            )
            for value in known:
                state.add_metric([*key, value], _flag(value == vps.state))
            if vps.vcores is not None:
                vcores.add_metric(key, vps.vcores)
            if vps.memory_bytes is not None:
                memory.add_metric(key, vps.memory_bytes)
            if vps.netboot_mode is not None:
                rescue.add_metric(key, _flag(vps.netboot_mode.lower() == "rescue"))
            if vps.locked is not None:
                locked.add_metric(key, _flag(vps.locked))

    yield from (info, state, vcores, memory, rescue, locked)


def _tasks(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    tasks = _gauge(
        "ovh_vps_tasks",
        "Tasks of the VPS that are neither done nor cancelled, by state and type.",
        ["state", "type"],
    )
    oldest = _gauge(
        "ovh_vps_task_oldest_timestamp_seconds",
        "Start date of the oldest open task of that state and type.",
        ["state", "type"],
    )
    errors = CounterMetricFamily(
        "ovh_vps_task_errors",
        f"Tasks of the VPS seen in state error for the first time, by type. {SCHEDULED}",
        labels=[*VPS_LABELS, "type"],
    )

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
    enabled = _gauge(
        "ovh_vps_automated_backup_enabled",
        "1 when automated backup is enabled (automatedBackup.state).",
    )
    points = _gauge(
        "ovh_vps_automated_backup_restore_points",
        "Automated backup restore points of the VPS, by state.",
        ["state"],
    )
    newest = _gauge(
        "ovh_vps_automated_backup_last_restore_point_timestamp_seconds",
        "Date of the newest available automated backup restore point.",
    )

    for account in accounts:
        for name, backup in account.backups.items():
            key = [account.name, name]
            enabled.add_metric(key, _flag(backup.enabled))
            if backup.restore_points is not None:
                points.add_metric([*key, RESTORE_POINT_STATES[0]], backup.restore_points)
            if backup.last_restore_point is not None:
                newest.add_metric(key, backup.last_restore_point)

    yield from (enabled, points, newest)


def _billing(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    expiration = _gauge(
        "ovh_vps_expiration_timestamp_seconds",
        "Expiration date of the VPS service (serviceInfos.expiration, midnight UTC).",
    )
    engaged = _gauge(
        "ovh_vps_engaged_up_to_timestamp_seconds",
        "End of the VPS's commitment (serviceInfos.engagedUpTo), when it has one.",
    )
    renew = _gauge(
        "ovh_vps_renew_automatic",
        "1 when the service renews automatically (serviceInfos.renew.automatic).",
    )
    delete = _gauge(
        "ovh_vps_delete_at_expiration",
        "1 when the service will be deleted at expiration (serviceInfos.renew.deleteAtExpiration).",
    )
    status = _gauge(
        "ovh_vps_service_status",
        "Service status from serviceInfos: 1 for the current status, 0 for the others.",
        ["status"],
    )

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
                for value in known:
                    status.add_metric([*key, value], _flag(value == service.status))

    yield from (expiration, engaged, renew, delete, status)


def _exporter(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    job_labels = ["account", "refresh_job"]
    success = GaugeMetricFamily(
        "ovh_exporter_refresh_success",
        "1 when the last run of the refresh job succeeded for every VPS.",
        labels=job_labels,
    )
    last_success = GaugeMetricFamily(
        "ovh_exporter_refresh_last_success_timestamp_seconds",
        "When the refresh job last succeeded.",
        labels=job_labels,
    )
    duration = GaugeMetricFamily(
        "ovh_exporter_refresh_duration_seconds",
        "How long the last run of the refresh job took.",
        labels=job_labels,
    )
    failures = CounterMetricFamily(
        "ovh_exporter_refresh_failures",
        "Runs of the refresh job that failed for at least one VPS.",
        labels=job_labels,
    )
    requests = CounterMetricFamily(
        "ovh_exporter_api_requests",
        "Requests sent to the OVH API, by templated route and HTTP status (or transport error).",
        labels=["account", "route", "code"],
    )
    parse_errors = CounterMetricFamily(
        "ovh_exporter_parse_errors",
        "Fields of OVH answers that had an unexpected type or value, by route.",
        labels=["account", "route"],
    )
    build = GaugeMetricFamily(
        "ovh_exporter_build_info",
        "Version of the exporter and of Python, value 1.",
        labels=["version", "python_version"],
    )
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
