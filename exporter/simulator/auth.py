"""How the simulated account checks each API call's credentials and issues OAuth2 tokens."""

import base64
import binascii
import hmac
import secrets
from typing import Final, Literal

from aiohttp import web

from exporter.ovh.auth import signature
from exporter.simulator.config import SimulatorConfig
from exporter.simulator.errors import coded_error, oauth2_error

AuthKind = Literal["signature", "oauth2", "session", "none"]

SIGNATURE_HEADERS: Final = (
    "X-Ovh-Application",
    "X-Ovh-Consumer",
    "X-Ovh-Timestamp",
    "X-Ovh-Signature",
)

# OVH refuses a signed call whose timestamp is further than this from its clock.
MAX_TIMESTAMP_DRIFT: Final = 300


def _same(given: str, expected: str) -> bool:
    """Compare a credential in constant time, whatever characters the client sent."""
    return hmac.compare_digest(given.encode(), expected.encode())


def _bearer_token(request: web.Request) -> str | None:
    """Return the token of an `Authorization: Bearer` header, or None when there is none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def auth_kind(request: web.Request) -> AuthKind:
    """Tell which credentials a request presents, valid or not, for the request log."""
    if _bearer_token(request) is not None:
        return "oauth2"
    if any(name in request.headers for name in SIGNATURE_HEADERS):
        return "signature"
    if "Authorization" in request.headers:
        return "oauth2"
    if "Cookie" in request.headers:
        return "session"
    return "none"


class TokenStore:
    """The bearer tokens the simulator issued, with the simulator time each one expires."""

    def __init__(self) -> None:
        """Start with no token."""
        self._expiry: dict[str, float] = {}

    def issue(self, lifetime: int, now: float) -> str:
        """Create a token valid for `lifetime` seconds from `now`, forgetting expired ones."""
        self._expiry = {token: end for token, end in self._expiry.items() if end > now}
        token = secrets.token_urlsafe(32)
        self._expiry[token] = now + lifetime
        return token

    def valid(self, token: str, now: float) -> bool:
        """Tell whether `token` was issued here and has not expired at `now`."""
        return self._expiry.get(token, now) > now


async def check_credentials(
    request: web.Request, config: SimulatorConfig, tokens: TokenStore
) -> None:
    """Accept a valid bearer token or a valid signature, or raise the error OVH would answer."""
    token = _bearer_token(request)
    if token is not None:
        if not tokens.valid(token, config.now()):
            raise coded_error(401, "INVALID_CREDENTIAL", "This credential is not valid")
        return
    await _check_signature(request, config)


async def _check_signature(request: web.Request, config: SimulatorConfig) -> None:
    """Check the four `X-Ovh-*` headers in the order OVH reports their faults."""
    headers = request.headers
    if not any(name in headers for name in SIGNATURE_HEADERS):
        raise coded_error(401, "NOT_CREDENTIAL", "You must login first")
    if not _same(headers.get("X-Ovh-Application", ""), config.application_key):
        raise coded_error(403, "INVALID_KEY", "This application key is invalid")
    consumer_key = headers.get("X-Ovh-Consumer", "")
    if not consumer_key:
        raise coded_error(401, "NOT_CREDENTIAL", "You must login first")
    if not _same(consumer_key, config.consumer_key):
        raise coded_error(403, "INVALID_CREDENTIAL", "This credential does not exist")

    sent_timestamp = headers.get("X-Ovh-Timestamp", "")
    if not (sent_timestamp.isascii() and sent_timestamp.isdigit()):
        raise coded_error(400, "QUERY_TIME_OUT", "Query out of time")
    timestamp = int(sent_timestamp)
    if abs(timestamp - config.now()) > MAX_TIMESTAMP_DRIFT:
        raise coded_error(400, "QUERY_TIME_OUT", "Query out of time")

    # The client signed the URL it sent, so rebuild it from the Host header and
    # the raw path rather than from a normalised URL.
    url = f"{request.scheme}://{request.host}{request.raw_path}"
    body = await request.text()
    expected = signature(
        config.application_secret, config.consumer_key, request.method, url, body, timestamp
    )
    if not _same(headers.get("X-Ovh-Signature", ""), expected):
        raise coded_error(400, "INVALID_SIGNATURE", "Invalid signature")


def _client_credentials(request: web.Request, form: dict[str, str]) -> tuple[str, str] | None:
    """Read the client id and secret from HTTP Basic, or from the form as RFC 6749 also allows."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, encoded = header.partition(" ")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, colon, client_secret = decoded.partition(":")
        return (client_id, client_secret) if scheme.lower() == "basic" and colon else None
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


async def issue_token(
    request: web.Request, config: SimulatorConfig, tokens: TokenStore
) -> web.Response:
    """Answer `POST /auth/oauth2/token` for the client-credentials grant."""
    posted = await request.post()
    form = {key: value for key, value in posted.items() if isinstance(value, str)}
    client = _client_credentials(request, form)
    if client is None or not (
        _same(client[0], config.client_id) and _same(client[1], config.client_secret)
    ):
        raise oauth2_error(401, "invalid_client", "Client authentication failed")

    grant_type = form.get("grant_type")
    if grant_type is None:
        raise oauth2_error(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        raise oauth2_error(400, "unsupported_grant_type", "Only client_credentials is supported")

    scope = form.get("scope") or "all"
    token = tokens.issue(config.token_lifetime, config.now())
    answer = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": config.token_lifetime,
        "scope": scope,
    }
    return web.json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
