"""The web config file: what it enables, every problem it can have, and the basic-auth checks."""

import asyncio
import base64
import ssl
import subprocess
from pathlib import Path

import bcrypt
import pytest

from exporter import simulator
from exporter.cli import main
from exporter.settings import ConfigError, load_settings
from exporter.webconfig import (
    AUTH_CACHE_SIZE,
    BasicAuth,
    WebConfigError,
    load_web_config,
)
from tests.certs import KeyPair, openssl, self_signed

PASSWORD = "correct horse battery staple"
# Cost 4, the lowest bcrypt allows, keeps the tests quick; production hashes use 10 or more.
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
IMPOSSIBLE_COST = "$2y$99$" + "a" * 53
NO_SUCH_FILE = "No such file or directory"


def basic(user: str | bytes, password: str | bytes) -> str:
    """An Authorization header for basic auth."""
    raw = (user if isinstance(user, bytes) else user.encode()) + b":"
    raw += password if isinstance(password, bytes) else password.encode()
    return "Basic " + base64.b64encode(raw).decode()


def write(directory: Path, text: str) -> Path:
    """Write a web config file and return its path."""
    path = directory / "web.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def server_pair(tmp_path: Path) -> KeyPair:
    return self_signed(tmp_path)


def test_every_supported_key_takes_effect(tmp_path: Path, server_pair: KeyPair) -> None:
    path = write(
        tmp_path,
        f"""
tls_server_config:
  cert_file: {server_pair.cert.name}
  key_file: {server_pair.key.name}
  min_version: TLS13
http_server_config:
  http2: true
  headers:
    strict-transport-security: max-age=31536000
    X-Content-Type-Options: nosniff
basic_auth_users:
  alice: '{HASH}'
ovh_exporter_open_paths: [/healthz]
""",
    )

    config = load_web_config(path)

    assert config.tls
    assert config.ssl_context is not None
    assert config.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert config.ssl_context.maximum_version == ssl.TLSVersion.TLSv1_3
    assert config.ssl_context.verify_mode == ssl.CERT_NONE
    assert config.basic_auth
    assert config.users == {"alice": HASH.encode()}
    assert config.open_paths == frozenset({"/healthz"})
    assert config.headers == {
        "Strict-Transport-Security": "max-age=31536000",
        "X-Content-Type-Options": "nosniff",
    }
    assert HASH not in repr(config)


def test_defaults_are_tls12_and_no_client_certificate(tmp_path: Path, server_pair: KeyPair) -> None:
    path = write(
        tmp_path,
        f"tls_server_config:\n  cert_file: {server_pair.cert}\n  key_file: {server_pair.key}\n",
    )

    config = load_web_config(path)

    assert config.ssl_context is not None
    assert config.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert config.ssl_context.verify_mode == ssl.CERT_NONE
    assert not config.basic_auth


@pytest.mark.parametrize("text", ["", "# nothing\n", "{}\n"])
def test_an_empty_file_changes_nothing(tmp_path: Path, text: str) -> None:
    config = load_web_config(write(tmp_path, text))

    assert (config.tls, config.basic_auth, config.open_paths, dict(config.headers)) == (
        False,
        False,
        frozenset(),
        {},
    )


def test_every_problem_is_named_with_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
tls_server_config:
  cert_file: missing.crt
  key_file: ""
  min_version: TLS10
  max_version: TLS14
  client_auth_type: RequireAnyClientCert
  cipher_suites: [TLS_AES_128_GCM_SHA256]
http_server_config:
  headers:
    Content-Type: text/html
    X-Frame-Options: 42
  compression: true
basic_auth_users:
  alice: {PASSWORD}
  "bob:smith": '{HASH}'
  carol: '{IMPOSSIBLE_COST}'
