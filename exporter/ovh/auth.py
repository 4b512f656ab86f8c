"""OVH credentials: application-key request signing and OAuth2 client-credentials tokens."""

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import SecretStr


def signature(  # noqa: PLR0917 - the six parts of the signed text, in OVH's order.
    application_secret: str,
    consumer_key: str,
    method: str,
    url: str,
    body: str,
    timestamp: int,
) -> str:
    """Return the `X-Ovh-Signature` value OVH expects for one request.

    The signed text is the application secret, consumer key, method, full URL
    with its query string, body and timestamp, joined by `+`.
    """
    text = "+".join((application_secret, consumer_key, method.upper(), url, body, str(timestamp)))
    # SHA-1 because OVH's signature protocol says so (ruff S324, bandit B324).
    return "$1$" + hashlib.sha1(text.encode()).hexdigest()  # noqa: S324  # nosec


@dataclass(frozen=True)
class ApplicationKey:
    """An application key and secret with a consumer key, used to sign every request."""

    application_key: str
    application_secret: SecretStr
    consumer_key: SecretStr


@dataclass(frozen=True)
class OAuth2ClientCredentials:
    """An OAuth2 service account, traded at `token_url` for short-lived bearer tokens."""

    client_id: str
    client_secret: SecretStr
    token_url: str


Credentials = ApplicationKey | OAuth2ClientCredentials


@dataclass(frozen=True)
class ManagerSession:
    """The OVHcloud manager's session cookies, sent as they are in one `Cookie` header."""

    cookie: SecretStr


# The form OVH's token endpoint expects for a service account.
TOKEN_REQUEST_FORM = {"grant_type": "client_credentials", "scope": "all"}

# Renew a token this many seconds before OVH would expire it, so no request
# leaves with a token that dies on the way.
TOKEN_RENEWAL_MARGIN = 60.0


def signed_headers(key: ApplicationKey, method: str, url: str, timestamp: int) -> dict[str, str]:
    """Return the four `X-Ovh-*` headers for a bodiless request to `url` at OVH time `timestamp`."""
    return {
        "X-Ovh-Application": key.application_key,
        "X-Ovh-Consumer": key.consumer_key.get_secret_value(),
        "X-Ovh-Timestamp": str(timestamp),
        "X-Ovh-Signature": signature(
            key.application_secret.get_secret_value(),
            key.consumer_key.get_secret_value(),
            method,
            url,
            "",
            timestamp,
        ),
    }


class ServerTimeDelta:
    """The seconds to add to the local clock to get OVH's, read once and again on demand."""

    def __init__(
        self, read_server_time: Callable[[], Awaitable[int]], clock: Callable[[], float]
    ) -> None:
        """Remember how to read OVH's clock; nothing is read until the first timestamp."""
        self._read_server_time = read_server_time
        self._clock = clock
        self._lock = asyncio.Lock()
        # (delta, generation): the generation tells callers which reading they signed with.
        self._reading: tuple[int, int] | None = None

    async def timestamp(self) -> tuple[int, int]:
        """Return OVH's current time and the generation of the reading it comes from."""
        delta, generation = self._reading or await self.refresh(0)
        return int(self._clock()) + delta, generation

    async def refresh(self, stale_generation: int) -> tuple[int, int]:
        """Read the delta again, unless a newer reading than `stale_generation` already did."""
        async with self._lock:
            if self._reading is None or self._reading[1] == stale_generation:
                server_time = await self._read_server_time()
                generation = 1 if self._reading is None else self._reading[1] + 1
                self._reading = (server_time - int(self._clock()), generation)
            return self._reading


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and the local time after which it should be renewed."""

    value: SecretStr
    renew_after: float

    def is_fresh(self, now: float) -> bool:
        """Tell whether the token can still be sent at local time `now`."""
        return now < self.renew_after


def parse_token(answer: object, now: float) -> AccessToken:
    """Build an `AccessToken` from the token endpoint's JSON answer received at local time `now`."""
    if not isinstance(answer, dict):
        raise ValueError("the token answer is not a JSON object")
    value = answer.get("access_token")
    if not isinstance(value, str) or not value:
        raise ValueError("the token answer has no access_token")
    expires_in = answer.get("expires_in")
    if expires_in is None:
        # Without a lifetime the token is kept until OVH answers 401.
        return AccessToken(SecretStr(value), math.inf)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        raise ValueError("the token answer's expires_in is not a number")
    return AccessToken(SecretStr(value), now + expires_in - TOKEN_RENEWAL_MARGIN)


class TokenCache:
    """Keeps one bearer token, fetching a new one (one fetch at a time) when it is due."""

    def __init__(
        self, fetch: Callable[[], Awaitable[AccessToken]], clock: Callable[[], float]
    ) -> None:
        """Remember how to fetch a token; nothing is fetched until the first request."""
        self._fetch = fetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: AccessToken | None = None

    async def get(self) -> AccessToken:
        """Return the current token, fetching a new one if there is none or it is due."""
        async with self._lock:
            if self._token is None or not self._token.is_fresh(self._clock()):
                self._token = await self._fetch()
            return self._token

    def discard(self, token: AccessToken) -> None:
        """Drop `token` after OVH refused it, unless another request already replaced it."""
        if self._token is token:
            self._token = None
