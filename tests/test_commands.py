"""`check` and `credentials` against the simulator, and the daemon's client still GET-only."""

import ast
import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from exporter import simulator
from exporter.commands import check, credentials
from exporter.commands.check import FAILED, NOT_GRANTED, OK, SKIPPED
from exporter.daemon import Daemon
from exporter.ovh.errors import ReadOnlyError
from exporter.routes import NEEDED_ROUTES, access_rules, rule_path
from exporter.simulator import REQUEST_LOG, SimulatorConfig
from exporter.simulator.credential import CREDENTIAL_REQUESTS
from tests.fleets import known_fleet
from tests.support import bound_port, demo_settings
from tests.test_config_file import keyed_account, write_config

PACKAGE = Path(__file__).resolve().parents[1] / "exporter"


@asynccontextmanager
async def simulated(
    config: SimulatorConfig | None = None,
) -> AsyncIterator[tuple[str, web.Application]]:
    """The known fleet on a free loopback port: its API base URL and its app."""
    runner = await simulator.serve(known_fleet(), config or SimulatorConfig(), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}/1.0", runner.app
    finally:
        await runner.cleanup()


def use_demo_key(monkeypatch: pytest.MonkeyPatch, endpoint: str, **env: str) -> None:
    """Point the environment at the simulator with its demo application key."""
    monkeypatch.setenv("OVH_ENDPOINT", endpoint)
    monkeypatch.setenv("OVH_APPLICATION_KEY", simulator.DEMO_APPLICATION_KEY)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", simulator.DEMO_APPLICATION_SECRET)
    monkeypatch.setenv("OVH_CONSUMER_KEY", simulator.DEMO_CONSUMER_KEY)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def table(output: str) -> dict[tuple[str, str], tuple[str, str]]:
    """The rows of the check's table: (account, step) -> (result, detail)."""
    rows = {}
    for line in output.splitlines()[1:]:
        if not line.strip():
            break
        account, step, rest = line.split(maxsplit=2)
        if step == "authentication":
            step, rest = f"{step} {rest.split(')')[0]})", rest.split(")", 1)[1].strip()
        result = NOT_GRANTED if rest.startswith(NOT_GRANTED) else rest.split()[0]
        rows[account, step] = (result, rest[len(result) :].strip())
    return rows


async def test_check_passes_when_every_route_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    async with simulated() as (endpoint, app):
        use_demo_key(monkeypatch, endpoint)
        code = await check.run({}, out)

    rows = table(out.getvalue())
    assert code == 0
    assert rows["default", "/auth/time"] == (OK, "OVH answers")
    assert rows["default", "authentication (application key)"] == (
        OK,
        "OVH accepts the credentials",
    )
    assert [step for _, step in rows][2:] == [needed.route for needed in NEEDED_ROUTES]
    assert {result for result, _ in rows.values()} <= {OK, SKIPPED}
    assert rows["default", "/services/{serviceId}"] == (OK, "")
    assert rows["default", "/me/payment/method/{paymentMethodId}"] == (OK, "")
    # The first VPS, vps-alpha, has tasks: the check reads one of them.
    assert rows["default", "/vps/{serviceName}/tasks/{id}"] == (OK, "")
    assert out.getvalue().endswith("\nEverything the exporter needs works.\n")
    # Every call of the check is a GET.
    assert {request.method for request in app[REQUEST_LOG]} == {"GET"}


