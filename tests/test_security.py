"""The running exporter with a web config file: TLS, client certificates and basic auth."""

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import bcrypt
import httpx
import pytest

from exporter import healthcheck
from exporter.daemon import Daemon
from exporter.settings import Settings
from tests.certs import KeyPair, self_signed, signed_by
from tests.fleets import known_fleet
from tests.support import demo_settings, running_simulator

USER = "prometheus"
PASSWORD = "s3cr3t-scrape-password"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
ENDPOINTS = ("/", "/metrics", "/healthz", "/readyz")
CHALLENGE = 'Basic realm="ovh-vps-exporter", charset="UTF-8"'


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Daemon]:
    """Start the exporter in this process; readiness does not matter to these tests."""
    daemon = Daemon(settings)
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()


async def serving(web_config: str, tmp_path: Path) -> AsyncIterator[Daemon]:
    """Run the exporter against the simulator with this web config file."""
    path = tmp_path / "web.yml"
    path.write_text(web_config, encoding="utf-8")
    async with (
        running_simulator(known_fleet()) as endpoint,
        started(demo_settings(endpoint, web_config_file=str(path))) as daemon,
    ):
        yield daemon


@pytest.fixture
def server(tmp_path: Path) -> KeyPair:
    return self_signed(tmp_path)


@pytest.fixture
async def tls_daemon(tmp_path: Path, server: KeyPair) -> AsyncIterator[Daemon]:
    config = f"tls_server_config:\n  cert_file: {server.cert}\n  key_file: {server.key}\n"
    async for daemon in serving(config, tmp_path):
        yield daemon


@pytest.fixture
async def auth_daemon(tmp_path: Path, server: KeyPair) -> AsyncIterator[Daemon]:
    config = (
        f"tls_server_config:\n  cert_file: {server.cert}\n  key_file: {server.key}\n"
        "  min_version: TLS13\n"
        "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=600\n"
        f"basic_auth_users:\n  {USER}: '{HASH}'\n"
        "ovh_exporter_open_paths: [/healthz]\n"
    )
    async for daemon in serving(config, tmp_path):
        yield daemon


def trusting(server: KeyPair) -> ssl.SSLContext:
    """A client context that trusts only the test's self-signed certificate."""
    return ssl.create_default_context(cafile=str(server.cert))


async def test_tls_serves_every_endpoint(tls_daemon: Daemon, server: KeyPair) -> None:
    base = f"https://127.0.0.1:{tls_daemon.port}"
    async with httpx.AsyncClient(verify=trusting(server)) as client:
        statuses = {path: (await client.get(base + path)).status_code for path in ENDPOINTS}
        metrics = await client.get(base + "/metrics")

    # /readyz answers 503 until every job has succeeded once: not what this test is about.
    assert statuses | {"/readyz": 200 if statuses["/readyz"] == 503 else statuses["/readyz"]} == (
        dict.fromkeys(ENDPOINTS, 200)
    )
    assert "ovh_exporter_build_info{" in metrics.text


async def test_tls_refuses_plain_http(tls_daemon: Daemon) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.HTTPError):
            await client.get(f"http://127.0.0.1:{tls_daemon.port}/metrics")


async def test_min_version_refuses_older_clients(auth_daemon: Daemon, server: KeyPair) -> None:
    older = trusting(server)
    older.maximum_version = ssl.TLSVersion.TLSv1_2
    url = f"https://127.0.0.1:{auth_daemon.port}/healthz"

    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(verify=older) as client:
            await client.get(url)
    async with httpx.AsyncClient(verify=trusting(server)) as client:
        assert (await client.get(url)).status_code == 200


