"""A small fleet with a known value for every metric, shared by the tests."""

from exporter.simulator import Fleet, sim_task, sim_vps

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
