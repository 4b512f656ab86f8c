"""Write the Grafana dashboards of grafana/dashboards/ from the descriptions in this file.

Run ``python deploy/generate_dashboards.py`` after changing a dashboard here, and
``python deploy/generate_dashboards.py --check`` to verify the committed JSON is current.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

OUTPUT_DIR = Path(__file__).resolve().parent.parent / "grafana" / "dashboards"

SCHEMA_VERSION = 39
TAG = "ovh-vps"

FLEET_UID = "ovh-vps-fleet"
VPS_UID = "ovh-vps-detail"
BILLING_UID = "ovh-vps-billing"
EXPORTER_UID = "ovh-vps-exporter"

# Every query goes through the dashboard's datasource variable, so the JSON
# imports into any Grafana whatever its Prometheus data source is called.
DATASOURCE: JSON = {"type": "prometheus", "uid": "${datasource}"}

ACCOUNTS = 'account=~"$account"'
ONE_VPS = 'account="$account", vps="$vps"'

DAY = 86400
HOUR = 3600

GREEN = "green"
ORANGE = "orange"
RED = "red"
BLUE = "blue"
PURPLE = "purple"

# Colours for ovh_vps_state: planned states in blue, as in the alert rules.
STATE_COLOURS = {
    "running": GREEN,
    "stopped": RED,
    "stopping": ORANGE,
    "rescued": PURPLE,
    "installing": BLUE,
    "rebooting": BLUE,
    "upgrading": BLUE,
    "backuping": BLUE,
    "maintenance": BLUE,
}

STATUS_COLOURS = {
    "ok": GREEN,
    "autorenewInProgress": BLUE,
    "inCreation": BLUE,
    "pendingDebt": ORANGE,
    "unPaid": RED,
    "expired": RED,
}


def query(expr: str, legend: str = "", *, ref: str = "A", table: bool = False) -> JSON:
    """Return a Prometheus target; table targets are instant queries in table format."""
    return {
        "datasource": DATASOURCE,
        "refId": ref,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not table,
        "instant": table,
        "format": "table" if table else "time_series",
        "editorMode": "code",
    }


def thresholds(base: str, *steps: tuple[float, str]) -> JSON:
    """Return absolute thresholds starting at colour ``base``."""
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": colour, "value": value} for value, colour in steps],
    }


def value_text(options: dict[str, tuple[str, str]]) -> list[JSON]:
    """Return value mappings from raw value to (text, colour)."""
    return [
        {
            "type": "value",
            "options": {
                raw: {"text": text, "color": colour, "index": index}
                for index, (raw, (text, colour)) in enumerate(options.items())
            },
        }
    ]


def yes_no(yes: tuple[str, str], no: tuple[str, str]) -> list[JSON]:
    """Return value mappings for a 0/1 gauge."""
    return value_text({"1": yes, "0": no})


def field_defaults(
    unit: str = "short",
    *,
    colour_thresholds: JSON | None = None,
    mappings: list[JSON] | None = None,
    custom: JSON | None = None,
    no_value: str | None = None,
    decimals: int | None = None,
) -> JSON:
    """Return a panel's fieldConfig.defaults."""
    defaults: JSON = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": colour_thresholds or thresholds(GREEN),
        "mappings": mappings or [],
    }
    if custom is not None:
        defaults["custom"] = custom
    if no_value is not None:
        defaults["noValue"] = no_value
    if decimals is not None:
        defaults["decimals"] = decimals
    return defaults


def override(field_name: str, **properties: Any) -> JSON:
    """Return a field override matched by field name; keys are Grafana property ids."""
    return {
        "matcher": {"id": "byName", "options": field_name},
        "properties": [{"id": key, "value": value} for key, value in properties.items()],
    }


def vps_link(account_field: str = "account") -> list[JSON]:
    """Return a data link opening the one-VPS dashboard for the clicked row."""
    return [
        {
            "title": "Open the VPS dashboard",
            "url": (
                f"/d/{VPS_UID}?${{datasource:queryparam}}"
                f"&var-account=${{__data.fields.{account_field}}}"
                "&var-vps=${__value.raw}&${__url_time_range}"
            ),
        }
    ]


def base_panel(kind: str, title: str, targets: list[JSON], description: str) -> JSON:
    """Return the fields every panel has."""
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": targets,
    }


REDUCE_LAST = {"calcs": ["lastNotNull"], "fields": "", "values": False}


def stat(
    title: str,
    expr: str,
    description: str,
    *,
    unit: str = "short",
    legend: str = "",
    colour_thresholds: JSON | None = None,
    mappings: list[JSON] | None = None,
    text_mode: str = "value",
    no_value: str | None = None,
    name_colours: dict[str, str] | None = None,
    decimals: int | None = None,
) -> JSON:
    """Return a stat panel of one query; ``name_colours`` colours series shown by name."""
    panel = base_panel("stat", title, [query(expr, legend)], description)
    overrides = [
        override(name, color={"mode": "fixed", "fixedColor": colour})
        for name, colour in (name_colours or {}).items()
    ]
    panel["fieldConfig"] = {
        "defaults": field_defaults(
            unit,
            colour_thresholds=colour_thresholds,
            mappings=mappings,
            no_value=no_value,
            decimals=decimals,
        ),
        "overrides": overrides,
    }
    # A name shown alone is coloured only when its colour means something.
    name_colour_mode = "background" if overrides else "none"
    panel["options"] = {
        "reduceOptions": REDUCE_LAST,
        "orientation": "auto",
        "textMode": text_mode,
        "colorMode": name_colour_mode if text_mode == "name" else "value",
        "graphMode": "none",
        "justifyMode": "auto",
        "wideLayout": True,
        "showPercentChange": False,
    }
    return panel


def timeseries(
    title: str,
    targets: list[JSON],
    description: str,
    *,
    unit: str = "short",
    stacked: bool = False,
    overrides: list[JSON] | None = None,
) -> JSON:
    """Return a time series panel."""
    panel = base_panel("timeseries", title, targets, description)
    custom = {
        "drawStyle": "line",
        "lineInterpolation": "stepAfter",
        "lineWidth": 1,
        "fillOpacity": 20 if stacked else 0,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
        "axisSoftMin": 0,
    }
    defaults = field_defaults(unit, custom=custom)
    defaults["color"] = {"mode": "palette-classic"}
    panel["fieldConfig"] = {"defaults": defaults, "overrides": overrides or []}
    panel["options"] = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return panel


def table(
    title: str,
    targets: list[JSON],
    description: str,
    *,
    unit: str = "short",
    hidden: Iterable[str] = (),
    overrides: list[JSON] | None = None,
    sort_by: tuple[str, bool] | None = None,
    colour_thresholds: JSON | None = None,
) -> JSON:
    """Return a table of instant queries merged into one row per series labels."""
    panel = base_panel("table", title, targets, description)
    custom = {
        "align": "auto",
        "cellOptions": {"type": "auto"},
        "filterable": True,
        "inspect": False,
    }
    panel["fieldConfig"] = {
        "defaults": field_defaults(unit, custom=custom, colour_thresholds=colour_thresholds),
        "overrides": overrides or [],
    }
    panel["options"] = {
        "showHeader": True,
        "cellHeight": "sm",
        "footer": {"show": False, "reducer": ["sum"], "fields": "", "countRows": False},
        "sortBy": [] if sort_by is None else [{"displayName": sort_by[0], "desc": sort_by[1]}],
    }
    excluded = {"Time": True, "__name__": True, "job": True, "instance": True}
    excluded.update(dict.fromkeys(hidden, True))
    panel["transformations"] = [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {"excludeByName": excluded, "indexByName": {}, "renameByName": {}},
        },
    ]
    return panel


def bargauge(
    title: str,
    expr: str,
    legend: str,
    description: str,
    *,
    unit: str,
    colour_thresholds: JSON,
) -> JSON:
    """Return a horizontal bar gauge of one instant query, one bar per series."""
    target = query(expr, legend)
    target.update({"instant": True, "range": False})
    panel = base_panel("bargauge", title, [target], description)
    panel["fieldConfig"] = {
        "defaults": field_defaults(unit, colour_thresholds=colour_thresholds),
        "overrides": [],
    }
    panel["options"] = {
        "displayMode": "basic",
        "orientation": "horizontal",
        "reduceOptions": REDUCE_LAST,
        "showUnfilled": True,
        "valueMode": "color",
        "namePlacement": "left",
        "sizing": "auto",
        "minVizHeight": 16,
        "minVizWidth": 8,
        "maxVizHeight": 24,
    }
    return panel


def piechart(
    title: str,
    expr: str,
    legend: str,
    description: str,
    *,
    overrides: list[JSON] | None = None,
) -> JSON:
    """Return a donut chart of the last values of one query."""
    panel = base_panel("piechart", title, [query(expr, legend)], description)
    defaults = field_defaults()
    defaults["color"] = {"mode": "palette-classic"}
    panel["fieldConfig"] = {"defaults": defaults, "overrides": overrides or []}
    panel["options"] = {
        "pieType": "donut",
        "reduceOptions": REDUCE_LAST,
        "legend": {
            "displayMode": "table",
            "placement": "right",
            "showLegend": True,
            "values": ["value"],
        },
        "tooltip": {"mode": "single", "sort": "none"},
        "displayLabels": [],
    }
    return panel