ovh_exporter_open_paths: [/healthz, /metrics]
rate_limit: {{interval: 1s}}
colour: blue
""",
    )

    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)

    where = f"{path}: "
    assert caught.value.problems == [
        where + "rate_limit: is not supported by ovh-vps-exporter; remove it",
        where + "colour: unknown key (allowed: basic_auth_users, http_server_config, "
        "ovh_exporter_open_paths, tls_server_config)",
        where + "tls_server_config.cipher_suites: is not supported by ovh-vps-exporter; remove it",
        where + "tls_server_config.min_version: TLS10 is deprecated (RFC 8996): use TLS12",
        where + "tls_server_config.max_version: 'TLS14' is not one of TLS12, TLS13",
        where + f"tls_server_config.cert_file: cannot read {tmp_path / 'missing.crt'}: "
        "No such file or directory",
        where + "tls_server_config.key_file: must be a non-empty string",
        where + "tls_server_config.client_auth_type: RequireAnyClientCert accepts unverified "
        "certificates: use RequireAndVerifyClientCert",
        where + "http_server_config.compression: unknown key (allowed: headers, http2)",
        where + "http_server_config.headers.Content-Type: cannot be set (allowed: "
        "Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, "
        "X-Frame-Options, X-XSS-Protection)",
        where + "http_server_config.headers.X-Frame-Options: must be a one-line, non-empty string",
        where + "basic_auth_users.alice: must be a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)",
        where + "basic_auth_users.bob:smith: user names cannot contain ':' (RFC 7617)",
        where + "basic_auth_users.carol: bcrypt cost must be between 04 and 31",
        where + "ovh_exporter_open_paths: '/metrics' cannot be opened (only /healthz, /readyz)",
    ]
    # A password pasted where its hash belongs is not repeated in the message.
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tls_server_config: [a, b]\n", "tls_server_config: must be a mapping"),
        ("- a\n- b\n", "the web config file must be a YAML mapping"),
        ("basic_auth_users: {alice: [\n", "not valid YAML at line 2"),
        ("basic_auth_users:\n  123: x\n", "basic_auth_users.123: user names must be non-empty"),
        ("ovh_exporter_open_paths: /healthz\n", "ovh_exporter_open_paths: must be a list of"),
    ],
)
def test_shapes_the_format_does_not_have(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)

    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"{path}: {problem}")


def test_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(WebConfigError) as caught:
        load_web_config(tmp_path / "nope.yml")

    assert caught.value.problems == [
        f"{tmp_path / 'nope.yml'}: cannot read the web config file: No such file or directory"
    ]


def test_a_key_that_does_not_match_the_certificate(tmp_path: Path) -> None:
    one = self_signed(tmp_path, "one")
    other = self_signed(tmp_path, "other")
    path = write(
        tmp_path, f"tls_server_config:\n  cert_file: {one.cert}\n  key_file: {other.key}\n"
    )

    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)

    (problem,) = caught.value.problems
    assert problem.startswith(
        f"{path}: tls_server_config.cert_file: cannot use {one.cert} with the key {other.key}: "
        "both must be PEM, the key unencrypted and matching the certificate"
    )


def test_an_encrypted_key_is_refused_without_prompting(
    tmp_path: Path, server_pair: KeyPair
) -> None:
    encrypted = tmp_path / "encrypted.key"
    subprocess.run(
        [openssl(), "pkey", "-in", str(server_pair.key), "-aes256", "-passout", "pass:secret",
         "-out", str(encrypted)],
        check=True, capture_output=True,
    )  # fmt: skip
    path = write(
        tmp_path, f"tls_server_config:\n  cert_file: {server_pair.cert}\n  key_file: {encrypted}\n"
    )

    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)

    assert "the key file is encrypted" in caught.value.problems[0]


def test_a_client_ca_alone_means_client_certificates_are_verified(
    tmp_path: Path, server_pair: KeyPair
) -> None:
    ca = self_signed(tmp_path, "ca")
    path = write(
        tmp_path,
        f"tls_server_config:\n  cert_file: {server_pair.cert}\n  key_file: {server_pair.key}\n"
        f"  client_ca_file: {ca.cert}\n",
    )

    config = load_web_config(path)

    assert config.ssl_context is not None
    assert config.ssl_context.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("VerifyClientCertIfGiven", ssl.CERT_OPTIONAL), ("RequireAndVerifyClientCert", None)],
)
def test_verifying_client_certificates_needs_a_ca(
    tmp_path: Path, server_pair: KeyPair, mode: str, expected: object
) -> None:
    base = f"tls_server_config:\n  cert_file: {server_pair.cert}\n  key_file: {server_pair.key}\n"
    path = write(tmp_path, base + f"  client_auth_type: {mode}\n")

    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)

    assert caught.value.problems == [
        f"{path}: tls_server_config.client_ca_file: is required by {mode}"
    ]
    ca = self_signed(tmp_path, "ca")
    config = load_web_config(write(tmp_path, base + f"  client_auth_type: {mode}\n"
                                   f"  client_ca_file: {ca.cert}\n"))  # fmt: skip
    assert config.ssl_context is not None
    assert config.ssl_context.verify_mode == (expected or ssl.CERT_REQUIRED)


def test_settings_list_web_config_problems_with_the_others(tmp_path: Path) -> None:
    path = write(tmp_path, "basic_auth_users:\n  alice: plain-password\n")

    with pytest.raises(ConfigError) as caught:
        load_settings({"web_config_file": str(path), "interval_vps": 1})

    assert (
        f"--web.config.file / OVH_EXPORTER_WEB_CONFIG_FILE: {path}: basic_auth_users.alice: "
        "must be a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)"
    ) in caught.value.problems
    assert any(problem.startswith("OVH_EXPORTER_INTERVAL_VPS") for problem in caught.value.problems)
    assert any(problem.startswith("no OVH credentials") for problem in caught.value.problems)
    assert "plain-password" not in str(caught.value)


def test_the_command_exits_2_naming_the_file_and_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OVH_APPLICATION_KEY", simulator.DEMO_APPLICATION_KEY)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", simulator.DEMO_APPLICATION_SECRET)
    monkeypatch.setenv("OVH_CONSUMER_KEY", simulator.DEMO_CONSUMER_KEY)
    path = write(tmp_path, "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n")

    assert main(["--web.config.file", str(path)]) == 2

    err = capsys.readouterr().err
    assert err == (
        "ovh-vps-exporter: invalid configuration:\n"
        f"  - --web.config.file / OVH_EXPORTER_WEB_CONFIG_FILE: {path}: "
        f"tls_server_config.cert_file: cannot read {tmp_path / 'a.crt'}: {NO_SUCH_FILE}\n"
        f"  - --web.config.file / OVH_EXPORTER_WEB_CONFIG_FILE: {path}: "
        f"tls_server_config.key_file: cannot read {tmp_path / 'a.key'}: {NO_SUCH_FILE}\n"
    )


def test_the_environment_variable_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVH_APPLICATION_KEY", simulator.DEMO_APPLICATION_KEY)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", simulator.DEMO_APPLICATION_SECRET)
    monkeypatch.setenv("OVH_CONSUMER_KEY", simulator.DEMO_CONSUMER_KEY)
    path = write(tmp_path, f"basic_auth_users:\n  alice: '{HASH}'\n")
    monkeypatch.setenv("OVH_EXPORTER_WEB_CONFIG_FILE", str(path))

    assert load_settings().web_config_file == path


class CountingCheck:
    """Wraps bcrypt.checkpw to count the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._real = bcrypt.checkpw

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        self.calls += 1
        return self._real(password, hashed)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> CountingCheck:
    counter = CountingCheck()
    monkeypatch.setattr(bcrypt, "checkpw", counter)
    return counter


