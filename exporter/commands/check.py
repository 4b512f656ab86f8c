"""`ovh-vps-exporter check`: can each account reach OVH, authenticate and read every route?

For each account it reads OVH's clock (`/auth/time`), authenticates with the
first listing of the VPS, then GETs every route of `exporter.routes` on the
first VPS the account exports, filling other path placeholders from the list
route above them (a task id from `/vps/{serviceName}/tasks`, and so on). It
prints one row per route: OK, NOT GRANTED with the access rule to add, FAILED
with OVH's answer, or SKIPPED when there is nothing to read it on.
"""

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from exporter import logs
from exporter.accounts import AccountConfig
from exporter.ovh.auth import Credentials, ManagerSession, OAuth2ClientCredentials
from exporter.ovh.client import OvhClient
from exporter.ovh.errors import OvhApiError, OvhError
from exporter.ovh.managers import APIV6_PATH
from exporter.routes import NEEDED_ROUTES, PLACEHOLDER, NeededRoute, rule_path
from exporter.settings import ConfigError, load_settings

OK = "OK"
NOT_GRANTED = "NOT GRANTED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
EXIT_CONFIG = 2


@dataclass(frozen=True)
class Row:
    """The outcome of one step for one account."""

    account: str
    step: str
    result: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True unless the step failed or was not granted."""
        return self.result in (OK, SKIPPED)


class _Lists:
    """Reads list routes once each, to find ids for the routes below them."""

    def __init__(self, client: OvhClient, account: AccountConfig) -> None:
        """Read with `client`; VPS are picked among those `account` exports."""
        self.client = client
        self.account = account
        self.answers: dict[str, list[Any] | OvhError] = {}

    async def first(self, route: str, path: dict[str, str]) -> str | OvhError | None:
        """The first id a list route answers, its error, or None when it is empty."""
        key = route + repr(sorted(path.items()))
        if key not in self.answers:
            try:
                answer = await self.client.get(route, params=None, **path)
                self.answers[key] = answer if isinstance(answer, list) else []
            except OvhError as error:
                self.answers[key] = error
        answer = self.answers[key]
        if isinstance(answer, OvhError):
            return answer
        if route == "/vps":
            answer = [name for name in answer if self.account.selects(str(name))]
        return str(answer[0]) if answer else None

    async def fill(self, route: str) -> dict[str, str] | str:
        """Values for the placeholders of `route`, or why there are none."""
        path: dict[str, str] = {}
        for match in PLACEHOLDER.finditer(route):
            parent = route[: match.start() - 1]
            found = await self.first(parent, dict(path))
            if isinstance(found, OvhError):
                return f"{parent} failed"
            if found is None:
                return f"{parent} is empty"
            path[match.group(1)] = found
        return path


def _client_for(account: AccountConfig, timeout: float) -> tuple[OvhClient, str]:
    """The read-only client the daemon would use for the account's API v1, and its auth."""
    secret: Credentials | ManagerSession
    if account.credentials is not None:
        secret, base = account.credentials, account.base_url
        kind = "OAuth2" if isinstance(secret, OAuth2ClientCredentials) else "application key"
    elif account.session is not None and account.manager_url is not None:
        # Session only: API v1 through the manager, as the daemon does.
        secret, base = account.session, f"{account.manager_url}{APIV6_PATH}"
        kind = "manager session"
    else:
        raise ValueError(f"account {account.name} has no credentials")
    return OvhClient(base, secret, timeout=timeout, max_concurrency=4), kind


def _failure(account: str, step: str, error: OvhError, route: str) -> Row:
    """The row for a failed step: NOT GRANTED with the rule to add, or FAILED with the answer."""
    if isinstance(error, OvhApiError) and error.not_granted:
        return Row(account, step, NOT_GRANTED, f"add the access rule GET {rule_path(route)}")
    return Row(account, step, FAILED, str(error).removeprefix(f"GET {route}: "))