def state_timeline(
    title: str,
    expr: str,
    legend: str,
    description: str,
    *,
    mappings: list[JSON] | None = None,
    overrides: list[JSON] | None = None,
) -> JSON:
    """Return a state timeline, one row per series."""
    panel = base_panel("state-timeline", title, [query(expr, legend)], description)
    custom = {"fillOpacity": 80, "lineWidth": 0}
    panel["fieldConfig"] = {
        "defaults": field_defaults(custom=custom, mappings=mappings),
        "overrides": overrides or [],
    }
    panel["options"] = {
        "mergeValues": True,
        "showValue": "auto",
        "alignValue": "left",
        "rowHeight": 0.9,
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return panel


class Layout:
    """Places panels left to right on Grafana's 24-column grid and numbers them."""

    def __init__(self) -> None:
        """Start an empty grid."""
        self.panels: list[JSON] = []
        self._x = 0
        self._y = 0
        self._row_height = 0

    def row(self, title: str) -> None:
        """Start a new line with an expanded row header."""
        self._new_line()
        self._place({"type": "row", "title": title, "collapsed": False, "panels": []}, 24, 1)
        self._new_line()

    def add(self, panel: JSON, width: int, height: int) -> None:
        """Place ``panel`` after the previous one, wrapping when the line is full."""
        if self._x + width > 24:
            self._new_line()
        self._place(panel, width, height)

    def _place(self, panel: JSON, width: int, height: int) -> None:
        """Give ``panel`` its id and grid position."""
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"h": height, "w": width, "x": self._x, "y": self._y}
        self.panels.append(panel)
        self._x += width
        self._row_height = max(self._row_height, height)

    def _new_line(self) -> None:
        """Move below the tallest panel of the current line."""
        if self._x:
            self._y += self._row_height
        self._x = 0
        self._row_height = 0


def datasource_variable() -> JSON:
    """Return the variable that picks the Prometheus data source."""
    return {
        "type": "datasource",
        "name": "datasource",
        "label": "Data source",
        "query": "prometheus",
        "regex": "",
        "refresh": 1,
        "hide": 0,
        "multi": False,
        "includeAll": False,
        "current": {},
        "options": [],
    }


def query_variable(name: str, label: str, definition: str, *, multi: bool) -> JSON:
    """Return a variable filled from ``label_values``; a multi one also offers All."""
    variable: JSON = {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "definition": definition,
        "query": definition,
        "regex": "",
        "refresh": 2,
        "sort": 1,
        "hide": 0,
        "multi": multi,
        "includeAll": multi,
        "current": {},
        "options": [],
    }
    if multi:
        variable["allValue"] = ".*"
    return variable


def dashboard(
    uid: str,
    title: str,
    description: str,
    layout: Layout,
    variables: list[JSON],
    *,
    time_from: str = "now-24h",
) -> JSON:
    """Return a complete dashboard linked to the others through their shared tag."""
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["ovh", TAG],
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": "5m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "",
        "weekStart": "",
        "annotations": {"list": []},
        "links": [
            {
                "type": "dashboards",
                "title": "OVH VPS dashboards",
                "tags": [TAG],
                "asDropdown": False,
                "includeVars": True,
                "keepTime": True,
                "targetBlank": False,
                "icon": "external link",
                "tooltip": "",
                "url": "",
            }
        ],
        "templating": {"list": [datasource_variable(), *variables]},
        "panels": layout.panels,
    }


def account_variable(metric: str, *, multi: bool = True) -> JSON:
    """Return the ``account`` variable read from ``metric``'s labels."""
    return query_variable("account", "Account", f"label_values({metric}, account)", multi=multi)


def state_overrides() -> list[JSON]:
    """Return one override per VPS state giving its row its colour and name."""
    return [
        override(state, mappings=value_text({"1": (state, colour)}))
        for state, colour in STATE_COLOURS.items()
    ]


COLOUR_TEXT: JSON = {"custom.cellOptions": {"type": "color-text"}}
# A month as the exporter counts it in ovh_vps_service_renew_period_seconds.
MONTH = 2629746
DISK_COLOURS = thresholds(GREEN, (0.8, ORANGE), (0.9, RED))
BACKUP_AGE_COLOURS = thresholds(GREEN, (36 * HOUR, ORANGE))


def disk_ratio(selector: str) -> str:
    """PromQL for the used share of each disk: per disk by the API v1, else the manager's whole."""
    return (
        f"max by (account, vps, disk) (ovh_vps_disk_used_bytes{{{selector}}}"
        f" / (ovh_vps_disk_size_bytes{{{selector}}} > 0))"
        " or on (account, vps) max by (account, vps)"
        f" (ovh_vps_manager_disk_used_bytes{{{selector}}}"
        f" / (ovh_vps_manager_disk_size_bytes{{{selector}}} > 0))"
    )


def vps_disk_space(kind: str, selector: str) -> str:
    """PromQL for one VPS figure (``used`` or ``size``): the API v1's total, else the manager's."""
    return (
        f"max by (account, vps) (ovh_vps_disks_{kind}_bytes{{{selector}}})"
        " or on (account, vps) max by (account, vps)"
        f" (ovh_vps_manager_disk_{kind}_bytes{{{selector}}})"
    )


def vps_disk_ratio(selector: str) -> str:
    """PromQL for the used share of all of a VPS's disks, by the API v1 or else the manager."""
    return (
        f"max by (account, vps) (ovh_vps_disks_used_bytes{{{selector}}}"
        f" / (ovh_vps_disks_size_bytes{{{selector}}} > 0))"
        " or on (account, vps) max by (account, vps)"
        f" (ovh_vps_manager_disk_used_bytes{{{selector}}}"
        f" / (ovh_vps_manager_disk_size_bytes{{{selector}}} > 0))"
    )


def monthly_cost(selector: str, by: str) -> str:
    """PromQL summing the VPS's monthly prices by ``by``, each VPS's model joined from its info."""
    return (
        f"sum by ({by}) (ovh_vps_service_monthly_price{{{selector}}}"
        " * on (account, vps) group_left (model)"
        f" max by (account, vps, model) (ovh_vps_info{{{selector}}}))"
    )


def flag_stat(
    title: str, expr: str, description: str, yes: tuple[str, str], no: tuple[str, str]
) -> JSON:
    """Return a stat showing a 0/1 gauge as words."""
    return stat(title, expr, description, mappings=yes_no(yes, no))


def fleet() -> JSON:
    """Return the fleet overview dashboard."""
    grid = Layout()
    fleet_counters(grid)
    fleet_inventory(grid)
    fleet_breakdowns(grid)
    fleet_tasks(grid)
    fleet_disks(grid)
    fleet_backups(grid)
    fleet_locks_and_migrations(grid)
    return dashboard(
        FLEET_UID,
        "OVH VPS / Fleet overview",
        "State, size, places, tasks, disks, backups and locks of every OVHcloud VPS the exporter"
        " sees.",
        grid,
        [account_variable("ovh_vps_info")],
    )


def fleet_counters(grid: Layout) -> None:
    """Add the fleet's headline numbers."""
    grid.row("Fleet")
    alarm = thresholds(GREEN, (1, RED))
    notice = thresholds(GREEN, (1, ORANGE))
    counters = [
        ("VPS", f"count(ovh_vps_info{{{ACCOUNTS}}})", "VPS seen by the exporter.", None),
        (
            "Running",
            f'sum(ovh_vps_state{{{ACCOUNTS}, state="running"}})',
            "VPS in state running.",
            None,
        ),
        (
            "Not running",
            f'sum(ovh_vps_state{{{ACCOUNTS}, state!="running"}})',
            "VPS in any other state, planned (installing, rebooting...) or not.",
            alarm,
        ),
        (
            "In rescue mode",
            f"sum(ovh_vps_rescue_mode{{{ACCOUNTS}}})",
            "VPS whose netboot is set to rescue.",
            notice,
        ),
        ("Locked", f"sum(ovh_vps_locked{{{ACCOUNTS}}})", "VPS locked by OVHcloud.", notice),
        (
            "Tasks in error",
            f'sum(ovh_vps_tasks{{{ACCOUNTS}, state="error"}}) or vector(0)',
            "Tasks OVHcloud reports in state error.",
            alarm,
        ),
        ("vCores", f"sum(ovh_vps_vcores{{{ACCOUNTS}}})", "vCores of all VPS.", None),
        (
            "Open tasks",
            f"sum(ovh_vps_tasks{{{ACCOUNTS}}}) or vector(0)",
            "Tasks neither done nor cancelled.",
            None,
        ),
        (
            "Without automated backup",
            f"count(ovh_vps_automated_backup_enabled{{{ACCOUNTS}}} == 0) or vector(0)",
            "VPS without the automated backup option.",
            notice,
        ),
        (
            "Expiring within 30 days",
            f"count(ovh_vps_expiration_timestamp_seconds{{{ACCOUNTS}}} - time() < 30 * {DAY})"
            " or vector(0)",
            "Services whose expiration date is less than 30 days away.",
            notice,
        ),
    ]
    for title, expr, description, colours in counters:
        grid.add(stat(title, expr, description, colour_thresholds=colours), 4, 4)
    grid.add(
        stat(
            "Memory",
            f"sum(ovh_vps_memory_bytes{{{ACCOUNTS}}})",
            "Memory of all VPS.",
            unit="bytes",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Disks over 90 %",
            f"count(({disk_ratio(ACCOUNTS)}) > 0.9) or vector(0)",
            "Disks whose used space is over 90 %; 30 minutes of it raise OvhVpsDiskNearlyFull.",
            colour_thresholds=notice,
        ),
        4,
        4,
    )


