"""Tests of the Grafana dashboards and of the provisioning that loads them."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract import EXPORTER_METRICS
from tests.deploy_tools import DASHBOARDS, DEPLOY, REPO, load_yaml, metric_names, require_tool, run

EXPECTED_UIDS = {"ovh-vps-fleet", "ovh-vps-detail", "ovh-vps-billing", "ovh-vps-exporter"}
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
LINK_TAG = "ovh-vps"
# Metrics no dashboard shows, each for a reason deploy/README.md gives; the test
# prints any other unshown metric, so that a new one gets a panel or joins this list.
DELIBERATELY_UNSHOWN = {"ovh_vps_manager_info", "ovh_vps_manager_tasks", "ovh_vps_capability"}
PROVISIONING = REPO / "grafana" / "provisioning"

# Values Grafana substitutes before a query reaches Prometheus.
VARIABLE_VALUES = {
    "$account": "acme",
    "$vps": "vps-1",
    "$__rate_interval": "2m",
    "$__range": "1h",
}


def load(path: Path) -> dict[str, Any]:
    """Return one dashboard as parsed JSON."""
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every panel of ``dashboard`` but row headers, including those nested in rows."""
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def variable_queries(dashboard: dict[str, Any]) -> Iterator[str]:
    """Yield the PromQL selector inside each query variable's label_values()."""
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["query"])
            assert match, variable["query"]
            yield match.group(1)


def expressions(dashboard: dict[str, Any]) -> Iterator[str]:
    """Yield every PromQL expression of ``dashboard``: panel targets and variable queries."""
    for panel in panels(dashboard):
        for target in panel["targets"]:
            yield target["expr"]
    yield from variable_queries(dashboard)


def substitute_variables(expr: str) -> str:
    """Return ``expr`` with the variables replaced as Grafana would before querying."""
    for variable, value in VARIABLE_VALUES.items():
        expr = expr.replace(variable, value)
    return expr


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (path, value) for every key of a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}.{key}", value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def field_unit(panel: dict[str, Any], ref_id: str) -> str:
    """Return the unit Grafana shows for the values of target ``ref_id`` of ``panel``."""
    unit = str(panel["fieldConfig"]["defaults"].get("unit", ""))
    names = {f"Value #{ref_id}"} if len(panel["targets"]) > 1 else {"Value", f"Value #{ref_id}"}
    for rule in panel["fieldConfig"]["overrides"]:
        if rule["matcher"]["id"] == "byName" and rule["matcher"]["options"] in names:
            for prop in rule["properties"]:
                if prop["id"] == "unit":
                    unit = prop["value"]
    return unit


@pytest.fixture(params=DASHBOARDS, ids=lambda path: path.name)
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Return each dashboard in turn."""
    return load(request.param)


def test_dashboards_are_the_generators_output() -> None:
    """The committed JSON is what deploy/generate_dashboards.py writes."""
    result = run(sys.executable, str(DEPLOY / "generate_dashboards.py"), "--check")

    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_uids_are_stable_and_unique() -> None:
    """The four dashboards keep their uids, which links and bookmarks depend on."""
    uids = [load(path)["uid"] for path in DASHBOARDS]
    titles = [load(path)["title"] for path in DASHBOARDS]

    assert sorted(uids) == sorted(EXPECTED_UIDS)
    assert len(set(titles)) == len(titles)


def test_dashboard_is_importable_as_is(dashboard: dict[str, Any]) -> None:
    """Schema version 39, no id, no __inputs, and a datasource variable for Prometheus."""
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}

    assert dashboard["schemaVersion"] == 39
    assert dashboard["id"] is None
    assert "__inputs" not in dashboard
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


def test_no_datasource_uid_is_hard_coded(dashboard: dict[str, Any]) -> None:
    """Every datasource reference goes through the datasource variable."""
    references = [value for path, value in walk(dashboard) if path.endswith(".datasource")]
    uids = [path for path, _ in walk(dashboard) if path.endswith(".uid")]

    assert references
    assert all(reference == DATASOURCE_REF for reference in references)
    assert all(path == ".uid" or path.endswith(".datasource.uid") for path in uids)


def test_every_panel_has_a_query(dashboard: dict[str, Any]) -> None:
    """Each panel queries Prometheus, with distinct refIds, and has a unique id."""
    ids = [panel["id"] for panel in dashboard["panels"]]

    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        targets = panel["targets"]
        assert targets, panel["title"]
        assert all(target["expr"].strip() for target in targets), panel["title"]
        assert len({target["refId"] for target in targets}) == len(targets), panel["title"]


def test_panels_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    """Panels stay within Grafana's 24 columns and no two share a cell."""
    taken: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells


def is_share_of_bytes(expr: str) -> bool:
    """Tell whether ``expr`` divides bytes by bytes, such as used space by disk size."""
    return re.search(r"_bytes\b[^/]*/[^/]*_bytes\b", expr) is not None