async def check_account(
    account: AccountConfig,
    *,
    request_timeout: float = 10.0,
    routes: Sequence[NeededRoute] = NEEDED_ROUTES,
) -> list[Row]:
    """Every step of the check for one account, in order."""
    client, kind = _client_for(account, request_timeout)
    async with client:
        return await _steps(client, kind, account, routes)


async def _steps(
    client: OvhClient, kind: str, account: AccountConfig, routes: Sequence[NeededRoute]
) -> list[Row]:
    """Reach OVH, authenticate, then read each route."""
    name = account.name
    try:
        await client.server_time()
    except OvhError as error:
        return [Row(name, "/auth/time", FAILED, str(error).removeprefix("GET /auth/time: "))]
    rows = [Row(name, "/auth/time", OK, "OVH answers")]

    lists = _Lists(client, account)
    listed = await lists.first("/vps", {})
    step = f"authentication ({kind})"
    if isinstance(listed, OvhApiError) and listed.auth_failed:
        rows.append(Row(name, step, FAILED, f"OVH refuses the credentials: {listed}"))
        return rows
    if isinstance(listed, OvhError) and not (
        isinstance(listed, OvhApiError) and listed.not_granted
    ):
        rows.append(Row(name, step, FAILED, f"could not be confirmed: {listed}"))
    else:
        rows.append(Row(name, step, OK, "OVH accepts the credentials"))

    for needed in routes:
        rows.append(await _check_route(client, lists, name, needed))
    return rows


async def _check_route(client: OvhClient, lists: _Lists, name: str, needed: NeededRoute) -> Row:
    """GET one route on the account's first VPS (and first item below it)."""
    path = await lists.fill(needed.route)
    if isinstance(path, str):
        return Row(name, needed.route, SKIPPED, f"nothing to read it on: {path}")
    try:
        await client.get(needed.route, params=needed.params or None, **path)
    except OvhError as error:
        if isinstance(error, OvhApiError) and error.not_found and needed.optional:
            return Row(name, needed.route, OK, "granted; this VPS has none (404)")
        return _failure(name, needed.route, error, needed.route)
    return Row(name, needed.route, OK, "")


def print_table(rows: Sequence[Row], out: TextIO = sys.stdout) -> None:
    """Print the rows as an aligned table, then the access rules to add, if any."""
    header = Row("ACCOUNT", "ROUTE", "RESULT", "DETAIL")
    widths = [
        max(len(getattr(row, column)) for row in (header, *rows))
        for column in ("account", "step", "result")
    ]
    for row in (header, *rows):
        cells = (row.account, row.step, row.result)
        line = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        out.write(f"{line}  {row.detail}".rstrip() + "\n")

    missing: dict[str, set[str]] = {}
    for row in rows:
        if row.result == NOT_GRANTED:
            missing.setdefault(row.account, set()).add(rule_path(row.step))
    for account, paths in missing.items():
        rules = ", ".join(f"GET {path}" for path in sorted(paths))
        out.write(f"\nAccount {account}: add these access rules to its consumer key: {rules}\n")
    failed = [row for row in rows if not row.ok]
    out.write(
        "\nEverything the exporter needs works.\n"
        if not failed
        else f"\n{len(failed)} of {len(rows)} checks did not pass.\n"
    )


async def run(overrides: dict[str, object], out: TextIO = sys.stdout) -> int:
    """The command: 0 when every check passes, 1 when one does not, 2 for a bad configuration."""
    try:
        settings = load_settings(overrides)
    except ConfigError as error:
        sys.stderr.write(f"ovh-vps-exporter check: {error}\n")
        return EXIT_CONFIG
    # The table says what each failure means; the client's own warnings would repeat it.
    logs.configure("error", settings.log_format)
    rows: list[Row] = []
    for account in settings.accounts():
        rows.extend(await check_account(account, request_timeout=settings.request_timeout))
    print_table(rows, out)
    return 0 if all(row.ok for row in rows) else 1