async def test_check_names_the_access_rule_of_each_call_not_granted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    denied = frozenset({"/services", "/vps/{serviceName}/tasks/{id}", "/me"})
    out = io.StringIO()
    async with simulated(SimulatorConfig(denied_routes=denied)) as (endpoint, _):
        use_demo_key(monkeypatch, endpoint)
        code = await check.run({}, out)

    rows = table(out.getvalue())
    assert code == 1
    assert rows["default", "/services"] == (NOT_GRANTED, "add the access rule GET /services")
    assert rows["default", "/vps/{serviceName}/tasks/{id}"] == (
        NOT_GRANTED,
        "add the access rule GET /vps/*",
    )
    assert rows["default", "/me"] == (NOT_GRANTED, "add the access rule GET /me")
    assert rows["default", "/services/{serviceId}"] == (
        SKIPPED,
        "nothing to read it on: /services failed",
    )
    assert [key for key, (result, _) in rows.items() if result != OK] == [
        ("default", "/vps/{serviceName}/tasks/{id}"),
        ("default", "/services"),
        ("default", "/services/{serviceId}"),
        ("default", "/me"),
    ]
    assert out.getvalue().endswith(
        "\nAccount default: add these access rules to its consumer key: "
        f"GET /me, GET /services, GET /vps/*\n\n3 of {len(NEEDED_ROUTES) + 2} checks did not "
        "pass.\n"
    )


async def test_check_stops_at_refused_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    async with simulated() as (endpoint, app):
        use_demo_key(monkeypatch, endpoint, OVH_CONSUMER_KEY="not-the-consumer-key")
        code = await check.run({}, out)

    rows = table(out.getvalue())
    assert code == 1
    assert list(rows) == [
        ("default", "/auth/time"),
        ("default", "authentication (application key)"),
    ]
    result, detail = rows["default", "authentication (application key)"]
    assert result == FAILED
    assert detail.startswith("OVH refuses the credentials: GET /vps: HTTP 403 INVALID_CREDENTIAL")
    assert "not-the-consumer-key" not in out.getvalue()
    # OVH's clock is read once to check it answers, once more by the signing client.
    assert [request.route for request in app[REQUEST_LOG]] == ["/auth/time", "/auth/time", "/vps"]


async def test_check_covers_every_account_of_the_file(tmp_path: Path) -> None:
    out = io.StringIO()
    denied = SimulatorConfig(denied_routes=frozenset({"/me/payment/method"}))
    async with simulated() as (good, _), simulated(denied) as (partial, _):
        path = write_config(
            tmp_path,
            [
                keyed_account("good", good.removesuffix("/1.0")),
                keyed_account("partial", partial.removesuffix("/1.0")),
            ],
        )
        code = await check.run({"config_file": str(path)}, out)

    rows = table(out.getvalue())
    assert code == 1
    assert {result for (account, _), (result, _) in rows.items() if account == "good"} <= {
        OK,
        SKIPPED,
    }
    assert rows["partial", "/me/payment/method"] == (
        NOT_GRANTED,
        "add the access rule GET /me/payment/method",
    )
    assert rows["partial", "/me/payment/method/{paymentMethodId}"][0] == SKIPPED
    assert "Account partial: add these access rules to its consumer key: " in out.getvalue()
    assert "Account good:" not in out.getvalue()


async def test_check_exits_2_on_a_bad_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, [{"name": "a"}])

    assert await check.run({"config_file": str(path)}, io.StringIO()) == 2
    assert "account 'a': credentials: none given" in capsys.readouterr().err


def test_rules_cover_every_route_by_subtree() -> None:
    assert rule_path("/vps/{serviceName}/disks/{id}/use") == "/vps/*"
    assert rule_path("/me/payment/method") == "/me/payment/method"
    assert access_rules() == [
        {"method": "GET", "path": path}
        for path in (
            "/me",
            "/me/payment/method",
            "/me/payment/method/*",
            "/services",
            "/services/*",
            "/vps",
            "/vps/*",
        )
    ]


async def test_credentials_asks_for_the_exporters_rules_and_prints_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    async with simulated() as (endpoint, app):
        monkeypatch.setenv("OVH_APPLICATION_KEY", simulator.DEMO_APPLICATION_KEY)
        code = await credentials.run(endpoint, None, "https://example.org/done", out)
        requests = list(app[CREDENTIAL_REQUESTS])
        log = list(app[REQUEST_LOG])

    assert code == 0
    (asked,) = requests
    assert asked.application_key == simulator.DEMO_APPLICATION_KEY
    assert asked.redirection == "https://example.org/done"
    assert [{"method": m, "path": p} for m, p in asked.access_rules] == access_rules()
    assert {method for method, _ in asked.access_rules} == {"GET"}
    # One unsigned POST, with the application key alone.
    assert [(r.method, r.route) for r in log] == [("POST", "/auth/credential")]
    assert not asked.signed

    text = out.getvalue()
    host = endpoint.removesuffix("/1.0")
    assert f"\n    {host}/auth/?credentialToken=" in text
    assert f"\n    OVH_CONSUMER_KEY={asked.consumer_key}\n" in text
    assert "    GET /me/payment/method/*\n    GET /services\n" in text