def test_dates_bytes_and_durations_have_units(dashboard: dict[str, Any]) -> None:
    """Dates show as ISO dates from milliseconds, ages in seconds, bytes and shares as such."""
    checked = 0
    for panel in panels(dashboard):
        for target in panel["targets"]:
            expr, unit = target["expr"], field_unit(panel, target["refId"])
            if expr.startswith("count("):
                continue
            if is_share_of_bytes(expr):
                assert unit == "percentunit", (panel["title"], expr)
                checked += 1
            elif "_timestamp_seconds" in expr and "time()" not in expr:
                assert unit == "dateTimeAsIso", (panel["title"], expr)
                assert "* 1000" in expr, (panel["title"], expr)
                checked += 1
            elif "_timestamp_seconds" in expr or "_duration_seconds" in expr:
                assert unit == "s", (panel["title"], expr)
                checked += 1
            elif "_bytes" in expr:
                assert unit == "bytes", (panel["title"], expr)
                checked += 1
    assert checked


def test_share_of_bytes_is_told_from_bytes() -> None:
    """A ratio of two byte metrics is a share; one byte metric, or bytes times a number, is not."""
    assert is_share_of_bytes("ovh_vps_disk_used_bytes{a} / (ovh_vps_disk_size_bytes{a} > 0)")
    assert not is_share_of_bytes("sum(ovh_vps_memory_bytes{a})")
    assert not is_share_of_bytes("ovh_vps_disk_used_bytes / 1024")


def test_dashboards_link_to_each_other(dashboard: dict[str, Any]) -> None:
    """Each dashboard carries the shared tag and links to the dashboards having it."""
    links = [link for link in dashboard["links"] if link["type"] == "dashboards"]

    assert LINK_TAG in dashboard["tags"]
    assert any(LINK_TAG in link["tags"] and link["includeVars"] for link in links)


def test_data_links_open_an_existing_dashboard_with_its_variables() -> None:
    """Table links to one VPS name a real uid and set every variable that dashboard has."""
    by_uid = {load(path)["uid"]: load(path) for path in DASHBOARDS}
    urls = [
        value
        for document in by_uid.values()
        for path, value in walk(document)
        if path.endswith(".url") and isinstance(value, str) and value.startswith("/d/")
    ]

    assert urls
    for url in urls:
        target = by_uid[url.removeprefix("/d/").split("?")[0]]
        assert "${datasource:queryparam}" in url, url
        for variable in target["templating"]["list"]:
            if variable["name"] != "datasource":
                assert f"var-{variable['name']}=" in url, url


def test_expressions_use_only_defined_variables(dashboard: dict[str, Any]) -> None:
    """Every $variable in a query is a dashboard variable or one Grafana provides."""
    defined = {f"${variable['name']}" for variable in dashboard["templating"]["list"]}
    builtin = {"$__rate_interval", "$__range", "$__interval"}

    for expr in expressions(dashboard):
        assert set(re.findall(r"\$\w+", expr)) <= defined | builtin, expr


def test_one_vps_dashboard_selects_account_and_vps() -> None:
    """The one-VPS dashboard has single-value account and vps variables used by every query."""
    document = load(REPO / "grafana" / "dashboards" / "ovh-vps-detail.json")
    variables = {variable["name"]: variable for variable in document["templating"]["list"]}

    assert variables["account"]["multi"] is False
    assert variables["vps"]["multi"] is False
    for panel in panels(document):
        for target in panel["targets"]:
            assert 'account="$account", vps="$vps"' in target["expr"], panel["title"]


def test_dashboards_use_only_defined_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    """Every metric a dashboard queries is defined by the exporter; the unshown ones are printed."""
    used: set[str] = set()
    for path in DASHBOARDS:
        for expr in expressions(load(path)):
            used |= metric_names(expr)

    unshown = EXPORTER_METRICS - used
    undecided = sorted(unshown - DELIBERATELY_UNSHOWN)
    with capsys.disabled():
        print(f"\nleft off the dashboards on purpose: {', '.join(sorted(DELIBERATELY_UNSHOWN))}")
        print(f"defined metrics no dashboard shows yet: {', '.join(undecided) or 'none'}")

    assert used - EXPORTER_METRICS == set()
    assert unshown >= DELIBERATELY_UNSHOWN


@pytest.mark.prometheus
def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    """promtool accepts each query, with Grafana's variables replaced, as a recording rule."""
    promtool = require_tool("promtool", "apt-get install prometheus, which ships promtool")
    rules = []
    for path in DASHBOARDS:
        for index, expr in enumerate(expressions(load(path))):
            rules.append(
                {
                    "record": f"dashboard:{path.stem.replace('-', '_')}:{index}",
                    "expr": substitute_variables(expr),
                }
            )
    rules_file = tmp_path / "dashboards.rules.yml"
    rules_file.write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}))

    result = run(promtool, "check", "rules", str(rules_file))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_provisioning_loads_the_dashboards_folder_and_a_default_prometheus() -> None:
    """Provisioning reads the folder compose mounts, and the default source is Prometheus."""
    compose = load_yaml(DEPLOY / "docker-compose.yml")
    providers = load_yaml(PROVISIONING / "dashboards" / "ovh-vps.yml")["providers"]
    sources = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    mounts = dict(
        volume.rsplit(":", 1)[0].split(":", 1)
        for volume in compose["services"]["grafana"]["volumes"]
        if volume.endswith(":ro")
    )

    assert mounts["../grafana/dashboards"] == providers[0]["options"]["path"]
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"
    assert [source["type"] for source in sources if source.get("isDefault")] == ["prometheus"]
    assert all("uid" not in source for source in sources)