def fleet_inventory(grid: Layout) -> None:
    """Add the table of every VPS."""
    grid.row("Inventory")
    inventory = [
        query(
            "max by (account, vps, display_name, model, offer, zone, version)"
            f" (ovh_vps_info{{{ACCOUNTS}}})",
            ref="A",
            table=True,
        ),
        query(
            f"max by (account, vps, state) (ovh_vps_state{{{ACCOUNTS}}} == 1)", ref="B", table=True
        ),
        query(f"max by (account, vps) (ovh_vps_vcores{{{ACCOUNTS}}})", ref="C", table=True),
        query(f"max by (account, vps) (ovh_vps_memory_bytes{{{ACCOUNTS}}})", ref="D", table=True),
        query(f"max by (account, vps) (ovh_vps_rescue_mode{{{ACCOUNTS}}})", ref="E", table=True),
        query(f"max by (account, vps) (ovh_vps_locked{{{ACCOUNTS}}})", ref="F", table=True),
        query(
            f"max by (account, vps) (ovh_vps_automated_backup_enabled{{{ACCOUNTS}}})",
            ref="G",
            table=True,
        ),
        query(
            f"max by (account, vps) (ovh_vps_expiration_timestamp_seconds{{{ACCOUNTS}}}) * 1000",
            ref="H",
            table=True,
        ),
        query(
            f"max by (account, vps, datacenter) (ovh_vps_location_info{{{ACCOUNTS}}})",
            ref="I",
            table=True,
        ),
        query(
            f"max by (account, vps, name) (ovh_vps_distribution_info{{{ACCOUNTS}}})",
            ref="J",
            table=True,
        ),
    ]
    grid.add(
        table(
            "VPS",
            inventory,
            "One line per VPS; click a VPS name to open its dashboard.",
            hidden=("Value #A", "Value #B", "Value #I", "Value #J"),
            sort_by=("vps", False),
            overrides=[
                override("vps", links=vps_link()),
                override(
                    "state",
                    mappings=value_text(
                        {state: (state, colour) for state, colour in STATE_COLOURS.items()}
                    ),
                    **COLOUR_TEXT,
                ),
                override("Value #C", displayName="vCores"),
                override("Value #D", displayName="Memory", unit="bytes"),
                override(
                    "Value #E",
                    displayName="Rescue",
                    mappings=yes_no(("rescue", ORANGE), ("no", GREEN)),
                    **COLOUR_TEXT,
                ),
                override(
                    "Value #F",
                    displayName="Locked",
                    mappings=yes_no(("locked", ORANGE), ("no", GREEN)),
                    **COLOUR_TEXT,
                ),
                override(
                    "Value #G",
                    displayName="Automated backup",
                    mappings=yes_no(("on", GREEN), ("off", ORANGE)),
                    **COLOUR_TEXT,
                ),
                override("Value #H", displayName="Expires", unit="dateTimeAsIso"),
                override("name", displayName="OS"),
            ],
        ),
        24,
        10,
    )


def fleet_breakdowns(grid: Layout) -> None:
    """Add the VPS counted by state, model, account, zone, datacenter and OS."""
    grid.row("States, models and places")
    grid.add(
        timeseries(
            "VPS by state",
            [query(f"sum by (state) (ovh_vps_state{{{ACCOUNTS}}})", "{{state}}")],
            "How many VPS were in each state over time.",
            stacked=True,
        ),
        12,
        8,
    )
    for title, expr, legend, description, width in (
        (
            "VPS by model",
            f"count by (model) (ovh_vps_info{{{ACCOUNTS}}})",
            "{{model}}",
            "VPS per model.",
            6,
        ),
        (
            "VPS by account",
            f"count by (account) (ovh_vps_info{{{ACCOUNTS}}})",
            "{{account}}",
            "VPS per account of the exporter's configuration.",
            6,
        ),
        (
            "VPS by zone",
            f"count by (zone) (ovh_vps_info{{{ACCOUNTS}}})",
            "{{zone}}",
            "VPS per OpenStack zone.",
            8,
        ),
        (
            "VPS by datacenter",
            f"count by (datacenter, country) (ovh_vps_location_info{{{ACCOUNTS}}})",
            "{{datacenter}} ({{country}})",
            "VPS per datacenter, from /vps/{serviceName}/datacenter.",
            8,
        ),
        (
            "VPS by operating system",
            f"count by (name) (ovh_vps_distribution_info{{{ACCOUNTS}}})",
            "{{name}}",
            "VPS per installed OS template; a VPS installed from an image has none.",
            8,
        ),
    ):
        grid.add(piechart(title, expr, legend, description), width, 8)


def fleet_tasks(grid: Layout) -> None:
    """Add the fleet's open and failed tasks."""
    grid.row("Tasks")
    grid.add(
        timeseries(
            "Open tasks by type",
            [query(f"sum by (type) (ovh_vps_tasks{{{ACCOUNTS}}})", "{{type}}")],
            "Tasks neither done nor cancelled, by type.",
            stacked=True,
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Tasks newly seen in error",
            [
                query(
                    f"sum by (type) (increase(ovh_vps_task_errors_total{{{ACCOUNTS}}}[1h]))",
                    "{{type}}",
                )
            ],
            "Tasks seen in state error for the first time, over the past hour.",
        ),
        8,
        8,
    )
    grid.add(
        table(
            "Oldest open tasks",
            [
                query(
                    "time() - min by (account, vps, state, type)"
                    f" (ovh_vps_task_oldest_timestamp_seconds{{{ACCOUNTS}}})",
                    table=True,
                )
            ],
            "Age of the oldest open task per VPS, state and type; todo or doing past 3 hours"
            " raises OvhVpsTaskRunningForHours.",
            unit="s",
            sort_by=("Value", True),
            colour_thresholds=thresholds(GREEN, (3 * HOUR, ORANGE)),
            overrides=[
                override("vps", links=vps_link()),
                override("Value", displayName="Age", **COLOUR_TEXT),
            ],
        ),
        8,
        8,
    )


def fleet_disks(grid: Layout) -> None:
    """Add disk usage, for the VPS whose usage OVH reports."""
    grid.row("Disks")
    grid.add(
        bargauge(
            "Fullest disks",
            f"sort_desc(topk(15, {disk_ratio(ACCOUNTS)}))",
            "{{vps}} {{disk}}",
            "Used share of each disk as OVHcloud measures it; a VPS without per-disk figures"
            " shows the manager's figure for all its disks. Over 90 % for 30 minutes raises"
            " OvhVpsDiskNearlyFull.",
            unit="percentunit",
            colour_thresholds=DISK_COLOURS,
        ),
        12,
        8,
    )
    grid.add(
        table(
            "Disk space by VPS",
            [
                query(vps_disk_space("used", ACCOUNTS), ref="A", table=True),
                query(vps_disk_space("size", ACCOUNTS), ref="B", table=True),
                query(vps_disk_ratio(ACCOUNTS), ref="C", table=True),
            ],
            "All the disks of each VPS together, where OVHcloud reports their use.",
            sort_by=("Used share", True),
            overrides=[
                override("vps", links=vps_link()),
                override("Value #A", displayName="Used", unit="bytes"),
                override("Value #B", displayName="Size", unit="bytes"),
                override(
                    "Value #C",
                    displayName="Used share",
                    unit="percentunit",
                    thresholds=DISK_COLOURS,
                    **COLOUR_TEXT,
                ),
            ],
        ),
        12,
        8,
    )


def fleet_backups(grid: Layout) -> None:
    """Add automated backup, Veeam, snapshot and FTP backup freshness and space."""
    grid.row("Backups")
    grid.add(
        bargauge(
            "Age of the newest restore point",
            "sort_desc(time() - max by (account, vps)"
            f" (ovh_vps_automated_backup_last_restore_point_timestamp_seconds{{{ACCOUNTS}}}))",
            "{{vps}}",
            "Past 36 hours raises OvhVpsAutomatedBackupRestorePointTooOld.",
            unit="s",
            colour_thresholds=BACKUP_AGE_COLOURS,
        ),
        12,
        8,
    )
    grid.add(
        table(
            "VPS without automated backup",
            [
                query(
                    f"max by (account, vps) (ovh_vps_automated_backup_enabled{{{ACCOUNTS}}}) == 0",
                    table=True,
                )
            ],
            "VPS that nothing restores if their disk is lost.",
            hidden=("Value",),
            overrides=[override("vps", links=vps_link())],
        ),
        12,
        8,
    )
    newest = {
        "A": ("Automated backup", "ovh_vps_automated_backup_last_restore_point_timestamp_seconds"),
        "B": ("Veeam", "ovh_vps_veeam_last_restore_point_timestamp_seconds"),
        "C": ("Snapshot", "ovh_vps_snapshot_creation_timestamp_seconds"),
    }
    grid.add(
        table(
            "Age of the newest backup of each kind",
            [
                query(
                    f"time() - max by (account, vps) ({metric}{{{ACCOUNTS}}})", ref=ref, table=True
                )
                for ref, (_, metric) in newest.items()
            ],
            "How old the newest automated backup restore point, Veeam restore point and"
            " snapshot of each VPS are; empty where the VPS has none.",
            unit="s",
            sort_by=("Automated backup", True),
            colour_thresholds=BACKUP_AGE_COLOURS,
            overrides=[
                override("vps", links=vps_link()),
                *(
                    override(f"Value #{ref}", displayName=name, **COLOUR_TEXT)
                    for ref, (name, _) in newest.items()
                ),
            ],
        ),
        12,
        8,
    )
    grid.add(
        table(
            "FTP backup space",
            [
                query(
                    f"max by (account, vps) (ovh_vps_backup_ftp_usage_bytes{{{ACCOUNTS}}})",
                    ref="A",
                    table=True,
                ),
                query(
                    f"max by (account, vps) (ovh_vps_backup_ftp_quota_bytes{{{ACCOUNTS}}})",
                    ref="B",
                    table=True,
                ),
                query(
                    f"max by (account, vps) (ovh_vps_backup_ftp_usage_bytes{{{ACCOUNTS}}}"
                    f" / (ovh_vps_backup_ftp_quota_bytes{{{ACCOUNTS}}} > 0))",
                    ref="C",
                    table=True,
                ),
                query(
                    "max by (account, vps)"
                    f" (ovh_vps_backup_ftp_read_only_since_timestamp_seconds{{{ACCOUNTS}}}) * 1000",
                    ref="D",
                    table=True,
                ),
            ],
            "The FTP backup space of each VPS that has one; past its quota it turns read-only.",
            sort_by=("Used share", True),
            overrides=[
                override("vps", links=vps_link()),
                override("Value #A", displayName="Used", unit="bytes"),
                override("Value #B", displayName="Quota", unit="bytes"),
                override(
                    "Value #C",
                    displayName="Used share",
                    unit="percentunit",
                    thresholds=DISK_COLOURS,
                    **COLOUR_TEXT,
                ),
                override("Value #D", displayName="Read-only since", unit="dateTimeAsIso"),
            ],
        ),
        12,
        8,
    )


