"""The metric names the exporter promises, which rules and dashboards may use."""

# Kept in one place so that it can be replaced by the names the exporter
# actually exposes once the collector exists.
VPS_METRICS = frozenset(
    {
        "ovh_vps_info",
        "ovh_vps_state",
        "ovh_vps_vcores",
        "ovh_vps_memory_bytes",
        "ovh_vps_rescue_mode",
        "ovh_vps_locked",
        "ovh_vps_tasks",
        "ovh_vps_task_oldest_timestamp_seconds",
        "ovh_vps_task_errors_total",
        "ovh_vps_automated_backup_enabled",
        "ovh_vps_automated_backup_last_restore_point_timestamp_seconds",
        "ovh_vps_automated_backup_restore_points",
        "ovh_vps_expiration_timestamp_seconds",
        "ovh_vps_engaged_up_to_timestamp_seconds",
        "ovh_vps_renew_automatic",
        "ovh_vps_delete_at_expiration",
        "ovh_vps_service_status",
    }
)

EXPORTER_METRICS = frozenset(
    {
        "ovh_exporter_refresh_success",
        "ovh_exporter_refresh_last_success_timestamp_seconds",
        "ovh_exporter_refresh_duration_seconds",
        "ovh_exporter_refresh_failures_total",
        "ovh_exporter_api_requests_total",
        "ovh_exporter_parse_errors_total",
        "ovh_exporter_build_info",
    }
)

CONTRACT_METRICS = VPS_METRICS | EXPORTER_METRICS

# Series Prometheus itself writes for every scrape target.
PROMETHEUS_SERIES = frozenset({"up"})
