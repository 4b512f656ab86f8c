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
) -> JSON:
    """Return a stat panel of one query; ``name_colours`` colours series shown by name."""
    panel = base_panel("stat", title, [query(expr, legend)], description)
    overrides = [
        override(name, color={"mode": "fixed", "fixedColor": colour})
        for name, colour in (name_colours or {}).items()
    ]
    panel["fieldConfig"] = {
        "defaults": field_defaults(
            unit, colour_thresholds=colour_thresholds, mappings=mappings, no_value=no_value
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


def fleet() -> JSON:
    """Return the fleet overview dashboard."""
    grid = Layout()
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
    ]
    grid.add(
        table(
            "VPS",
            inventory,
            "One line per VPS; click a VPS name to open its dashboard.",
            hidden=("Value #A", "Value #B"),
            sort_by=("vps", False),
            overrides=[
                override("vps", links=vps_link()),
                override(
                    "state",
                    mappings=value_text(
                        {state: (state, colour) for state, colour in STATE_COLOURS.items()}
                    ),
                    **{"custom.cellOptions": {"type": "color-text"}},
                ),
                override("Value #C", displayName="vCores"),
                override("Value #D", displayName="Memory", unit="bytes"),
                override(
                    "Value #E",
                    displayName="Rescue",
                    mappings=yes_no(("rescue", ORANGE), ("no", GREEN)),
                    **{"custom.cellOptions": {"type": "color-text"}},
                ),
                override(
                    "Value #F",
                    displayName="Locked",
                    mappings=yes_no(("locked", ORANGE), ("no", GREEN)),
                    **{"custom.cellOptions": {"type": "color-text"}},
                ),
                override(
                    "Value #G",
                    displayName="Automated backup",
                    mappings=yes_no(("on", GREEN), ("off", ORANGE)),
                    **{"custom.cellOptions": {"type": "color-text"}},
                ),
                override("Value #H", displayName="Expires", unit="dateTimeAsIso"),
            ],
        ),
        24,
        10,
    )

    grid.row("States and models")
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
    grid.add(
        piechart(
            "VPS by model",
            f"count by (model) (ovh_vps_info{{{ACCOUNTS}}})",
            "{{model}}",
            "VPS per model.",
        ),
        6,
        8,
    )
    grid.add(
        piechart(
            "VPS by zone",
            f"count by (zone) (ovh_vps_info{{{ACCOUNTS}}})",
            "{{zone}}",
            "VPS per zone (datacentre).",
        ),
        6,
        8,
    )

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
                override(
                    "Value",
                    displayName="Age",
                    **{"custom.cellOptions": {"type": "color-text"}},
                ),
            ],
        ),
        8,
        8,
    )

    grid.row("Backups")
    grid.add(
        bargauge(
            "Age of the newest restore point",
            "sort_desc(time() - max by (account, vps)"
            f" (ovh_vps_automated_backup_last_restore_point_timestamp_seconds{{{ACCOUNTS}}}))",
            "{{vps}}",
            "Past 36 hours raises OvhVpsAutomatedBackupRestorePointTooOld.",
            unit="s",
            colour_thresholds=thresholds(GREEN, (36 * HOUR, ORANGE)),
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

    return dashboard(
        FLEET_UID,
        "OVH VPS / Fleet overview",
        "State, size, tasks and backups of every OVHcloud VPS the exporter sees.",
        grid,
        [account_variable("ovh_vps_info")],
    )


def one_vps() -> JSON:
    """Return the dashboard of one VPS."""
    grid = Layout()
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
        stat(
            "Rescue mode",
            f"ovh_vps_rescue_mode{{{ONE_VPS}}}",
            "Whether the VPS boots the rescue system.",
            mappings=yes_no(("RESCUE", ORANGE), ("no", GREEN)),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Locked",
            f"ovh_vps_locked{{{ONE_VPS}}}",
            "Whether OVHcloud has locked the VPS.",
            mappings=yes_no(("LOCKED", ORANGE), ("no", GREEN)),
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

    grid.row("Automated backup")
    grid.add(
        stat(
            "Automated backup",
            f"ovh_vps_automated_backup_enabled{{{ONE_VPS}}}",
            "Whether the automated backup option is on.",
            mappings=yes_no(("on", GREEN), ("off", ORANGE)),
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
            colour_thresholds=thresholds(GREEN, (36 * HOUR, ORANGE)),
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
        stat(
            "Automatic renewal",
            f"ovh_vps_renew_automatic{{{ONE_VPS}}}",
            "Whether the service renews automatically.",
            mappings=yes_no(("on", GREEN), ("off", ORANGE)),
        ),
        5,
        4,
    )
    grid.add(
        stat(
            "Delete at expiration",
            f"ovh_vps_delete_at_expiration{{{ONE_VPS}}}",
            "Whether a termination at expiration was requested.",
            mappings=yes_no(("DELETE", RED), ("no", GREEN)),
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

    return dashboard(
        VPS_UID,
        "OVH VPS / VPS",
        "State, tasks, backups and billing of one OVHcloud VPS.",
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


def billing() -> JSON:
    """Return the billing and renewals dashboard."""
    grid = Layout()
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
    ]
    for title, expr, colours in counters:
        grid.add(
            stat(title, expr, f"{title}: number of services.", colour_thresholds=colours), 4, 4
        )

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
    colour_text = {"custom.cellOptions": {"type": "color-text"}}
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
                    **colour_text,
                ),
                override(
                    "Value #C",
                    displayName="Automatic renewal",
                    mappings=yes_no(("on", GREEN), ("off", ORANGE)),
                    **colour_text,
                ),
                override(
                    "Value #D",
                    displayName="Delete at expiration",
                    mappings=yes_no(("DELETE", RED), ("no", GREEN)),
                    **colour_text,
                ),
                override(
                    "status",
                    mappings=value_text(
                        {status: (status, colour) for status, colour in STATUS_COLOURS.items()}
                    ),
                    **colour_text,
                ),
                override("Value #F", displayName="Engaged until", unit="dateTimeAsIso"),
            ],
        ),
        14,
        12,
    )

    grid.row("Services needing a decision")
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
            8,
            8,
        )
    engaged = f"max by (account, vps) (ovh_vps_engaged_up_to_timestamp_seconds{{{ACCOUNTS}}})"
    grid.add(
        table(
            "Engagement ends",
            [
                query(f"{engaged} * 1000", ref="A", table=True),
                query(f"{engaged} - time()", ref="B", table=True),
            ],
            "Services under a commitment, and when it ends.",
            sort_by=("Engaged until", False),
            overrides=[
                override("vps", links=vps_link()),
                override("Value #A", displayName="Engaged until", unit="dateTimeAsIso"),
                override("Value #B", displayName="Time left", unit="s"),
            ],
        ),
        8,
        8,
    )

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
        8,
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
        8,
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
        8,
        8,
    )

    return dashboard(
        BILLING_UID,
        "OVH VPS / Billing and renewals",
        "Expiration dates, renewals, terminations, engagements and billing status of every VPS.",
        grid,
        [account_variable("ovh_vps_expiration_timestamp_seconds")],
        time_from="now-7d",
    )


def exporter_health() -> JSON:
    """Return the exporter health dashboard."""
    grid = Layout()
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

    return dashboard(
        EXPORTER_UID,
        "OVH VPS / Exporter health",
        "Refresh jobs, OVH API calls and parse errors of ovh-vps-exporter.",
        grid,
        [account_variable("ovh_exporter_refresh_success")],
        time_from="now-6h",
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
