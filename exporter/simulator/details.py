"""What the simulated account answers about a VPS's location, OS, disks, IPs, options and backups.

`sim_vps` builds these answers with `sim_details` from its own keywords (see
`DetailsOptions`), and `generate_fleet` deals the cases of `DETAIL_MIXES` and draws
them with `generated_details`, from a random source of their own so that the rest
of a generated fleet stays what it was.
"""

import datetime as dt
import random
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypedDict

# vps.Disk.size is in GB; `use` answers in MB, as OVH does.
_USE_UNIT: Final = "MB"
_MIB_PER_GB: Final = 1024

# The datacenter of each zone code ("os-sbg6" -> "sbg"), where every simulated model is
# sold (vps.Model.datacenter): its city and its country as vps.Datacenter.country writes
# it, an "ISO country code", so "gb" for London ("uk" is only reserved in ISO 3166-1,
# though coreTypes.CountryEnum lists both). The manager's TVpsInfo.location reads the
# same table: the capture spec types its country as a plain string, with no other spelling.
DATACENTERS: Final = {
    "bhs": ("Beauharnois", "ca"),
    "de": ("Frankfurt", "de"),
    "gra": ("Gravelines", "fr"),
    "rbx": ("Roubaix", "fr"),
    "sbg": ("Strasbourg", "fr"),
    "sgp": ("Singapore", "sg"),
    "syd": ("Sydney", "au"),
    "uk": ("London", "gb"),
    "waw": ("Warsaw", "pl"),
}
_LOCAL_ZONES: Final = {"eu-west-lz-mad-a": ("MAD", "Madrid", "es")}
_MIGRATION_DATACENTERS: Final = frozenset({"BHS", "DE", "GRA", "SBG", "SGP", "SYD", "UK", "WAW"})
_MIGRATION_TARGET: Final = "vps-2025-model1"

# Template name -> (distribution, bit format, id), for `/distribution`.
_TEMPLATES: Final = {
    "Debian 12": ("debian12", 64, 1201),
    "Ubuntu 24.04": ("ubuntu2404", 64, 1402),
    "AlmaLinux 9": ("almalinux9", 64, 1509),
    "Rocky Linux 9": ("rocky9", 64, 1609),
    "Windows Server 2022": ("win2022-std", 64, 2022),
}
_DEFAULT_TEMPLATE: Final = "Debian 12"
_SECONDARY_DNS_SERVER: Final = "sdns2.ovh.net"
# Documentation prefixes (RFC 5737, RFC 3849) for every address: they name no real host.
_IPV4_PREFIX: Final = "203.0.113"
_ADDITIONAL_IPV4_PREFIX: Final = "198.51.100"
_IPV6_PREFIX: Final = "2001:db8"
_BACKUP_HOST: Final = "192.0.2.10"


class DetailsOptions(TypedDict, total=False):
    """The keywords of `sim_vps` for these answers; every one has a default.

    `datacenter` (vps.Datacenter, default from the zone), `distribution` (a template
    name, "Debian 12"; None for a VPS installed from an image, whose route answers
    404), `disks` (from `sim_disk`, default one primary disk of the model's size with
    2560 MB used), `ips` (from `sim_ip`, default a primary IPv4 whose reverse is the
    VPS name and a primary IPv6), `options` (default: those the other keywords
    imply), `snapshot` (its creation date-time; None: no snapshot, 404),
    `migration_status` ("notAvailable"; None: migration2020 answers 404) and
    `migration_date`, `migration2018_status` (None: 404) and `migration2018_date`,
    `secondary_dns_domains`, `attached_backups` (their restore point date-times),
    `veeam_restore_points` (their creation date-times; None: no Veeam, 404) and
    `veeam_backup`, `backup_ftp_quota_gb` (None: no FTP backup, 404),
    `backup_ftp_usage_mb` and `backup_ftp_read_only_date`.
    """

    datacenter: Mapping[str, Any]
    distribution: str | None
    disks: Sequence["SimDisk"]
    ips: Sequence[Mapping[str, Any]]
    options: Sequence[str]
    snapshot: str | None
    migration_status: str | None
    migration_date: str | None
    migration2018_status: str | None
    migration2018_date: str | None
    secondary_dns_domains: Sequence[str]
    attached_backups: Sequence[str]
    veeam_restore_points: Sequence[str] | None
    veeam_backup: bool
    backup_ftp_quota_gb: int | None
    backup_ftp_usage_mb: int
    backup_ftp_read_only_date: str | None


@dataclass
class SimDisk:
    """One disk: its `vps.Disk` object, and its `use?type=used` answer (None: 404)."""

    disk: dict[str, Any]
    used: dict[str, Any] | None