def fleet_locks_and_migrations(grid: Layout) -> None:
    """Add why VPS are locked and which migrations OVHcloud offers or runs."""
    grid.row("Locks and migrations")
    grid.add(
        table(
            "Locked VPS",
            [query(f"max by (account, vps, reason) (ovh_vps_lock_info{{{ACCOUNTS}}})", table=True)],
            "VPS OVHcloud has locked, with the reason it gives; 15 minutes raise OvhVpsLocked.",
            hidden=("Value",),
            overrides=[override("vps", links=vps_link())],
        ),
        8,
        8,
    )
    grid.add(
        table(
            "Migrations",
            [
                query(
                    "max by (account, vps, migration, status) (ovh_vps_migration_status"
                    f'{{{ACCOUNTS}, status!="notAvailable"}} == 1)',
                    ref="A",
                    table=True,
                ),
                query(
                    "max by (account, vps, migration)"
                    f" (ovh_vps_migration_date_timestamp_seconds{{{ACCOUNTS}}}) * 1000",
                    ref="B",
                    table=True,
                ),
            ],
            "Migrations to a newer range that OVHcloud offers, plans or runs for each VPS.",
            hidden=("Value #A",),
            sort_by=("Planned start", False),
            overrides=[
                override("vps", links=vps_link()),
                override("Value #B", displayName="Planned start", unit="dateTimeAsIso"),
            ],
        ),
        16,
        8,
    )


def one_vps() -> JSON:
    """Return the dashboard of one VPS."""
    grid = Layout()
    vps_overview(grid)
    vps_tasks(grid)
    vps_disks(grid)
    vps_network(grid)
    vps_options(grid)
    vps_backups(grid)
    vps_billing(grid)
    return dashboard(
        VPS_UID,
        "OVH VPS / VPS",
        "State, place, tasks, disks, network, options, backups and billing of one OVHcloud VPS.",
        grid,
        [
            account_variable("ovh_vps_info", multi=False),
            query_variable(
                "vps",
                "VPS",
                'label_values(ovh_vps_info{account="$account"}, vps)',
                multi=False,
            ),
        ],
    )


def vps_overview(grid: Layout) -> None:
    """Add the VPS's state, size, place and system."""
    grid.row("VPS")
    grid.add(
        stat(
            "State",
            f"ovh_vps_state{{{ONE_VPS}}} == 1",
            "Current state reported by OVHcloud.",
            legend="{{state}}",
            text_mode="name",
            name_colours=STATE_COLOURS,
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Service status",
            f"ovh_vps_service_status{{{ONE_VPS}}} == 1",
            "Billing status of the service.",
            legend="{{status}}",
            text_mode="name",
            name_colours=STATUS_COLOURS,
        ),
        4,
        4,
    )
    grid.add(stat("vCores", f"ovh_vps_vcores{{{ONE_VPS}}}", "vCores of the VPS."), 4, 4)
    grid.add(
        stat("Memory", f"ovh_vps_memory_bytes{{{ONE_VPS}}}", "Memory of the VPS.", unit="bytes"),
        4,
        4,
    )
    grid.add(
        flag_stat(
            "Rescue mode",
            f"ovh_vps_rescue_mode{{{ONE_VPS}}}",
            "Whether the VPS boots the rescue system.",
            ("RESCUE", ORANGE),
            ("no", GREEN),
        ),
        4,
        4,
    )
    grid.add(
        flag_stat(
            "Locked",
            f"ovh_vps_locked{{{ONE_VPS}}}",
            "Whether OVHcloud has locked the VPS.",
            ("LOCKED", ORANGE),
            ("no", GREEN),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Datacenter",
            f"ovh_vps_location_info{{{ONE_VPS}}}",
            "Where the VPS runs.",
            legend="{{long_name}} ({{country}})",
            text_mode="name",
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "Operating system",
            f"ovh_vps_distribution_info{{{ONE_VPS}}}",
            "The OS template installed; none for a VPS installed from an image.",
            legend="{{name}}",
            text_mode="name",
            no_value="own image",
        ),
        6,
        4,
    )
    grid.add(
        flag_stat(
            "SLA monitoring",
            f"ovh_vps_sla_monitoring{{{ONE_VPS}}}",
            "Whether OVHcloud's SLA monitoring watches the VPS.",
            ("on", GREEN),
            ("off", BLUE),
        ),
        4,
        4,
    )
    grid.add(
        flag_stat(
            "Service expired (HTTP 460)",
            f"ovh_vps_service_expired{{{ONE_VPS}}}",
            "EXPIRED when OVH answers HTTP 460 for the VPS: the service expired and is"
            " suspended; 15 minutes raise OvhVpsServiceExpired.",
            ("EXPIRED", RED),
            ("no", GREEN),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Lock reason",
            f"ovh_vps_lock_info{{{ONE_VPS}}} or on (account, vps)"
            f" label_replace(ovh_vps_locked{{{ONE_VPS}}} == 0, "
            '"reason", "not locked", "", "")',
            "Why OVHcloud has locked the VPS, when it has.",
            legend="{{reason}}",
            text_mode="name",
        ),
        4,
        4,
    )
    grid.add(
        table(
            "Details",
            [query(f"ovh_vps_info{{{ONE_VPS}}}", table=True)],
            "Labels of ovh_vps_info.",
            hidden=("Value",),
        ),
        24,
        3,
    )
    grid.add(
        state_timeline(
            "State history",
            f"ovh_vps_state{{{ONE_VPS}}} == 1",
            "{{state}}",
            "Which state the VPS was in over time.",
            overrides=state_overrides(),
        ),
        24,
        5,
    )


def vps_tasks(grid: Layout) -> None:
    """Add the VPS's open tasks, their age, errors and the operations the manager sees running."""
    grid.row("Tasks")
    grid.add(
        timeseries(
            "Open tasks",
            [query(f"ovh_vps_tasks{{{ONE_VPS}}}", "{{type}} ({{state}})")],
            "Tasks neither done nor cancelled, by type and state.",
            stacked=True,
        ),
        8,
        8,
    )
    grid.add(
        table(
            "Oldest open task",
            [query(f"time() - ovh_vps_task_oldest_timestamp_seconds{{{ONE_VPS}}}", table=True)],
            "Age of the oldest open task per state and type.",
            unit="s",
            hidden=("account", "vps"),
            colour_thresholds=thresholds(GREEN, (3 * HOUR, ORANGE)),
            overrides=[override("Value", displayName="Age")],
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Tasks newly seen in error",
            [query(f"increase(ovh_vps_task_errors_total{{{ONE_VPS}}}[1h])", "{{type}}")],
            "Tasks seen in state error for the first time, over the past hour.",
        ),
        8,
        8,
    )
    grid.add(
        flag_stat(
            "Upgrade under way",
            f"ovh_vps_upgrade_in_progress{{{ONE_VPS}}}",
            "Whether the manager lists an uncompleted upgradeVm task.",
            ("upgrading", BLUE),
            ("no", GREEN),
        ),
        6,
        3,
    )
    grid.add(
        flag_stat(
            "Migration under way",
            f"ovh_vps_migration_in_progress{{{ONE_VPS}}}",
            "Whether the manager lists an uncompleted migrate task.",
            ("migrating", BLUE),
            ("no", GREEN),
        ),
        6,
        3,
    )
    grid.add(
        stat(
            "Migration offer",
            f"ovh_vps_migration_status{{{ONE_VPS}}} == 1",
            "Status of the migration to a newer range OVHcloud offers for this VPS.",
            legend="{{migration}}: {{status}}",
            text_mode="name",
        ),
        6,
        3,
    )
    grid.add(
        stat(
            "Migration planned for",
            f"ovh_vps_migration_date_timestamp_seconds{{{ONE_VPS}}} * 1000",
            "Planned start of the migration, when one is planned.",
            unit="dateTimeAsIso",
            no_value="none",
        ),
        6,
        3,
    )


def vps_disks(grid: Layout) -> None:
    """Add the VPS's disks, their state and their use."""
    grid.row("Disks")
    grid.add(
        table(
            "Disks",
            [
                query(
                    f"max by (account, vps, disk, type) (ovh_vps_disk_info{{{ONE_VPS}}})",
                    ref="A",
                    table=True,
                ),
                query(
                    f"max by (account, vps, disk, state) (ovh_vps_disk_state{{{ONE_VPS}}} == 1)",
                    ref="B",
                    table=True,
                ),
                query(
                    f"max by (account, vps, disk) (ovh_vps_disk_size_bytes{{{ONE_VPS}}})",
                    ref="C",
                    table=True,
                ),
                query(
                    f"max by (account, vps, disk) (ovh_vps_disk_used_bytes{{{ONE_VPS}}})",
                    ref="D",
                    table=True,
                ),
                query(
                    f"max by (account, vps, disk) (ovh_vps_disk_used_bytes{{{ONE_VPS}}}"
                    f" / (ovh_vps_disk_size_bytes{{{ONE_VPS}}} > 0))",
                    ref="E",
                    table=True,
                ),
            ],
            "Each disk of the VPS; used space as OVHcloud measures it, empty where it has no"
            " figure. Over 90 % for 30 minutes raises OvhVpsDiskNearlyFull.",
            hidden=("account", "vps", "Value #A", "Value #B"),
            overrides=[
                override("Value #C", displayName="Size", unit="bytes"),
                override("Value #D", displayName="Used", unit="bytes"),
                override(
                    "Value #E",
                    displayName="Used share",
                    unit="percentunit",
                    thresholds=DISK_COLOURS,
                    **COLOUR_TEXT,
                ),
            ],
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Disk space",
            [
                query(f"ovh_vps_disk_used_bytes{{{ONE_VPS}}}", "disk {{disk}}", ref="A"),
                query(
                    f"ovh_vps_manager_disk_used_bytes{{{ONE_VPS}}}",
                    "all disks, by the manager",
                    ref="B",
                ),
                query(
                    f"ovh_vps_manager_disk_size_bytes{{{ONE_VPS}}}",
                    "size, by the manager",
                    ref="C",
                ),
            ],
            "Used space of each disk, and of the whole VPS as the manager shows it.",
            unit="bytes",
        ),
        12,
        8,
    )


