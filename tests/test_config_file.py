"""--config.file: several accounts from YAML, every problem at once, secrets kept out of sight."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from exporter import simulator
from exporter.accounts import AccountConfig
from exporter.cli import main
from exporter.ovh.auth import ApplicationKey, ManagerSession, OAuth2ClientCredentials
from exporter.settings import ConfigError, load_settings
from tests.support import bound_port

DEFAULT_INTERVALS = {
    "vps": 60.0,
    "tasks": 60.0,
    "backups": 900.0,
    "billing": 3600.0,
    "account": 3600.0,
    "details": 900.0,
    "disks": 900.0,
}
SECRETS = ("as-SECRET-0001", "ck-SECRET-0002", "cs-SECRET-0003", "SESSION=s3cr3t; USERID=u1")


def write_config(folder: Path, accounts: list[dict[str, Any]], name: str = "accounts.yml") -> Path:
    """Write a configuration file listing `accounts`; returns its path."""
    path = folder / name
    path.write_text(yaml.safe_dump({"accounts": accounts}, sort_keys=False), encoding="utf-8")
    return path


def keyed_account(name: str, base: str, **extra: Any) -> dict[str, Any]:
    """A configuration-file account with the simulator's demo application key."""
    return {
        "name": name,
        "endpoint": f"{base}/1.0",
        "application_key": simulator.DEMO_APPLICATION_KEY,
        "application_secret": simulator.DEMO_APPLICATION_SECRET,
        "consumer_key": simulator.DEMO_CONSUMER_KEY,
        **extra,
    }


@asynccontextmanager
async def served(
    fleet: simulator.Fleet, config: simulator.SimulatorConfig | None = None
) -> AsyncIterator[str]:
    """Serve a simulated account on a free loopback port; yields its base URL (API at /1.0)."""
    runner = await simulator.serve(fleet, config or simulator.SimulatorConfig(), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}"
    finally:
        await runner.cleanup()


def problems_of(path: Path) -> list[str]:
    """The problems load_settings reports for a configuration file."""
    with pytest.raises(ConfigError) as caught:
        load_settings({"config_file": str(path)})
    return caught.value.problems


def test_accounts_are_read_with_their_credentials_patterns_and_intervals(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "lab_client_secret").write_text("cs-SECRET-0003\n")
    path = write_config(
        tmp_path,
        [
            {
                "name": "prod",
                "application_key": "ak-0001",
                "application_secret": "as-SECRET-0001",
                "consumer_key": "ck-SECRET-0002",
                "include": ["vps-*.vps.ovh.net"],
                "exclude": "*-staging.*",
                "intervals": {"vps": 30, "billing": 7200},
            },
            {
                "name": "lab",
                "endpoint": "ovh-ca",
                "client_id": "CA.0123",
                "client_secret_file": "secrets/lab_client_secret",
            },
        ],
    )

    settings = load_settings({"config_file": str(path)})
    prod, lab = settings.accounts()

    assert prod == AccountConfig(
        name="prod",
        base_url="https://eu.api.ovh.com/1.0",
        credentials=ApplicationKey(
            "ak-0001", SecretStr("as-SECRET-0001"), SecretStr("ck-SECRET-0002")
        ),
        intervals={**DEFAULT_INTERVALS, "vps": 30.0, "billing": 7200.0},
        include=("vps-*.vps.ovh.net",),
        exclude=("*-staging.*",),
    )
    assert lab == AccountConfig(
        name="lab",
        base_url="https://ca.api.ovh.com/1.0",
        credentials=OAuth2ClientCredentials(
            "CA.0123", SecretStr("cs-SECRET-0003"), "https://ca.ovh.com/auth/oauth2/token"
        ),
        intervals=DEFAULT_INTERVALS,
    )
    assert prod.selects("vps-1a2b.vps.ovh.net")
    assert not prod.selects("vps-1a2b-staging.vps.ovh.net")
    assert not prod.selects("other.example.net")
    assert lab.selects("anything")


def test_a_manager_session_account_gets_the_manager_job(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        [{"name": "web", "manager_cookie": "SESSION=s3cr3t; USERID=u1", "intervals": {}}],
    )

    (account,) = load_settings({"config_file": str(path)}).accounts()

    assert account.credentials is None
    assert account.session == ManagerSession(SecretStr("SESSION=s3cr3t; USERID=u1"))
    assert account.manager_url == "https://www.ovh.com"
    assert account.intervals == {**DEFAULT_INTERVALS, "manager": 300.0}


def test_environment_intervals_are_the_file_accounts_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVH_EXPORTER_INTERVAL_TASKS", "120")
    path = write_config(
        tmp_path,
        [{"name": "a", "application_key": "k", "application_secret": "s", "consumer_key": "c"}],
    )

    (account,) = load_settings({"config_file": str(path)}).accounts()

    assert account.intervals == {**DEFAULT_INTERVALS, "tasks": 120.0}


def test_without_a_file_the_environment_describes_one_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OVH_APPLICATION_KEY", "ak-env")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "as-env")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "ck-env")
    monkeypatch.setenv("OVH_EXPORTER_ACCOUNT", "solo")

    assert load_settings().accounts() == (
        AccountConfig(
            name="solo",
            base_url="https://eu.api.ovh.com/1.0",
            credentials=ApplicationKey("ak-env", SecretStr("as-env"), SecretStr("ck-env")),
            intervals=DEFAULT_INTERVALS,
        ),
    )