@dataclass
class SimDetails:
    """Every answer of the routes beyond the first version's, as JSON-ready values (None: 404)."""

    datacenter: dict[str, Any] | None = None
    distribution: dict[str, Any] | None = None
    disks: list[SimDisk] = field(default_factory=list)
    ips: list[dict[str, Any]] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None
    migration2020: dict[str, Any] | None = None
    migration2018: dict[str, Any] | None = None
    secondary_dns: list[dict[str, Any]] = field(default_factory=list)
    attached_backups: list[dict[str, Any]] | None = None
    veeam: dict[str, Any] | None = None
    veeam_restore_points: list[dict[str, Any]] = field(default_factory=list)
    backup_ftp: dict[str, Any] | None = None


def sim_disk(
    disk_id: int,
    size: int,
    *,
    disk_type: str = "additional",
    state: str = "connected",
    used_mb: float | None = 0.0,
) -> SimDisk:
    """Build one disk of `size` GB; `used_mb=None` makes its `use` route answer 404."""
    disk = {
        "id": disk_id,
        "size": size,
        "type": disk_type,
        "state": state,
        "bandwidthLimit": 500,
        "lowFreeSpaceThreshold": None,
        "monitoring": True,
        "serviceName": None,
    }
    return SimDisk(disk, None if used_mb is None else {"unit": _USE_UNIT, "value": used_mb})


def sim_ip(
    address: str,
    *,
    ip_type: str = "additional",
    reverse: str | None = None,
    geolocation: str = "fr",
) -> dict[str, Any]:
    """Build one `vps.Ip` object; the version follows from the address."""
    version = "v6" if ":" in address else "v4"
    seed = zlib.crc32(address.encode())
    return {
        "ipAddress": address,
        "version": version,
        "type": ip_type,
        "reverse": reverse,
        "gateway": f"{_IPV6_PREFIX}::1" if version == "v6" else f"{_IPV4_PREFIX}.254",
        "macAddress": None if ip_type == "additional" else _mac(seed),
        "geolocation": geolocation,
    }


def _mac(seed: int) -> str:
    """An OpenStack-style MAC address drawn from `seed`."""
    return "fa:16:3e:" + ":".join(f"{(seed >> shift) & 0xFF:02x}" for shift in (16, 8, 0))


def primary_disk_id(name: str) -> int:
    """The id `sim_vps` gives a VPS's primary disk by default."""
    return zlib.crc32(name.encode()) % 900_000 + 100_000


def default_ips(name: str, country: str) -> list[dict[str, Any]]:
    """The primary IPv4 (its reverse the VPS name, as OVH sets it) and IPv6 of a VPS."""
    seed = zlib.crc32(name.encode())
    return [
        sim_ip(
            f"{_IPV4_PREFIX}.{seed % 250 + 1}", ip_type="primary", reverse=name, geolocation=country
        ),
        sim_ip(
            f"{_IPV6_PREFIX}:{(seed >> 16) & 0xFFFF:x}::{seed & 0xFFFF:x}",
            ip_type="primary",
            geolocation=country,
        ),
    ]


def datacenter_of(zone: str) -> dict[str, Any]:
    """The `vps.Datacenter` of a zone such as "Region OpenStack: os-sbg6"."""
    code = zone.rsplit(" ", 1)[-1].removeprefix("os-")
    if code in _LOCAL_ZONES:
        name, city, country = _LOCAL_ZONES[code]
        return {"name": name, "longName": f"{city} {name}", "country": country}
    letters = code.rstrip("0123456789")
    city, country = DATACENTERS.get(letters, (letters.upper(), "fr"))
    return {"name": letters.upper(), "longName": f"{city} {code.upper()}", "country": country}


def sim_details(
    name: str,
    *,
    zone: str,
    model_name: str,
    disk: int,
    automated_backup: bool,
    options: DetailsOptions,
) -> SimDetails:
    """Build the answers of one VPS from `sim_vps`'s facts and its detail keywords."""
    datacenter = dict(options.get("datacenter") or datacenter_of(zone))
    country = str(datacenter.get("country", "fr"))
    disks = [
        SimDisk(dict(item.disk), None if item.used is None else dict(item.used))
        for item in options.get("disks")
        or [sim_disk(primary_disk_id(name), disk, disk_type="primary", used_mb=2560.0)]
    ]
    ftp_quota = options.get("backup_ftp_quota_gb")
    veeam_points = options.get("veeam_restore_points")
    details = SimDetails(
        datacenter=datacenter,
        distribution=_template(options.get("distribution", _DEFAULT_TEMPLATE)),
        disks=disks,
        ips=[dict(ip) for ip in options.get("ips") or default_ips(name, country)],
        snapshot=_snapshot(name, zone, options.get("snapshot")),
        migration2020=_migration2020(
            model_name, options.get("migration_status", "notAvailable"), options
        ),
        migration2018=_migration2018(model_name, datacenter, options),
        secondary_dns=[
            _secondary_dns(domain, name) for domain in options.get("secondary_dns_domains", ())
        ],
        attached_backups=[
            _attached_backup(name, index, point)
            for index, point in enumerate(options.get("attached_backups", ()))
        ]
        if automated_backup
        else None,
        veeam=None if veeam_points is None else {"backup": options.get("veeam_backup", True)},
        veeam_restore_points=[
            {"id": index + 1, "creationTime": point}
            for index, point in enumerate(veeam_points or ())
        ],
        backup_ftp=None if ftp_quota is None else _backup_ftp(datacenter, ftp_quota, options),
    )
    given = options.get("options")
    details.options = (
        list(given) if given is not None else implied_options(details, automated_backup)
    )
    return details


