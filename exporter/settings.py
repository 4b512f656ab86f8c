"""Every setting of the exporter, read once at start and validated together."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from exporter.accounts import (
    MANAGER_JOB,
    MAX_INTERVAL,
    MIN_INTERVAL,
    AccountConfig,
    env_account,
    env_conflicts,
    read_config_file,
)
from exporter.ovh.auth import ApplicationKey, Credentials, ManagerSession, OAuth2ClientCredentials
from exporter.ovh.endpoints import check_url, resolve_endpoint, token_url_for
from exporter.ovh.managers import (
    APIV6_PATH,
    TWOAPI_PATH,
    cookie_problems,
    manager_for,
    resolve_manager,
)
from exporter.revisions import DEFAULT_MAX_AGE
from exporter.webconfig import web_config_problems

DEFAULT_PORT = 10060

# The credential variables of OVHcloud's official libraries; each may also be
# given as <NAME>_FILE, a path to a file holding the value.
APPLICATION_VARS = ("OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY")
OAUTH2_VARS = ("OVH_CLIENT_ID", "OVH_CLIENT_SECRET")
# The manager's session cookies: credentials of their own, for its 2API and API v1.
MANAGER_COOKIE_VAR = "OVH_EXPORTER_MANAGER_COOKIE"
CREDENTIAL_VARS = (*APPLICATION_VARS, *OAUTH2_VARS, MANAGER_COOKIE_VAR)

# Endpoint aliases with no OAuth2 service accounts (see ../shared/README.md).
_NO_OAUTH2_PREFIXES = ("kimsufi-", "soyoustart-")

# Flag names shown in messages next to the environment variable they override.
FLAGS = {
    "web_listen_address": "--web.listen-address",
    "log_level": "--log.level",
    "log_format": "--log.format",
    "config_file": "--config.file",
    "web_config_file": "--web.config.file",
}

# Per-account settings of the environment, which --config.file sets per account instead.
ACCOUNT_VARS = (
    "OVH_ENDPOINT",
    "OVH_EXPORTER_ACCOUNT",
    "OVH_EXPORTER_MANAGER",
    "OVH_EXPORTER_OAUTH2_TOKEN_URL",
)

JOBS = ("vps", "tasks", "backups", "billing", "account", "details", "disks")


class ConfigError(Exception):
    """The configuration cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "invalid configuration:\n" + "\n".join(f"  - {problem}" for problem in problems)
        )


@dataclass(frozen=True)
class ListenAddress:
    """Where the HTTP server listens; an empty host means every interface."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_listen_address(value: str) -> ListenAddress:
    """Parse `host:port`, `:port` or `[ipv6]:port` as the Prometheus exporters write it."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"expected HOST:PORT or :PORT, got {value!r}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port {port} is outside 0-65535 (0 lets the system pick one)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return ListenAddress(host=host, port=port)


