"""Retries of exchanges with OVH that failed for a passing reason: backoff, jitter, Retry-After."""

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TypeVar

import structlog

from exporter.ovh.budget import RequestBudget, Sleep
from exporter.ovh.errors import OvhApiError, OvhError, OvhTransportError

T = TypeVar("T")

DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_MAX_RETRY_AFTER = 60.0

log = structlog.stdlib.get_logger(__name__)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Read a `Retry-After` header, delay-seconds or HTTP-date, as seconds from `now`.

    None when the header is absent or unreadable; a date in the past reads as 0.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        # RFC 9110 dates are GMT; "-0000" makes the parser drop the zone.
        moment = moment.replace(tzinfo=UTC)
    return max(moment.timestamp() - now, 0.0)


def is_retryable(error: OvhError) -> bool:
    """Tell whether sending the same request again may succeed: 429, 5xx, timeouts, resets."""
    if isinstance(error, OvhApiError):
        return error.status == 429 or 500 <= error.status <= 599
    return isinstance(error, OvhTransportError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before sending a failed request again.

    Waits grow exponentially from `base_delay` up to `max_delay`, each drawn at
    random below that ceiling (full jitter) so that a fleet of requests failing
    together does not retry together. A `Retry-After` of at most `max_retry_after`
    seconds is waited exactly; a longer one means no retry in this run.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    sleep: Sleep = field(default=asyncio.sleep, repr=False, compare=False)
    fraction: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Refuse a policy that could never send a request or would wait forever."""
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not (0 <= self.base_delay <= self.max_delay) or math.isinf(self.max_delay):
            raise ValueError("delays must satisfy 0 <= base_delay <= max_delay < inf")
        if self.max_retry_after < 0:
            raise ValueError(f"max_retry_after must not be negative, got {self.max_retry_after}")

    def backoff(self, attempt: int) -> float:
        """A random wait after failed attempt number `attempt` (1 for the first)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(attempt - 1, 62))
        return self.fraction() * ceiling

    def delay(self, attempt: int, error: OvhError) -> float | None:
        """Seconds to wait before sending again after failed attempt `attempt`, None to give up."""
        if attempt >= self.max_attempts or not is_retryable(error):
            return None
        retry_after = error.retry_after if isinstance(error, OvhApiError) else None
        if retry_after is None:
            return self.backoff(attempt)
        return retry_after if retry_after <= self.max_retry_after else None

    def throttle_pause(self, attempt: int, error: OvhError, delay: float | None) -> float | None:
        """How long the whole account pauses after `error` (None unless a 429) waiting `delay`."""
        if not (isinstance(error, OvhApiError) and error.status == 429):
            return None
        if error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        return self.backoff(attempt) if delay is None else delay


async def with_retries(
    policy: RetryPolicy,
    route: str,
    attempt: Callable[[], Awaitable[T]],
    budget: RequestBudget | None = None,
) -> T:
    """Run `attempt` until it succeeds, fails for good, or runs out of attempts.

    Only failures of `route` itself are retried: a failure of another exchange
    (the token or the clock it needed) has been retried by its own loop already.
    A 429 pauses the whole account's `budget`, not just this request.
    """
    number = 1
    while True:
        try:
            return await attempt()
        except OvhError as error:
            if error.route != route:
                raise
            delay = policy.delay(number, error)
            pause = policy.throttle_pause(number, error, delay)
            if pause is not None and budget is not None:
                budget.hold_off(pause)
            if delay is None:
                raise
            log.debug(
                "retrying", route=route, attempt=number, delay=round(delay, 3), error=str(error)
            )
        await policy.sleep(delay)
        number += 1
