"""The metric families of the manager's 2API, and the health of the manager session.

Families of facts only the 2API gives have plain names (`ovh_vps_traffic_used_bytes`,
`ovh_vps_option_available`); families of facts an API v1 family also describes
carry `manager_` (`ovh_vps_manager_disk_used_bytes` beside `ovh_vps_disks_used_bytes`,
`ovh_vps_manager_ips` beside `ovh_vps_ips`), so that the two never collide. For a
VPS with two IPv4 and the veeam option available, among others::

    # HELP ovh_vps_manager_ips IPs of the VPS by version, as the manager counts them ...
    # TYPE ovh_vps_manager_ips gauge
    ovh_vps_manager_ips{account="default",version="v4",vps="vps-1a2b3c4d.vps.ovh.net"} 2.0
    # HELP ovh_vps_option_available 1 when the manager offers the option for the VPS ...
    # TYPE ovh_vps_option_available gauge
    ovh_vps_option_available{account="default",option="veeam",vps="vps-1a2b3c4d.vps.ovh.net"} 1.0
"""

from collections.abc import Iterator

from prometheus_client.core import Metric

from exporter.manager import (
    CAPABILITIES,
    ROUTE_CAPABILITIES,
    ROUTE_INFO,
    ROUTE_TABSUMMARY,
    ROUTE_TASKS_ERROR,
    ROUTE_TASKS_UNCOMPLETED,
    normalise,
)
from exporter.metrics import ACCOUNT_LABELS, VPS_LABELS, define
from exporter.store import AccountSnapshot

JOB = "manager"

MANAGER_INFO = define(
    "ovh_vps_manager_info",
    "gauge",
    "The VPS as the manager's 2API describes it, value 1; enum values are spelled as the 2API "
    "sends them.",
    (
        *VPS_LABELS,
        "model",
        "version",
        "offer_type",
        "zone_type",
        "distribution",
        "datacentre",
        "country",
    ),
    unit="1",
    route=ROUTE_INFO,
    job=JOB,
)
DISK_USED = define(
    "ovh_vps_manager_disk_used_bytes",
    "gauge",
    "Disk space used on the VPS as the manager shows it (info.diskUsed), in bytes.",
    VPS_LABELS,
    unit="bytes",
    route=ROUTE_INFO,
    job=JOB,
)
DISK_SIZE = define(
    "ovh_vps_manager_disk_size_bytes",
    "gauge",
    "Disk size of the VPS as the manager shows it (info.diskTotal), in bytes.",
    VPS_LABELS,
    unit="bytes",
    route=ROUTE_INFO,
    job=JOB,
)
TRAFFIC_USED = define(
    "ovh_vps_traffic_used_bytes",
    "gauge",
    "Network traffic of the VPS counted against its quota (info.traficUsed), in bytes.",
    VPS_LABELS,
    unit="bytes",
    route=ROUTE_INFO,
    job=JOB,
)
TRAFFIC_QUOTA = define(
    "ovh_vps_traffic_quota_bytes",
    "gauge",
    "Network traffic quota of the VPS (info.traficTotal), in bytes; absent when unlimited.",
    VPS_LABELS,
    unit="bytes",
    route=ROUTE_INFO,
    job=JOB,
)
SHOULD_REENGAGE = define(
    "ovh_vps_should_reengage",
    "gauge",
    "1 when the manager invites the customer to renew the commitment (info.shouldReengage).",
    VPS_LABELS,
    unit="0/1",
    route=ROUTE_INFO,
    job=JOB,
)
OPTION_AVAILABLE = define(
    "ovh_vps_option_available",
    "gauge",
    "1 when the manager offers the option for the VPS (tabsummary optionAvailable).",
    (*VPS_LABELS, "option"),
    unit="0/1",
    route=ROUTE_TABSUMMARY,
    job=JOB,
)
OPTION_ACTIVATED = define(
    "ovh_vps_option_activated",
    "gauge",
    "1 when the option is active on the VPS according to the manager (tabsummary optionActivated).",
    (*VPS_LABELS, "option"),
    unit="0/1",
    route=ROUTE_TABSUMMARY,
    job=JOB,
)
IPS = define(
    "ovh_vps_manager_ips",
    "gauge",
    "IPs of the VPS by version, as the manager counts them (tabsummary ipsv4Count, ipsv6Count).",
    (*VPS_LABELS, "version"),
    unit="IPs",
    route=ROUTE_TABSUMMARY,
    job=JOB,
)
IPS_MAX = define(
    "ovh_vps_manager_ips_max",
    "gauge",
    "Most IPs of each version the VPS can have (tabsummary ipsv4Max, ipsv6Max).",
    (*VPS_LABELS, "version"),
    unit="IPs",
    route=ROUTE_TABSUMMARY,
    job=JOB,
)
MORE_IPV4 = define(
    "ovh_vps_can_get_more_ipv4",
    "gauge",
    "1 when another IPv4 can be ordered for the VPS (tabsummary canGetMoreIpv4).",
    VPS_LABELS,
    unit="0/1",
    route=ROUTE_TABSUMMARY,
    job=JOB,
)
TASKS = define(
    "ovh_vps_manager_tasks",
    "gauge",
    "Tasks in the manager's lists of the VPS (list uncompleted or error), by type.",
    (*VPS_LABELS, "list", "type"),
    unit="tasks",
    route=f"{ROUTE_TASKS_UNCOMPLETED}, {ROUTE_TASKS_ERROR}",
    job=JOB,
)
UPGRADE = define(
    "ovh_vps_upgrade_in_progress",
    "gauge",
    "1 when an upgradeVm task of the VPS is uncompleted (tasks/uncompleted?type=upgradeVm).",
    VPS_LABELS,
    unit="0/1",
    route=ROUTE_TASKS_UNCOMPLETED,
    job=JOB,
)
MIGRATION = define(
    "ovh_vps_migration_in_progress",
    "gauge",
    "1 when a migrate task of the VPS is uncompleted (tasks/uncompleted?type=migrate).",
    VPS_LABELS,
    unit="0/1",
    route=ROUTE_TASKS_UNCOMPLETED,
    job=JOB,
)
CAPABILITY = define(
    "ovh_vps_capability",
    "gauge",
    "1 when the VPS's model has the capability, 0 for the known ones it lacks "
    "(/vps/capabilities/{serviceName}).",
    (*VPS_LABELS, "capability"),
    unit="0/1",
    route=ROUTE_CAPABILITIES,
    job=JOB,
)
SESSION_VALID = define(
    "ovh_exporter_manager_session_valid",
    "gauge",
    "1 while the OVHcloud manager accepts the account's session cookies, 0 once it refuses them.",
    ACCOUNT_LABELS,
    unit="0/1",
)