async def test_basic_auth_accepts_only_the_right_pair(counted: CountingCheck) -> None:
    auth = BasicAuth({"alice": HASH.encode(), "bob": HASH.encode()})

    assert await auth.user(basic("alice", PASSWORD)) == "alice"
    assert await auth.user(basic("bob", PASSWORD)) == "bob"
    assert await auth.user(basic("alice", PASSWORD + "!")) is None
    assert await auth.user(basic("Alice", PASSWORD)) is None
    assert await auth.user(basic("alice", "")) is None
    assert await auth.user(basic("", PASSWORD)) is None
    assert counted.calls == 6


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no colon here").decode(),
        "Bearer " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode(),
    ],
)
async def test_malformed_headers_are_refused_without_bcrypt(
    counted: CountingCheck, header: str | None
) -> None:
    assert await BasicAuth({"alice": HASH.encode()}).user(header) is None
    assert counted.calls == 0


async def test_an_unknown_user_costs_one_bcrypt_like_a_wrong_password(
    counted: CountingCheck,
) -> None:
    auth = BasicAuth({"alice": HASH.encode()})

    assert await auth.user(basic("mallory", PASSWORD)) is None
    assert counted.calls == 1
    assert await auth.user(basic("alice", "wrong")) is None
    assert counted.calls == 2


async def test_odd_passwords_are_refused_not_crashed_on(counted: CountingCheck) -> None:
    auth = BasicAuth({"alice": HASH.encode()})

    # bcrypt raises on passwords over 72 bytes; the check turns that into a refusal.
    assert await auth.user(basic("alice", "x" * 100)) is None
    assert await auth.user(basic("alice", b"\xff\xfe\x00")) is None
    assert await auth.user(basic(b"\xff", PASSWORD)) is None


async def test_a_successful_check_is_cached_without_the_password(counted: CountingCheck) -> None:
    auth = BasicAuth({"alice": HASH.encode()})
    header = basic("alice", PASSWORD)

    for _ in range(5):
        assert await auth.user(header) == "alice"
    assert counted.calls == 1
    # A wrong password is never cached: each attempt pays bcrypt again.
    for _ in range(3):
        assert await auth.user(basic("alice", "guess")) is None
    assert counted.calls == 4

    state = repr(vars(auth))
    assert PASSWORD not in state
    assert header.split()[1] not in state


async def test_concurrent_first_checks_pay_bcrypt_once(counted: CountingCheck) -> None:
    auth = BasicAuth({"alice": HASH.encode()})
    header = basic("alice", PASSWORD)

    users = await asyncio.gather(*(auth.user(header) for _ in range(20)))

    assert users == ["alice"] * 20
    assert counted.calls == 1


async def test_the_cache_is_bounded(counted: CountingCheck) -> None:
    auth = BasicAuth({"alice": HASH.encode()})
    # Base64 padding variants and extra spaces are distinct headers with the same pair.
    headers = [f"Basic {' ' * n}{base64.b64encode(f'alice:{PASSWORD}'.encode()).decode()}"
               for n in range(1, AUTH_CACHE_SIZE + 2)]  # fmt: skip

    for header in headers:
        assert await auth.user(header) == "alice"

    assert counted.calls == AUTH_CACHE_SIZE + 1
    assert len(vars(auth)["_passed"]) <= AUTH_CACHE_SIZE
