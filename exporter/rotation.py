"""Secrets given as files, read again on SIGHUP and after OVH refuses an account's credentials.

A secret rotated on disk (a Docker or Kubernetes secret, a file a vault agent
renders) reaches the running clients without a restart: `kill -HUP PID` reads
every `<NAME>_FILE` of the environment and every `<key>_file` of `--config.file`
again, and a refusal of an account's credentials by OVH reads that account's
files once more before its next attempt. Nothing else is read again: endpoints,
intervals, patterns and the paths of the files stay as they were at start. A file
that cannot be read, or holds no valid value, leaves the account's credentials as
they were. The collector shows the readings of every account::

    # HELP ovh_exporter_credential_reloads_total Readings of the account's secret files ...
    # TYPE ovh_exporter_credential_reloads_total counter
    ovh_exporter_credential_reloads_total{account="prod",outcome="changed"} 1.0
    ovh_exporter_credential_reloads_total{account="prod",outcome="unchanged"} 0.0
    ovh_exporter_credential_reloads_total{account="prod",outcome="failed"} 0.0
"""

import asyncio
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import structlog
import yaml
from prometheus_client.core import Metric
from pydantic import SecretStr

from exporter.accounts import CREDENTIAL_KEYS, SESSION_KEY
from exporter.metrics import ACCOUNT_LABELS, define
from exporter.ovh.auth import ApplicationKey, Credentials, ManagerSession, OAuth2ClientCredentials
from exporter.ovh.client import OvhClient
from exporter.ovh.managers import cookie_problems
from exporter.settings import CREDENTIAL_VARS, Settings

if TYPE_CHECKING:
    from exporter.store import AccountSnapshot, AccountState

log = structlog.stdlib.get_logger(__name__)

SIGNAL = signal.SIGHUP

# What caused a reading, as the log line says it.
ON_SIGNAL = "SIGHUP"
ON_REFUSAL = "credentials refused"

