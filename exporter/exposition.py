"""Renders each snapshot once, in both exposition formats, for every scrape to share."""

import asyncio
import gzip
import threading
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.openmetrics import exposition as openmetrics_format

from exporter.collector import SnapshotCollector
from exporter.store import Snapshot

# The classic text format, which every Prometheus version reads; newer client
# libraries default to announcing a later version that older servers do not know.
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = openmetrics_format.CONTENT_TYPE_LATEST


@dataclass
class Rendered:
    """One snapshot's exposition in both formats, with gzip copies made on first request."""

    generation: int
    text: bytes
    openmetrics: bytes
    _gzipped: dict[bool, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def body(self, openmetrics: bool, compressed: bool) -> bytes:
        """The bytes for one format, gzip-compressed if asked."""
        plain = self.openmetrics if openmetrics else self.text
        if not compressed:
            return plain
        with self._lock:
            if openmetrics not in self._gzipped:
                self._gzipped[openmetrics] = gzip.compress(plain, compresslevel=6)
            return self._gzipped[openmetrics]


def render(snapshot: Snapshot) -> Rendered:
    """Render a snapshot in the Prometheus text format and in OpenMetrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return Rendered(
        generation=snapshot.generation,
        text=text_format.generate_latest(registry),
        openmetrics=openmetrics_format.generate_latest(registry),  # type: ignore[no-untyped-call]
    )


class Exposition:
    """Keeps the newest rendered snapshot; rendering runs off the event loop, one at a time."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.current = render(snapshot)
        self._latest = snapshot
        self._dirty = asyncio.Event()
        self._rendered = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start re-rendering whenever a newer snapshot arrives."""
        self._task = asyncio.get_running_loop().create_task(self._render_loop())

    async def stop(self) -> None:
        """Stop the renderer."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def update(self, snapshot: Snapshot) -> None:
        """Note a new snapshot; snapshots that arrive during a render are coalesced."""
        self._latest = snapshot
        self._dirty.set()

    async def _render_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            snapshot = self._latest
            if snapshot.generation > self.current.generation:
                self.current = await asyncio.to_thread(render, snapshot)
            async with self._rendered:
                self._rendered.notify_all()

    async def flush(self) -> None:
        """Wait until the newest snapshot has been rendered."""
        async with self._rendered:
            await self._rendered.wait_for(
                lambda: self.current.generation >= self._latest.generation
            )


def wants_openmetrics(accept: str) -> bool:
    """True when the Accept header asks for OpenMetrics, as Prometheus does by default."""
    for part in accept.split(","):
        media, *params = (item.strip() for item in part.split(";"))
        if media != "application/openmetrics-text":
            continue
        if any(param.replace(" ", "") in ("q=0", "q=0.0") for param in params):
            continue
        return True
    return False
