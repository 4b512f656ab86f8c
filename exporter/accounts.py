"""The OVH accounts to export: the accounts of a YAML file (`--config.file`), or one from the env.

The file lists accounts; listen address, logging and the other process-wide
settings stay flags and environment variables::

    accounts:
      - name: prod                      # the `account` label, unique
        endpoint: ovh-eu                # alias or base URL, default ovh-eu
        application_key: 1a2b3c4d5e6f7a8b
        application_secret_file: /run/secrets/prod_application_secret
        consumer_key_file: /run/secrets/prod_consumer_key
        include: ["vps-*.vps.ovh.net"]  # glob patterns on VPS names, default all
        exclude: ["*-staging.*"]
        intervals: {vps: 60, billing: 3600}
      - name: lab
        endpoint: ovh-ca
        client_id: CA.0123456789abcdef
        client_secret_file: /run/secrets/lab_client_secret

Every credential may be inline or read from `<key>_file`; an account has an
application key (application_key, application_secret, consumer_key), an OAuth2
service account (client_id, client_secret), a manager session
(manager_cookie, with an optional `manager`), or a session with one of the
others as fallback. Unset intervals take the environment's (or the default).
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import SecretStr

from exporter.ovh.auth import (
    ApplicationKey,
    Credentials,
    ManagerSession,
    OAuth2ClientCredentials,
)
from exporter.ovh.client import ObjectList
from exporter.ovh.endpoints import resolve_endpoint, token_url_for
from exporter.ovh.managers import cookie_problems, manager_for

if TYPE_CHECKING:
    from exporter.settings import Settings

APPLICATION_KEYS = ("application_key", "application_secret", "consumer_key")
OAUTH2_KEYS = ("client_id", "client_secret")
SESSION_KEY = "manager_cookie"
CREDENTIAL_KEYS = (*APPLICATION_KEYS, *OAUTH2_KEYS, SESSION_KEY)
OTHER_KEYS = ("name", "endpoint", "oauth2_token_url", "manager", "include", "exclude", "intervals")
ACCOUNT_KEYS = frozenset(
    {*OTHER_KEYS, *CREDENTIAL_KEYS, *(f"{key}_file" for key in CREDENTIAL_KEYS)}
)
# The job the manager session adds (exporter.manager_jobs.MANAGER_JOB).
MANAGER_JOB = "manager"
MIN_INTERVAL = 5.0
# A week: longer intervals are typing mistakes, and they overflow the scheduler's dates.
MAX_INTERVAL = 7 * 24 * 3600.0

_NAME = re.compile(r"[A-Za-z0-9_.:-]+")

# Records one problem of the account being read: the key, and what is wrong with it.
Report = Callable[[str, str], None]


@dataclass(frozen=True)
class AccountConfig:
    """One OVH account to export: its label, where and how to reach it, its VPS and intervals."""

    name: str
    base_url: str
    credentials: Credentials | None
    intervals: Mapping[str, float]
    session: ManagerSession | None = None
    manager_url: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def selects(self, vps: str) -> bool:
        """Tell whether a VPS of this account is exported, by the include and exclude patterns."""
        if self.include and not any(fnmatchcase(vps, pattern) for pattern in self.include):
            return False
        return not any(fnmatchcase(vps, pattern) for pattern in self.exclude)


def selected_vps(listing: ObjectList, selects: Callable[[str], bool]) -> ObjectList:
    """Keep the VPS of a `/vps` listing that the account exports, and their failures."""
    objects = [
        item
        for item in listing.objects
        if not (isinstance(item, dict) and isinstance(item.get("name"), str))
        or selects(item["name"])
    ]
    failed = {name: error for name, error in listing.failed.items() if selects(name)}
    return ObjectList(objects, failed)


def env_account(settings: "Settings") -> AccountConfig:
    """The one account the environment describes (when no configuration file is given)."""
    session = settings.manager_session()
    return AccountConfig(
        name=settings.account,
        base_url=settings.base_url,
        credentials=settings.credentials() if settings.has_api_credentials else None,
        intervals=settings.intervals(),
        session=session,
        manager_url=None if session is None else settings.manager_url,
    )


def env_conflicts(environ: Mapping[str, str], names: Sequence[str]) -> list[str]:
    """The per-account variables set in the environment, which a configuration file replaces."""
    return [
        f"{name}: with --config.file every account's settings come from the file; "
        "unset this variable"
        for name in names
        if environ.get(name)
    ]


def read_config_file(
    path: Path, defaults: Mapping[str, float], manager_interval: float
) -> tuple[tuple[AccountConfig, ...], list[str]]:
    """Read and check a configuration file; returns its accounts and every problem found.

    `defaults` are the intervals of every job (the manager's excepted), used where
    an account sets none; problems name the file, the account and the key.
    """
    where = f"--config.file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        return (), [f"{where}: cannot read it: {error.strerror or error}"]
    except UnicodeDecodeError:
        return (), [f"{where}: not UTF-8 text"]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return (), [f"{where}: not valid YAML{_yaml_position(error)}"]

    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        return (), [f"{where}: expected a mapping with a list of accounts under 'accounts'"]
    problems = [f"{where}: unknown key {key!r}" for key in data if key != "accounts"]
    if not data["accounts"]:
        problems.append(f"{where}: accounts: the list is empty")

    reader = _AccountReader(where, path.parent, defaults, manager_interval)
    accounts = []
    for index, item in enumerate(data["accounts"]):
        account, found = reader.read(index, item)
        problems.extend(found)
        if account is not None:
            accounts.append(account)
    names = [account.name for account in accounts]
    problems.extend(
        f"{where}: account name {name!r} is used more than once"
        for name in sorted({name for name in names if names.count(name) > 1})
    )
    return tuple(accounts), problems


def _yaml_position(error: yaml.YAMLError) -> str:
    """Where a YAML error is, without quoting the line (it may hold a secret)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is None:
        return ""
    return f" at line {mark.line + 1}, column {mark.column + 1}" + (
        f": {problem}" if problem else ""
    )


@dataclass
class _AccountReader:
    """Checks one account of the file at a time, collecting problems instead of stopping."""

    where: str
    base: Path
    defaults: Mapping[str, float]
    manager_interval: float

    def read(self, index: int, item: object) -> tuple[AccountConfig | None, list[str]]:
        """Build one account, or say everything that is wrong with it."""
        if not isinstance(item, dict):
            return None, [f"{self.where}: accounts[{index}]: expected a mapping of settings"]
        name = item.get("name")
        label = f"{self.where}: account {name!r}" if isinstance(name, str) else ""
        label = label or f"{self.where}: accounts[{index}]"
        problems: list[str] = []

        def problem(key: str, detail: str) -> None:
            """Note what is wrong with one key of this account."""
            problems.append(f"{label}: {key}: {detail}")

        problems.extend(f"{label}: unknown key {key!r}" for key in item if key not in ACCOUNT_KEYS)
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problem("name", "required, letters, digits and _.:- only")

        endpoint = item.get("endpoint", "ovh-eu")
        base_url = ""
        try:
            base_url = resolve_endpoint(str(endpoint))
        except ValueError as error:
            problem("endpoint", str(error))

        values = {key: self._credential(item, key, problem) for key in CREDENTIAL_KEYS}
        credentials = self._credentials(item, values, str(endpoint), problem)
        session = None
        manager_url = None
        cookie = values[SESSION_KEY]
        if cookie is not None:
            problems.extend(cookie_problems(cookie.get_secret_value(), f"{label}: manager_cookie"))
            session = ManagerSession(cookie)
            try:
                manager_url = manager_for(_text(item.get("manager")), str(endpoint))
            except ValueError as error:
                problem("manager", str(error))
        elif item.get("manager") is not None:
            problem("manager", "set, but the account has no manager_cookie")

        include = self._patterns(item, "include", problem)
        exclude = self._patterns(item, "exclude", problem)
        intervals = self._intervals(item, session is not None, problem)
        if problems or not isinstance(name, str):
            return None, problems
        return AccountConfig(
            name=name,
            base_url=base_url,
            credentials=credentials,
            intervals=intervals,
            session=session,
            manager_url=manager_url,
            include=include,
            exclude=exclude,
        ), []

    def _credential(self, item: Mapping[str, Any], key: str, problem: Report) -> SecretStr | None:
        """One credential, inline or from `<key>_file`; the value is never put in a message."""
        inline = item.get(key)
        path = item.get(f"{key}_file")
        if inline is not None and path is not None:
            problem(key, f"both {key} and {key}_file are set: keep one")
            return None
        try:
            return _inline_secret(inline) if path is None else self._secret_file(path)
        except ValueError as error:
            problem(key if path is None else f"{key}_file", str(error))
            return None

    def _secret_file(self, path: object) -> SecretStr:
        """Read a secret from a file, relative to the configuration file's folder."""
        if not isinstance(path, str) or not path:
            raise ValueError("expected a path")
        resolved = self.base / path
        try:
            value = resolved.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(f"cannot read {resolved}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise ValueError(f"{resolved} is not UTF-8 text") from None
        if not value:
            raise ValueError(f"{resolved} is empty")
        return SecretStr(value)

    def _credentials(
        self,
        item: Mapping[str, Any],
        values: Mapping[str, SecretStr | None],
        endpoint: str,
        problem: Report,
    ) -> Credentials | None:
        """The account's application key or OAuth2 service account, if it has one."""
        kind = _credential_kind(item, values, problem)
        # The kind is complete: the empty fallbacks below only satisfy the type checker.
        if kind == "application-key":
            key, secret, consumer = (values[name] or SecretStr("") for name in APPLICATION_KEYS)
            return ApplicationKey(key.get_secret_value(), secret, consumer)
        if kind != "OAuth2":
            return None
        client_id, client_secret = (values[name] or SecretStr("") for name in OAUTH2_KEYS)
        try:
            token_url = _text(item.get("oauth2_token_url")) or token_url_for(endpoint)
        except ValueError:  # An unknown endpoint, already reported.
            return None
        if token_url is None:
            problem("endpoint", f"{endpoint!r} has no OAuth2 service accounts: use a key")
            return None
        return OAuth2ClientCredentials(client_id.get_secret_value(), client_secret, token_url)

    def _patterns(self, item: Mapping[str, Any], key: str, problem: Report) -> tuple[str, ...]:
        """A list of glob patterns (a single string is a list of one)."""
        value = item.get(key)
        if value is None:
            return ()
        patterns = [value] if isinstance(value, str) else value
        if not isinstance(patterns, list) or not all(
            isinstance(pattern, str) and pattern for pattern in patterns
        ):
            problem(key, "expected a list of glob patterns such as 'vps-*.vps.ovh.net'")
            return ()
        return tuple(patterns)

    def _intervals(
        self, item: Mapping[str, Any], has_session: bool, problem: Report
    ) -> dict[str, float]:
        """Each job's interval: the account's own, else the default."""
        intervals = dict(self.defaults)
        if has_session:
            intervals[MANAGER_JOB] = self.manager_interval
        given = item.get("intervals") or {}
        if not isinstance(given, dict):
            problem("intervals", "expected a mapping of job name to seconds")
            return intervals
        for job, seconds in given.items():
            if job not in intervals:
                problem(f"intervals.{job}", "unknown job: use one of " + ", ".join(intervals))
            elif (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not MIN_INTERVAL <= seconds <= MAX_INTERVAL
            ):
                problem(
                    f"intervals.{job}",
                    f"expected seconds, from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}",
                )
            else:
                intervals[job] = float(seconds)
        return intervals


def _inline_secret(value: object) -> SecretStr | None:
    """An inline credential; None when it is not set."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string (quote it)")
    return SecretStr(value.strip())


def _credential_kind(
    item: Mapping[str, Any], values: Mapping[str, SecretStr | None], problem: Report
) -> str | None:
    """ "application-key" or "OAuth2" when exactly one kind is complete; problems otherwise."""
    app = [key for key in APPLICATION_KEYS if values[key] is not None]
    oauth = [key for key in OAUTH2_KEYS if values[key] is not None]
    if not any(item.get(key) is not None or f"{key}_file" in item for key in CREDENTIAL_KEYS):
        problem(
            "credentials",
            "none given: set application_key, application_secret and consumer_key, or "
            "client_id and client_secret, or manager_cookie (each also as <key>_file)",
        )
        return None
    if app and oauth:
        problem("credentials", "both an application key and OAuth2 are set: keep one kind")
        return None
    for kind, keys, present in (
        ("application-key", APPLICATION_KEYS, app),
        ("OAuth2", OAUTH2_KEYS, oauth),
    ):
        missing = [key for key in keys if key not in present]
        if present and missing:
            problem("credentials", f"{kind} credentials incomplete, missing {', '.join(missing)}")
        elif present:
            return kind
    return None


def _text(value: object) -> str | None:
    """A string setting, None when unset or not a string."""
    return value if isinstance(value, str) and value else None