def implied_options(details: SimDetails, automated_backup: bool) -> list[str]:
    """The options a VPS with these answers has subscribed, in vps.VpsOptionEnum's order."""
    windows = (details.distribution or {}).get("distribution", "").startswith("win")
    held = {
        "additionalDisk": any(disk.disk["type"] == "additional" for disk in details.disks),
        "automatedBackup": automated_backup,
        "ftpbackup": details.backup_ftp is not None,
        "snapshot": details.snapshot is not None,
        "veeam": details.veeam is not None,
        "windows": windows,
    }
    return [option for option, present in held.items() if present]


def _template(name: str | None) -> dict[str, Any] | None:
    """The `vps.Template` of an installed OS, by its name."""
    if name is None:
        return None
    distribution, bits, template_id = _TEMPLATES.get(
        name, (name.lower().replace(" ", ""), 64, 9999)
    )
    return {
        "id": template_id,
        "name": name,
        "distribution": distribution,
        "bitFormat": bits,
        "locale": "en",
        "availableLanguage": ["en"],
    }


def _snapshot(name: str, zone: str, created: str | None) -> dict[str, Any] | None:
    """The `vps.Snapshot` taken at `created`, if any."""
    if created is None:
        return None
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"snapshot:{name}:{created}")),
        "creationDate": created,
        "description": "",
        "region": zone.rsplit(" ", 1)[-1].removeprefix("os-").upper(),
    }


def _migration2020(
    model_name: str, status: str | None, options: DetailsOptions
) -> dict[str, Any] | None:
    """The capture spec's TVpsMigration for a VPS of `model_name`."""
    if status is None:
        return None
    offered = status != "notAvailable"
    return {
        "status": status,
        "position": None,
        "date": options.get("migration_date"),
        "currentPlan": model_name,
        "targetPlan": _MIGRATION_TARGET if status in ("inProgress", "done") else None,
        "availablePlans": [_MIGRATION_TARGET] if offered else [],
    }


def _migration2018(
    model_name: str, datacenter: Mapping[str, Any], options: DetailsOptions
) -> dict[str, Any] | None:
    """The `vps.migration.VPS2018to2020` offer, when the VPS has one."""
    status = options.get("migration2018_status")
    if status is None:
        return None
    code = str(datacenter.get("name", "")).upper()
    return {
        "status": status,
        "date": options.get("migration2018_date"),
        "datacenter": code if code in _MIGRATION_DATACENTERS else "SBG",
        "plans": [
            {
                "currentPlan": model_name,
                "newPlan": _MIGRATION_TARGET,
                "product": model_name,
                "options": [],
            }
        ],
    }


def _secondary_dns(domain: str, name: str) -> dict[str, Any]:
    """One `secondaryDns.SecondaryDNS` object."""
    return {
        "domain": domain,
        "dns": _SECONDARY_DNS_SERVER,
        "ipMaster": f"{_IPV4_PREFIX}.{zlib.crc32(name.encode()) % 250 + 1}",
        "creationDate": "2025-01-15T10:00:00+01:00",
    }


def _attached_backup(name: str, index: int, point: str) -> dict[str, Any]:
    """One `vps.automatedBackup.Attached` object."""
    return {
        "restorePoint": point,
        "access": {
            "additionalDisk": None,
            "nfs": f"nfs://{_BACKUP_HOST}/export/{name}/{index}",
            "smb": None,
        },
    }


def _backup_ftp(
    datacenter: Mapping[str, Any], quota_gb: int, options: DetailsOptions
) -> dict[str, Any]:
    """One `vps.BackupFtp` object."""
    code = str(datacenter.get("name", "sbg")).lower()
    return {
        "ftpBackupName": f"ftpback-{code}-42.ovh.net",
        "type": "included",
        "quota": {"unit": "GB", "value": quota_gb},
        "usage": {"unit": "MB", "value": options.get("backup_ftp_usage_mb", 0)},
        "readOnlyDate": options.get("backup_ftp_read_only_date"),
    }


