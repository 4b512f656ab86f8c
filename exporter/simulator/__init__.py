"""A simulated OVH account serving the `/vps` API, for tests, demos and benchmarks."""

from exporter.simulator.app import REQUEST_LOG, RecordedRequest, create_app, serve
from exporter.simulator.config import (
    DEMO_APPLICATION_KEY,
    DEMO_APPLICATION_SECRET,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CONSUMER_KEY,
    DEMO_MANAGER_COOKIE,
    DEMO_MANAGER_SESSION,
    SimulatorConfig,
)
from exporter.simulator.fleet import Fleet, SimVps, generate_fleet, sim_task, sim_vps
from exporter.simulator.manager import SimManager

__all__ = [
    "DEMO_APPLICATION_KEY",
    "DEMO_APPLICATION_SECRET",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_CONSUMER_KEY",
    "DEMO_MANAGER_COOKIE",
    "DEMO_MANAGER_SESSION",
    "REQUEST_LOG",
    "Fleet",
    "RecordedRequest",
    "SimManager",
    "SimVps",
    "SimulatorConfig",
    "create_app",
    "generate_fleet",
    "serve",
    "sim_task",
    "sim_vps",
]
