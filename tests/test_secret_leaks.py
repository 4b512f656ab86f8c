"""Distinctive secrets are configured, then every output the exporter has is searched for them.

Outputs: the process's logs at debug level in JSON and console format, on success
and on failure paths (refused credentials, calls not granted, timeouts); every
HTTP endpoint, refusals included; exception messages and reprs of the settings,
credentials, tokens and web config; `--help` and `--version`; configuration
errors. A secret counts as leaked if any 12 consecutive characters of it appear.
"""

import asyncio
import base64
import json
import re
import secrets
import signal
import subprocess
import traceback
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import httpx
import pytest
from aiohttp import web
from pydantic import ValidationError

from benchmarks.soak import ExporterProcess, clean_environment, exporter_command
from exporter import cli, simulator
from exporter.ovh.auth import AccessToken, parse_token
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import OvhError
from exporter.settings import ConfigError, Settings, load_settings
from exporter.webconfig import BasicAuth, load_web_config
from tests.fleets import known_fleet
from tests.support import bound_port

WINDOW = 12
USER = "prometheus"


def _secret(prefix: str) -> str:
    """A 32-character secret no output could contain by chance."""
    return prefix + secrets.token_hex(15)


SECRETS = {
    "application secret": _secret("as"),
    "consumer key": _secret("ck"),
    "OAuth2 client secret": _secret("cs"),
    "basic-auth password": _secret("bp"),
}
# How the password travels in a request: also never to be shown.
SECRETS["basic-auth header"] = base64.b64encode(
    f"{USER}:{SECRETS['basic-auth password']}".encode()
).decode()
# Accepted by the simulator when a scenario wants the exporter's credentials refused.
OTHER = {name: _secret("zz") for name in SECRETS}


def leaks(text: str, extra: Iterable[str] = ()) -> list[str]:
    """The names of the secrets (and extra ones) of which `text` holds 12 characters in a row."""
    found = []
    named = [*SECRETS.items(), *((f"token {t[:4]}…", t) for t in extra)]
    for name, secret in named:
        windows = {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}
        if any(window in text for window in windows):
            found.append(name)
    return found


def assert_no_leak(outputs: dict[str, str], extra: Iterable[str] = ()) -> None:
    """Fail naming every output that shows a secret."""
    tokens = list(extra)
    leaked = {where: names for where, text in outputs.items() if (names := leaks(text, tokens))}
    assert leaked == {}, leaked


def test_the_leak_check_finds_a_partial_secret() -> None:
    secret = SECRETS["consumer key"]

    assert leaks(f"header X-Ovh-Consumer={secret[5 : 5 + WINDOW]}…") == ["consumer key"]
    assert leaks(f"masked {secret[: WINDOW - 1]}**********") == []
    assert leaks("Authorization: Basic " + SECRETS["basic-auth header"]) == ["basic-auth header"]


@dataclass(frozen=True)
class Scenario:
    """One run of the exporter: credentials, whether OVH takes them, faults, what must show."""

    kind: str  # "key" or "oauth2"
    accepted: bool = True
    denied: frozenset[str] = frozenset()
    latency: float = 0.0
    request_timeout: float = 5.0
    # Seen in the output once the scenario's path has run, so the check is not vacuous.
    marker: str = "refresh"


SCENARIOS = {
    "key, a route not granted": Scenario(
        "key", denied=frozenset({"/vps/{serviceName}/tasks"}), marker="NOT_GRANTED_CALL"
    ),
    "key refused": Scenario("key", accepted=False, marker="INVALID_CREDENTIAL"),
    "key, timeouts": Scenario("key", latency=1.0, request_timeout=0.2, marker="[Tt]imeout"),
    "oauth2, a route not granted": Scenario(
        "oauth2", denied=frozenset({"/vps/{serviceName}/serviceInfos"}), marker="NOT_GRANTED_CALL"
    ),
    "oauth2 refused": Scenario("oauth2", accepted=False, marker="invalid_client|401"),
    "oauth2, timeouts": Scenario("oauth2", latency=1.0, request_timeout=0.2, marker="[Tt]imeout"),
}


@dataclass
class Tokens:
    """The bearer tokens the simulated account issued: secrets as well."""

    issued: list[str] = field(default_factory=list)


