"""When a VPS's slow-changing facts are worth reading again.

Most of what OVH says of a VPS (its datacenter, OS, IPs, options, disks,
snapshot, backup plan, the status of its service) changes only when something
happens to the VPS: a task runs on it, its description in the `/vps` listing
changes, or its subscription in `/services` does. The jobs that read those
answers every run anyway (`vps`, `tasks`, `billing`) report such changes here,
and each VPS carries a revision number that every change raises.

A group of facts is read again for a VPS when the VPS's revision moved since
the group was last read, when the group has no value yet, or when the last
read is older than `max_age` (a bound for the changes no signal shows, such as
an IP moved to the VPS from another service), or when the signals themselves
could not be read: the listing's last run failed, or the VPS's task list did.
Otherwise the job keeps the values it has and marks them current, which costs
no request. A `max_age` of 0 reads every group every run.
"""

from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass, field

from exporter.model import Fields, ParseProblem

# The groups of slow-changing facts, each read again as one: serviceInfos; the
# details job's routes; the list of disks; the automated backup's plan and its
# restore points being restored; the snapshot, attached backups, Veeam and FTP backup.
BILLING = "billing"
DETAILS = "details"
DISK_LIST = "disk_list"
AUTOMATED_BACKUP = "automated_backup"
OTHER_BACKUPS = "other_backups"

# What a source shows before its first mark: no mark can equal it.
_NO_MARK = object()

# Six hours: a change no signal shows is seen within a quarter of a day.
DEFAULT_MAX_AGE = 21_600.0


@dataclass
class Revisions:
    """Each VPS's revision, the marks that raise it, and when each group was last read."""

    max_age: float = DEFAULT_MAX_AGE
    revision: dict[str, int] = field(default_factory=dict)
    # By source, then VPS; by group, then VPS: one small dict per source or group,
    # no key tuple per entry (at 10,000 VPS that is a hundred thousand of them).
    _marks: dict[str, dict[str, Hashable]] = field(default_factory=dict)
    _reads: dict[str, dict[str, tuple[int, float]]] = field(default_factory=dict)
    # Whether the last listing failed, and the VPS whose last task list failed:
    # a change may have gone unseen.
    blind: bool = False
    unsure: set[str] = field(default_factory=set)

    def observe(self, vps: str, source: str, mark: Hashable) -> None:
        """Note what `source` now shows of the VPS; a mark unlike the last one raises its revision.

        The first mark of a source raises nothing: nothing has been read that it
        could make out of date.
        """
        marks = self._marks.setdefault(source, {})
        previous = marks.get(vps, _NO_MARK)
        if previous is _NO_MARK:
            marks[vps] = mark
        elif previous != mark:
            marks[vps] = mark
            self.revision[vps] = self.revision.get(vps, 0) + 1

    def current(self, vps: str) -> int:
        """The VPS's revision now; read it before the calls whose answers it will vouch for."""
        return self.revision.get(vps, 0)

    def due(self, group: str, vps: str, now: float) -> bool:
        """Whether the group's facts of the VPS must be read this run."""
        read = self._reads.get(group, {}).get(vps)
        if read is None or self.max_age <= 0 or self.blind or vps in self.unsure:
            return True
        revision, when = read
        return revision != self.current(vps) or now - when >= self.max_age

    def last_read(self, group: str, vps: str) -> float | None:
        """When the group was last read for the VPS, if it was."""
        read = self._reads.get(group, {}).get(vps)
        return None if read is None else read[1]

    def read(self, group: str, vps: str, revision: int, now: float) -> None:
        """Note that the group was read at `now`, for the VPS as it was at `revision`."""
        self._reads.setdefault(group, {})[vps] = (revision, now)

    def forget(self, members: Collection[str]) -> None:
        """Drop what is known of VPS that are no longer in the account."""
        kept = set(members)
        self.revision = {name: value for name, value in self.revision.items() if name in kept}
        self.unsure &= kept
        for marks in self._marks.values():
            for name in marks.keys() - kept:
                del marks[name]
        for reads in self._reads.values():
            for name in reads.keys() - kept:
                del reads[name]


def task_mark(items: Iterable[object], route: str) -> int:
    """What a VPS's task list shows: a digest of each task's id and state, done ones included.

    A task that started and finished between two reads still changes the mark,
    as long as OVH lists it when done. The digest is the hash of the set of
    pairs: kept for every VPS, the set itself would cost a few hundred bytes, and
    two different lists of one VPS share a 64-bit hash by chance only, which the
    reread age (`max_age`) covers.
    """
    problems: list[ParseProblem] = []  # summarize_tasks already records the list's surprises.
    mark = set()
    for item in items:
        fields = Fields(item, route, problems)
        mark.add((fields.integer("id"), fields.text("state")))
    return hash(frozenset(mark))
