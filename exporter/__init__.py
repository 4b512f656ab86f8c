"""Prometheus exporter for fleets of OVHcloud VPS."""

__version__ = "0.1.0"