# Share of a generated fleet given each case, and the usual case, one table per aspect:
# generate_fleet deals them as it deals its own mixes.
DETAIL_MIXES: Final[Mapping[str, tuple[Mapping[str, float], str]]] = {
    "os": ({"ubuntu": 0.30, "alma": 0.10, "rocky": 0.05, "windows": 0.04, "image": 0.08}, "debian"),
    "disk": ({"additional": 0.08, "pending": 0.0}, "single"),
    "ips": ({"additional": 0.10, "no-reverse": 0.04, "custom-reverse": 0.10}, "default"),
    "snapshot": ({"snapshot": 0.25}, "none"),
    "migration": ({"inProgress": 0.02}, "offer"),
    "dns": ({"secondary": 0.06}, "none"),
    "veeam": ({"veeam": 0.08, "veeam-off": 0.0}, "none"),
    "ftp": ({"ftp": 0.08, "read-only": 0.0}, "none"),
    "attached": ({"attached": 0.03}, "none"),
    "sla": ({"sla": 0.20}, "none"),
}
_OS_CASES: Final = {
    "debian": "Debian 12",
    "ubuntu": "Ubuntu 24.04",
    "alma": "AlmaLinux 9",
    "rocky": "Rocky Linux 9",
    "windows": "Windows Server 2022",
    "image": None,
}


def generated_details(
    rng: random.Random,
    name: str,
    cases: Mapping[str, str],
    *,
    now: dt.datetime,
    zone: str,
    version: str,
    disk: int,
    automated_backup: bool,
) -> DetailsOptions:
    """Draw the detail keywords of one generated VPS from its cases; dates end at `now`."""
    country = str(datacenter_of(zone)["country"])
    options = DetailsOptions(distribution=_OS_CASES[cases["os"]])
    primary = sim_disk(
        primary_disk_id(name),
        disk,
        disk_type="primary",
        used_mb=round(disk * _MIB_PER_GB * rng.uniform(0.05, 0.85), 1),
    )
    options["disks"] = [primary]
    if cases["disk"] in ("additional", "pending"):
        size = rng.choice((50, 100, 200))
        state = "pending" if cases["disk"] == "pending" else "connected"
        used = None if state == "pending" else round(size * _MIB_PER_GB * rng.uniform(0, 0.9), 1)
        options["disks"] = [
            primary,
            sim_disk(primary.disk["id"] + 1, size, state=state, used_mb=used),
        ]

    ips = default_ips(name, country)
    if cases["ips"] == "no-reverse":
        ips[0]["reverse"] = None
    elif cases["ips"] == "custom-reverse":
        ips[0]["reverse"] = f"host{rng.randint(1, 99)}.example.com"
    elif cases["ips"] == "additional":
        first = rng.randint(1, 200)
        ips += [
            sim_ip(f"{_ADDITIONAL_IPV4_PREFIX}.{first + offset}", geolocation=country)
            for offset in range(rng.randint(1, 3))
        ]
    options["ips"] = ips

    def moment(days_back: float) -> str:
        """The date-time `days_back` days before `now`."""
        return (now - dt.timedelta(days=days_back)).isoformat(timespec="seconds")

    if cases["snapshot"] == "snapshot":
        options["snapshot"] = moment(rng.uniform(0.5, 30))
    if version.startswith("2019"):
        options["migration_status"] = "available"
        if cases["migration"] == "inProgress":
            options["migration_status"] = "inProgress"
            options["migration_date"] = moment(rng.uniform(0.05, 0.5))
    if cases["dns"] == "secondary":
        options["secondary_dns_domains"] = [
            f"example{index}.{rng.choice(('com', 'org', 'net'))}"
            for index in range(rng.randint(1, 2))
        ]
    if cases["veeam"] in ("veeam", "veeam-off"):
        options["veeam_restore_points"] = [moment(days + 0.4) for days in range(rng.randint(1, 7))]
        options["veeam_backup"] = cases["veeam"] == "veeam"
    if cases["ftp"] in ("ftp", "read-only"):
        options["backup_ftp_quota_gb"] = 100
        options["backup_ftp_usage_mb"] = rng.randint(0, 90_000)
    if cases["ftp"] == "read-only":
        options["backup_ftp_usage_mb"] = 104_000
        options["backup_ftp_read_only_date"] = moment(rng.uniform(1, 5))
    if cases["attached"] == "attached" and automated_backup:
        options["attached_backups"] = [moment(1)]
    return options
