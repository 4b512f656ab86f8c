"""The simulated account's routes for a VPS's location, OS, disks, IPs, options and backups.

The app registers what `detail_routes` returns beside its own routes, handing
over its way of finding the VPS a path names and of answering list routes.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from aiohttp import web

from exporter.simulator.details import SimDetails, SimDisk
from exporter.simulator.errors import bad_request, not_found
from exporter.simulator.fleet import SimVps

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FindVps = Callable[[web.Request], SimVps]
ListAnswer = Callable[[web.Request, Sequence[Any], Sequence[Any]], web.Response]

# vps.disk.StatisticTypeEnum: what `/disks/{id}/use` can measure.
_DISK_STATISTICS: Final = frozenset({"max", "used"})


def detail_routes(find_vps: FindVps, list_answer: ListAnswer) -> tuple[tuple[str, Handler], ...]:
    """The route templates (without `/1.0`) and handlers of these answers."""
    routes = _DetailRoutes(find_vps, list_answer)
    return (
        ("/vps/{serviceName}/datacenter", routes.datacenter),
        ("/vps/{serviceName}/distribution", routes.distribution),
        ("/vps/{serviceName}/disks", routes.disks),
        (r"/vps/{serviceName}/disks/{id:\d+}", routes.one_disk),
        (r"/vps/{serviceName}/disks/{id:\d+}/use", routes.disk_use),
        ("/vps/{serviceName}/ips", routes.ips),
        ("/vps/{serviceName}/ips/{ipAddress}", routes.one_ip),
        ("/vps/{serviceName}/option", routes.options),
        ("/vps/{serviceName}/option/{option}", routes.one_option),
        ("/vps/{serviceName}/snapshot", routes.snapshot),
        ("/vps/{serviceName}/migration2020", routes.migration2020),
        ("/vps/{serviceName}/migration2018", routes.migration2018),
        ("/vps/{serviceName}/secondaryDnsDomains", routes.secondary_dns),
        ("/vps/{serviceName}/automatedBackup/attachedBackup", routes.attached_backups),
        ("/vps/{serviceName}/veeam", routes.veeam),
        ("/vps/{serviceName}/veeam/restorePoints", routes.veeam_restore_points),
        (r"/vps/{serviceName}/veeam/restorePoints/{id:\d+}", routes.veeam_restore_point),
        ("/vps/{serviceName}/backupftp", routes.backup_ftp),
    )


class _DetailRoutes:
    """The handlers, bound to the app's way of finding VPS and answering lists."""

    def __init__(self, find_vps: FindVps, list_answer: ListAnswer) -> None:
        """Keep the app's helpers."""
        self._find_vps = find_vps
        self._list_answer = list_answer

    def details(self, request: web.Request) -> SimDetails:
        """The answers of the VPS the path names, or OVH's 404 for an unknown VPS."""
        return self._find_vps(request).details

    def disk(self, request: web.Request) -> SimDisk:
        """The disk the path names."""
        disk_id = int(request.match_info["id"])
        for item in self.details(request).disks:
            if item.disk["id"] == disk_id:
                return item
        raise not_found(f"The requested object (id = {disk_id}) does not exist")

    async def datacenter(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/datacenter`."""
        return _present(self.details(request).datacenter, request, "datacenter")

    async def distribution(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/distribution`, 404 for a VPS installed from an image."""
        return _present(self.details(request).distribution, request, "distribution")

    async def disks(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/disks`: disk ids, or `vps.Disk` objects when expanded."""
        objects = [item.disk for item in self.details(request).disks]
        return self._list_answer(request, [item["id"] for item in objects], objects)

    async def one_disk(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/disks/{id}`."""
        return web.json_response(self.disk(request).disk)

    async def disk_use(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/disks/{id}/use?type=...`."""
        statistic = request.query.get("type")
        if statistic not in _DISK_STATISTICS:
            raise bad_request(f"Invalid value for parameter type: {statistic!r}")
        item = self.disk(request)
        if statistic == "max":
            return web.json_response({"unit": "MB", "value": item.disk["size"] * 1024.0})
        return _present(item.used, request, "use")

    async def ips(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/ips`: addresses, or `vps.Ip` objects when expanded."""
        objects = self.details(request).ips
        return self._list_answer(request, [item["ipAddress"] for item in objects], objects)

    async def one_ip(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/ips/{ipAddress}`."""
        address = request.match_info["ipAddress"]
        for item in self.details(request).ips:
            if item["ipAddress"] == address:
                return web.json_response(item)
        raise not_found(f"The requested object (ipAddress = {address}) does not exist")

    async def options(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/option`: option names, or `vps.Option` objects."""
        names = self.details(request).options
        return self._list_answer(request, names, [_option(name) for name in names])

    async def one_option(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/option/{option}`."""
        option = request.match_info["option"]
        if option not in self.details(request).options:
            raise not_found(f"The requested object (option = {option}) does not exist")
        return web.json_response(_option(option))

    async def snapshot(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/snapshot`, 404 when there is none."""
        return _present(self.details(request).snapshot, request, "snapshot")

    async def migration2020(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/migration2020`."""
        return _present(self.details(request).migration2020, request, "migration2020")

    async def migration2018(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/migration2018`, 404 for VPS of later ranges."""
        return _present(self.details(request).migration2018, request, "migration2018")

    async def secondary_dns(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/secondaryDnsDomains`."""
        objects = self.details(request).secondary_dns
        return self._list_answer(request, [item["domain"] for item in objects], objects)

    async def attached_backups(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/automatedBackup/attachedBackup`."""
        return _present(self.details(request).attached_backups, request, "automatedBackup")

    async def veeam(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/veeam`, 404 without the option."""
        return _present(self.details(request).veeam, request, "veeam")

    def veeam_points(self, request: web.Request) -> list[dict[str, Any]]:
        """The Veeam restore points, or 404 without the Veeam option."""
        answers = self.details(request)
        if answers.veeam is None:
            raise not_found(f"The requested object (veeam) does not exist on {request.path}")
        return answers.veeam_restore_points

    async def veeam_restore_points(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/veeam/restorePoints`."""
        points = self.veeam_points(request)
        return self._list_answer(request, [point["id"] for point in points], points)

    async def veeam_restore_point(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/veeam/restorePoints/{id}`."""
        point_id = int(request.match_info["id"])
        for point in self.veeam_points(request):
            if point["id"] == point_id:
                return web.json_response(point)
        raise not_found(f"The requested object (id = {point_id}) does not exist")

    async def backup_ftp(self, request: web.Request) -> web.Response:
        """Answer `GET /vps/{serviceName}/backupftp`, 404 without the option."""
        return _present(self.details(request).backup_ftp, request, "backupftp")


def _present(value: Any, request: web.Request, what: str) -> web.Response:
    """Answer `value`, or OVH's 404 when the VPS has no such thing."""
    if value is None:
        name = request.match_info["serviceName"]
        raise not_found(f"The requested object ({what}) does not exist on {name}")
    return web.json_response(value)


def _option(name: str) -> dict[str, str]:
    """The `vps.Option` object of a subscribed option."""
    return {"option": name, "state": "subscribed"}