def vps_network(grid: Layout) -> None:
    """Add the VPS's IPs, reverse DNS, secondary DNS and traffic."""
    grid.row("Network")
    grid.add(
        table(
            "IPs",
            [query(f"max by (version, type) (ovh_vps_ips{{{ONE_VPS}}})", table=True)],
            "IPs of the VPS by version and type.",
            overrides=[override("Value", displayName="IPs")],
        ),
        8,
        6,
    )
    grid.add(
        stat(
            "Additional IPs allowed",
            f"ovh_vps_maximum_additional_ips{{{ONE_VPS}}}",
            "Additional IPs the model of the VPS allows.",
        ),
        4,
        6,
    )
    grid.add(
        flag_stat(
            "Another IPv4 can be ordered",
            f"ovh_vps_can_get_more_ipv4{{{ONE_VPS}}}",
            "Whether the manager offers another IPv4 for the VPS.",
            ("yes", GREEN),
            ("no", BLUE),
        ),
        4,
        6,
    )
    grid.add(
        flag_stat(
            "Reverse DNS of the primary IPv4",
            f"ovh_vps_primary_ipv4_reverse_set{{{ONE_VPS}}}",
            "Whether the primary IPv4 has a reverse DNS name; mail servers want one.",
            ("set", GREEN),
            ("none", ORANGE),
        ),
        4,
        6,
    )
    grid.add(
        stat(
            "Secondary DNS domains",
            f"ovh_vps_secondary_dns_domains{{{ONE_VPS}}}",
            "Domains OVH's secondary DNS serves for the VPS.",
        ),
        4,
        6,
    )
    grid.add(
        table(
            "IPs in the manager",
            [
                query(f"max by (version) (ovh_vps_manager_ips{{{ONE_VPS}}})", ref="A", table=True),
                query(
                    f"max by (version) (ovh_vps_manager_ips_max{{{ONE_VPS}}})", ref="B", table=True
                ),
            ],
            "IPs of each version as the manager counts them, and the most the VPS can have.",
            overrides=[
                override("Value #A", displayName="IPs"),
                override("Value #B", displayName="At most"),
            ],
        ),
        8,
        6,
    )
    grid.add(
        stat(
            "Traffic used",
            f"ovh_vps_traffic_used_bytes{{{ONE_VPS}}}",
            "Network traffic counted against the quota, as the manager shows it.",
            unit="bytes",
        ),
        8,
        6,
    )
    grid.add(
        stat(
            "Traffic quota",
            f"ovh_vps_traffic_quota_bytes{{{ONE_VPS}}}",
            "Network traffic quota of the VPS; none means unlimited.",
            unit="bytes",
            no_value="unlimited",
        ),
        8,
        6,
    )


def vps_options(grid: Layout) -> None:
    """Add the options the VPS has subscribed, and those the manager offers or shows active."""
    grid.row("Options")
    grid.add(
        table(
            "Options",
            [query(f"max by (option) (ovh_vps_option_subscribed{{{ONE_VPS}}})", table=True)],
            "Options of the VPS by the API v1: subscribed or not.",
            overrides=[
                override(
                    "Value",
                    displayName="Subscribed",
                    mappings=yes_no(("yes", GREEN), ("no", BLUE)),
                    **COLOUR_TEXT,
                )
            ],
        ),
        12,
        7,
    )
    grid.add(
        table(
            "Options in the manager",
            [
                query(
                    f"max by (option) (ovh_vps_option_available{{{ONE_VPS}}})", ref="A", table=True
                ),
                query(
                    f"max by (option) (ovh_vps_option_activated{{{ONE_VPS}}})", ref="B", table=True
                ),
            ],
            "Options as the manager shows them: offered for this VPS, and active on it.",
            overrides=[
                override(
                    "Value #A",
                    displayName="Offered",
                    mappings=yes_no(("yes", GREEN), ("no", BLUE)),
                    **COLOUR_TEXT,
                ),
                override(
                    "Value #B",
                    displayName="Active",
                    mappings=yes_no(("yes", GREEN), ("no", BLUE)),
                    **COLOUR_TEXT,
                ),
            ],
        ),
        12,
        7,
    )


def vps_backups(grid: Layout) -> None:
    """Add the VPS's automated backup, snapshot, Veeam and FTP backup."""
    grid.row("Backups and snapshot")
    grid.add(
        flag_stat(
            "Automated backup",
            f"ovh_vps_automated_backup_enabled{{{ONE_VPS}}}",
            "Whether the automated backup option is on.",
            ("on", GREEN),
            ("off", ORANGE),
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "Newest restore point",
            f"ovh_vps_automated_backup_last_restore_point_timestamp_seconds{{{ONE_VPS}}} * 1000",
            "Date of the newest restore point.",
            unit="dateTimeAsIso",
            no_value="none",
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "Age of the newest restore point",
            f"time() - ovh_vps_automated_backup_last_restore_point_timestamp_seconds{{{ONE_VPS}}}",
            "Past 36 hours raises OvhVpsAutomatedBackupRestorePointTooOld.",
            unit="s",
            colour_thresholds=BACKUP_AGE_COLOURS,
            no_value="none",
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "Restore points",
            f"ovh_vps_automated_backup_restore_points{{{ONE_VPS}}}",
            "Restore points by state.",
            legend="{{state}}",
            text_mode="value_and_name",
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "Restore points kept",
            f"ovh_vps_automated_backup_rotation{{{ONE_VPS}}}",
            "How many daily restore points the automated backup keeps.",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Daily backup at",
            f"ovh_vps_automated_backup_schedule_seconds{{{ONE_VPS}}}",
            "Time of day of the automated backup, as OVHcloud writes it.",
            unit="clocks",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Attached backups",
            f"ovh_vps_automated_backup_attached_backups{{{ONE_VPS}}}",
            "Restore points attached to the VPS for browsing.",
        ),
        4,
        4,
    )
    grid.add(
        flag_stat(
            "Snapshot",
            f"ovh_vps_snapshot_present{{{ONE_VPS}}}",
            "Whether the VPS has a snapshot.",
            ("yes", GREEN),
            ("none", BLUE),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Snapshot taken",
            f"ovh_vps_snapshot_creation_timestamp_seconds{{{ONE_VPS}}} * 1000",
            "When the snapshot was taken.",
            unit="dateTimeAsIso",
            no_value="none",
        ),
        8,
        4,
    )
    grid.add(
        flag_stat(
            "Veeam backup",
            f"ovh_vps_veeam_enabled{{{ONE_VPS}}}",
            "Whether the Veeam backup of the VPS is on.",
            ("on", GREEN),
            ("off", BLUE),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Veeam restore points",
            f"ovh_vps_veeam_restore_points{{{ONE_VPS}}}",
            "Veeam restore points of the VPS.",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Newest Veeam restore point",
            f"ovh_vps_veeam_last_restore_point_timestamp_seconds{{{ONE_VPS}}} * 1000",
            "When the newest Veeam restore point was made.",
            unit="dateTimeAsIso",
            no_value="none",
        ),
        8,
        4,
    )
    grid.add(
        stat(
            "Age of the newest Veeam restore point",
            f"time() - ovh_vps_veeam_last_restore_point_timestamp_seconds{{{ONE_VPS}}}",
            "How old the newest Veeam restore point is.",
            unit="s",
            colour_thresholds=BACKUP_AGE_COLOURS,
            no_value="none",
        ),
        8,
        4,
    )
    grid.add(
        stat(
            "FTP backup used",
            f"ovh_vps_backup_ftp_usage_bytes{{{ONE_VPS}}}",
            "Space used on the VPS's FTP backup.",
            unit="bytes",
            no_value="no FTP backup",
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "FTP backup quota",
            f"ovh_vps_backup_ftp_quota_bytes{{{ONE_VPS}}}",
            "Space of the VPS's FTP backup.",
            unit="bytes",
            no_value="no FTP backup",
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "FTP backup used share",
            f"ovh_vps_backup_ftp_usage_bytes{{{ONE_VPS}}}"
            f" / ovh_vps_backup_ftp_quota_bytes{{{ONE_VPS}}}",
            "Past its quota the FTP backup turns read-only.",
            unit="percentunit",
            colour_thresholds=DISK_COLOURS,
            no_value="no FTP backup",
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "FTP backup read-only since",
            f"ovh_vps_backup_ftp_read_only_since_timestamp_seconds{{{ONE_VPS}}} * 1000",
            "Since when the FTP backup refuses writes for exceeding its quota.",
            unit="dateTimeAsIso",
            colour_thresholds=thresholds(RED),
            no_value="writable",
        ),
        6,
        4,
    )


def key_dates(selector: str) -> str:
    """PromQL for the billing dates of one VPS, one series per date named in label ``date``."""
    dates = {
        "service created": "ovh_vps_service_creation_timestamp_seconds",
        "next billing": "ovh_vps_service_next_billing_timestamp_seconds",
        "expiration": "ovh_vps_expiration_timestamp_seconds",
        "termination": "ovh_vps_service_termination_timestamp_seconds",
        "engaged until (serviceInfos)": "ovh_vps_engaged_up_to_timestamp_seconds",
        "engagement end (services)": "ovh_vps_service_engagement_end_timestamp_seconds",
    }
    series = " or ".join(
        f'label_replace({metric}{{{selector}}}, "date", "{name}", "", "")'
        for name, metric in dates.items()
    )
    return f"max by (date) ({series})"


