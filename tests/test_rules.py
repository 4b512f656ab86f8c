"""Tests of the Prometheus alerting and recording rules and of the Alertmanager configuration."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest

from tests.contract import EXPORTER_METRICS, PROMETHEUS_SERIES
from tests.deploy_tools import (
    DEPLOY,
    RULE_TESTS,
    RULES_FILE,
    load_rules,
    load_yaml,
    metric_names,
    require_tool,
    run,
)

PROMTOOL_HINT = "apt-get install prometheus, which ships /usr/bin/promtool"
SEVERITIES = {"critical", "warning", "info"}
ALERTMANAGER_FILE = DEPLOY / "alertmanager" / "alertmanager.yml"

# The alerts the rules file must keep, so that a renamed or dropped alert is a
# decision and not an accident: Alertmanager routes and silences name them.
EXPECTED_ALERTS = {
    "OvhVpsExpiringWithoutAutoRenew",
    "OvhVpsExpiringWithoutAutoRenewSoon",
    "OvhVpsDeleteAtExpiration",
    "OvhVpsPendingTermination",
    "OvhVpsServiceStatusNotOk",
    "OvhVpsServiceExpired",
    "OvhVpsNotRunning",
    "OvhVpsInRescueMode",
    "OvhVpsLocked",
    "OvhVpsTaskInError",
    "OvhVpsTaskRunningForHours",
    "OvhVpsAutomatedBackupDisabled",
    "OvhVpsAutomatedBackupRestorePointTooOld",
    "OvhVpsAutomatedBackupWithoutRestorePoint",
    "OvhVpsDiskNearlyFull",
    "OvhAccountPaymentMethodExpiringSoon",
    "OvhAccountNoUsablePaymentMethod",
    "OvhExporterDown",
    "OvhExporterRefreshFailing",
    "OvhExporterManagerSessionInvalid",
    "OvhApiCredentialsRefused",
    "OvhApiAccessDenied",
}
# An Alertmanager matcher on the alert name: exact, or a regex of alternatives.
ALERTNAME_MATCHER = re.compile(r'alertname(=~|=)"([^"]*)"')


def alerts() -> list[dict[str, Any]]:
    """Return the alerting rules of the rules file."""
    return [rule for rule in load_rules() if "alert" in rule]


@pytest.mark.prometheus
def test_promtool_accepts_the_rules_file() -> None:
    """promtool check rules finds every rule of the file valid."""
    promtool = require_tool("promtool", PROMTOOL_HINT)

    result = run(promtool, "check", "rules", str(RULES_FILE))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(load_rules())} rules found" in result.stdout


@pytest.mark.prometheus
def test_promtool_unit_tests_pass() -> None:
    """Every promtool unit test file under deploy/prometheus/tests passes."""
    promtool = require_tool("promtool", PROMTOOL_HINT)

    result = run(promtool, "test", "rules", *map(str, RULE_TESTS))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


@pytest.mark.prometheus
def test_promtool_accepts_the_compose_prometheus_config() -> None:
    """The compose stack's prometheus.yml is valid and loads the rules file."""
    promtool = require_tool("promtool", PROMTOOL_HINT)

    result = run(promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout
    assert str(RULES_FILE.relative_to(DEPLOY.parent)) in result.stdout


def test_rules_file_holds_the_expected_alerts_once_each() -> None:
    """Each expected alert is defined exactly once and no other alert exists."""
    names = [str(rule["alert"]) for rule in alerts()]

    assert sorted(names) == sorted(EXPECTED_ALERTS)


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: str(rule["alert"]))
def test_alert_has_severity_summary_and_description(rule: dict[str, Any]) -> None:
    """Each alert carries a known severity, a summary naming its subject, and a description."""
    labels, annotations = rule["labels"], rule["annotations"]

    assert labels["severity"] in SEVERITIES
    summary = annotations["summary"]
    if any(name.startswith("ovh_vps") for name in metric_names(str(rule["expr"]))):
        assert "$labels.vps" in summary
        assert "$labels.account" in summary
    elif rule["alert"] != "OvhExporterDown":
        assert "$labels.account" in summary
    # What to do takes at least two sentences: what it means and the action.
    assert annotations["description"].count(". ") >= 1


def test_rules_use_only_defined_metrics_and_their_own_records() -> None:
    """Every metric a rule reads is the exporter's, recorded by the file, or Prometheus's."""
    rules = load_rules()
    recorded = {rule["record"] for rule in rules if "record" in rule}

    used = set().union(*(metric_names(rule["expr"]) for rule in rules))

    assert used - EXPORTER_METRICS - recorded - PROMETHEUS_SERIES == set()
    assert used & EXPORTER_METRICS


