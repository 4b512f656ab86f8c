"""Test doubles for time: clocks that move only when told, sleeps that return at once."""

import asyncio


class FakeTime:
    """A clock and a sleep in one: sleeping records the wait and moves the clock at once."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        """Start at `now`, with nothing slept."""
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        """Tell the time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record a wait, move the clock past it, and let other tasks run."""
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)