@asynccontextmanager
async def account(scenario: Scenario) -> AsyncIterator[tuple[str, Tokens]]:
    """Serve the known fleet, accepting the distinctive secrets (or others, to refuse them)."""
    given = SECRETS if scenario.accepted else OTHER
    config = simulator.SimulatorConfig(
        application_secret=given["application secret"],
        consumer_key=given["consumer key"],
        client_secret=given["OAuth2 client secret"],
        denied_routes=scenario.denied,
        latency=scenario.latency,
    )
    tokens = Tokens()
    app = simulator.create_app(known_fleet(), config)

    async def collect(request: web.Request, response: web.StreamResponse) -> None:
        body = getattr(response, "body", None)
        if request.path.endswith("/oauth2/token") and isinstance(body, bytes):
            token = json.loads(body).get("access_token")
            if token:
                tokens.issued.append(token)

    app.on_response_prepare.append(collect)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}/1.0", tokens
    finally:
        await runner.cleanup()


def credential_env(kind: str, endpoint: str, directory: Path) -> dict[str, str]:
    """The exporter's environment: one secret as a variable, the other as a *_FILE."""
    env = {"OVH_ENDPOINT": endpoint}
    if kind == "key":
        consumer_key = directory / "consumer-key"
        consumer_key.write_text(SECRETS["consumer key"] + "\n", encoding="utf-8")
        env |= {
            "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
            "OVH_APPLICATION_SECRET": SECRETS["application secret"],
            "OVH_CONSUMER_KEY_FILE": str(consumer_key),
        }
    else:
        client_secret = directory / "client-secret"
        client_secret.write_text(SECRETS["OAuth2 client secret"], encoding="utf-8")
        env |= {
            "OVH_CLIENT_ID": simulator.DEMO_CLIENT_ID,
            "OVH_CLIENT_SECRET_FILE": str(client_secret),
            # The simulator serves its token route beside the API, as OVH does.
            "OVH_EXPORTER_OAUTH2_TOKEN_URL": endpoint.removesuffix("/1.0") + "/auth/oauth2/token",
        }
    return env


def web_config(directory: Path) -> Path:
    """A web config file asking for the distinctive basic-auth password."""
    hashed = bcrypt.hashpw(SECRETS["basic-auth password"].encode(), bcrypt.gensalt(rounds=4))
    path = directory / "web.yml"
    path.write_text(f"basic_auth_users:\n  {USER}: '{hashed.decode()}'\n", encoding="utf-8")
    return path


async def http_outputs(port: int) -> dict[str, str]:
    """Every endpoint's answer (headers and body), with, without and with wrong credentials."""
    base = f"http://127.0.0.1:{port}"
    right = (USER, SECRETS["basic-auth password"])
    wrong = (USER, SECRETS["basic-auth password"][::-1])
    openmetrics = {
        "Accept": "application/openmetrics-text;version=1.0.0",
        "Accept-Encoding": "gzip",
    }
    requests = [
        ("GET /", "/", right, {}),
        ("GET /metrics (text)", "/metrics", right, {}),
        ("GET /metrics (OpenMetrics, gzip)", "/metrics", right, openmetrics),
        ("GET /healthz", "/healthz", right, {}),
        ("GET /readyz", "/readyz", right, {}),
        ("GET /unknown", "/unknown", right, {}),
        ("GET /metrics without credentials", "/metrics", None, {}),
        ("GET /metrics with a wrong password", "/metrics", wrong, {}),
    ]
    outputs = {}
    async with httpx.AsyncClient() as client:
        for name, path, auth, headers in requests:
            response = await client.get(base + path, auth=auth, headers=headers)
            outputs[name] = f"{response.status_code}\n{response.headers}\n{response.text}"
        metrics = await client.get(base + "/metrics", auth=right)
    assert metrics.status_code == 200
    assert "ovh_exporter_build_info" in metrics.text
    return outputs