def test_every_problem_of_the_file_and_the_environment_is_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVH_CONSUMER_KEY", "ck-SECRET-0002")
    monkeypatch.setenv("OVH_EXPORTER_INTERVAL_VPS", "1")
    path = write_config(
        tmp_path,
        [
            {
                "name": "prod",
                "application_key": "ak",
                "application_secret": "as-SECRET-0001",
                "application_secret_file": "nowhere",
                "colour": "blue",
                "intervals": {"vps": 2, "weather": 60},
            },
            {"name": "lab", "client_id": "id", "consumer_key_file": "missing/ck"},
            {"name": "prod", "endpoint": "ovh-mars", "client_id": "id", "client_secret": "cs"},
            {"name": "bad name!", "manager_cookie": "SESSION=s3cr3t"},
            "not an account",
        ],
    )

    problems = problems_of(path)

    where = f"--config.file {path}"
    assert problems == [
        "OVH_EXPORTER_INTERVAL_VPS: Input should be greater than or equal to 5",
        "OVH_CONSUMER_KEY: with --config.file every account's settings come from the file; "
        "unset this variable",
        f"{where}: account 'prod': unknown key 'colour'",
        f"{where}: account 'prod': application_secret: both application_secret and "
        "application_secret_file are set: keep one",
        f"{where}: account 'prod': credentials: application-key credentials incomplete, "
        "missing application_secret, consumer_key",
        f"{where}: account 'prod': intervals.vps: expected seconds, from 5 to 604800",
        f"{where}: account 'prod': intervals.weather: unknown job: use one of vps, tasks, "
        "backups, billing, account, details, disks",
        f"{where}: account 'lab': consumer_key_file: cannot read {tmp_path}/missing/ck: "
        "No such file or directory",
        f"{where}: account 'lab': credentials: OAuth2 credentials incomplete, missing "
        "client_secret",
        f"{where}: account 'prod': endpoint: unknown OVH endpoint 'ovh-mars': use one of "
        "ovh-eu, ovh-ca, ovh-us, kimsufi-eu, kimsufi-ca, soyoustart-eu, soyoustart-ca, or an "
        "http(s) URL such as https://eu.api.ovh.com/1.0",
        f"{where}: account 'bad name!': name: required, letters, digits and _.:- only",
        f"{where}: account 'bad name!': manager_cookie: expected 'SESSION=...; USERID=...' as "
        "the manager sets them, missing USERID",
        f"{where}: accounts[4]: expected a mapping of settings",
    ]
    assert not [secret for secret in SECRETS if any(secret in p for p in problems)]


def test_duplicate_names_and_an_empty_or_shapeless_file(tmp_path: Path) -> None:
    account = {"name": "a", "application_key": "k", "application_secret": "s", "consumer_key": "c"}
    where = f"--config.file {tmp_path}"

    assert problems_of(write_config(tmp_path, [account, account])) == [
        f"{where}/accounts.yml: account name 'a' is used more than once"
    ]
    assert problems_of(write_config(tmp_path, [], "empty.yml")) == [
        f"{where}/empty.yml: accounts: the list is empty"
    ]
    (tmp_path / "list.yml").write_text("- name: a\n")
    assert problems_of(tmp_path / "list.yml") == [
        f"{where}/list.yml: expected a mapping with a list of accounts under 'accounts'"
    ]
    assert problems_of(tmp_path / "absent.yml") == [
        f"{where}/absent.yml: cannot read it: No such file or directory"
    ]


def test_a_yaml_error_names_the_place_but_never_quotes_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(
        "accounts:\n  - name: a\n    application_secret: as-SECRET-0001: oops\n",
        encoding="utf-8",
    )

    (problem,) = problems_of(path)

    assert problem == (
        f"--config.file {path}: not valid YAML at line 3, column 39: "
        "mapping values are not allowed here"
    )


def test_secrets_stay_out_of_reprs(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        [
            {
                "name": "a",
                "application_key": "ak",
                "application_secret": "as-SECRET-0001",
                "consumer_key": "ck-SECRET-0002",
            },
            {"name": "b", "client_id": "id", "client_secret": "cs-SECRET-0003"},
            {"name": "c", "manager_cookie": "SESSION=s3cr3t; USERID=u1"},
        ],
    )

    settings = load_settings({"config_file": str(path)})
    text = repr(settings.accounts()) + str(settings.accounts()) + repr(settings)

    assert "SecretStr('**********')" in text
    assert [secret for secret in SECRETS if secret in text] == []


def test_the_command_exits_2_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, [{"name": "a", "client_secret": "cs-SECRET-0003"}, {"name": "b"}])

    assert main(["serve", f"--config.file={path}"]) == 2

    err = capsys.readouterr().err
    assert err == (
        "ovh-vps-exporter: invalid configuration:\n"
        f"  - --config.file {path}: account 'a': credentials: OAuth2 credentials incomplete, "
        "missing client_id\n"
        f"  - --config.file {path}: account 'b': credentials: none given: set application_key, "
        "application_secret and consumer_key, or client_id and client_secret, or manager_cookie "
        "(each also as <key>_file)\n"
    )