class Settings(BaseSettings):
    """Exporter settings from flags and `OVH_EXPORTER_*` / `OVH_*` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="OVH_EXPORTER_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    account: str = Field(default="default", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    web_listen_address: str = f":{DEFAULT_PORT}"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "console"
    config_file: Path | None = None
    # The accounts of --config.file, read and checked once by load_settings.
    _accounts: tuple[AccountConfig, ...] = PrivateAttr(default=())
    web_config_file: Path | None = None

    endpoint: str = Field(default="ovh-eu", validation_alias="OVH_ENDPOINT")
    oauth2_token_url: str | None = None
    application_key: str | None = Field(default=None, validation_alias="OVH_APPLICATION_KEY")
    application_secret: SecretStr | None = Field(
        default=None, validation_alias="OVH_APPLICATION_SECRET"
    )
    consumer_key: SecretStr | None = Field(default=None, validation_alias="OVH_CONSUMER_KEY")
    client_id: str | None = Field(default=None, validation_alias="OVH_CLIENT_ID")
    client_secret: SecretStr | None = Field(default=None, validation_alias="OVH_CLIENT_SECRET")
    manager: str | None = Field(default=None, validation_alias="OVH_EXPORTER_MANAGER")
    manager_cookie: SecretStr | None = Field(default=None, validation_alias=MANAGER_COOKIE_VAR)

    interval_vps: float = Field(default=60.0, ge=5.0, le=MAX_INTERVAL)
    interval_tasks: float = Field(default=60.0, ge=5.0, le=MAX_INTERVAL)
    interval_backups: float = Field(default=900.0, ge=5.0, le=MAX_INTERVAL)
    interval_billing: float = Field(default=3600.0, ge=5.0, le=MAX_INTERVAL)
    interval_manager: float = Field(default=300.0, ge=5.0, le=MAX_INTERVAL)
    interval_account: float = Field(default=3600.0, ge=5.0, le=MAX_INTERVAL)
    # Location, OS, IPs, options and migration offers change at human pace, and cost
    # about seven requests per VPS: every 15 minutes keeps them within OVH's fair use.
    interval_details: float = Field(default=900.0, ge=5.0, le=MAX_INTERVAL)
    interval_disks: float = Field(default=900.0, ge=5.0, le=MAX_INTERVAL)
    stale_after: int = Field(default=3, ge=1)
    # Slow-changing facts are read again when OVH shows the VPS changed, or after
    # this many seconds (0: every run); see exporter.revisions.
    reread_after: float = Field(default=DEFAULT_MAX_AGE, ge=0.0, le=MAX_INTERVAL)
    request_timeout: float = Field(default=10.0, gt=0.0)
    max_concurrency: int = Field(default=8, ge=1, le=64)
    # Seconds running refresh jobs get to finish after SIGTERM before they are cancelled.
    shutdown_grace: float = Field(default=10.0, gt=0.0, le=300.0)
    # One budget per account, from OVHcloud's fair-use guidance of 60 requests a minute.
    requests_per_minute: float = Field(default=60.0, gt=0.0)
    requests_burst: int = Field(default=60, ge=1)
    retry_max_attempts: int = Field(default=4, ge=1, le=10)
    retry_after_max: float = Field(default=60.0, ge=0.0)

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("web_listen_address")
    @classmethod
    def _listen_address(cls, value: str) -> str:
        parse_listen_address(value)
        return value

    @field_validator("oauth2_token_url")
    @classmethod
    def _token_url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        resolve_endpoint(value)
        return value

    @field_validator("manager")
    @classmethod
    def _manager(cls, value: str | None) -> str | None:
        """Refuse a manager that is neither an alias nor an http(s) URL."""
        if value:
            resolve_manager(value)
        return value

    @property
    def listen(self) -> ListenAddress:
        """The parsed listen address."""
        return parse_listen_address(self.web_listen_address)

    @property
    def base_url(self) -> str:
        """The OVH API base URL the endpoint setting stands for."""
        return resolve_endpoint(self.endpoint)

    def intervals(self) -> dict[str, float]:
        """Each refresh job's interval in seconds."""
        intervals = {job: float(getattr(self, f"interval_{job}")) for job in JOBS}
        if self.manager_session() is not None:
            intervals["manager"] = self.interval_manager
        return intervals

    def credentials(self) -> Credentials:
        """The one complete set of OVH credentials (checked at load time)."""
        if self.client_id and self.client_secret:
            token_url = self.oauth2_token_url or token_url_for(self.endpoint)
            if token_url is None:  # Excluded by load_settings; kept for type narrowing.
                raise ConfigError([f"OVH_ENDPOINT {self.endpoint!r} has no OAuth2 service"])
            return OAuth2ClientCredentials(self.client_id, self.client_secret, token_url)
        if self.application_key and self.application_secret and self.consumer_key:
            return ApplicationKey(self.application_key, self.application_secret, self.consumer_key)
        raise ConfigError(["no complete set of OVH credentials"])

    def accounts(self) -> tuple[AccountConfig, ...]:
        """Every account to export: those of the configuration file, or the environment's one."""
        return self._accounts or (env_account(self),)

    @property
    def has_api_credentials(self) -> bool:
        """Tell whether an application key or an OAuth2 service account is complete."""
        return bool(self.client_id and self.client_secret) or bool(
            self.application_key and self.application_secret and self.consumer_key
        )

    def manager_session(self) -> ManagerSession | None:
        """The manager's session cookies, when they are set."""
        if self.manager_cookie is None or not self.manager_cookie.get_secret_value():
            return None
        return ManagerSession(self.manager_cookie)

    @property
    def manager_url(self) -> str:
        """The manager's base URL: OVH_EXPORTER_MANAGER, else the endpoint's region's."""
        return manager_for(self.manager, self.endpoint)

    @property
    def twoapi_url(self) -> str:
        """The base URL of the manager's backend-for-frontend (2API)."""
        return self.manager_url + TWOAPI_PATH

    @property
    def apiv6_url(self) -> str:
        """The base URL of the API v1 as the manager relays it, reached with the session."""
        return self.manager_url + APIV6_PATH


def env_name(field: str) -> str:
    """The environment variable (and flag, if any) that sets a field, for messages."""
    alias = Settings.model_fields[field].validation_alias
    name = alias if isinstance(alias, str) else "OVH_EXPORTER_" + field.upper()
    flag = FLAGS.get(field)
    return f"{flag} / {name}" if flag else name


