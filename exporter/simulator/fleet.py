"""The simulated account's VPS, kept as the JSON objects OVH would answer, and their builders."""

import datetime as dt
import enum
import random
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Unpack

from exporter.simulator.account import (
    DEFAULT_MONTHLY_PRICE,
    MONTHLY_PRICES,
    SimAccount,
    generated_account,
    sim_billing,
)
from exporter.simulator.details import (
    DATACENTERS,
    DETAIL_MIXES,
    DetailsOptions,
    SimDetails,
    generated_details,
    sim_details,
)
from exporter.simulator.manager import SimManager

# OVH writes date-times in Paris time; a fixed +01:00 keeps the simulator
# deterministic while still making clients honour a non-UTC offset.
OVH_OFFSET: Final = dt.timezone(dt.timedelta(hours=1))

# From this fleet size on, generate_fleet includes every case of its mix at least once.
EVERY_CASE_FROM: Final = 20

# Documentation prefixes (RFC 5737, RFC 3849): they name no real host.
_MONITORING_IP_BLOCKS: Final = ("192.0.2.0/29", "2001:db8:1::/64")
_MODEL_OPTIONS: Final = ("additionalDisk", "automatedBackup", "snapshot", "veeam")
_CONTACT: Final = "sim12345-ovh"


class _Default(enum.Enum):
    """Marks a keyword argument left out, where None is a meaningful value."""

    TOKEN = enum.auto()


@dataclass
class SimVps:
    """One simulated VPS: every answer OVH would give about it, as JSON-ready dicts."""

    name: str
    vps: dict[str, Any]
    service_infos: dict[str, Any]
    tasks: list[dict[str, Any]]
    automated_backup: dict[str, Any] | None
    restore_points: dict[str, list[str]]
    # Pricing and engagement end strategy for /services (see simulator.billing).
    billing: dict[str, Any] = field(default_factory=sim_billing)
    # Location, OS, disks, IPs, options, migrations and other backups (see simulator.details).
    details: SimDetails = field(default_factory=SimDetails)
    # What the manager's 2API adds (see simulator.manager).
    manager: SimManager = field(default_factory=SimManager)


@dataclass
class Fleet:
    """The VPS of one simulated account by name; the app reads it live, so tests may mutate it."""

    vps: dict[str, SimVps] = field(default_factory=dict)
    account: SimAccount = field(default_factory=SimAccount)

    @classmethod
    def of(cls, *machines: SimVps, account: SimAccount | None = None) -> "Fleet":
        """Build a fleet from VPS given in any order, keyed and ordered by name."""
        return cls(
            {machine.name: machine for machine in sorted(machines, key=lambda m: m.name)},
            account or SimAccount(),
        )


def ovh_datetime(moment: dt.datetime) -> str:
    """Format a date-time the way OVH does: ISO 8601, seconds, Paris offset."""
    return moment.astimezone(OVH_OFFSET).isoformat(timespec="seconds")


def sim_task(
    task_id: int,
    task_type: str = "rebootVm",
    state: str = "doing",
    date: str = "2026-01-15T10:00:00+01:00",
    progress: int = 0,
) -> dict[str, Any]:
    """Build one `vps.Task` object."""
    return {"id": task_id, "type": task_type, "state": state, "date": date, "progress": progress}


def default_automated_backup(name: str) -> dict[str, Any]:
    """Build the automated backup `sim_vps` gives by default: enabled at 03:00:00, 7 kept."""
    return {"state": "enabled", "schedule": "03:00:00", "rotation": 7, "serviceResourceName": name}


