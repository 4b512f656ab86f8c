"""Per-VPS facts kept one table per fact, so that one failed route spoils nothing else.

A refresh job that reads several routes for each VPS saves every answer it got
in that fact's own table; a route that failed leaves its table's last good value
in place, which leaves the snapshot once it is older than `stale_after`
intervals of the job that reads it.
"""

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fact(Generic[T]):
    """One thing known about each VPS, and the refresh job that reads it."""

    name: str
    job: str


@dataclass
class FactStore:
    """The mutable tables the jobs write: fact -> VPS name -> (value, time it was read)."""

    tables: dict[Fact[Any], dict[str, tuple[Any, float]]] = field(default_factory=dict)

    def put(self, fact: Fact[T], vps: str, value: T, now: float) -> None:
        """Save a freshly read value; one equal to the last keeps the last one's object."""
        table = self.tables.setdefault(fact, {})
        last = table.get(vps)
        table[vps] = (kept(None if last is None else last[0], value), now)

    def last(self, fact: Fact[T], vps: str) -> tuple[T, float] | None:
        """The VPS's last value of the fact and when it was read, if any."""
        return cast(tuple[T, float] | None, self.tables.get(fact, {}).get(vps))

    def forget(self, members: Collection[str]) -> None:
        """Drop the values of VPS that are no longer in the account."""
        for table in self.tables.values():
            for name in table.keys() - set(members):
                del table[name]

    def snapshot(
        self,
        now: float,
        intervals: Mapping[str, float],
        stale_after: int,
        members: Collection[str],
    ) -> "FactSnapshot":
        """Freeze the tables, leaving out values older than `stale_after` intervals of their job."""
        frozen: dict[Fact[Any], Mapping[str, Any]] = {}
        for fact, table in self.tables.items():
            oldest = now - stale_after * intervals.get(fact.job, math.inf)
            frozen[fact] = MappingProxyType(
                {
                    name: value
                    for name, (value, updated) in table.items()
                    if name in members and updated >= oldest
                }
            )
        return FactSnapshot(MappingProxyType(frozen))


def kept(last: T | None, value: T) -> T:
    """The last value's object when it equals `value`, else `value`.

    Most values read again are equal to the last ones. Keeping the old object
    lets the new one die young, where its memory is reused at once; replacing it
    would leave the heap holding both generations' memory after each refresh.
    """
    if last is not None and last == value:
        return last
    return value


_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class FactSnapshot:
    """The fresh values of every fact at one moment, read by the collector."""

    tables: Mapping[Fact[Any], Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def of(self, fact: Fact[T]) -> Mapping[str, T]:
        """Each VPS's value of `fact`, by VPS name."""
        return cast(Mapping[str, T], self.tables.get(fact, _EMPTY))