def test_every_recording_rule_feeds_an_alert_of_its_group() -> None:
    """Recording rules exist only to simplify alerts, and sit in the group that reads them."""
    rules = load_rules()

    for record in (rule for rule in rules if "record" in rule):
        readers = [
            rule
            for rule in rules
            if "alert" in rule and record["record"] in metric_names(rule["expr"])
        ]
        assert readers, record["record"]
        assert {reader["group"] for reader in readers} == {record["group"]}


def test_metric_name_extraction_finds_names_outside_the_contract() -> None:
    """The extractor sees a metric behind functions, matchers and set operators."""
    expr = (
        'sum by (vps) (rate(ovh_vps_disk_bytes{account=~"$account"}[5m]))'
        " and on (vps) ovh_vps_state == 1 unless up"
    )

    assert metric_names(expr) == {"ovh_vps_disk_bytes", "ovh_vps_state", "up"}


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    """Each alert has a promtool case where it fires and one where it stays silent."""
    firing: dict[str, int] = defaultdict(int)
    silent: dict[str, int] = defaultdict(int)
    for path in RULE_TESTS:
        document = load_yaml(path)
        assert document["rule_files"] == ["../rules/ovh-vps.rules.yml"], path
        for test in document["tests"]:
            for case in test.get("alert_rule_test", []):
                bucket = firing if case.get("exp_alerts") else silent
                bucket[case["alertname"]] += 1

    names = {str(rule["alert"]) for rule in alerts()}
    assert names - set(firing) == set()
    assert names - set(silent) == set()
    assert set(firing) | set(silent) <= names


def test_alertmanager_routes_every_severity_to_a_defined_receiver() -> None:
    """Each severity the rules use has its own route, and every route's receiver exists."""
    config = load_yaml(ALERTMANAGER_FILE)
    receivers = {receiver["name"] for receiver in config["receivers"]}
    routes = config["route"]["routes"]

    routed = {
        matcher.split("=", 1)[1].strip('"')
        for route in routes
        for matcher in route["matchers"]
        if matcher.startswith("severity=")
    }
    used = {rule["labels"]["severity"] for rule in alerts()}

    assert used <= routed
    assert config["route"]["receiver"] in receivers
    assert {route["receiver"] for route in routes} <= receivers


def alert_names_matched(matcher: str) -> set[str] | None:
    """The alert names an Alertmanager matcher selects, or None if it is about another label."""
    match = ALERTNAME_MATCHER.fullmatch(matcher)
    if match is None:
        assert not matcher.startswith("alertname"), matcher
        return None
    operator, value = match.groups()
    return set(value.split("|")) if operator == "=~" else {value}


def test_alertmanager_inhibitions_name_existing_alerts() -> None:
    """Inhibition rules refer to alerts of the rules file and to labels those alerts carry."""
    config = load_yaml(ALERTMANAGER_FILE)
    names = {str(rule["alert"]) for rule in alerts()}

    matched: set[str] = set()
    for inhibition in config["inhibit_rules"]:
        for matcher in inhibition["source_matchers"] + inhibition["target_matchers"]:
            named = alert_names_matched(matcher)
            if named is not None:
                assert named <= names, matcher
                matched |= named
        assert inhibition["equal"]
    assert {"OvhApiCredentialsRefused", "OvhVpsServiceExpired"} <= matched


def test_alertname_matcher_reading() -> None:
    """Exact and alternative matchers yield their names; other labels are not alert names."""
    assert alert_names_matched('alertname="OvhVpsLocked"') == {"OvhVpsLocked"}
    assert alert_names_matched('alertname=~"OvhA|OvhB"') == {"OvhA", "OvhB"}
    assert alert_names_matched('refresh_job="manager"') is None


def test_amtool_accepts_the_alertmanager_config_and_routes_by_severity() -> None:
    """amtool validates the config and sends critical to pager and info to digest."""
    amtool = require_tool("amtool", "apt-get install prometheus-alertmanager")

    checked = run(amtool, "check-config", str(ALERTMANAGER_FILE))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    config = f"--config.file={ALERTMANAGER_FILE}"
    for severity, receiver in (("critical", "pager"), ("warning", "tickets"), ("info", "digest")):
        routed = run(amtool, "config", "routes", "test", config, f"severity={severity}")
        assert routed.stdout.strip() == receiver, routed.stdout + routed.stderr