def sim_vps(
    name: str,
    *,
    state: str = "running",
    display_name: str | None = None,
    model_name: str = "vps-2025-model1",
    offer: str = "VPS-1",
    version: str = "2025v1",
    vcore: int = 2,
    memory_limit: int = 4096,
    disk: int = 40,
    zone: str = "Region OpenStack: os-sbg6",
    zone_type: str = "region",
    offer_type: str = "ssd",
    cluster: str = "os-sbg6-c01",
    netboot_mode: str = "local",
    locked: bool = False,
    lock_reason: str = "",
    expiration: str = "2027-01-15",
    renew_automatic: bool = True,
    delete_at_expiration: bool = False,
    service_status: str = "ok",
    service_id: int | None = None,
    engaged_up_to: str | None = None,
    creation: str = "2025-01-15",
    tasks: Sequence[Mapping[str, Any]] = (),
    automated_backup: Mapping[str, Any] | Literal[_Default.TOKEN] | None = _Default.TOKEN,
    restore_points: Mapping[str, Sequence[str]] | None = None,
    billing: Mapping[str, Any] | None = None,
    sla_monitoring: bool = False,
    **details: Unpack[DetailsOptions],
) -> SimVps:
    """Build one VPS from fixed defaults, overriding only the fields a test names.

    Defaults: state "running", displayName equal to the name, model "vps-2025-model1"
    (offer "VPS-1", version "2025v1", disk 40 GB), 2 vcores, memoryLimit 4096 MiB, zone
    "Region OpenStack: os-sbg6" (zoneType "region", cluster "os-sbg6-c01"), offerType
    "ssd", netbootMode "local", not locked (reason ""), created "2025-01-15", expiring
    "2027-01-15" with automatic renewal and no deleteAtExpiration, status "ok", not
    engaged, serviceId the CRC-32 of the name plus 100000000, no tasks, automated
    backup enabled at "03:00:00" keeping 7 restore points, and no restore points.
    Pass `automated_backup=None` for a VPS without the option (its routes answer 404).
    `billing` (from `sim_billing`) sets the price and engagement end strategy that
    /services shows; by default 6.00 EUR a month and REACTIVATE_ENGAGEMENT.
    slaMonitoring is off by default; the answers of the other routes follow the
    keywords of `DetailsOptions`, whose defaults derive from the ones above.
    """
    backup = default_automated_backup(name) if automated_backup is _Default.TOKEN else None
    if isinstance(automated_backup, Mapping):
        backup = dict(automated_backup)
    return SimVps(
        name=name,
        vps={
            "name": name,
            "displayName": name if display_name is None else display_name,
            "state": state,
            "cluster": cluster,
            "keymap": None,
            "memoryLimit": memory_limit,
            "vcore": vcore,
            "zone": zone,
            "zoneType": zone_type,
            "offerType": offer_type,
            "netbootMode": netboot_mode,
            "slaMonitoring": sla_monitoring,
            "monitoringIpBlocks": list(_MONITORING_IP_BLOCKS),
            "model": {
                "name": model_name,
                "offer": offer,
                "version": version,
                "vcore": vcore,
                "memory": memory_limit,
                "disk": disk,
                "datacenter": list(DATACENTERS),
                "availableOptions": list(_MODEL_OPTIONS),
                "maximumAdditionnalIp": 16,
            },
            "iam": {
                "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
                "urn": f"urn:v1:eu:resource:vps:{name}",
                "state": "OK",
            },
            "lockStatus": {"locked": locked, "reason": lock_reason},
        },
        service_infos={
            "domain": name,
            "status": service_status,
            "serviceId": zlib.crc32(name.encode()) + 100_000_000
            if service_id is None
            else service_id,
            "contactAdmin": _CONTACT,
            "contactBilling": _CONTACT,
            "contactTech": _CONTACT,
            "renewalType": "automaticV2016",
            "creation": creation,
            "expiration": expiration,
            "engagedUpTo": engaged_up_to,
            "canDeleteAtExpiration": True,
            "possibleRenewPeriod": [1, 3, 6, 12],
            "renew": {
                "automatic": renew_automatic,
                "deleteAtExpiration": delete_at_expiration,
                "forced": False,
                "manualPayment": not renew_automatic,
                "period": 1 if renew_automatic else None,
            },
        },
        tasks=[dict(task) for task in tasks],
        automated_backup=backup,
        restore_points={key: list(dates) for key, dates in (restore_points or {}).items()},
        billing=dict(billing) if billing is not None else sim_billing(),
        details=sim_details(
            name,
            zone=zone,
            model_name=model_name,
            disk=disk,
            automated_backup=backup is not None,
            options=details,
        ),
    )


@dataclass(frozen=True)
class _Model:
    """One entry of the simulated catalogue."""

    name: str
    offer: str
    version: str
    vcore: int
    memory: int
    disk: int


