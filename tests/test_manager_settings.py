"""Configuration of the manager session: accepted alone, validated, never shown."""

from pathlib import Path

import pytest

from exporter.ovh.auth import ApplicationKey, ManagerSession
from exporter.ovh.errors import OvhApiError
from exporter.ovh.managers import cookie_problems, is_dead_session, manager_for, resolve_manager
from exporter.settings import ConfigError, Settings, load_settings

SESSION = "s3ss10n-value-0123456789"
USERID = "ab12345-ovh"
COOKIE = f"SESSION={SESSION}; USERID={USERID}"
APP_ENV = {
    "OVH_APPLICATION_KEY": "ak-123",
    "OVH_APPLICATION_SECRET": "as-secret-456",
    "OVH_CONSUMER_KEY": "ck-secret-789",
}


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def problems_of() -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return caught.value.problems


def test_a_session_alone_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {"OVH_EXPORTER_MANAGER_COOKIE": COOKIE})
    settings = load_settings()

    assert not settings.has_api_credentials
    session = settings.manager_session()
    assert isinstance(session, ManagerSession)
    assert session.cookie.get_secret_value() == COOKIE
    assert settings.manager_url == "https://www.ovh.com"
    assert settings.twoapi_url == "https://www.ovh.com/engine/2api"
    assert settings.apiv6_url == "https://www.ovh.com/engine/apiv6"
    assert settings.intervals()["manager"] == 300.0
    with pytest.raises(ConfigError):
        settings.credentials()


def test_keys_and_session_together(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {**APP_ENV, "OVH_EXPORTER_MANAGER_COOKIE": COOKIE, "OVH_EXPORTER_INTERVAL_MANAGER": "120"},
    )
    settings = load_settings()

    assert settings.has_api_credentials
    assert isinstance(settings.credentials(), ApplicationKey)
    assert settings.manager_session() is not None
    assert settings.intervals()["manager"] == 120.0


def test_no_manager_job_without_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, APP_ENV)
    settings = load_settings()

    assert settings.manager_session() is None
    assert "manager" not in settings.intervals()


@pytest.mark.parametrize(
    ("manager", "endpoint", "expected"),
    [
        (None, "ovh-eu", "https://www.ovh.com"),
        (None, "ovh-ca", "https://ca.ovh.com"),
        (None, "ovh-us", "https://us.ovhcloud.com"),
        ("ovh-ca", "ovh-eu", "https://ca.ovh.com"),
        ("http://127.0.0.1:20123/", "http://127.0.0.1:20123/1.0", "http://127.0.0.1:20123"),
    ],
)
def test_the_manager_follows_the_setting_or_the_endpoint(
    monkeypatch: pytest.MonkeyPatch, manager: str | None, endpoint: str, expected: str
) -> None:
    set_env(monkeypatch, {"OVH_EXPORTER_MANAGER_COOKIE": COOKIE, "OVH_ENDPOINT": endpoint})
    if manager is not None:
        monkeypatch.setenv("OVH_EXPORTER_MANAGER", manager)

    assert load_settings().manager_url == expected
    assert manager_for(manager, endpoint) == expected


def test_an_endpoint_without_a_manager_needs_one_named(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {"OVH_EXPORTER_MANAGER_COOKIE": COOKIE, "OVH_ENDPOINT": "kimsufi-eu"})

    assert problems_of() == [
        "OVH_ENDPOINT 'kimsufi-eu' names no OVHcloud manager: set OVH_EXPORTER_MANAGER to "
        "ovh-eu, ovh-ca, ovh-us or to the manager's base URL"
    ]


def test_an_unknown_manager_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch, {"OVH_EXPORTER_MANAGER_COOKIE": COOKIE, "OVH_EXPORTER_MANAGER": "ovh-mars"}
    )

    assert problems_of() == [
        "OVH_EXPORTER_MANAGER: unknown OVHcloud manager 'ovh-mars': use one of ovh-eu, ovh-ca, "
        "ovh-us, or an http(s) base URL such as https://www.ovh.com"
    ]
    with pytest.raises(ValueError, match="unknown OVHcloud manager"):
        resolve_manager("ftp://www.ovh.com")


@pytest.mark.parametrize(
    ("cookie", "problem"),
    [
        (
            f"SESSION={SESSION}",
            "OVH_EXPORTER_MANAGER_COOKIE: expected 'SESSION=...; USERID=...' as the manager sets "
            "them, missing USERID",
        ),
        (
            f"USERID={USERID}; SESSION=",
            "OVH_EXPORTER_MANAGER_COOKIE: expected 'SESSION=...; USERID=...' as the manager sets "
            "them, missing SESSION",
        ),
        (
            f"Cookie: {COOKIE}",
            "OVH_EXPORTER_MANAGER_COOKIE: give the Cookie header's value, without the 'Cookie:' "
            "name",
        ),
        (
            f"SESSION={SESSION}\r\nX-Injected: 1; USERID={USERID}",
            "OVH_EXPORTER_MANAGER_COOKIE: the cookie must be one line of printable ASCII",
        ),
    ],
)
def test_a_malformed_cookie_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, cookie: str, problem: str
) -> None:
    set_env(monkeypatch, {"OVH_EXPORTER_MANAGER_COOKIE": cookie})
    problems = problems_of()

    assert problems == [problem]
    assert SESSION not in str(problems)
    assert USERID not in str(problems)


def test_cookie_problems_accept_extra_cookies_and_spaces() -> None:
    assert cookie_problems(f" SESSION = {SESSION} ;USERID={USERID}; lang=fr", "X") == []


def test_the_cookie_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "cookie"
    path.write_text(COOKIE + "\n")
    set_env(monkeypatch, {"OVH_EXPORTER_MANAGER_COOKIE_FILE": str(path)})
    session = load_settings().manager_session()

    assert session is not None
    assert session.cookie.get_secret_value() == COOKIE


def test_the_cookie_twice_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "cookie"
    path.write_text(COOKIE)
    set_env(
        monkeypatch,
        {"OVH_EXPORTER_MANAGER_COOKIE": COOKIE, "OVH_EXPORTER_MANAGER_COOKIE_FILE": str(path)},
    )

    assert problems_of() == [
        "OVH_EXPORTER_MANAGER_COOKIE and OVH_EXPORTER_MANAGER_COOKIE_FILE are both set: keep one"
    ]


def test_incomplete_keys_beside_a_session_are_still_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(monkeypatch, {"OVH_EXPORTER_MANAGER_COOKIE": COOKIE, "OVH_APPLICATION_KEY": "ak-123"})

    assert problems_of() == [
        "application-key credentials are incomplete: missing OVH_APPLICATION_SECRET, "
        "OVH_CONSUMER_KEY"
    ]


def test_the_cookie_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {"OVH_EXPORTER_MANAGER_COOKIE": COOKIE, "OVH_EXPORTER_STALE_AFTER": "0"})
    error = problems_of()
    monkeypatch.setenv("OVH_EXPORTER_STALE_AFTER", "3")
    settings: Settings = load_settings()

    for text in (str(error), repr(settings), str(settings), repr(settings.manager_session())):
        assert SESSION not in text
        assert USERID not in text


@pytest.mark.parametrize(
    ("status", "message", "dead"),
    [
        (403, "This session is invalid", True),
        (403, "this SESSION is invalid.", True),
        (471, "", True),
        (403, "This call has not been granted", False),
        (401, "This session is invalid", False),
    ],
)
def test_what_a_dead_session_looks_like(status: int, message: str, dead: bool) -> None:
    assert is_dead_session(OvhApiError("/vps", status, None, message)) is dead
