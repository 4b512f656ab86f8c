"""OVH API endpoint aliases, as the official client libraries name them, and their token URLs."""

from urllib.parse import urlsplit

ENDPOINTS: dict[str, str] = {
    "ovh-eu": "https://eu.api.ovh.com/1.0",
    "ovh-ca": "https://ca.api.ovh.com/1.0",
    "ovh-us": "https://api.us.ovhcloud.com/1.0",
    "kimsufi-eu": "https://eu.api.kimsufi.com/1.0",
    "kimsufi-ca": "https://ca.api.kimsufi.com/1.0",
    "soyoustart-eu": "https://eu.api.soyoustart.com/1.0",
    "soyoustart-ca": "https://ca.api.soyoustart.com/1.0",
}

# Kimsufi and So you Start have no OAuth2 service accounts, so they have no entry.
TOKEN_URLS: dict[str, str] = {
    "ovh-eu": "https://www.ovh.com/auth/oauth2/token",
    "ovh-ca": "https://ca.ovh.com/auth/oauth2/token",
    "ovh-us": "https://us.ovhcloud.com/auth/oauth2/token",
}


def _is_http_url(value: str) -> bool:
    """Tell whether `value` is an absolute http(s) URL with a host and no white space."""
    if value != value.strip() or any(char.isspace() for char in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _unknown(value: str) -> ValueError:
    """Build the error for a value that is neither an alias nor an http(s) URL."""
    aliases = ", ".join(ENDPOINTS)
    return ValueError(
        f"unknown OVH endpoint {value!r}: use one of {aliases}, or an http(s) URL such as "
        "https://eu.api.ovh.com/1.0"
    )


def resolve_endpoint(value: str) -> str:
    """Turn an endpoint alias or an http(s) URL into a base URL without a trailing slash."""
    if value in ENDPOINTS:
        return ENDPOINTS[value]
    if _is_http_url(value):
        return value.rstrip("/")
    raise _unknown(value)


def token_url_for(value: str) -> str | None:
    """Give the OAuth2 token URL for an alias (None if it has none) or for a full endpoint URL."""
    if value in ENDPOINTS:
        return TOKEN_URLS.get(value)
    if _is_http_url(value):
        # An alias's own base URL, written out, keeps the alias's token URL.
        for alias, base in ENDPOINTS.items():
            if value.rstrip("/") == base:
                return TOKEN_URLS.get(alias)
        parts = urlsplit(value)
        return f"{parts.scheme}://{parts.netloc}/auth/oauth2/token"
    raise _unknown(value)


def check_url(value: str) -> str:
    """Return `value` if it is an http(s) URL, or raise ValueError saying what is expected."""
    if not _is_http_url(value):
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value