def _flag(value: bool) -> float:
    """A boolean as a sample value."""
    return 1.0 if value else 0.0


def manager_families(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """Every 2API family and the session's health, for every account."""
    yield from _info(accounts)
    yield from _summary(accounts)
    yield from _tasks(accounts)
    yield from _capabilities(accounts)

    valid = SESSION_VALID.family()
    for account in accounts:
        if account.manager.session_valid is not None:
            valid.add_metric([account.name], _flag(account.manager.session_valid))
    yield valid


def _info(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The families of `/sws/vps/{serviceName}/info`."""
    info = MANAGER_INFO.family()
    disk_used, disk_size = DISK_USED.family(), DISK_SIZE.family()
    traffic_used, traffic_quota = TRAFFIC_USED.family(), TRAFFIC_QUOTA.family()
    reengage = SHOULD_REENGAGE.family()

    for account in accounts:
        for name, vps in account.manager.info.items():
            key = [account.name, name]
            descriptors = [vps.model, vps.version, vps.offer_type, vps.zone_type]
            info.add_metric([*key, *descriptors, vps.distribution, vps.datacentre, vps.country], 1)
            for family, value in (
                (disk_used, vps.disk_used_bytes),
                (disk_size, vps.disk_total_bytes),
                (traffic_used, vps.traffic_used_bytes),
                (traffic_quota, vps.traffic_total_bytes),
            ):
                if value is not None:
                    family.add_metric(key, value)
            if vps.should_reengage is not None:
                reengage.add_metric(key, _flag(vps.should_reengage))

    yield from (info, disk_used, disk_size, traffic_used, traffic_quota, reengage)


def _summary(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The families of `/sws/vps/{serviceName}/tabsummary`."""
    available, activated = OPTION_AVAILABLE.family(), OPTION_ACTIVATED.family()
    ips, ips_max, more_ipv4 = IPS.family(), IPS_MAX.family(), MORE_IPV4.family()

    for account in accounts:
        for name, summary in account.manager.summary.items():
            key = [account.name, name]
            for option, status in sorted(summary.options.items()):
                if status.available is not None:
                    available.add_metric([*key, option], _flag(status.available))
                if status.activated is not None:
                    activated.add_metric([*key, option], _flag(status.activated))
            for version, count in sorted(summary.ips.items()):
                ips.add_metric([*key, version], count)
            for version, count in sorted(summary.ips_max.items()):
                ips_max.add_metric([*key, version], count)
            if summary.can_get_more_ipv4 is not None:
                more_ipv4.add_metric(key, _flag(summary.can_get_more_ipv4))

    yield from (available, activated, ips, ips_max, more_ipv4)


def _tasks(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """The families of the manager's task lists."""
    tasks, upgrade, migration = TASKS.family(), UPGRADE.family(), MIGRATION.family()

    for account in accounts:
        for name, lists in account.manager.tasks.items():
            key = [account.name, name]
            for (list_name, task_type), count in sorted(lists.counts.items()):
                tasks.add_metric([*key, list_name, task_type], count)
            upgrade.add_metric(key, _flag(lists.upgrade_in_progress))
            migration.add_metric(key, _flag(lists.migration_in_progress))

    yield from (tasks, upgrade, migration)


def _capabilities(accounts: tuple[AccountSnapshot, ...]) -> Iterator[Metric]:
    """One series per known capability and per other one the model has."""
    family = CAPABILITY.family()

    for account in accounts:
        for name, present in account.manager.capabilities.items():
            key = [account.name, name]
            sent = {normalise(capability): capability for capability in present}
            for capability in CAPABILITIES:
                if normalise(capability) not in sent:
                    family.add_metric([*key, capability], 0)
            for capability in sorted(present):
                family.add_metric([*key, capability], 1)

    yield family
