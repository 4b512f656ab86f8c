"""Every setting of the exporter, read once at start and validated together."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from exporter.ovh.auth import ApplicationKey, Credentials, OAuth2ClientCredentials
from exporter.ovh.endpoints import resolve_endpoint, token_url_for

DEFAULT_PORT = 10060

# The credential variables of OVHcloud's official libraries; each may also be
# given as <NAME>_FILE, a path to a file holding the value.
APPLICATION_VARS = ("OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY")
OAUTH2_VARS = ("OVH_CLIENT_ID", "OVH_CLIENT_SECRET")
CREDENTIAL_VARS = APPLICATION_VARS + OAUTH2_VARS

# Endpoint aliases with no OAuth2 service accounts (see ../shared/README.md).
_NO_OAUTH2_PREFIXES = ("kimsufi-", "soyoustart-")

# Flag names shown in messages next to the environment variable they override.
FLAGS = {
    "web_listen_address": "--web.listen-address",
    "log_level": "--log.level",
    "log_format": "--log.format",
    "config_file": "--config.file",
}

JOBS = ("vps", "tasks", "backups", "billing")


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

    endpoint: str = Field(default="ovh-eu", validation_alias="OVH_ENDPOINT")
    oauth2_token_url: str | None = None
    application_key: str | None = Field(default=None, validation_alias="OVH_APPLICATION_KEY")
    application_secret: SecretStr | None = Field(
        default=None, validation_alias="OVH_APPLICATION_SECRET"
    )
    consumer_key: SecretStr | None = Field(default=None, validation_alias="OVH_CONSUMER_KEY")
    client_id: str | None = Field(default=None, validation_alias="OVH_CLIENT_ID")
    client_secret: SecretStr | None = Field(default=None, validation_alias="OVH_CLIENT_SECRET")

    interval_vps: float = Field(default=60.0, ge=5.0)
    interval_tasks: float = Field(default=60.0, ge=5.0)
    interval_backups: float = Field(default=900.0, ge=5.0)
    interval_billing: float = Field(default=3600.0, ge=5.0)
    stale_after: int = Field(default=3, ge=1)
    request_timeout: float = Field(default=10.0, gt=0.0)
    max_concurrency: int = Field(default=8, ge=1, le=64)

    @field_validator("web_listen_address")
    @classmethod
    def _listen_address(cls, value: str) -> str:
        parse_listen_address(value)
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        resolve_endpoint(value)
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
        return {job: float(getattr(self, f"interval_{job}")) for job in JOBS}

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
        try:
            values[name] = Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            problems.append(f"{name}_FILE: cannot read {path}: {error.strerror or error}")
            continue
        if not values[name]:
            problems.append(f"{name}_FILE: {path} is empty")
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
            "OVH_CONSUMER_KEY, or OVH_CLIENT_ID and OVH_CLIENT_SECRET (each also as <NAME>_FILE)"
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
    problems.extend(_credential_problems(raw, endpoint))
    if settings is not None and settings.config_file is not None:
        problems.append(
            "--config.file / OVH_EXPORTER_CONFIG_FILE: configuration files are not supported "
            "yet; use environment variables"
        )

    if problems or settings is None:
        raise ConfigError(problems)
    return settings