async def run(
    scenario: Scenario, log_format: str, directory: Path
) -> tuple[dict[str, str], list[str]]:
    """Run the exporter through the scenario; return its outputs and the tokens issued."""
    directory.mkdir()
    async with account(scenario) as (endpoint, tokens):
        env = credential_env(scenario.kind, endpoint, directory)
        env["OVH_EXPORTER_REQUEST_TIMEOUT"] = str(scenario.request_timeout)
        # Jobs waiting out a refusal or retrying need not be waited for at the end.
        env["OVH_EXPORTER_SHUTDOWN_GRACE"] = "1"
        exporter = await ExporterProcess.start(
            env,
            ["--log.level=debug", f"--web.config.file={web_config(directory)}"],
            log_format=log_format,
        )
        try:
            await exporter.wait_for_line(re.compile(f"({scenario.marker})"), 15)
            outputs = await http_outputs(exporter.port)
            exporter.process.send_signal(signal.SIGUSR1)
            await exporter.wait_for_line(re.compile("(self check)"), 5)
        finally:
            code, _ = await exporter.terminate()
        assert code == 0, exporter.output()
    outputs[f"process output ({log_format})"] = exporter.output()
    return outputs, tokens.issued


@pytest.mark.parametrize("name", SCENARIOS)
async def test_no_secret_in_logs_or_answers(name: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]

    runs = await asyncio.gather(
        *(run(scenario, fmt, tmp_path / fmt) for fmt in ("json", "console"))
    )

    outputs = {
        f"{fmt}: {where}": text
        for fmt, (found, _) in zip(("json", "console"), runs, strict=True)
        for where, text in found.items()
    }
    tokens = [token for _, issued in runs for token in issued]
    if scenario.kind == "oauth2" and scenario.accepted and not scenario.latency:
        assert tokens, "the simulator issued no token: the bearer path did not run"
    for fmt in ("json", "console"):
        assert re.search(scenario.marker, outputs[f"{fmt}: process output ({fmt})"])
    assert "debug" in outputs["json: process output (json)"]
    assert_no_leak(outputs, tokens)


def configured_settings(kind: str, tmp_path: Path) -> Settings:
    """Settings holding the distinctive secrets, and a web config asking for the password."""
    env = credential_env(kind, "http://127.0.0.1:9/1.0", tmp_path)
    env["web_config_file"] = str(web_config(tmp_path))
    secret_files = {name: env.pop(name) for name in list(env) if name.endswith("_FILE")}
    for name, path in secret_files.items():
        env[name.removesuffix("_FILE")] = Path(path).read_text(encoding="utf-8").strip()
    if "OVH_EXPORTER_OAUTH2_TOKEN_URL" in env:
        env["oauth2_token_url"] = env.pop("OVH_EXPORTER_OAUTH2_TOKEN_URL")
    return load_settings(env)


@pytest.mark.parametrize("kind", ["key", "oauth2"])
async def test_no_secret_in_reprs(kind: str, tmp_path: Path) -> None:
    settings = configured_settings(kind, tmp_path)
    credentials = settings.credentials()
    config = load_web_config(tmp_path / "web.yml")
    checker = BasicAuth(config.users)
    assert await checker.user("Basic " + SECRETS["basic-auth header"]) == USER
    token = parse_token({"access_token": SECRETS["OAuth2 client secret"], "expires_in": 60}, 0.0)
    client = OvhClient(settings.base_url, credentials)

    outputs = {
        "repr(settings)": repr(settings),
        "str(settings)": str(settings),
        "settings.model_dump()": repr(settings.model_dump()),
        "settings.model_dump_json()": settings.model_dump_json(),
        "repr(credentials)": repr(credentials),
        "str(credentials)": str(credentials),
        "repr(web config)": repr(config),
        "basic-auth checker state": repr(vars(checker)),
        "repr(access token)": repr(token),
        "repr(client state)": repr(vars(client)),
    }
    await client.aclose()

    assert isinstance(token, AccessToken)
    assert_no_leak(outputs)


def error_text(error: BaseException) -> str:
    """An exception's message, repr and whole traceback, as a log would show them."""
    return f"{error}\n{error!r}\n" + "".join(traceback.format_exception(error))