# The simulator's own catalogue: OVH's model names, sizes chosen to stay
# consistent with sim_vps's defaults rather than copied from a price list.
_CATALOGUE: Final = (
    (_Model("vps-2025-model1", "VPS-1", "2025v1", 2, 4096, 40), 30),
    (_Model("vps-2025-model2", "VPS-2", "2025v1", 4, 8192, 80), 25),
    (_Model("vps-2025-model3", "VPS-3", "2025v1", 8, 16384, 160), 12),
    (_Model("vps-2025-model4", "VPS-4", "2025v1", 12, 32768, 240), 5),
    (_Model("vps-starter-1-2-20", "VPS Starter 1-2-20", "2019v1", 1, 2048, 20), 8),
    (_Model("vps-value-1-2-40", "VPS Value 1-2-40", "2019v1", 1, 2048, 40), 10),
    (_Model("vps-essential-2-4-80", "VPS Essential 2-4-80", "2019v1", 2, 4096, 80), 6),
    (_Model("vps-comfort-4-8-160", "VPS Comfort 4-8-160", "2019v1", 4, 8192, 160), 4),
)
_ZONES: Final = (
    ("Region OpenStack: os-sbg6", "region", 30),
    ("Region OpenStack: os-gra11", "region", 30),
    ("Region OpenStack: os-bhs5", "region", 15),
    ("Region OpenStack: os-waw1", "region", 10),
    ("Region OpenStack: os-de1", "region", 10),
    ("Region OpenStack: os-eu-west-lz-mad-a", "localzone", 5),
)
_ROLES: Final = ("web", "db", "api", "cache", "worker", "ci", "mail", "vpn")
_LOCK_REASONS: Final = ("abuse", "billing", "maintenance")

# Share of the fleet given each case, one table per independent aspect of a VPS;
# a share of 0 still yields exactly one VPS from EVERY_CASE_FROM on.
_STATE_MIX: Final = {
    "stopped": 0.06,
    "rescued": 0.03,
    "installing": 0.02,
    "upgrading": 0.01,
    "rebooting": 0.01,
}
_LOCK_MIX: Final = {"locked": 0.02}
_TASK_MIX: Final = {"doing": 0.08, "todo": 0.04, "error": 0.02, "stuck": 0.02, "done": 0.05}
_BACKUP_MIX: Final = {"disabled": 0.05, "absent": 0.05, "stale": 0.03, "restoring": 0.01}
_BILLING_MIX: Final = {
    "manual": 0.05,
    "deleteAtExpiration": 0.0,
    "engaged": 0.10,
    "expired": 0.01,
    "unPaid": 0.01,
    "pendingDebt": 0.01,
}
_STATE_TASKS: Final = {
    "installing": "reinstallVm",
    "upgrading": "upgradeVm",
    "rebooting": "rebootVm",
}


def _deal(rng: random.Random, size: int, shares: Mapping[str, float], usual: str) -> list[str]:
    """Hand one case per VPS: each share of the fleet (at least one from EVERY_CASE_FROM on)."""
    cases: list[str] = []
    for case, share in shares.items():
        count = round(size * share)
        if size >= EVERY_CASE_FROM:
            count = max(1, count)
        cases.extend([case] * count)
    cases = cases[:size] + [usual] * max(0, size - len(cases))
    rng.shuffle(cases)
    return cases


def _unique_names(rng: random.Random, size: int) -> list[str]:
    """Draw `size` distinct names shaped like OVH's, sorted."""
    names: set[str] = set()
    while len(names) < size:
        names.add(f"vps-{rng.getrandbits(32):08x}.vps.ovh.net")
    return sorted(names)


