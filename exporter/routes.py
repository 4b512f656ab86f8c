"""The OVH API v1 routes the exporter reads, and the access rules a consumer key needs for them.

`ovh-vps-exporter check` calls each route on one VPS of each account, and
`ovh-vps-exporter credentials` asks for exactly the rules these routes need. A
job that starts reading a new route adds one line to `NEEDED_ROUTES`.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# A path placeholder such as {serviceName}, its name in group 1.
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class NeededRoute:
    """One route a refresh job GETs; `optional` when a 404 means the VPS simply lacks it."""

    route: str
    job: str
    params: Mapping[str, str] = field(default_factory=dict)
    optional: bool = False


NEEDED_ROUTES: tuple[NeededRoute, ...] = (
    NeededRoute("/vps", "vps"),
    NeededRoute("/vps/{serviceName}", "vps"),
    NeededRoute("/vps/{serviceName}/tasks", "tasks"),
    NeededRoute("/vps/{serviceName}/tasks/{id}", "tasks"),
    NeededRoute("/vps/{serviceName}/automatedBackup", "backups", optional=True),
    NeededRoute(
        "/vps/{serviceName}/automatedBackup/restorePoints",
        "backups",
        params={"state": "available"},
        optional=True,
    ),
    NeededRoute("/vps/{serviceName}/automatedBackup/attachedBackup", "backups", optional=True),
    NeededRoute("/vps/{serviceName}/veeam", "backups", optional=True),
    NeededRoute("/vps/{serviceName}/veeam/restorePoints", "backups", optional=True),
    NeededRoute("/vps/{serviceName}/backupftp", "backups", optional=True),
    NeededRoute("/vps/{serviceName}/serviceInfos", "billing"),
    NeededRoute("/services", "billing"),
    NeededRoute("/services/{serviceId}", "billing"),
    NeededRoute("/me", "account"),
    NeededRoute("/me/payment/method", "account"),
    NeededRoute("/me/payment/method/{paymentMethodId}", "account"),
    NeededRoute("/vps/{serviceName}/datacenter", "details", optional=True),
    NeededRoute("/vps/{serviceName}/distribution", "details", optional=True),
    NeededRoute("/vps/{serviceName}/ips", "details"),
    NeededRoute("/vps/{serviceName}/ips/{ipAddress}", "details"),
    NeededRoute("/vps/{serviceName}/option", "details"),
    NeededRoute("/vps/{serviceName}/option/{option}", "details"),
    NeededRoute("/vps/{serviceName}/migration2020", "details", optional=True),
    NeededRoute("/vps/{serviceName}/secondaryDnsDomains", "details"),
    NeededRoute("/vps/{serviceName}/snapshot", "details", optional=True),
    NeededRoute("/vps/{serviceName}/disks", "disks"),
    NeededRoute("/vps/{serviceName}/disks/{id}", "disks"),
    NeededRoute("/vps/{serviceName}/disks/{id}/use", "disks", params={"type": "used"}),
)


def rule_path(route: str) -> str:
    """The access-rule path that grants GET on `route`: `/vps/{serviceName}/tasks` -> `/vps/*`.

    A rule ending in `/*` grants everything below it, as OVHcloud's own
    libraries ask for a subtree; a route without placeholders is granted as is.
    """
    match = PLACEHOLDER.search(route)
    if match is None:
        return route
    return route[: match.start()] + "*"


def access_rules(routes: Iterable[NeededRoute] = NEEDED_ROUTES) -> list[dict[str, str]]:
    """The GET access rules that cover `routes`, each once, in path order."""
    paths = sorted({rule_path(needed.route) for needed in routes})
    return [{"method": "GET", "path": path} for path in paths]