@pytest.mark.parametrize("kind", ["key", "oauth2"])
async def test_no_secret_in_exceptions(kind: str, tmp_path: Path) -> None:
    settings = configured_settings(kind, tmp_path)
    outputs: dict[str, str] = {}

    async with account(Scenario(kind, accepted=False)) as (endpoint, _):
        client = OvhClient(endpoint, _retarget(settings, endpoint).credentials())
        with pytest.raises(OvhError) as refused:
            await client.get("/vps")
        await client.aclose()
    outputs["refused call"] = error_text(refused.value)

    with pytest.raises(ValidationError) as invalid:
        Settings(
            OVH_APPLICATION_SECRET=SECRETS["application secret"],
            OVH_CONSUMER_KEY=SECRETS["consumer key"],
            OVH_CLIENT_SECRET=SECRETS["OAuth2 client secret"],
            interval_vps="often",
            max_concurrency=SECRETS["consumer key"],
        )
    outputs["settings validation error"] = error_text(invalid.value)

    with pytest.raises(ConfigError) as both:
        load_settings(
            {
                "OVH_APPLICATION_KEY": "k",
                "OVH_APPLICATION_SECRET": SECRETS["application secret"],
                "OVH_CLIENT_SECRET": SECRETS["OAuth2 client secret"],
                "OVH_CONSUMER_KEY": SECRETS["consumer key"],
                "request_timeout": SECRETS["consumer key"],
            }
        )
    outputs["configuration error"] = error_text(both.value)
    assert_no_leak(outputs)


def _retarget(settings: Settings, endpoint: str) -> Settings:
    """The same settings aimed at another endpoint (and its token URL)."""
    return settings.model_copy(
        update={
            "endpoint": endpoint,
            "oauth2_token_url": endpoint.removesuffix("/1.0") + "/auth/oauth2/token",
        }
    )


@pytest.fixture
def secrets_in_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OVH_APPLICATION_KEY", simulator.DEMO_APPLICATION_KEY)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", SECRETS["application secret"])
    monkeypatch.setenv("OVH_CONSUMER_KEY", SECRETS["consumer key"])
    monkeypatch.setenv("OVH_CLIENT_SECRET", SECRETS["OAuth2 client secret"])
    monkeypatch.setenv("OVH_EXPORTER_WEB_CONFIG_FILE", str(web_config(tmp_path)))


@pytest.mark.usefixtures("secrets_in_environment")
@pytest.mark.parametrize(
    "args",
    [["--help"], ["serve", "--help"], ["simulator", "--help"], ["demo", "--help"], ["--version"]],
    ids=" ".join,
)
def test_no_secret_in_help(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(args)

    out, err = capsys.readouterr()
    assert exited.value.code == 0
    assert "ovh-vps-exporter" in out
    assert_no_leak({"stdout": out, "stderr": err})


@pytest.mark.usefixtures("secrets_in_environment")
def test_no_secret_in_configuration_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both kinds of credentials, a bad interval, and the password pasted in place of its hash.
    bad_web_config = tmp_path / "bad-web.yml"
    bad_web_config.write_text(
        f"basic_auth_users:\n  {USER}: {SECRETS['basic-auth password']}\n", encoding="utf-8"
    )
    monkeypatch.setenv("OVH_EXPORTER_INTERVAL_VPS", "1")

    code = cli.main(["--web.config.file", str(bad_web_config)])

    out, err = capsys.readouterr()
    assert code == 2
    assert "invalid configuration" in err
    assert "basic_auth_users.prometheus: must be a bcrypt hash" in err
    assert_no_leak({"stdout": out, "stderr": err})


@pytest.mark.parametrize("kind", ["key", "oauth2"])
@pytest.mark.parametrize("accepted", [True, False])
async def test_no_secret_in_the_check_command(kind: str, accepted: bool, tmp_path: Path) -> None:
    async with account(Scenario(kind, accepted=accepted)) as (endpoint, tokens):
        env = clean_environment(credential_env(kind, endpoint, tmp_path))
        env["OVH_EXPORTER_LOG_LEVEL"] = "debug"
        result = await asyncio.to_thread(
            subprocess.run,
            [*exporter_command(), "check"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert result.returncode == (0 if accepted else 1), result.stdout + result.stderr
    assert "authentication" in result.stdout
    assert_no_leak({"check stdout": result.stdout, "check stderr": result.stderr}, tokens.issued)
