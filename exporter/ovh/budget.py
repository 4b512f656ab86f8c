"""The request budget of one account: a token bucket every request to OVH draws from.

OVHcloud asks API consumers to stay near 60 requests a minute per consumer key.
One budget per account, shared by all its jobs, turns a large fleet into a
slower refresh rather than a throttled key: requests wait for a token, none is
dropped. A job may also be paced (`RequestBudget.pace`): its requests are then
spaced evenly at its share of the rate, so that no job bursts ahead of the
others.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

# OVHcloud's fair-use guidance for one consumer key.
DEFAULT_REQUESTS_PER_MINUTE = 60.0
# Enough for the first refresh of a small account to go out at once.
DEFAULT_BURST = 60

Sleep = Callable[[float], Awaitable[None]]


class RequestBudget:
    """A token bucket: `burst` requests at once, then `per_minute` a minute, in arrival order."""

    def __init__(
        self,
        per_minute: float = DEFAULT_REQUESTS_PER_MINUTE,
        burst: int = DEFAULT_BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        key: Callable[[], str | None] = lambda: None,
    ) -> None:
        """Start with a full bucket; `clock` and `sleep` are there so tests need not wait.

        `key` names the job the current request is sent for, for `pace`.
        """
        if per_minute <= 0:
            raise ValueError(f"per_minute must be positive, got {per_minute}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.per_minute = per_minute
        self.burst = burst
        self._rate = per_minute / 60.0
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._paused_until = 0.0
        # One waiter at a time, in arrival order: asyncio.Lock wakes waiters FIFO.
        self._lock = asyncio.Lock()
        self.waited_seconds = 0.0
        self.delayed_requests = 0
        self._key = key
        self._paces: dict[str, float] = {}
        # Per paced job, the clock reading its next request may go at.
        self._slots: dict[str, float] = {}

    def pace(self, key: str, rate: float | None) -> None:
        """Space the requests sent for `key` 1/`rate` seconds apart from now on; None: no pace."""
        if rate is None or rate <= 0:
            self._paces.pop(key, None)
            self._slots.pop(key, None)
        else:
            self._paces[key] = rate

    async def _paced(self) -> None:
        """Wait for the current job's next slot, if it is paced; each waiter takes its own."""
        key = self._key()
        rate = self._paces.get(key) if key is not None else None
        if key is None or rate is None:
            return
        now = self._clock()
        slot = max(now, self._slots.get(key, now))
        self._slots[key] = slot + 1.0 / rate
        if slot > now:
            await self._sleep(slot - now)

    async def acquire(self) -> None:
        """Wait for the job's pace, then until the budget allows one more request, and take it."""
        await self._paced()
        started = self._clock()
        # Queueing behind a request that waits for its token is waiting for the budget too.
        delayed = self._lock.locked()
        async with self._lock:
            while True:
                now = self._clock()
                self._refill(now)
                wait = self._paused_until - now
                if wait <= 0:
                    if self._tokens >= 1:
                        self._tokens -= 1
                        break
                    wait = (1 - self._tokens) / self._rate
                delayed = True
                await self._sleep(wait)
        if delayed:
            self.waited_seconds += self._clock() - started
            self.delayed_requests += 1

    def hold_off(self, seconds: float) -> None:
        """Send nothing for `seconds` (OVH is throttling), then resume at the steady rate."""
        now = self._clock()
        self._refill(now)
        self._paused_until = max(self._paused_until, now + seconds)
        # One token, earning nothing during the pause: a burst the moment the throttle
        # lifts would only re-trigger it.
        self._tokens = min(self._tokens, 1.0)

    @property
    def paused_until(self) -> float:
        """The clock reading before which nothing is sent (0 when never paused)."""
        return self._paused_until

    def _refill(self, now: float) -> None:
        """Add the tokens earned since the last look (none during a pause), up to the burst size."""
        elapsed = max(now - max(self._stamp, self._paused_until), 0.0)
        self._stamp = now
        self._tokens = min(float(self.burst), self._tokens + elapsed * self._rate)