async def test_basic_auth_guards_every_endpoint_but_the_open_one(
    auth_daemon: Daemon, server: KeyPair
) -> None:
    base = f"https://127.0.0.1:{auth_daemon.port}"
    async with httpx.AsyncClient(verify=trusting(server)) as client:
        anonymous = {path: await client.get(base + path) for path in (*ENDPOINTS, "/nope")}
        wrong = {
            path: await client.get(base + path, auth=(USER, PASSWORD + "x")) for path in ENDPOINTS
        }
        stranger = await client.get(base + "/metrics", auth=("root", PASSWORD))
        right = {path: await client.get(base + path, auth=(USER, PASSWORD)) for path in ENDPOINTS}
        head = await client.head(base + "/metrics")
        post = await client.post(base + "/metrics", auth=(USER, PASSWORD))

    assert {path: r.status_code for path, r in anonymous.items()} == {
        "/": 401,
        "/metrics": 401,
        "/healthz": 200,
        "/readyz": 401,
        "/nope": 401,  # Refused before routing: an unknown path reveals nothing either.
    }
    refusals = [r for r in [*anonymous.values(), *wrong.values()] if r.status_code == 401]
    assert len(refusals) == 7
    for response in refusals:
        assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert {path: r.status_code for path, r in wrong.items()} == {
        "/": 401,
        "/metrics": 401,
        "/healthz": 200,
        "/readyz": 401,
    }
    assert stranger.status_code == 401
    assert {path: r.status_code for path, r in right.items() if path != "/readyz"} == (
        dict.fromkeys(("/", "/metrics", "/healthz"), 200)
    )
    assert right["/readyz"].status_code in (200, 503)
    assert "ovh_exporter_build_info{" in right["/metrics"].text
    assert head.status_code == 401
    assert post.status_code == 405
    # The configured header is on every answer, refusals included.
    assert anonymous["/metrics"].headers["Strict-Transport-Security"] == "max-age=600"
    assert right["/metrics"].headers["Strict-Transport-Security"] == "max-age=600"


async def test_basic_auth_without_tls(tmp_path: Path) -> None:
    async for daemon in serving(f"basic_auth_users:\n  {USER}: '{HASH}'\n", tmp_path):
        base = f"http://127.0.0.1:{daemon.port}"
        async with httpx.AsyncClient() as client:
            refused = await client.get(base + "/healthz")
            allowed = await client.get(base + "/metrics", auth=(USER, PASSWORD))

        # Without ovh_exporter_open_paths, /healthz is guarded like the rest.
        assert refused.status_code == 401
        assert allowed.status_code == 200


async def test_client_certificates_are_required_and_verified(
    tmp_path: Path, server: KeyPair
) -> None:
    ca = self_signed(tmp_path, "ca")
    client_pair = signed_by(ca, tmp_path, "prometheus")
    rogue_ca = self_signed(tmp_path, "rogue-ca")
    rogue = signed_by(rogue_ca, tmp_path, "rogue")
    config = (
        f"tls_server_config:\n  cert_file: {server.cert}\n  key_file: {server.key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca.cert}\n"
    )

    async for daemon in serving(config, tmp_path):
        url = f"https://127.0.0.1:{daemon.port}/metrics"
        with_cert = trusting(server)
        with_cert.load_cert_chain(client_pair.cert, client_pair.key)
        async with httpx.AsyncClient(verify=with_cert) as client:
            assert (await client.get(url)).status_code == 200

        for pair in (None, rogue):
            context = trusting(server)
            if pair is not None:
                context.load_cert_chain(pair.cert, pair.key)
            # TLS 1.3 reports the refusal on the first read, hence any transport error.
            with pytest.raises((httpx.HTTPError, ssl.SSLError)):
                async with httpx.AsyncClient(verify=context) as client:
                    await client.get(url)


async def test_the_container_healthcheck_sees_plain_tls_and_guarded_exporters(
    tmp_path: Path, server: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs = {
        "plain": "",
        "tls": f"tls_server_config:\n  cert_file: {server.cert}\n  key_file: {server.key}\n",
        "tls and basic auth": (
            f"tls_server_config:\n  cert_file: {server.cert}\n  key_file: {server.key}\n"
            f"basic_auth_users:\n  {USER}: '{HASH}'\n"
        ),
    }
    seen = {}
    for name, config in configs.items():
        (tmp_path / name).mkdir()
        async for daemon in serving(config, tmp_path / name):
            monkeypatch.setenv("OVH_EXPORTER_WEB_LISTEN_ADDRESS", f":{daemon.port}")
            # The probe blocks: it runs in a thread while the exporter answers on this loop.
            seen[name] = (
                await asyncio.to_thread(healthcheck.probe, daemon.port),
                await asyncio.to_thread(healthcheck.main, ["/healthz"]),
            )
        port = daemon.port

    assert seen == {"plain": (200, 0), "tls": (200, 0), "tls and basic auth": (401, 0)}
    # Nothing listens there any more.
    monkeypatch.setenv("OVH_EXPORTER_WEB_LISTEN_ADDRESS", f"127.0.0.1:{port}")
    assert await asyncio.to_thread(healthcheck.probe, port) is None
    assert await asyncio.to_thread(healthcheck.main, ["/healthz"]) == 1
