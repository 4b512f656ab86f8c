"""A small fleet with a known value for every metric, shared by the tests."""

from exporter.simulator import Fleet, sim_task, sim_vps
from exporter.simulator.details import sim_disk, sim_ip

ALPHA = "vps-alpha.vps.ovh.net"
BRAVO = "vps-bravo.vps.ovh.net"
CHARLIE = "vps-charlie.vps.ovh.net"


def known_fleet() -> Fleet:
    """Three VPS that between them hold every case the contract metrics describe."""
    return Fleet.of(
        sim_vps(
            ALPHA,
            display_name="web front",
            tasks=[
                sim_task(1, "upgradeVm", "doing", "2026-12-01T09:30:00+01:00"),
                sim_task(2, "rebootVm", "done", "2026-11-01T09:30:00+01:00"),
            ],
            restore_points={
                "available": ["2026-12-01T09:30:00+01:00", "2026-12-03T03:10:00+01:00"]
            },
        ),
        sim_vps(
            BRAVO,
            state="rescued",
            model_name="vps-2025-model3",
            offer="VPS-3",
            vcore=8,
            memory_limit=16384,
            netboot_mode="rescue",
            locked=True,
            lock_reason="abuse",
            expiration="2026-12-20",
            renew_automatic=False,
            delete_at_expiration=True,
            service_status="expired",
            engaged_up_to="2027-06-30",
            tasks=[
                sim_task(11, "rebootVm", "error", "2026-11-20T08:00:00+01:00"),
                sim_task(12, "reinstallVm", "error", "2026-12-04T06:00:00+01:00"),
                sim_task(13, "rebootVm", "todo", "2026-12-01T09:30:00+01:00"),
                sim_task(14, "rebootVm", "todo", "2026-11-20T08:00:00+01:00"),
            ],
            automated_backup=None,
        ),
        sim_vps(
            CHARLIE,
            state="stopped",
            version="2019v1",
            zone="Region OpenStack: os-gra9",
            cluster="os-gra9-c02",
            service_status="unPaid",
            expiration="2027-03-01",
            tasks=[sim_task(21, "stopVm", "cancelled")],
            automated_backup={"state": "disabled", "schedule": None, "rotation": 7},
        ),
    )


DELTA = "vps-delta.vps.ovh.net"
ECHO = "vps-echo.vps.ovh.net"


def details_fleet() -> Fleet:
    """The known fleet, plus two VPS that hold every case of the details, disks and backups.

    DELTA is a 2018 VPS with a planned migration, two disks, additional IPs, a snapshot,
    Veeam and an FTP backup; ECHO a locked Windows VPS in a local zone whose disks have no
    use figure, without migration offer or automated backup, with Veeam off and a
    read-only FTP backup.
    """
    return Fleet.of(
        *known_fleet().vps.values(),
        sim_vps(
            DELTA,
            model_name="vps-ssd-2",
            offer="VPS SSD 2",
            version="2018v2",
            vcore=1,
            disk=20,
            zone="Region OpenStack: os-bhs5",
            cluster="os-bhs5-c03",
            sla_monitoring=True,
            distribution="Ubuntu 24.04",
            disks=[
                sim_disk(5001, 20, disk_type="primary", used_mb=10240.0),
                sim_disk(5002, 100, used_mb=51200.5),
            ],
            ips=[
                sim_ip("203.0.113.40", ip_type="primary", geolocation="ca"),
                sim_ip("2001:db8:40::1", ip_type="primary", geolocation="ca"),
                sim_ip("198.51.100.7", geolocation="ca"),
                sim_ip("198.51.100.8", geolocation="ca"),
            ],
            snapshot="2026-12-02T22:15:00+01:00",
            migration_status="available",
            migration2018_status="planned",
            migration2018_date="2027-01-10T06:00:00+01:00",
            secondary_dns_domains=["example.com", "example.org"],
            automated_backup={
                "state": "enabled",
                "schedule": "01:30:00",
                "rotation": 14,
                "serviceResourceName": DELTA,
            },
            restore_points={
                "available": ["2026-12-03T03:10:00+01:00"],
                "restoring": ["2026-12-02T03:10:00+01:00"],
                "restored": ["2026-11-30T03:10:00+01:00", "2026-11-29T03:10:00+01:00"],
            },
            attached_backups=["2026-12-02T03:10:00+01:00"],
            veeam_restore_points=[
                "2026-12-01T02:00:00+01:00",
                "2026-12-03T02:00:00+01:00",
                "2026-12-02T02:00:00+01:00",
            ],
            backup_ftp_quota_gb=100,
            backup_ftp_usage_mb=1536,
        ),
        sim_vps(
            ECHO,
            state="stopped",
            zone="Region OpenStack: os-eu-west-lz-mad-a",
            zone_type="localzone",
            cluster="os-eu-west-lz-mad-a-c01",
            locked=True,
            lock_reason="billing",
            distribution="Windows Server 2022",
            disks=[
                sim_disk(7001, 80, disk_type="primary", used_mb=None),
                sim_disk(7002, 50, state="pending", used_mb=None),
            ],
            ips=[sim_ip("203.0.113.70", ip_type="primary", reverse="mail.example.com")],
            migration_status=None,
            automated_backup=None,
            veeam_restore_points=["2026-11-30T02:00:00+01:00"],
            veeam_backup=False,
            backup_ftp_quota_gb=10,
            backup_ftp_usage_mb=10300,
            backup_ftp_read_only_date="2026-12-01T08:00:00+01:00",
        ),
    )