class _Generator:
    """Builds the VPS of one generated fleet; holds the random source and the reference instant."""

    def __init__(self, rng: random.Random, today: dt.date, details_rng: random.Random) -> None:
        """Fix the seed's random sources, and noon of `today` as the moment the fleet describes."""
        self.rng = rng
        self.details_rng = details_rng
        self.today = today
        self.now = dt.datetime.combine(today, dt.time(12), OVH_OFFSET)
        self.last_task_id = rng.randrange(10_000_000, 90_000_000)

    def day(self, offset: int) -> str:
        """Return the date `offset` days from today as "YYYY-MM-DD"."""
        return (self.today + dt.timedelta(days=offset)).isoformat()

    def task(self, task_type: str, state: str, age: dt.timedelta, progress: int) -> dict[str, Any]:
        """Build one task started `age` before the reference instant."""
        self.last_task_id += self.rng.randint(1, 40)
        started = ovh_datetime(self.now - age)
        return sim_task(self.last_task_id, task_type, state, started, progress)

    def tasks(self, case: str) -> list[dict[str, Any]]:
        """Build the tasks of one case of _TASK_MIX."""
        rng = self.rng
        minutes = dt.timedelta(minutes=1)
        if case == "doing":
            kind = rng.choice(("rebootVm", "createSnapshot", "upgradeVm", "migrate", "stopVm"))
            return [self.task(kind, "doing", rng.randint(1, 50) * minutes, rng.randint(10, 90))]
        if case == "todo":
            kinds = ("createSnapshot", "rebootVm", "changeRootPassword", "setNetboot")
            return [
                self.task(rng.choice(kinds), "todo", rng.randint(0, 10) * minutes, 0)
                for _ in range(rng.randint(1, 2))
            ]
        if case == "error":
            kind = rng.choice(("createSnapshot", "upgradeVm", "migrate", "changeRootPassword"))
            age = rng.randint(60, 72 * 60) * minutes
            return [self.task(kind, "error", age, rng.randint(0, 60))]
        if case == "stuck":
            kind = rng.choice(("migrate", "upgradeVm", "createSnapshot"))
            age = dt.timedelta(days=rng.randint(2, 10), minutes=rng.randint(0, 600))
            return [self.task(kind, "doing", age, rng.randint(5, 60))]
        if case == "done":
            kinds = ("rebootVm", "createSnapshot", "startVm", "deleteSnapshot")
            return [
                self.task(rng.choice(kinds), "done", rng.randint(30, 1440) * minutes, 100)
                for _ in range(rng.randint(1, 3))
            ]
        return []

    def backup(
        self, name: str, case: str
    ) -> tuple[dict[str, Any] | None, dict[str, list[str]], list[dict[str, Any]]]:
        """Build the automated backup, restore points and extra tasks of one case of _BACKUP_MIX."""
        if case == "absent":
            return None, {}, []
        rotation = self.rng.choice((7, 7, 7, 14))
        backup: dict[str, Any] = {
            "state": "disabled",
            "schedule": None,
            "rotation": rotation,
            "serviceResourceName": name,
        }
        if case == "disabled":
            return backup, {}, []

        schedule = dt.time(self.rng.randint(0, 5), self.rng.choice((0, 0, 15, 30, 45)))
        backup.update(state="enabled", schedule=schedule.isoformat())
        newest = -self.rng.randint(3, 10) if case == "stale" else 0
        days = [self.today + dt.timedelta(days=newest - back) for back in range(rotation)]
        points = [ovh_datetime(dt.datetime.combine(day, schedule, OVH_OFFSET)) for day in days]
        points.sort()
        restore_points = {"available": points, "restoring": [], "restored": []}
        extra_tasks = []
        if case == "restoring":
            restore_points["restoring"] = [points.pop(-2)]
            extra_tasks.append(self.task("restoreVm", "doing", dt.timedelta(minutes=20), 35))
        return backup, restore_points, extra_tasks

    def billing(self, case: str) -> dict[str, Any]:
        """Build the sim_vps billing keywords of one case of _BILLING_MIX."""
        rng = self.rng
        fields: dict[str, Any] = {
            "expiration": self.day(rng.randint(1, 365)),
            "creation": self.day(-rng.randint(30, 1500)),
        }
        if case == "manual":
            fields["renew_automatic"] = False
        elif case == "deleteAtExpiration":
            fields.update(renew_automatic=False, delete_at_expiration=True)
        elif case == "engaged":
            fields["engaged_up_to"] = self.day(rng.randint(30, 365))
        elif case == "expired":
            fields.update(
                expiration=self.day(-rng.randint(1, 20)),
                renew_automatic=False,
                service_status="expired",
            )
        elif case in ("unPaid", "pendingDebt"):
            fields.update(expiration=self.day(rng.randint(0, 5)), service_status=case)
        return fields

    def vps(
        self,
        name: str,
        service_id: int,
        cases: Mapping[str, str],
        detail_cases: Mapping[str, str],
    ) -> SimVps:
        """Build one VPS from its case in each mix."""
        rng = self.rng
        model = rng.choices([m for m, _ in _CATALOGUE], [w for _, w in _CATALOGUE])[0]
        zone, zone_type, _ = rng.choices(_ZONES, [w for *_, w in _ZONES])[0]
        state = cases["state"]
        if cases["billing"] == "expired":
            state = "stopped"

        tasks = self.tasks(cases["tasks"])
        if state in _STATE_TASKS:
            age = dt.timedelta(minutes=rng.randint(1, 30))
            tasks.append(self.task(_STATE_TASKS[state], "doing", age, rng.randint(5, 95)))
        backup, restore_points, backup_tasks = self.backup(name, cases["backup"])
        tasks.extend(backup_tasks)

        locked = cases["lock"] == "locked"
        zone_code = zone.rsplit(" ", 1)[-1]
        return sim_vps(
            name,
            state=state,
            display_name=name
            if rng.random() < 0.6
            else f"{rng.choice(_ROLES)}-{rng.randint(1, 40):02d}",
            model_name=model.name,
            offer=model.offer,
            version=model.version,
            vcore=model.vcore,
            memory_limit=model.memory,
            disk=model.disk,
            zone=zone,
            zone_type=zone_type,
            cluster=f"{zone_code}-c{rng.randint(1, 12):02d}",
            netboot_mode="rescue" if state == "rescued" else "local",
            locked=locked,
            lock_reason=rng.choice(_LOCK_REASONS) if locked else "",
            service_id=service_id,
            tasks=sorted(tasks, key=lambda task: int(task["id"])),
            automated_backup=backup,
            restore_points=restore_points,
            billing=sim_billing(MONTHLY_PRICES.get(model.name, DEFAULT_MONTHLY_PRICE)),
            **self.billing(cases["billing"]),
            sla_monitoring=detail_cases["sla"] == "sla",
            **generated_details(
                self.details_rng,
                name,
                detail_cases,
                now=self.now,
                zone=zone,
                version=model.version,
                disk=model.disk,
                automated_backup=backup is not None,
            ),
        )