Outcome = Literal["changed", "unchanged", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("changed", "unchanged", "failed")

CREDENTIAL_RELOADS = define(
    "ovh_exporter_credential_reloads_total",
    "counter",
    "Readings of the account's secret files after start (on SIGHUP, or before the next "
    "attempt after OVH refused the credentials), by outcome: changed (the new credentials "
    "are in use), unchanged, or failed (a file unreadable or invalid: the credentials in "
    "use are kept).",
    (*ACCOUNT_LABELS, "outcome"),
    unit="readings",
)

# The configuration key of each credential variable: both lists keep the same order.
_ENVIRONMENT_KEYS = dict(zip(CREDENTIAL_VARS, CREDENTIAL_KEYS, strict=True))
# The attribute of the credentials object a key fills, where the names differ.
_ATTRIBUTES = {SESSION_KEY: "cookie"}

_C = TypeVar("_C", bound=ApplicationKey | OAuth2ClientCredentials | ManagerSession)


@dataclass(frozen=True)
class SecretFile:
    """One credential given as a file: its key, the setting that names the file, the file."""

    key: str
    setting: str
    path: Path


@dataclass(frozen=True)
class Reading:
    """What reading one account's files again gave: the outcome, and the settings it concerns.

    `settings` names the files whose value changed, or those that could not be read.
    """

    account: str
    outcome: Outcome
    settings: tuple[str, ...] = ()


def environment_files(environ: Mapping[str, str]) -> tuple[SecretFile, ...]:
    """The credentials the environment gives as `<NAME>_FILE`."""
    return tuple(
        SecretFile(key, f"{name}_FILE", Path(environ[f"{name}_FILE"]))
        for name, key in _ENVIRONMENT_KEYS.items()
        if environ.get(f"{name}_FILE")
    )


def config_files(path: Path) -> dict[str, tuple[SecretFile, ...]]:
    """The credentials each account of a configuration file gives as `<key>_file`, by account.

    The file was checked at start; if it cannot be read now, no file will be read again.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        log.warning(
            "cannot read the configuration file again: secret files will not be read again",
            setting="--config.file",
        )
        return {}
    items = data.get("accounts") if isinstance(data, dict) else None
    found: dict[str, tuple[SecretFile, ...]] = {}
    for item in items if isinstance(items, list) else []:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        found[name] = tuple(
            # Relative to the configuration file's folder, as at start.
            SecretFile(key, f"--config.file: account {name!r}: {key}_file", path.parent / given)
            for key in CREDENTIAL_KEYS
            if isinstance(given := item.get(f"{key}_file"), str) and given
        )
    return found


def secret_files(
    settings: Settings, environ: Mapping[str, str]
) -> dict[str, tuple[SecretFile, ...]]:
    """Every account's secret files: the configuration file's, or the environment's account's."""
    if settings.config_file is not None:
        return config_files(settings.config_file)
    return {settings.account: environment_files(environ)}


def read_secret(file: SecretFile) -> str:
    """The value a secret file holds now; ValueError says what is wrong, never the value or path."""
    try:
        value = file.path.read_text(encoding="utf-8").strip()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(f"cannot read the file it names: {reason}") from None
    except UnicodeDecodeError:
        raise ValueError("the file it names is not UTF-8 text") from None
    if not value:
        raise ValueError("the file it names is empty")
    if file.key == SESSION_KEY:
        problems = cookie_problems(value, file.setting)
        if problems:
            raise ValueError(problems[0].removeprefix(f"{file.setting}: "))
    return value


def _plain(value: object) -> object:
    """A credential's value, a secret's revealed, for comparing old and new."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _renewed(current: _C, values: Mapping[str, str]) -> _C:
    """`current` with the values that differ put in (secrets as SecretStr), or itself."""
    changes: dict[str, Any] = {}
    for item in fields(current):
        key = next((k for k in values if _ATTRIBUTES.get(k, k) == item.name), None)
        if key is None:
            continue
        old = getattr(current, item.name)
        if _plain(old) != values[key]:
            changes[item.name] = (
                SecretStr(values[key]) if isinstance(old, SecretStr) else values[key]
            )
    return replace(current, **changes) if changes else current


@dataclass
class _Watched:
    """One account whose credentials come, at least in part, from files."""

    state: "AccountState"
    files: tuple[SecretFile, ...]
    credentials: Credentials | None
    session: ManagerSession | None
    clients: list[OvhClient] = field(default_factory=list)

    def current(self, key: str) -> object:
        """The value in use for one configuration key, None when the account has no such key."""
        holder = self.session if key == SESSION_KEY else self.credentials
        attribute = _ATTRIBUTES.get(key, key)
        if holder is None or attribute not in {item.name for item in fields(holder)}:
            return None
        return _plain(getattr(holder, attribute))

    def apply(self, values: Mapping[str, str]) -> tuple[str, ...]:
        """Put the values read into the clients; returns the settings whose value changed."""
        changed = tuple(
            file.setting for file in self.files if self.current(file.key) != values[file.key]
        )
        if not changed:
            return ()
        credentials = None if self.credentials is None else _renewed(self.credentials, values)
        session = None if self.session is None else _renewed(self.session, values)
        for client in self.clients:
            if isinstance(client.credentials, ManagerSession):
                if session is not None and session is not self.session:
                    client.replace_credentials(session)
            elif credentials is not None and credentials is not self.credentials:
                client.replace_credentials(credentials)
        self.credentials, self.session = credentials, session
        return changed

    def count(self, outcome: Outcome) -> None:
        """Count one reading in the account's state, which snapshots show."""
        reloads = self.state.credential_reloads
        reloads[outcome] = reloads.get(outcome, 0) + 1


class CredentialRotation:
    """The accounts whose secrets are files, and their clients; reads the files on demand."""

    def __init__(self, files: Mapping[str, tuple[SecretFile, ...]] | None = None) -> None:
        """Know each account's secret files, by account name; none are read yet."""
        self._files = dict(files or {})
        self._accounts: dict[str, _Watched] = {}

    def watch(
        self,
        state: "AccountState",
        credentials: Credentials | None,
        session: ManagerSession | None,
        clients: Iterable[OvhClient],
    ) -> None:
        """Keep the account's credentials and clients; a refusal will read its files again."""
        account = _Watched(state, (), credentials, session, list(clients))
        account.files = tuple(
            file
            for file in self._files.get(state.name, ())
            if account.current(file.key) is not None
        )
        if not account.files:
            return
        self._accounts[state.name] = account
        guard = state.health.access
        if guard is not None:
            guard.before_retry = partial(self._before_retry, state.name)

    def reload_all(self, trigger: str = ON_SIGNAL) -> list[Reading]:
        """Read every account's secret files again, and log what changed in one line."""
        if not self._accounts:
            log.info("no secret is given as a file: nothing to read again", trigger=trigger)
            return []
        readings = [self._read(account, trigger) for account in self._accounts.values()]
        _report(trigger, readings)
        return readings

    def reload(self, name: str, trigger: str = ON_REFUSAL) -> Reading | None:
        """Read one account's secret files again; None when it has none."""
        account = self._accounts.get(name)
        if account is None:
            return None
        reading = self._read(account, trigger)
        _report(trigger, [reading])
        return reading

    def _before_retry(self, name: str) -> None:
        """Read the account's files once before its next attempt after a refusal."""
        self.reload(name, ON_REFUSAL)

    def _read(self, account: _Watched, trigger: str) -> Reading:
        """Read the account's files, keep its credentials if any fails, and count the reading."""
        name = account.state.name
        values: dict[str, str] = {}
        unreadable: list[str] = []
        for file in account.files:
            try:
                values[file.key] = read_secret(file)
            except ValueError as error:
                unreadable.append(file.setting)
                log.warning(
                    "cannot read a secret file again: the account keeps the credentials in use",
                    account=name,
                    setting=file.setting,
                    problem=str(error),
                    trigger=trigger,
                )
        if unreadable:
            reading = Reading(name, "failed", tuple(unreadable))
        else:
            changed = account.apply(values)
            reading = Reading(name, "changed" if changed else "unchanged", changed)
        if reading.outcome == "changed" and account.state.health.access is not None:
            # New credentials deserve an attempt now, not after the delay the old ones earned.
            account.state.health.access.retry_now()
        account.count(reading.outcome)
        return reading


def _report(trigger: str, readings: list[Reading]) -> None:
    """Log one line for one reading of the files: which settings changed, which failed."""
    log.info(
        "secret files read again",
        trigger=trigger,
        changed={r.account: list(r.settings) for r in readings if r.outcome == "changed"},
        unchanged=[r.account for r in readings if r.outcome == "unchanged"],
        failed={r.account: list(r.settings) for r in readings if r.outcome == "failed"},
        other_settings="not read again: restart the exporter to change them",
    )


def install(loop: asyncio.AbstractEventLoop, reload: Callable[[], object]) -> None:
    """Call `reload` whenever the process receives SIGHUP."""
    loop.add_signal_handler(SIGNAL, reload)


def reload_families(accounts: Iterable["AccountSnapshot"]) -> Iterator[Metric]:
    """The readings of every account's secret files, each outcome shown from zero."""
    family = CREDENTIAL_RELOADS.family()
    for account in accounts:
        for outcome in OUTCOMES:
            family.add_metric([account.name, outcome], account.credential_reloads.get(outcome, 0))
    yield family