async def test_the_simulator_answers_like_ovh() -> None:
    async with simulated() as (endpoint, _):
        credential = await credentials.request_credential(endpoint, simulator.DEMO_APPLICATION_KEY)

    host = endpoint.removesuffix("/1.0")
    assert credential.state == "pendingValidation"
    assert credential.validation_url.startswith(f"{host}/auth/?credentialToken=")
    assert len(credential.consumer_key.get_secret_value()) == 32
    assert credential.access_rules == access_rules()
    assert "**********" in repr(credential)


async def test_credentials_reports_a_refused_application_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with simulated() as (endpoint, app):
        code = await credentials.run(endpoint, "not-our-application", None, io.StringIO())
        assert app[CREDENTIAL_REQUESTS] == []

    assert code == 1
    assert capsys.readouterr().err == (
        f"ovh-vps-exporter credentials: POST {endpoint}/auth/credential: HTTP 403 INVALID_KEY: "
        "This application key is invalid\n"
    )


async def test_credentials_needs_an_application_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert await credentials.run("ovh-mars", None, None, io.StringIO()) == 2

    err = capsys.readouterr().err
    assert "--endpoint / OVH_ENDPOINT: unknown OVH endpoint 'ovh-mars'" in err
    assert "--application-key / OVH_APPLICATION_KEY: required" in err


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_the_daemons_clients_still_refuse_every_other_method(method: str) -> None:
    async with simulated() as (endpoint, app):
        daemon = Daemon(demo_settings(endpoint))
        await daemon.start()
        try:
            for client in daemon.clients:
                with pytest.raises(ReadOnlyError):
                    await client._http.request(
                        method, f"{endpoint}/auth/credential", json={"accessRules": []}
                    )
        finally:
            await daemon.stop()
        sent = [request.method for request in app[REQUEST_LOG]]

    assert method not in sent
    assert app[CREDENTIAL_REQUESTS] == []


def test_only_the_credentials_command_imports_its_post() -> None:
    importers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and (
            node.module == "exporter.commands.credentials"
            or (
                node.module == "exporter.commands"
                and any(alias.name == "credentials" for alias in node.names)
            )
        )
    )
    assert importers == ["cli.py"]
    source = (PACKAGE / "commands" / "credentials.py").read_text(encoding="utf-8")
    assert "OvhClient" not in source.replace("`OvhClient`", "")


async def run_command(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the installed `ovh-vps-exporter` with `args`; returns exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("ovh-vps-exporter")),
        *args,
        env={"PATH": os.environ["PATH"], **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_both_commands_from_the_console_script() -> None:
    denied = SimulatorConfig(denied_routes=frozenset({"/services/{serviceId}"}))
    async with simulated(denied) as (endpoint, app):
        keys = {
            "OVH_ENDPOINT": endpoint,
            "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
            "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
            "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
        }
        checked = await run_command("check", env=keys)
        created = await run_command(
            "credentials",
            f"--endpoint={endpoint}",
            f"--application-key={simulator.DEMO_APPLICATION_KEY}",
            env={},
        )
        (asked,) = app[CREDENTIAL_REQUESTS]

    code, out, _ = checked
    assert code == 1
    assert "/services/{serviceId}" in out
    assert "add the access rule GET /services/*" in out
    assert simulator.DEMO_CONSUMER_KEY not in out
    code, out, err = created
    assert (code, err) == (0, "")
    assert f"OVH_CONSUMER_KEY={asked.consumer_key}" in out