def _read_secret_files(environ: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """Return credential values given as <NAME>_FILE, noting unreadable or doubled ones."""
    values: dict[str, str] = {}
    for name in CREDENTIAL_VARS:
        path = environ.get(f"{name}_FILE")
        if not path:
            continue
        if environ.get(name):
            problems.append(f"{name} and {name}_FILE are both set: keep one")
            continue
        # The path is left out of messages: a secret pasted here by mistake stays unprinted.
        try:
            values[name] = Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            problems.append(f"{name}_FILE: cannot read the file it names: {error.strerror}")
            continue
        except UnicodeDecodeError:
            problems.append(f"{name}_FILE: the file it names is not UTF-8 text")
            continue
        if not values[name]:
            problems.append(f"{name}_FILE: the file it names is empty")
    return values


def _credential_problems(values: Mapping[str, str | None], endpoint: str) -> list[str]:
    """Check that exactly one kind of credentials is complete, and say what is missing."""
    given = {name for name in CREDENTIAL_VARS if values.get(name)}
    app_given = [name for name in APPLICATION_VARS if name in given]
    oauth_given = [name for name in OAUTH2_VARS if name in given]
    problems: list[str] = []

    if not given:
        return [
            "no OVH credentials: set OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and "
            "OVH_CONSUMER_KEY, or OVH_CLIENT_ID and OVH_CLIENT_SECRET, or a manager session in "
            f"{MANAGER_COOKIE_VAR} (each also as <NAME>_FILE)"
        ]
    if app_given and oauth_given:
        problems.append(
            "both application-key ("
            + ", ".join(app_given)
            + ") and OAuth2 ("
            + ", ".join(oauth_given)
            + ") credentials are set: configure exactly one kind"
        )
    for kind, names, present in (
        ("application-key", APPLICATION_VARS, app_given),
        ("OAuth2", OAUTH2_VARS, oauth_given),
    ):
        missing = [name for name in names if name not in given]
        if present and missing:
            problems.append(f"{kind} credentials are incomplete: missing " + ", ".join(missing))
    if oauth_given and endpoint.startswith(_NO_OAUTH2_PREFIXES):
        problems.append(
            f"OVH_ENDPOINT {endpoint!r} has no OAuth2 service accounts: use an application key"
        )
    cookie = values.get(MANAGER_COOKIE_VAR)
    if cookie:
        problems.extend(cookie_problems(cookie, MANAGER_COOKIE_VAR))
    return problems


def _format_validation_error(error: ValidationError) -> list[str]:
    """One line per invalid field, named the way the user set it."""
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        name = env_name(field) if field in Settings.model_fields else field or "settings"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{name}: {message}")
    return problems


def load_settings(overrides: Mapping[str, object] | None = None) -> Settings:
    """Build the settings from flags (overrides) and the environment, or raise ConfigError."""
    environ = os.environ
    problems: list[str] = []
    from_files = _read_secret_files(environ, problems)
    init: dict[str, object] = {k: v for k, v in (overrides or {}).items() if v is not None}
    for name, value in from_files.items():
        init[name] = value

    settings: Settings | None = None
    try:
        settings = Settings(**init)  # type: ignore[arg-type]
    except ValidationError as error:
        problems.extend(_format_validation_error(error))

    raw: dict[str, str | None] = {name: environ.get(name) for name in CREDENTIAL_VARS}
    raw |= from_files
    raw |= {name: str(value) for name, value in init.items() if name in CREDENTIAL_VARS}
    endpoint = str(init.get("OVH_ENDPOINT") or environ.get("OVH_ENDPOINT") or "ovh-eu")
    config_file = init.get("config_file") or environ.get("OVH_EXPORTER_CONFIG_FILE")
    accounts: tuple[AccountConfig, ...] = ()
    if config_file:
        given = {**environ, **from_files, **{k: str(v) for k, v in init.items()}}
        if "account" in init:
            given["OVH_EXPORTER_ACCOUNT"] = str(init["account"])
        problems.extend(env_conflicts(given, [*CREDENTIAL_VARS, *ACCOUNT_VARS]))
        defaults = settings.intervals() if settings is not None else dict.fromkeys(JOBS, 60.0)
        defaults.pop(MANAGER_JOB, None)
        manager_interval = settings.interval_manager if settings is not None else MIN_INTERVAL
        accounts, found = read_config_file(Path(str(config_file)), defaults, manager_interval)
        problems.extend(found)
    else:
        problems.extend(_credential_problems(raw, endpoint))
    if settings is not None and settings.manager_session() is not None:
        try:
            manager_for(settings.manager, settings.endpoint)
        except ValueError as error:
            problems.append(str(error))
    # Read even when other settings are invalid, so that every problem is listed at once.
    web_config = init.get("web_config_file") or environ.get("OVH_EXPORTER_WEB_CONFIG_FILE")
    if web_config:
        name = env_name("web_config_file")
        problems.extend(f"{name}: {p}" for p in web_config_problems(Path(str(web_config))))

    if problems or settings is None:
        raise ConfigError(problems)
    settings._accounts = accounts
    return settings
