"""Renders each snapshot once, in both exposition formats, for every scrape to share."""

import asyncio
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import structlog
from prometheus_client.openmetrics import exposition as openmetrics_format

from exporter.collector import SnapshotCollector
from exporter.memory import release_free_memory
from exporter.rendering import decompressed, render_formats
from exporter.store import Snapshot

log = structlog.stdlib.get_logger(__name__)

# The classic text format, which every Prometheus version reads; newer client
# libraries default to announcing a later version that older servers do not know.
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = openmetrics_format.CONTENT_TYPE_LATEST


@dataclass(frozen=True)
class Rendered:
    """One snapshot's exposition in both formats, kept gzip-compressed only.

    Prometheus always asks for gzip. Each format's gzip body is pieces, and the
    two share the pieces that hold the sample lines (`rendering.Formats`).
    Keeping the plain bytes too would take tens of megabytes per format at
    10,000 VPS, so a scraper that does not accept gzip gets them decompressed as
    they are sent (`plain_pieces`). Mappings are keyed by "is OpenMetrics".
    """

    generation: int
    gzip_pieces: Mapping[bool, tuple[bytes, ...]]
    plain_sizes: Mapping[bool, int]

    @property
    def text(self) -> bytes:
        """The whole text format, decompressed."""
        return self.body(openmetrics=False, compressed=False)

    @property
    def openmetrics(self) -> bytes:
        """The whole OpenMetrics exposition, decompressed."""
        return self.body(openmetrics=True, compressed=False)

    def body(self, openmetrics: bool, compressed: bool) -> bytes:
        """The bytes for one format in one piece, gzip-compressed if asked."""
        if compressed:
            return b"".join(self.gzip_pieces[openmetrics])
        return b"".join(self.plain_pieces(openmetrics))

    def gzip_size(self, openmetrics: bool) -> int:
        """The size of one format's gzip body."""
        return sum(len(piece) for piece in self.gzip_pieces[openmetrics])

    def plain_pieces(self, openmetrics: bool) -> Iterator[bytes]:
        """The plain bytes of one format, decompressed a megabyte at a time."""
        return decompressed(self.gzip_pieces[openmetrics])


def render(snapshot: Snapshot) -> Rendered:
    """Render a snapshot in the text format and in OpenMetrics, both gzip-compressed.

    The collector runs once for both formats, and the compression is done here,
    off the event loop, so that no scrape waits for one.
    """
    formats = render_formats(SnapshotCollector(snapshot).collect(), keep_plain=False)
    return Rendered(
        generation=snapshot.generation,
        gzip_pieces={False: formats.text_gzip_pieces, True: formats.openmetrics_gzip_pieces},
        plain_sizes={False: formats.text_size, True: formats.openmetrics_size},
    )


def _render_once(snapshot: Snapshot) -> Rendered:
    """Render a snapshot on the render thread, then give back the memory the render freed."""
    rendered = render(snapshot)
    release_free_memory()
    return rendered


class Exposition:
    """Keeps the newest rendered snapshot; rendering runs off the event loop, one at a time."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.current = render(snapshot)
        self._latest = snapshot
        self._dirty = asyncio.Event()
        self._rendered = asyncio.Condition()
        self._given_up = 0
        self._task: asyncio.Task[None] | None = None
        # Every render on the same thread: glibc gives each thread that allocates
        # its own heap, so the memory one render frees is there for the next,
        # instead of in the heaps of whichever pool threads earlier renders took.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")

    def start(self) -> None:
        """Start re-rendering whenever a newer snapshot arrives."""
        self._task = asyncio.get_running_loop().create_task(self._render_loop())

    async def stop(self) -> None:
        """Stop the renderer."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._thread.shutdown(wait=False, cancel_futures=True)

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
                try:
                    loop = asyncio.get_running_loop()
                    self.current = await loop.run_in_executor(self._thread, _render_once, snapshot)
                except Exception:  # A bug must not freeze /metrics: keep serving the last bytes.
                    log.exception("rendering the snapshot failed", generation=snapshot.generation)
                    self._given_up = snapshot.generation
            async with self._rendered:
                self._rendered.notify_all()

    async def flush(self) -> None:
        """Wait until the newest snapshot has been rendered."""
        async with self._rendered:
            await self._rendered.wait_for(
                lambda: max(self.current.generation, self._given_up) >= self._latest.generation
            )


def _weights(header: str) -> dict[str, float]:
    """The quality of each value of an Accept or Accept-Encoding header (RFC 9110, 12.4.2)."""
    weights: dict[str, float] = {}
    for part in header.split(","):
        value, *params = (item.strip() for item in part.split(";"))
        if not value:
            continue
        quality = 1.0
        for param in params:
            name, _, text = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(text)
                except ValueError:
                    quality = 0.0
        value = value.lower()
        weights[value] = max(weights.get(value, 0.0), quality)
    return weights


def wants_openmetrics(accept: str) -> bool:
    """True when the Accept header prefers OpenMetrics, as Prometheus does by default."""
    weights = _weights(accept)
    openmetrics = weights.get("application/openmetrics-text", 0.0)
    text = max(weights.get("text/plain", 0.0), weights.get("*/*", 0.0))
    return openmetrics > 0.0 and openmetrics >= text


def wants_gzip(accept_encoding: str) -> bool:
    """True when the Accept-Encoding header accepts gzip."""
    weights = _weights(accept_encoding)
    return weights.get("gzip", weights.get("*", 0.0)) > 0.0