def vps_billing(grid: Layout) -> None:
    """Add the VPS's renewal, price, lifecycle, pending actions and key dates."""
    grid.row("Billing")
    grid.add(
        stat(
            "Expires",
            f"ovh_vps_expiration_timestamp_seconds{{{ONE_VPS}}} * 1000",
            "Expiration date of the service.",
            unit="dateTimeAsIso",
        ),
        5,
        4,
    )
    grid.add(
        stat(
            "Time left",
            f"ovh_vps_expiration_timestamp_seconds{{{ONE_VPS}}} - time()",
            "Time left before expiration.",
            unit="s",
            colour_thresholds=thresholds(RED, (7 * DAY, ORANGE), (30 * DAY, GREEN)),
        ),
        5,
        4,
    )
    grid.add(
        flag_stat(
            "Automatic renewal",
            f"ovh_vps_renew_automatic{{{ONE_VPS}}}",
            "Whether the service renews automatically.",
            ("on", GREEN),
            ("off", ORANGE),
        ),
        5,
        4,
    )
    grid.add(
        flag_stat(
            "Delete at expiration",
            f"ovh_vps_delete_at_expiration{{{ONE_VPS}}}",
            "Whether a termination at expiration was requested.",
            ("DELETE", RED),
            ("no", GREEN),
        ),
        5,
        4,
    )
    grid.add(
        stat(
            "Engaged until",
            f"ovh_vps_engaged_up_to_timestamp_seconds{{{ONE_VPS}}} * 1000",
            "End of the commitment period, if any.",
            unit="dateTimeAsIso",
            no_value="not engaged",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Price per month",
            f"ovh_vps_service_monthly_price{{{ONE_VPS}}}",
            "Price of the VPS's plan per month, in the account's currency.",
            legend="{{currency}}",
            text_mode="value_and_name",
            decimals=2,
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Plan",
            f"ovh_vps_service_info{{{ONE_VPS}}}",
            "Plan code and service id of the VPS's subscription.",
            legend="{{plan_code}} (service {{service_id}})",
            text_mode="name",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Renewal",
            f"ovh_vps_service_renew_mode{{{ONE_VPS}}} == 1",
            "Renewal mode of the subscription.",
            legend="{{mode}}",
            text_mode="name",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Renewal period in months",
            f"ovh_vps_service_renew_period_seconds{{{ONE_VPS}}} / {MONTH}",
            "How long each renewal extends the service.",
            decimals=0,
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Lifecycle",
            f"ovh_vps_service_lifecycle_state{{{ONE_VPS}}} == 1",
            "Lifecycle state of the subscription.",
            legend="{{state}}",
            text_mode="name",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "At the end of the engagement",
            f"ovh_vps_service_engagement_end_strategy{{{ONE_VPS}}} == 1",
            "What OVHcloud does when the engagement ends.",
            legend="{{strategy}}",
            text_mode="name",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Pending actions",
            f"ovh_vps_service_pending_action{{{ONE_VPS}}}",
            "Actions OVHcloud will carry out on the subscription; a terminate action raises"
            " OvhVpsPendingTermination or OvhVpsDeleteAtExpiration.",
            legend="{{action}}",
            mappings=yes_no(("PENDING", ORANGE), ("no", GREEN)),
            text_mode="value_and_name",
        ),
        8,
        6,
    )
    grid.add(
        flag_stat(
            "Re-engagement suggested",
            f"ovh_vps_should_reengage{{{ONE_VPS}}}",
            "Whether the manager invites renewing the commitment.",
            ("yes", ORANGE),
            ("no", GREEN),
        ),
        4,
        6,
    )
    dates = key_dates(ONE_VPS)
    grid.add(
        table(
            "Billing dates",
            [
                query(f"{dates} * 1000", ref="A", table=True),
                query(f"{dates} - time()", ref="B", table=True),
            ],
            "Every date of the subscription that OVHcloud gives, soonest first.",
            sort_by=("Date", False),
            overrides=[
                override("Value #A", displayName="Date", unit="dateTimeAsIso"),
                override("Value #B", displayName="From now", unit="s"),
            ],
        ),
        12,
        6,
    )


def billing() -> JSON:
    """Return the billing and renewals dashboard."""
    grid = Layout()
    billing_summary(grid)
    billing_timeline(grid)
    billing_decisions(grid)
    billing_cost(grid)
    billing_payment_methods(grid)
    billing_status(grid)
    return dashboard(
        BILLING_UID,
        "OVH VPS / Billing and renewals",
        "Expiration dates, renewals, terminations, engagements, cost, payment methods and billing"
        " status of every VPS.",
        grid,
        [account_variable("ovh_vps_expiration_timestamp_seconds")],
        time_from="now-7d",
    )


def billing_summary(grid: Layout) -> None:
    """Add the billing headline numbers."""
    grid.row("Summary")
    alarm = thresholds(GREEN, (1, RED))
    notice = thresholds(GREEN, (1, ORANGE))
    counters = [
        (
            "Expiring within 7 days",
            f"count(ovh_vps_expiration_timestamp_seconds{{{ACCOUNTS}}} - time() < 7 * {DAY})"
            " or vector(0)",
            alarm,
        ),
        (
            "Expiring within 30 days",
            f"count(ovh_vps_expiration_timestamp_seconds{{{ACCOUNTS}}} - time() < 30 * {DAY})"
            " or vector(0)",
            notice,
        ),
        (
            "Without automatic renewal",
            f"count(ovh_vps_renew_automatic{{{ACCOUNTS}}} == 0) or vector(0)",
            notice,
        ),
        (
            "Deleted at expiration",
            f"count(ovh_vps_delete_at_expiration{{{ACCOUNTS}}} == 1) or vector(0)",
            alarm,
        ),
        (
            "Unpaid, in debt or expired",
            f'count(ovh_vps_service_status{{{ACCOUNTS}, status=~"unPaid|pendingDebt|expired"}}'
            " == 1) or vector(0)",
            alarm,
        ),
        (
            "Engaged",
            f"count(ovh_vps_engaged_up_to_timestamp_seconds{{{ACCOUNTS}}}) or vector(0)",
            None,
        ),
        (
            "Pending terminations",
            "count(ovh_vps_service_pending_action"
            f'{{{ACCOUNTS}, action=~"terminate.*"}} == 1) or vector(0)',
            alarm,
        ),
        (
            "Answering 460 (expired)",
            f"count(ovh_vps_service_expired{{{ACCOUNTS}}} == 1) or vector(0)",
            alarm,
        ),
        (
            "Engagements ending within 30 days",
            "count(ovh_vps_service_engagement_end_timestamp_seconds"
            f"{{{ACCOUNTS}}} - time() < 30 * {DAY}) or vector(0)",
            notice,
        ),
        (
            "Payment methods expiring within 30 days",
            "count(ovh_account_payment_method_expiration_timestamp_seconds"
            f"{{{ACCOUNTS}}} - time() < 30 * {DAY}) or vector(0)",
            notice,
        ),
    ]
    for title, expr, colours in counters:
        grid.add(
            stat(title, expr, f"{title}: number of services.", colour_thresholds=colours), 4, 4
        )
    grid.add(
        stat(
            "Usable payment methods",
            f'sum by (account) (ovh_account_payment_methods{{{ACCOUNTS}, status="VALID"}})',
            "Payment methods OVHcloud can charge (status VALID), per account; none for an hour"
            " raises OvhAccountNoUsablePaymentMethod.",
            legend="{{account}}",
            text_mode="value_and_name",
            colour_thresholds=thresholds(RED, (1, GREEN)),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Monthly cost",
            f"sum by (currency) (ovh_vps_service_monthly_price{{{ACCOUNTS}}})",
            "What the VPS cost per month together, by currency.",
            legend="{{currency}}",
            text_mode="value_and_name",
            decimals=2,
        ),
        4,
        4,
    )


def billing_timeline(grid: Layout) -> None:
    """Add the expiration timeline and the table of renewals."""
    grid.row("Expiration timeline")
    grid.add(
        bargauge(
            "Time left before expiration",
            f"sort(ovh_vps_expiration_timestamp_seconds{{{ACCOUNTS}}} - time())",
            "{{vps}}",
            "Soonest first; red under 7 days, orange under 30.",
            unit="s",
            colour_thresholds=thresholds(RED, (7 * DAY, ORANGE), (30 * DAY, GREEN)),
        ),
        10,
        12,
    )
    expiration = f"max by (account, vps) (ovh_vps_expiration_timestamp_seconds{{{ACCOUNTS}}})"
    grid.add(
        table(
            "Renewals",
            [
                query(f"{expiration} * 1000", ref="A", table=True),
                query(f"{expiration} - time()", ref="B", table=True),
                query(
                    f"max by (account, vps) (ovh_vps_renew_automatic{{{ACCOUNTS}}})",
                    ref="C",
                    table=True,
                ),
                query(
                    f"max by (account, vps) (ovh_vps_delete_at_expiration{{{ACCOUNTS}}})",
                    ref="D",
                    table=True,
                ),
                query(
                    f"max by (account, vps, status) (ovh_vps_service_status{{{ACCOUNTS}}} == 1)",
                    ref="E",
                    table=True,
                ),
                query(
                    "max by (account, vps)"
                    f" (ovh_vps_engaged_up_to_timestamp_seconds{{{ACCOUNTS}}}) * 1000",
                    ref="F",
                    table=True,
                ),
                query(
                    "max by (account, vps)"
                    f" (ovh_vps_service_next_billing_timestamp_seconds{{{ACCOUNTS}}}) * 1000",
                    ref="G",
                    table=True,
                ),
                query(
                    "max by (account, vps)"
                    f" (ovh_vps_service_renew_period_seconds{{{ACCOUNTS}}}) / {MONTH}",
                    ref="H",
                    table=True,
                ),
                query(
                    "max by (account, vps)"
                    f" (ovh_vps_service_creation_timestamp_seconds{{{ACCOUNTS}}}) * 1000",
                    ref="I",
                    table=True,
                ),
            ],
            "Every service by expiration date; click a VPS to open its dashboard.",
            hidden=("Value #E",),
            sort_by=("Expires", False),
            overrides=[
                override("vps", links=vps_link()),
                override("Value #A", displayName="Expires", unit="dateTimeAsIso"),
                override(
                    "Value #B",
                    displayName="Time left",
                    unit="s",
                    thresholds=thresholds(RED, (7 * DAY, ORANGE), (30 * DAY, GREEN)),
                    **COLOUR_TEXT,
                ),
                override(
                    "Value #C",
                    displayName="Automatic renewal",
                    mappings=yes_no(("on", GREEN), ("off", ORANGE)),
                    **COLOUR_TEXT,
                ),
                override(
                    "Value #D",
                    displayName="Delete at expiration",
                    mappings=yes_no(("DELETE", RED), ("no", GREEN)),
                    **COLOUR_TEXT,
                ),
                override(
                    "status",
                    mappings=value_text(
                        {status: (status, colour) for status, colour in STATUS_COLOURS.items()}
                    ),
                    **COLOUR_TEXT,
                ),
                override("Value #F", displayName="Engaged until", unit="dateTimeAsIso"),
                override("Value #G", displayName="Next billing", unit="dateTimeAsIso"),
                override("Value #H", displayName="Renewal (months)", decimals=0),
                override("Value #I", displayName="Created", unit="dateTimeAsIso"),
            ],
        ),
        14,
        12,
    )


