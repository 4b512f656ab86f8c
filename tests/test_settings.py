"""Configuration: every problem reported at once, credentials from env or files."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from exporter.ovh.auth import ApplicationKey, OAuth2ClientCredentials
from exporter.settings import ConfigError, ListenAddress, load_settings, parse_listen_address

APP_ENV = {
    "OVH_APPLICATION_KEY": "ak-123",
    "OVH_APPLICATION_SECRET": "as-secret-456",
    "OVH_CONSUMER_KEY": "ck-secret-789",
}


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def problems_of(overrides: dict[str, object] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(overrides)
    return caught.value.problems


def test_defaults_with_application_key(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, APP_ENV)
    settings = load_settings()

    assert settings.account == "default"
    assert settings.listen == ListenAddress("", 10060)
    assert settings.base_url == "https://eu.api.ovh.com/1.0"
    assert settings.intervals() == {
        "vps": 60.0,
        "tasks": 60.0,
        "backups": 900.0,
        "billing": 3600.0,
        "account": 3600.0,
        "details": 900.0,
        "disks": 900.0,
    }
    credentials = settings.credentials()
    assert isinstance(credentials, ApplicationKey)
    assert credentials.application_key == "ak-123"
    assert credentials.consumer_key.get_secret_value() == "ck-secret-789"


def test_oauth2_token_url_follows_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {"OVH_ENDPOINT": "ovh-ca", "OVH_CLIENT_ID": "id-1", "OVH_CLIENT_SECRET": "cs-secret"},
    )
    credentials = load_settings().credentials()

    assert isinstance(credentials, OAuth2ClientCredentials)
    assert credentials.token_url == "https://ca.ovh.com/auth/oauth2/token"
    assert credentials.client_secret == SecretStr("cs-secret")


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**APP_ENV, "OVH_EXPORTER_WEB_LISTEN_ADDRESS": ":9999"})
    settings = load_settings({"web_listen_address": "127.0.0.1:12345", "log_format": None})

    assert settings.listen == ListenAddress("127.0.0.1", 12345)
    assert settings.log_format == "console"


def test_every_problem_is_listed_together(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {
            "OVH_ENDPOINT": "ovh-mars",
            "OVH_EXPORTER_INTERVAL_TASKS": "1",
            "OVH_EXPORTER_MAX_CONCURRENCY": "lots",
            "OVH_APPLICATION_KEY": "ak-123",
        },
    )
    problems = problems_of({"web_listen_address": "nowhere"})

    assert len(problems) == 5
    assert problems[0].startswith("--web.listen-address / OVH_EXPORTER_WEB_LISTEN_ADDRESS: ")
    assert "expected HOST:PORT or :PORT, got 'nowhere'" in problems[0]
    assert problems[1].startswith(
        "OVH_ENDPOINT: unknown OVH endpoint 'ovh-mars': use one of ovh-eu"
    )
    assert problems[2].startswith("OVH_EXPORTER_INTERVAL_TASKS: ")
    assert "greater than or equal to 5" in problems[2]
    assert problems[3].startswith("OVH_EXPORTER_MAX_CONCURRENCY: ")
    assert problems[4] == (
        "application-key credentials are incomplete: missing "
        "OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY"
    )


def test_no_credentials_says_what_to_set() -> None:
    assert problems_of() == [
        "no OVH credentials: set OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and "
        "OVH_CONSUMER_KEY, or OVH_CLIENT_ID and OVH_CLIENT_SECRET, or a manager session in "
        "OVH_EXPORTER_MANAGER_COOKIE (each also as <NAME>_FILE)"
    ]


def test_both_kinds_of_credentials_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**APP_ENV, "OVH_CLIENT_ID": "id-1", "OVH_CLIENT_SECRET": "cs"})

    assert problems_of() == [
        "both application-key (OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY) "
        "and OAuth2 (OVH_CLIENT_ID, OVH_CLIENT_SECRET) credentials are set: configure exactly "
        "one kind"
    ]


def test_oauth2_is_refused_where_ovh_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {"OVH_ENDPOINT": "kimsufi-eu", "OVH_CLIENT_ID": "id-1", "OVH_CLIENT_SECRET": "cs"},
    )

    assert problems_of() == [
        "OVH_ENDPOINT 'kimsufi-eu' has no OAuth2 service accounts: use an application key"
    ]


def test_secrets_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("as-from-file\n")
    consumer_file = tmp_path / "consumer"
    consumer_file.write_text("ck-from-file")
    set_env(
        monkeypatch,
        {
            "OVH_APPLICATION_KEY": "ak-123",
            "OVH_APPLICATION_SECRET_FILE": str(secret_file),
            "OVH_CONSUMER_KEY_FILE": str(consumer_file),
        },
    )
    credentials = load_settings().credentials()

    assert isinstance(credentials, ApplicationKey)
    assert credentials.application_secret.get_secret_value() == "as-from-file"
    assert credentials.consumer_key.get_secret_value() == "ck-from-file"


def test_secret_file_problems(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    set_env(
        monkeypatch,
        {
            **APP_ENV,
            "OVH_APPLICATION_SECRET_FILE": str(tmp_path / "missing"),
            "OVH_CONSUMER_KEY": "",
            "OVH_CONSUMER_KEY_FILE": str(empty),
        },
    )
    problems = problems_of()

    assert problems[0] == (
        "OVH_APPLICATION_SECRET and OVH_APPLICATION_SECRET_FILE are both set: keep one"
    )
    assert problems[1] == "OVH_CONSUMER_KEY_FILE: the file it names is empty"


def test_secrets_never_appear_in_errors_or_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**APP_ENV, "OVH_EXPORTER_STALE_AFTER": "0"})
    with pytest.raises(ConfigError) as caught:
        load_settings()
    error = caught.value
    monkeypatch.setenv("OVH_EXPORTER_STALE_AFTER", "3")
    settings = load_settings()

    for text in (str(error), repr(settings), str(settings.credentials())):
        assert "as-secret-456" not in text
        assert "ck-secret-789" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (":10060", ListenAddress("", 10060)),
        ("0.0.0.0:80", ListenAddress("0.0.0.0", 80)),
        ("[::1]:9000", ListenAddress("::1", 9000)),
    ],
)
def test_listen_addresses(value: str, expected: ListenAddress) -> None:
    assert parse_listen_address(value) == expected


@pytest.mark.parametrize("value", ["10060", "host:", ":-1", ":70000", "host:port"])
def test_bad_listen_addresses(value: str) -> None:
    with pytest.raises(ValueError, match=r"expected HOST:PORT|outside 0-65535"):
        parse_listen_address(value)


def test_secret_file_that_is_not_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00secret")
    set_env(
        monkeypatch,
        {**APP_ENV, "OVH_APPLICATION_SECRET": "", "OVH_APPLICATION_SECRET_FILE": str(binary)},
    )

    assert problems_of() == [
        "OVH_APPLICATION_SECRET_FILE: the file it names is not UTF-8 text",
        "application-key credentials are incomplete: missing OVH_APPLICATION_SECRET",
    ]


def test_a_secret_pasted_as_a_file_name_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {**APP_ENV, "OVH_CONSUMER_KEY": "", "OVH_CONSUMER_KEY_FILE": "ck-pasted-secret"},
    )
    problems = problems_of()

    assert problems == [
        "OVH_CONSUMER_KEY_FILE: cannot read the file it names: No such file or directory",
        "application-key credentials are incomplete: missing OVH_CONSUMER_KEY",
    ]
    assert "ck-pasted-secret" not in "\n".join(problems)


def test_token_url_must_be_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {
            "OVH_CLIENT_ID": "id-1",
            "OVH_CLIENT_SECRET": "cs",
            "OVH_EXPORTER_OAUTH2_TOKEN_URL": "notaurl",
        },
    )

    assert problems_of() == [
        "OVH_EXPORTER_OAUTH2_TOKEN_URL: expected an http(s) URL, got 'notaurl'"
    ]


@pytest.mark.parametrize("value", ["inf", "1e300", "604801"])
def test_intervals_have_an_upper_bound(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    set_env(monkeypatch, {**APP_ENV, "OVH_EXPORTER_INTERVAL_TASKS": value})
    problems = problems_of()

    assert len(problems) == 1
    assert problems[0].startswith("OVH_EXPORTER_INTERVAL_TASKS: ")
    assert "less than or equal to 604800" in problems[0]


def test_log_settings_ignore_case(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, APP_ENV)
    settings = load_settings({"log_level": "DEBUG", "log_format": "JSON"})

    assert (settings.log_level, settings.log_format) == ("debug", "json")