def generate_fleet(size: int, seed: int, today: dt.date | None = None) -> Fleet:
    """Generate a realistic fleet, the same for the same (size, seed, today).

    Dates are relative to noon of `today` (default: the local date), the moment the
    fleet describes. Mostly running VPS; some stopped, rescued, installing, upgrading,
    rebooting or locked; some tasks doing or todo, a few in error, a few stuck for days,
    some done; automated backups enabled for most with one restore point a day up to
    today, a few stale (the newest 3 to 10 days old), disabled, absent or restoring;
    expirations spread over the coming year, a few without automatic renewal, one with
    deleteAtExpiration, some engaged, a few expired, unPaid or pendingDebt; monthly
    prices from the catalogue; the payment methods of `generated_account` (a card
    expiring in 20 days, an expired one); some other OS than Debian 12 or one installed
    from an image, an additional or pending disk, additional IPs, a primary IPv4 without
    or with another reverse, snapshots, a migration available to VPS of the 2019 range
    (a few in progress), secondary DNS domains, Veeam (one off), FTP backups (one
    read-only), attached backups and SLA monitoring. From EVERY_CASE_FROM VPS on, every
    case appears at least once.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not secrets.
    # The details draw from a source of their own: the rest of a fleet stays as it was.
    details_rng = random.Random(f"details:{seed}")  # noqa: S311 - reproducible fake data.
    generator = _Generator(rng, today or dt.date.today(), details_rng)
    names = _unique_names(rng, size)
    service_ids = rng.sample(range(100_000_000, 200_000_000), size)
    mixes = {
        "state": _deal(rng, size, _STATE_MIX, "running"),
        "lock": _deal(rng, size, _LOCK_MIX, "unlocked"),
        "tasks": _deal(rng, size, _TASK_MIX, "none"),
        "backup": _deal(rng, size, _BACKUP_MIX, "fresh"),
        "billing": _deal(rng, size, _BILLING_MIX, "ok"),
    }
    detail_mixes = {
        aspect: _deal(details_rng, size, shares, usual)
        for aspect, (shares, usual) in DETAIL_MIXES.items()
    }
    machines = [
        generator.vps(
            name,
            service_ids[index],
            {key: mix[index] for key, mix in mixes.items()},
            {key: mix[index] for key, mix in detail_mixes.items()},
        )
        for index, name in enumerate(names)
    ]
    return Fleet.of(*machines, account=generated_account(generator.now))