def billing_decisions(grid: Layout) -> None:
    """Add the services that stop or end unless someone acts, and the engagements."""
    grid.row("Services needing a decision")
    expiration = f"max by (account, vps) (ovh_vps_expiration_timestamp_seconds{{{ACCOUNTS}}})"
    for title, flag, description in (
        (
            "Without automatic renewal",
            f"ovh_vps_renew_automatic{{{ACCOUNTS}}} == 0",
            "Services that stop at expiration unless renewed by hand.",
        ),
        (
            "Deleted at expiration",
            f"ovh_vps_delete_at_expiration{{{ACCOUNTS}}} == 1",
            "Services whose termination at expiration was requested.",
        ),
    ):
        grid.add(
            table(
                title,
                [
                    query(
                        f"{expiration} * 1000 and on (account, vps) ({flag})", ref="A", table=True
                    ),
                    query(
                        f"{expiration} - time() and on (account, vps) ({flag})",
                        ref="B",
                        table=True,
                    ),
                ],
                description,
                sort_by=("Expires", False),
                overrides=[
                    override("vps", links=vps_link()),
                    override("Value #A", displayName="Expires", unit="dateTimeAsIso"),
                    override("Value #B", displayName="Time left", unit="s"),
                ],
            ),
            12,
            8,
        )
    termination = (
        f"max by (account, vps) (ovh_vps_service_termination_timestamp_seconds{{{ACCOUNTS}}})"
    )
    grid.add(
        table(
            "Pending terminations",
            [
                query(
                    "max by (account, vps, action) (ovh_vps_service_pending_action"
                    f'{{{ACCOUNTS}, action=~"terminate.*"}} == 1)',
                    ref="A",
                    table=True,
                ),
                query(f"{termination} * 1000", ref="B", table=True),
                query(f"{termination} - time()", ref="C", table=True),
            ],
            "Services OVHcloud will end, with the action pending and the date it gives;"
            " they raise OvhVpsPendingTermination or OvhVpsDeleteAtExpiration.",
            hidden=("Value #A",),
            sort_by=("Ends", False),
            overrides=[
                override("vps", links=vps_link()),
                override("Value #B", displayName="Ends", unit="dateTimeAsIso"),
                override("Value #C", displayName="Time left", unit="s"),
            ],
        ),
        12,
        8,
    )
    engaged = f"max by (account, vps) (ovh_vps_engaged_up_to_timestamp_seconds{{{ACCOUNTS}}})"
    engagement_end = (
        f"max by (account, vps) (ovh_vps_service_engagement_end_timestamp_seconds{{{ACCOUNTS}}})"
    )
    grid.add(
        table(
            "Engagement ends",
            [
                query(f"{engaged} * 1000", ref="A", table=True),
                query(f"{engaged} - time()", ref="B", table=True),
                query(f"{engagement_end} * 1000", ref="C", table=True),
                query(
                    "max by (account, vps, strategy)"
                    f" (ovh_vps_service_engagement_end_strategy{{{ACCOUNTS}}} == 1)",
                    ref="D",
                    table=True,
                ),
                query(
                    f"max by (account, vps) (ovh_vps_should_reengage{{{ACCOUNTS}}})"
                    " and on (account, vps)"
                    f" ovh_vps_service_engagement_end_strategy{{{ACCOUNTS}}}",
                    ref="E",
                    table=True,
                ),
            ],
            "Services under a commitment, when it ends and what OVHcloud does then.",
            hidden=("Value #D",),
            sort_by=("Engaged until", False),
            overrides=[
                override("vps", links=vps_link()),
                override("Value #A", displayName="Engaged until", unit="dateTimeAsIso"),
                override("Value #B", displayName="Time left", unit="s"),
                override("Value #C", displayName="Engagement ends", unit="dateTimeAsIso"),
                override("strategy", displayName="Then"),
                override(
                    "Value #E",
                    displayName="Re-engagement suggested",
                    mappings=yes_no(("yes", ORANGE), ("no", GREEN)),
                    **COLOUR_TEXT,
                ),
            ],
        ),
        12,
        8,
    )


def billing_cost(grid: Layout) -> None:
    """Add the monthly cost of the fleet by account and model."""
    grid.row("Cost")
    grid.add(
        table(
            "Monthly cost by account and model",
            [
                query(monthly_cost(ACCOUNTS, "account, model, currency"), ref="A", table=True),
                query(
                    "count by (account, model, currency) (ovh_vps_service_monthly_price"
                    f"{{{ACCOUNTS}}} * on (account, vps) group_left (model)"
                    f" max by (account, vps, model) (ovh_vps_info{{{ACCOUNTS}}}))",
                    ref="B",
                    table=True,
                ),
            ],
            "What the VPS of each model cost per month, from the prices of their plans.",
            sort_by=("Per month", True),
            overrides=[
                override("Value #A", displayName="Per month", decimals=2),
                override("Value #B", displayName="VPS", decimals=0),
            ],
        ),
        12,
        8,
    )
    grid.add(
        piechart(
            "Monthly cost by model",
            monthly_cost(ACCOUNTS, "model, currency"),
            "{{model}} ({{currency}})",
            "Share of the monthly cost of each model.",
        ),
        6,
        8,
    )
    grid.add(
        timeseries(
            "Monthly cost by account",
            [
                query(
                    f"sum by (account, currency) (ovh_vps_service_monthly_price{{{ACCOUNTS}}})",
                    "{{account}} ({{currency}})",
                )
            ],
            "What each account's VPS cost per month, over time.",
        ),
        6,
        8,
    )


def billing_payment_methods(grid: Layout) -> None:
    """Add the accounts' payment methods and when the usable ones expire."""
    grid.row("Payment methods")
    grid.add(
        table(
            "Accounts",
            [
                query(
                    f"max by (account, subsidiary, currency) (ovh_account_info{{{ACCOUNTS}}})",
                    table=True,
                )
            ],
            "Each account's OVHcloud subsidiary and currency.",
            hidden=("Value",),
        ),
        6,
        8,
    )
    grid.add(
        table(
            "Payment methods by status",
            [
                query(
                    f"sum by (account, status) (ovh_account_payment_methods{{{ACCOUNTS}}}) > 0",
                    table=True,
                )
            ],
            "Every payment method of each account, usable (VALID) or not.",
            overrides=[override("Value", displayName="Methods", decimals=0)],
        ),
        6,
        8,
    )
    method = "account, payment_method_id, payment_type"
    expiry = (
        f"max by ({method}) (ovh_account_payment_method_expiration_timestamp_seconds{{{ACCOUNTS}}})"
    )
    grid.add(
        table(
            "Usable payment methods",
            [
                query(
                    f"max by ({method}) (ovh_account_payment_method_default{{{ACCOUNTS}}})",
                    ref="A",
                    table=True,
                ),
                query(f"{expiry} * 1000", ref="B", table=True),
                query(f"{expiry} - time()", ref="C", table=True),
            ],
            "Payment methods OVHcloud can charge and when they expire; within 30 days raises"
            " OvhAccountPaymentMethodExpiringSoon.",
            sort_by=("Expires", False),
            overrides=[
                override(
                    "Value #A",
                    displayName="Default",
                    mappings=yes_no(("default", GREEN), ("other", BLUE)),
                ),
                override("Value #B", displayName="Expires", unit="dateTimeAsIso"),
                override(
                    "Value #C",
                    displayName="Time left",
                    unit="s",
                    thresholds=thresholds(RED, (30 * DAY, GREEN)),
                    **COLOUR_TEXT,
                ),
            ],
        ),
        12,
        8,
    )


def billing_status(grid: Layout) -> None:
    """Add service and lifecycle statuses, and the services OVH answers 460 for."""
    grid.row("Service status")
    status_overrides = [
        override(status, color={"mode": "fixed", "fixedColor": colour})
        for status, colour in STATUS_COLOURS.items()
    ]
    grid.add(
        piechart(
            "Services by status",
            f"sum by (status) (ovh_vps_service_status{{{ACCOUNTS}}}) > 0",
            "{{status}}",
            "Billing status of every service.",
            overrides=status_overrides,
        ),
        6,
        8,
    )
    grid.add(
        table(
            "Services whose status is not ok",
            [
                query(
                    "max by (account, vps, status)"
                    f' (ovh_vps_service_status{{{ACCOUNTS}, status!="ok"}} == 1)',
                    table=True,
                )
            ],
            "Unpaid, in debt or expired services raise OvhVpsServiceStatusNotOk.",
            hidden=("Value",),
            overrides=[override("vps", links=vps_link())],
        ),
        6,
        8,
    )
    grid.add(
        piechart(
            "Services by lifecycle state",
            f"sum by (state) (ovh_vps_service_lifecycle_state{{{ACCOUNTS}}}) > 0",
            "{{state}}",
            "Lifecycle state of every subscription, from /services.",
        ),
        6,
        8,
    )
    grid.add(
        table(
            "Services OVH answers 460 for",
            [
                query(
                    f"max by (account, vps) (ovh_vps_service_expired{{{ACCOUNTS}}}) == 1",
                    table=True,
                )
            ],
            "OVH answers HTTP 460 when a service has expired and is suspended; 15 minutes"
            " raise OvhVpsServiceExpired.",
            hidden=("Value",),
            overrides=[override("vps", links=vps_link())],
        ),
        6,
        8,
    )
    grid.add(
        timeseries(
            "Services by status over time",
            [query(f"sum by (status) (ovh_vps_service_status{{{ACCOUNTS}}})", "{{status}}")],
            "How many services had each status over time.",
            stacked=True,
            overrides=status_overrides,
        ),
        24,
        7,
    )


