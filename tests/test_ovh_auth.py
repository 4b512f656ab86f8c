"""Request signing, credential objects, the server time delta and the token cache."""

import asyncio
import math

import pytest
from pydantic import SecretStr

from exporter.ovh.auth import (
    AccessToken,
    ApplicationKey,
    OAuth2ClientCredentials,
    ServerTimeDelta,
    TokenCache,
    parse_token,
    signature,
    signed_headers,
)

SECRET = "7kbG7Bk7S9Nu7ZmD"
CONSUMER = "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1"
URL = "https://api.ovh.test/1.0/vps/vps-1a2b3c4d.vps.ovh.net"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        """Start at `now`."""
        self.now = now

    def __call__(self) -> float:
        """Tell the time."""
        return self.now


def test_signature_of_a_get() -> None:
    # printf '%s' '7kbG7Bk7S9Nu7ZmD+MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1+GET+
    #   https://api.ovh.test/1.0/vps/vps-1a2b3c4d.vps.ovh.net++1700000042' | sha1sum
    expected = "$1$c9e4d3a27566fe412594ee4f46d621f041cc8a78"
    assert signature(SECRET, CONSUMER, "GET", URL, "", 1700000042) == expected
    assert signature(SECRET, CONSUMER, "get", URL, "", 1700000042) == expected


def test_signature_covers_the_body() -> None:
    # printf '%s' 'secret+consumer+POST+https://eu.api.ovh.com/1.0/auth/credential+{"a":1}+1366560945'
    #   | sha1sum
    url = "https://eu.api.ovh.com/1.0/auth/credential"
    assert (
        signature("secret", "consumer", "POST", url, '{"a":1}', 1366560945)
        == "$1$8a3d4434eac52d99fc76471df875beac0e9b2395"
    )


def test_signed_headers() -> None:
    key = ApplicationKey("app-key", SecretStr(SECRET), SecretStr(CONSUMER))
    assert signed_headers(key, "GET", URL, 1700000042) == {
        "X-Ovh-Application": "app-key",
        "X-Ovh-Consumer": CONSUMER,
        "X-Ovh-Timestamp": "1700000042",
        "X-Ovh-Signature": "$1$c9e4d3a27566fe412594ee4f46d621f041cc8a78",
    }


def test_credentials_never_show_their_secrets() -> None:
    key = ApplicationKey("app-key", SecretStr(SECRET), SecretStr(CONSUMER))
    oauth2 = OAuth2ClientCredentials("client-id", SecretStr("client-s3cret"), "https://x.test/t")
    token = AccessToken(SecretStr("bearer-t0ken"), 100.0)
    shown = " ".join((str(key), repr(key), str(oauth2), repr(oauth2), str(token), repr(token)))
    for secret in (SECRET, CONSUMER, "client-s3cret", "bearer-t0ken"):
        assert secret not in shown
    assert "app-key" in shown
    assert "client-id" in shown


def test_parse_token_renews_a_minute_before_expiry() -> None:
    token = parse_token({"access_token": "abc", "token_type": "Bearer", "expires_in": 3600}, 1000.0)
    assert token.value.get_secret_value() == "abc"
    assert token.renew_after == 1000.0 + 3600 - 60
    assert token.is_fresh(4539.9)
    assert not token.is_fresh(4540.0)


def test_parse_token_without_lifetime_never_expires() -> None:
    assert parse_token({"access_token": "abc"}, 1000.0).renew_after == math.inf


@pytest.mark.parametrize(
    "answer",
    [[], {"expires_in": 3600}, {"access_token": ""}, {"access_token": "a", "expires_in": "soon"}],
)
def test_parse_token_rejects_bad_answers(answer: object) -> None:
    with pytest.raises(ValueError, match="token answer"):
        parse_token(answer, 0.0)


async def test_delta_is_read_once_by_concurrent_first_callers() -> None:
    clock = Clock(1_700_000_000.7)
    reads = 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0)
        return 1_700_000_042

    delta = ServerTimeDelta(read, clock)
    stamps = await asyncio.gather(*(delta.timestamp() for _ in range(5)))
    assert reads == 1
    assert stamps == [(1_700_000_042, 1)] * 5

    clock.now += 10
    assert await delta.timestamp() == (1_700_000_052, 1)
    assert reads == 1


async def test_refresh_reads_again_only_for_the_stale_generation() -> None:
    clock = Clock(1000.0)
    server_times = iter([1005, 1100])
    reads = 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        return next(server_times)

    delta = ServerTimeDelta(read, clock)
    assert await delta.timestamp() == (1005, 1)
    assert await delta.refresh(1) == (100, 2)
    # A second caller that signed with generation 1 finds it already replaced.
    assert await delta.refresh(1) == (100, 2)
    assert reads == 2
    assert await delta.timestamp() == (1100, 2)


async def test_token_cache_fetches_once_and_renews_when_due() -> None:
    clock = Clock(0.0)
    fetched: list[AccessToken] = []

    async def fetch() -> AccessToken:
        await asyncio.sleep(0)
        token = AccessToken(SecretStr(f"t{len(fetched)}"), clock.now + 100)
        fetched.append(token)
        return token

    cache = TokenCache(fetch, clock)
    tokens = await asyncio.gather(*(cache.get() for _ in range(4)))
    assert len(fetched) == 1
    assert all(token is fetched[0] for token in tokens)

    clock.now = 99.9
    assert await cache.get() is fetched[0]
    clock.now = 100.0
    assert (await cache.get()).value.get_secret_value() == "t1"
    assert len(fetched) == 2


async def test_token_cache_discards_only_the_refused_token() -> None:
    count = 0

    async def fetch() -> AccessToken:
        nonlocal count
        count += 1
        return AccessToken(SecretStr(f"t{count}"), math.inf)

    cache = TokenCache(fetch, Clock(0.0))
    first = await cache.get()
    cache.discard(first)
    second = await cache.get()
    assert second.value.get_secret_value() == "t2"
    # A late 401 for the first token must not throw away its replacement.
    cache.discard(first)
    assert await cache.get() is second
    assert count == 2
