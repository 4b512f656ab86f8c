"""The OVHcloud web manager's addresses, and the session cookies that open its two APIs.

The manager reaches its backend-for-frontend at `<manager>/engine/2api` and the
public API v1 at `<manager>/engine/apiv6` (the same paths as `/1.0`), both with
the browser's session cookies (`SESSION`, `USERID`) instead of API keys.
"""

from urllib.parse import urlsplit

from exporter.ovh.errors import OvhApiError

# The manager of each OVHcloud region, named like the API endpoint aliases.
MANAGERS: dict[str, str] = {
    "ovh-eu": "https://www.ovh.com",
    "ovh-ca": "https://ca.ovh.com",
    "ovh-us": "https://us.ovhcloud.com",
}

TWOAPI_PATH = "/engine/2api"
APIV6_PATH = "/engine/apiv6"

# The cookies the manager's login sets, both needed by its APIs.
SESSION_COOKIES = ("SESSION", "USERID")

# A dead session: the message of the 403, or OVH's own status code.
DEAD_SESSION_MESSAGE = "this session is invalid"
DEAD_SESSION_STATUS = 471


def resolve_manager(value: str) -> str:
    """Turn a manager alias or an http(s) base URL into a base URL without a trailing slash."""
    if value in MANAGERS:
        return MANAGERS[value]
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return value.rstrip("/")
    aliases = ", ".join(MANAGERS)
    raise ValueError(
        f"unknown OVHcloud manager {value!r}: use one of {aliases}, or an http(s) base URL such "
        "as https://www.ovh.com"
    )


def manager_for(manager: str | None, endpoint: str) -> str:
    """The manager's base URL: the one configured, else the one of the endpoint alias's region."""
    if manager:
        return resolve_manager(manager)
    if endpoint in MANAGERS:
        return MANAGERS[endpoint]
    raise ValueError(
        f"OVH_ENDPOINT {endpoint!r} names no OVHcloud manager: set OVH_EXPORTER_MANAGER to "
        + ", ".join(MANAGERS)
        + " or to the manager's base URL"
    )


def cookie_problems(value: str, name: str) -> list[str]:
    """Say what is wrong with a Cookie header value, never repeating any part of it."""
    if value.lower().startswith("cookie:"):
        return [f"{name}: give the Cookie header's value, without the 'Cookie:' name"]
    if not value.isascii() or not value.isprintable():
        return [f"{name}: the cookie must be one line of printable ASCII"]
    pairs = dict(_cookie_pairs(value))
    missing = [cookie for cookie in SESSION_COOKIES if not pairs.get(cookie)]
    if missing:
        return [
            f"{name}: expected 'SESSION=...; USERID=...' as the manager sets them, missing "
            + ", ".join(missing)
        ]
    return []


def _cookie_pairs(value: str) -> list[tuple[str, str]]:
    """Split `a=1; b=2` into its (name, value) pairs."""
    pairs = []
    for part in value.split(";"):
        key, sep, cookie = part.strip().partition("=")
        if sep:
            pairs.append((key.strip(), cookie.strip()))
    return pairs


def is_dead_session(error: OvhApiError) -> bool:
    """Tell whether the manager refused the call because its session is no longer valid."""
    if error.status == DEAD_SESSION_STATUS:
        return True
    return error.status == 403 and DEAD_SESSION_MESSAGE in error.message.lower()