def exporter_health() -> JSON:
    """Return the exporter health dashboard."""
    grid = Layout()
    exporter_jobs(grid)
    exporter_access(grid)
    exporter_api(grid)
    return dashboard(
        EXPORTER_UID,
        "OVH VPS / Exporter health",
        "Refresh jobs, access to OVH, OVH API calls and parse errors of ovh-vps-exporter.",
        grid,
        [account_variable("ovh_exporter_refresh_success")],
        time_from="now-6h",
    )


def exporter_jobs(grid: Layout) -> None:
    """Add the refresh jobs' results, durations, intervals and the values kept past a failure."""
    grid.row("Refresh jobs")
    grid.add(
        stat(
            "Exporter version",
            "count by (version) (ovh_exporter_build_info)",
            "Versions of the running exporters.",
            legend="{{version}}",
            text_mode="name",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Failing refresh jobs",
            f"count(ovh_exporter_refresh_success{{{ACCOUNTS}}} == 0) or vector(0)",
            "Refresh jobs whose last run failed.",
            colour_thresholds=thresholds(GREEN, (1, RED)),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Last run",
            f"min by (account, refresh_job) (ovh_exporter_refresh_success{{{ACCOUNTS}}})",
            "Result of the last run of each refresh job.",
            legend="{{account}} / {{refresh_job}}",
            mappings=yes_no(("ok", GREEN), ("FAILED", RED)),
            text_mode="value_and_name",
        ),
        16,
        4,
    )
    grid.add(
        state_timeline(
            "Run results",
            f"min by (account, refresh_job) (ovh_exporter_refresh_success{{{ACCOUNTS}}})",
            "{{account}} / {{refresh_job}}",
            "Result of each refresh job over time; 15 failing minutes raise"
            " OvhExporterRefreshFailing.",
            mappings=yes_no(("ok", GREEN), ("failed", RED)),
        ),
        24,
        6,
    )
    grid.add(
        bargauge(
            "Time since the last success",
            "time() - max by (account, refresh_job)"
            f" (ovh_exporter_refresh_last_success_timestamp_seconds{{{ACCOUNTS}}})",
            "{{account}} / {{refresh_job}}",
            "How old the data of each refresh job is.",
            unit="s",
            colour_thresholds=thresholds(GREEN, (15 * 60, ORANGE), (HOUR, RED)),
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Refresh duration",
            [
                query(
                    "max by (account, refresh_job)"
                    f" (ovh_exporter_refresh_duration_seconds{{{ACCOUNTS}}})",
                    "{{account}} / {{refresh_job}}",
                )
            ],
            "How long the last run of each refresh job took.",
            unit="s",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Refresh failures",
            [
                query(
                    "sum by (account, refresh_job)"
                    f" (increase(ovh_exporter_refresh_failures_total{{{ACCOUNTS}}}"
                    "[$__rate_interval]))",
                    "{{account}} / {{refresh_job}}",
                )
            ],
            "Failed runs of each refresh job.",
        ),
        8,
        8,
    )

    grid.add(
        timeseries(
            "Achieved interval",
            [
                query(
                    "max by (account, refresh_job)"
                    f" (ovh_exporter_refresh_cycle_seconds{{{ACCOUNTS}}})",
                    "{{account}} / {{refresh_job}}",
                )
            ],
            "Time between the starts of each job's last two runs; above the configured"
            " interval, the request budget or OVH's answers slow the job down.",
            unit="s",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Requests per run",
            [
                query(
                    "max by (account, refresh_job)"
                    f" (ovh_exporter_refresh_api_requests{{{ACCOUNTS}}})",
                    "{{account}} / {{refresh_job}}",
                )
            ],
            "Requests to the OVH API sent by the last run of each job.",
        ),
        8,
        8,
    )
    grid.add(
        table(
            "VPS shown with values kept from an earlier read",
            [
                query(
                    "time() - max by (account, vps, refresh_job)"
                    f" (ovh_exporter_vps_last_success_timestamp_seconds{{{ACCOUNTS}}})",
                    table=True,
                )
            ],
            "VPS whose last reads by a job failed: the exporter shows the values of the read"
            " this long ago until they are stale_after intervals old.",
            unit="s",
            sort_by=("Age", True),
            overrides=[override("vps", links=vps_link()), override("Value", displayName="Age")],
        ),
        8,
        8,
    )


def exporter_access(grid: Layout) -> None:
    """Add whether OVH accepts the credentials and the manager session, and the budget's wait."""
    grid.row("Access to OVH")
    grid.add(
        stat(
            "Credentials",
            f"min by (account) (ovh_exporter_auth_ok{{{ACCOUNTS}}})",
            "Whether OVH accepts each account's credentials; refused for 5 minutes raises"
            " OvhApiCredentialsRefused.",
            legend="{{account}}",
            mappings=yes_no(("accepted", GREEN), ("REFUSED", RED)),
            text_mode="value_and_name",
        ),
        4,
        6,
    )
    grid.add(
        stat(
            "Manager session",
            f"min by (account) (ovh_exporter_manager_session_valid{{{ACCOUNTS}}})",
            "Whether the OVHcloud manager accepts each account's session cookies; only for"
            " accounts given a session. Refused for 5 minutes raises"
            " OvhExporterManagerSessionInvalid.",
            legend="{{account}}",
            mappings=yes_no(("valid", GREEN), ("REFUSED", RED)),
            text_mode="value_and_name",
            no_value="no session",
        ),
        4,
        6,
    )
    grid.add(
        timeseries(
            "Credential refusals",
            [
                query(
                    "sum by (account) (increase(ovh_exporter_auth_failures_total"
                    f"{{{ACCOUNTS}}}[$__rate_interval]))",
                    "{{account}}",
                )
            ],
            "Refusals of the credentials; after each one the account's requests pause for a"
            " delay that doubles while they last.",
        ),
        5,
        6,
    )
    grid.add(
        timeseries(
            "Secret file readings",
            [
                query(
                    "sum by (account, outcome) (increase(ovh_exporter_credential_reloads_total"
                    f"{{{ACCOUNTS}}}[$__rate_interval]))",
                    "{{account}} {{outcome}}",
                )
            ],
            "Readings of the secret files on SIGHUP or after a refusal: changed puts new"
            " credentials in use, failed keeps the old ones.",
        ),
        5,
        6,
    )
    grid.add(
        timeseries(
            "Waiting for the request budget",
            [
                query(
                    "sum by (account) (increase(ovh_exporter_api_budget_wait_seconds_total"
                    f"{{{ACCOUNTS}}}[$__rate_interval]))",
                    "{{account}}",
                )
            ],
            "Time requests spent waiting for the account's request budget in each interval;"
            " steady waiting means the jobs ask for more than the budget allows.",
            unit="s",
        ),
        6,
        6,
    )


def exporter_api(grid: Layout) -> None:
    """Add the OVH API calls by route and answer, and the parse errors."""
    grid.row("OVH API")
    requests = f"ovh_exporter_api_requests_total{{{ACCOUNTS}}}"
    grid.add(
        timeseries(
            "Requests by route",
            [query(f"sum by (route) (rate({requests}[$__rate_interval]))", "{{route}}")],
            "Calls to the OVH API per second, by route.",
            unit="reqps",
            stacked=True,
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Requests by answer",
            [query(f"sum by (code) (rate({requests}[$__rate_interval]))", "{{code}}")],
            "Calls to the OVH API per second, by HTTP status or transport error.",
            unit="reqps",
            stacked=True,
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Failed requests",
            [
                query(
                    "sum by (route, code) (rate(ovh_exporter_api_requests_total"
                    f'{{{ACCOUNTS}, code!~"2.."}}[$__rate_interval]))',
                    "{{route}} {{code}}",
                )
            ],
            "Calls that got no 2xx answer; 401 and 403 raise OvhApiAccessDenied.",
            unit="reqps",
        ),
        8,
        8,
    )
    grid.add(
        table(
            "Requests over the time range",
            [
                query(
                    f"sum by (account, route, code) (increase({requests}[$__range]))",
                    table=True,
                )
            ],
            "Calls to the OVH API in the dashboard's time range.",
            sort_by=("Requests", True),
            overrides=[override("Value", displayName="Requests", decimals=0)],
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Parse errors by route",
            [
                query(
                    "sum by (route) (increase(ovh_exporter_parse_errors_total"
                    f"{{{ACCOUNTS}}}[$__rate_interval]))",
                    "{{route}}",
                )
            ],
            "Fields of OVH answers the exporter did not understand; the rest of each answer"
            " was kept.",
        ),
        12,
        8,
    )


DASHBOARDS: dict[str, Callable[[], JSON]] = {
    "ovh-vps-fleet.json": fleet,
    "ovh-vps-detail.json": one_vps,
    "ovh-vps-billing.json": billing,
    "ovh-vps-exporter.json": exporter_health,
}


def render(build: Callable[[], JSON]) -> str:
    """Return the JSON text of one dashboard as committed."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the dashboards, or with --check report those that differ and return 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--output", type=Path, default=OUTPUT_DIR, help="dashboards folder")
    args = parser.parse_args(argv)

    stale = []
    for name, build in DASHBOARDS.items():
        path: Path = args.output / name
        text = render(build)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    if stale:
        print("out of date, run deploy/generate_dashboards.py:", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
