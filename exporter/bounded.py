"""Runs one coroutine per item, a bounded number at a time, and keeps the results in order."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Twice the highest max_concurrency the settings allow, so the client's slots stay
# busy while a VPS's reads wait on one another; gathering one coroutine per VPS
# instead parks thousands of suspended call chains (about 7 KB each) at once.
WORKERS = 128


async def map_bounded(
    func: Callable[[T], Awaitable[R]], items: Sequence[T], workers: int = WORKERS
) -> list[R]:
    """`[await func(item) for item in items]`, with at most `workers` of them running at once."""
    results: dict[int, R] = {}
    indexes = iter(range(len(items)))

    async def worker() -> None:
        """Take the next item until none is left."""
        for index in indexes:
            results[index] = await func(items[index])

    await asyncio.gather(*(worker() for _ in range(min(workers, len(items)))))
    return [results[index] for index in range(len(items))]
