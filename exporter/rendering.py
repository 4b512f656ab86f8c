"""Renders metric families in both exposition formats at once, byte for byte as prometheus_client.

prometheus_client's `generate_latest` collects every family again for each
format, and formats each sample by escaping and sorting its labels anew; at
10,000 VPS that is most of a render. Here the families are collected once, each
sample's line is built once (a gauge or counter line reads the same in the text
format and in OpenMetrics; only counters' HELP and TYPE lines differ), a label
value is escaped only when it holds something to escape, and the lines are
gzip-compressed as they are written, once for both formats where they agree
(`_Output`): a family's lines go to the compressor a batch at a time, so a
render never holds a whole family's text. A family this module does not handle
exactly (a type other than gauge and counter, an OpenMetrics-only sample such
as `_created`, a name outside the legacy character set) goes through
prometheus_client itself, so the output is always prometheus_client's; when
that shows only midway through a family, the output is put back where the
family began. `tests/test_rendering.py` holds the two to the same bytes.
"""

import re
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import exposition as text_format
from prometheus_client import utils as client_utils
from prometheus_client.core import Metric
from prometheus_client.openmetrics import exposition as openmetrics_format
from prometheus_client.registry import Collector

from exporter.metrics import Family

# The names prometheus_client writes unchanged in both formats (its "legacy" set
# without ':', which OpenMetrics sample names would turn into '_').
_PLAIN_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FAST_TYPES = frozenset({"gauge", "counter"})
# What prometheus_client escapes in a label value.
_SPECIAL = re.compile(r'[\\\n"]')
_OPENMETRICS_ONLY = ("_created", "_gsum", "_gcount")
_EOF = b"# EOF\n"
# gzip framing for zlib, at the level exposition.py has always used.
_GZIP_WBITS = 31
_GZIP_LEVEL = 6
# A gzip member's header without name or date, from an unknown OS (RFC 1952), as
# Python's gzip module writes it; and an empty final deflate block, to end a stream.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_DEFLATE_END = b"\x03\x00"
# Compressed bytes gathered into one piece of a gzip body: a render joins no more
# than this and one batch's output at once (a family left to prometheus_client
# is one piece whatever its size), and a scrape sends the pieces one by one.
_PIECE = 256 * 1024
# prometheus_client's own float formatting, which Go's parser reads back exactly.
_go_float: Callable[[float], str] = client_utils.floatToGoString
# Sample lines encoded together, about 200 KB of output.
_BATCH_LINES = 2048
# Values most samples have: 0/1 flags and small counts.
_COMMON_VALUES = {float(n): _go_float(float(n)) for n in range(-1, 1025)}


@dataclass(frozen=True)
class Formats:
    """One rendering in the text format and in OpenMetrics, gzip-compressed and maybe plain.

    Each gzip body is a tuple of pieces sent one after the other. The two hold
    the same bytes objects wherever the formats agree, which is every sample
    line, so the sample lines are held once.
    """

    text_gzip_pieces: tuple[bytes, ...]
    openmetrics_gzip_pieces: tuple[bytes, ...]
    text_size: int
    openmetrics_size: int
    # The plain bytes, when asked for; None otherwise.
    text: bytes | None = None
    openmetrics: bytes | None = None

    @property
    def text_gzip(self) -> bytes:
        """The text format's gzip body in one piece."""
        return b"".join(self.text_gzip_pieces)

    @property
    def openmetrics_gzip(self) -> bytes:
        """The OpenMetrics gzip body in one piece."""
        return b"".join(self.openmetrics_gzip_pieces)


@dataclass
class _Stream:
    """One format's running CRC-32 and size, and its plain bytes when kept."""

    crc: int = 0
    size: int = 0
    plain: list[bytes] | None = None

    def add(self, chunk: bytes) -> None:
        """Account for `chunk` of this format's plain bytes."""
        self.crc = zlib.crc32(chunk, self.crc)
        self.size += len(chunk)
        if self.plain is not None:
            self.plain.append(chunk)


@dataclass(frozen=True)
class _Mark:
    """Where the output stood, to go back to if what follows must be written otherwise."""

    compressor: "zlib._Compress"
    pending: tuple[bytes, ...]
    segments: int
    streams: tuple[tuple[int, int, int], ...]


def _raw_compressor() -> "zlib._Compress":
    """A deflate compressor without framing: segments are joined under one gzip header."""
    return zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)


def _deflated(chunk: bytes) -> bytes:
    """`chunk` as a deflate segment of its own, ending on a byte boundary, not final."""
    compressor = _raw_compressor()
    return compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)


class _Output:
    """Both formats' bytes as one deflate stream of segments, shared where the formats agree.

    Sample lines and gauges' HELP and TYPE lines read the same in both formats,
    so they are compressed once, into a shared segment. Where the formats differ
    (counters' headers, a family left to prometheus_client, OpenMetrics' `# EOF`),
    the shared segment is closed with a sync flush, which ends it on a byte
    boundary, and each format gets its own segment. Deflate segments cut that way
    join into one valid stream (as pigz joins its blocks), so each format's gzip
    body is the gzip header, its segments, an empty final block and the trailer
    of its own CRC-32 and size.
    """

    def __init__(self, keep_plain: bool) -> None:
        """Start empty."""
        self.text = _Stream(plain=[] if keep_plain else None)
        self.openmetrics = _Stream(plain=[] if keep_plain else None)
        # Each segment is shared (bytes, a piece of the shared stream under way or
        # all of a closed one) or per format (text, OpenMetrics).
        self._segments: list[bytes | tuple[bytes, bytes]] = []
        self._compressor = _raw_compressor()
        self._pending: list[bytes] = []
        self._pending_size = 0

    def both(self, chunk: bytes) -> None:
        """Add bytes that both formats hold."""
        self.text.add(chunk)
        self.openmetrics.add(chunk)
        packed = self._compressor.compress(chunk)
        self._pending.append(packed)
        self._pending_size += len(packed)
        if self._pending_size >= _PIECE:
            # A piece of the deflate stream under way: the pieces join back into it.
            self._segments.append(b"".join(self._pending))
            self._pending, self._pending_size = [], 0

    def each(self, text: bytes, openmetrics: bytes) -> None:
        """Add bytes that differ between the formats."""
        self._close_shared()
        self.text.add(text)
        self.openmetrics.add(openmetrics)
        self._segments.append((_deflated(text), _deflated(openmetrics)))

    def _close_shared(self) -> None:
        """End the shared segment under way, if anything went into it."""
        if self._pending:
            self._pending.append(self._compressor.flush(zlib.Z_SYNC_FLUSH))
            self._segments.append(b"".join(self._pending))
            self._pending, self._pending_size = [], 0
            self._compressor = _raw_compressor()

    def mark(self) -> _Mark:
        """The output as it stands; the compressor's state is copied, a few hundred KB."""
        streams = tuple(
            (stream.crc, stream.size, len(stream.plain) if stream.plain is not None else 0)
            for stream in (self.text, self.openmetrics)
        )
        return _Mark(self._compressor.copy(), tuple(self._pending), len(self._segments), streams)

    def rewind(self, mark: _Mark) -> None:
        """Forget everything written since `mark`; a mark is rewound to at most once."""
        self._compressor = mark.compressor
        self._pending = list(mark.pending)
        self._pending_size = sum(len(packed) for packed in self._pending)
        del self._segments[mark.segments :]
        for stream, (crc, size, parts) in zip(
            (self.text, self.openmetrics), mark.streams, strict=True
        ):
            stream.crc, stream.size = crc, size
            if stream.plain is not None:
                del stream.plain[parts:]

    def close(self) -> Formats:
        """Both formats' gzip bodies (and plain bytes when kept); the output is spent."""
        self._close_shared()
        text = [_GZIP_HEADER]
        openmetrics = [_GZIP_HEADER]
        for segment in self._segments:
            if isinstance(segment, bytes):
                text.append(segment)
                openmetrics.append(segment)
            else:
                text.append(segment[0])
                openmetrics.append(segment[1])
        self._segments.clear()
        return Formats(
            text_gzip_pieces=(*text, _DEFLATE_END, _trailer(self.text)),
            openmetrics_gzip_pieces=(*openmetrics, _DEFLATE_END, _trailer(self.openmetrics)),
            text_size=self.text.size,
            openmetrics_size=self.openmetrics.size,
            text=_joined(self.text.plain),
            openmetrics=_joined(self.openmetrics.plain),
        )


def _joined(parts: list[bytes] | None) -> bytes | None:
    """Plain bytes kept in parts, in one piece; None when they were not kept."""
    return None if parts is None else b"".join(parts)


def _trailer(stream: _Stream) -> bytes:
    """The gzip trailer of a format: its CRC-32 and its size modulo 2**32 (RFC 1952)."""
    return struct.pack("<II", stream.crc & 0xFFFFFFFF, stream.size & 0xFFFFFFFF)


def _escape(value: str) -> str:
    """The value as prometheus_client escapes label values: backslash, newline, quote.

    Nearly every value has none of them and is returned as it is, with no copy.
    """
    if _SPECIAL.search(value) is None:
        return value
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class _One(Collector):
    """A collector of one family, to hand a family to prometheus_client alone."""

    def __init__(self, family: Metric) -> None:
        """Hold `family`."""
        self._family = family

    def collect(self) -> Iterator[Metric]:
        """The one family."""
        yield self._family


def _value(value: float) -> str:
    """A sample value as prometheus_client writes it."""
    if value == 0:
        # -0.0 equals 0.0 but is written with its sign.
        return _go_float(value)
    known = _COMMON_VALUES.get(value)
    return known if known is not None else _go_float(value)


class _UnhandledError(Exception):
    """A family turned out to hold a sample this module does not write exactly."""


def _sample_batches(family: Metric) -> Iterator[bytes]:
    """Every sample line of the family, the same in both formats, encoded a batch at a time.

    Raises `_UnhandledError` at the first sample prometheus_client must write itself.
    A batch is about 200 KB: a family of 10,000 VPS then costs neither one string
    object per line nor its whole text at once.
    """
    lines: list[str] = []
    names = ""
    keys: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    for sample in family.samples:
        if sample.name != names:
            if sample.name.endswith(_OPENMETRICS_ONLY) or not _PLAIN_NAME.fullmatch(sample.name):
                raise _UnhandledError
            names = sample.name
        if sample.timestamp is not None or sample.exemplar is not None:
            raise _UnhandledError
        if sample.native_histogram is not None:
            raise _UnhandledError
        labels = sample.labels
        if labels:
            current = tuple(labels)
            if current != keys:
                if not all(_PLAIN_NAME.fullmatch(key) for key in current):
                    raise _UnhandledError
                keys, order = current, tuple(sorted(current))
            inner = ",".join([f'{key}="{_escape(labels[key])}"' for key in order])
            lines.append(f"{sample.name}{{{inner}}} {_value(sample.value)}\n")
        else:
            lines.append(f"{sample.name} {_value(sample.value)}\n")
        if len(lines) == _BATCH_LINES:
            yield "".join(lines).encode()
            lines.clear()
    if lines:
        yield "".join(lines).encode()


def _row_batches(family: Family) -> Iterator[bytes]:
    """Every series line of one of the exporter's own families, written from its rows.

    Its names and label names were checked when the metric was defined; labels
    are written sorted by name, as prometheus_client writes them.
    """
    order = sorted(range(len(family.labelnames)), key=family.labelnames.__getitem__)
    keys = [f'{family.labelnames[index]}="' for index in order]
    pairs = list(zip(keys, order, strict=True))
    name = family.sample_name
    lines: list[str] = []
    for labels, value in family.series():
        if pairs:
            inner = '",'.join([key + _escape(labels[index]) for key, index in pairs])
            lines.append(f'{name}{{{inner}"}} {_value(value)}\n')
        else:
            lines.append(f"{name} {_value(value)}\n")
        if len(lines) == _BATCH_LINES:
            yield "".join(lines).encode()
            lines.clear()
    if lines:
        yield "".join(lines).encode()


def _write_handled(family: Metric, output: _Output) -> bool:
    """Write a family in both formats as its lines come; False, writing nothing, if unhandled."""
    if family.type not in _FAST_TYPES or family.unit or not _PLAIN_NAME.fullmatch(family.name):
        return False
    mark = output.mark()
    text_header, openmetrics_header = _headers(family)
    if text_header == openmetrics_header:
        output.both(text_header)
    else:
        output.each(text_header, openmetrics_header)
    batches = _row_batches(family) if isinstance(family, Family) else _sample_batches(family)
    try:
        for batch in batches:
            output.both(batch)
    except _UnhandledError:
        output.rewind(mark)
        return False
    return True


def _headers(family: Metric) -> tuple[bytes, bytes]:
    """The HELP and TYPE lines of a handled family: text format, then OpenMetrics."""
    help_text = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
    text_name = f"{family.name}_total" if family.type == "counter" else family.name
    text = f"# HELP {text_name} {help_text}\n# TYPE {text_name} {family.type}\n"
    help_openmetrics = help_text.replace('"', r"\"")
    openmetrics = f"# HELP {family.name} {help_openmetrics}\n# TYPE {family.name} {family.type}\n"
    return text.encode(), openmetrics.encode()


def render_formats(families: Iterable[Metric], keep_plain: bool = True) -> Formats:
    """Render the families (collected once) in both formats, gzip-compressed and plain.

    With `keep_plain` false only the sizes of the plain bytes are kept, which at
    10,000 VPS spares tens of megabytes per format.
    """
    output = _Output(keep_plain)
    for family in families:
        if not _write_handled(family, output):
            alone = _One(family)
            whole = openmetrics_format.generate_latest(alone)  # type: ignore[no-untyped-call]
            output.each(text_format.generate_latest(alone), whole.removesuffix(_EOF))
    output.each(b"", _EOF)
    return output.close()


def decompressed(packed: Iterable[bytes], piece: int = 1 << 20) -> Iterator[bytes]:
    """The plain bytes of a gzip body given in pieces, at most `piece` bytes at a time."""
    inflater = zlib.decompressobj(_GZIP_WBITS)
    for part in packed:
        pending = part
        while pending:
            chunk = inflater.decompress(pending, piece)
            if chunk:
                yield chunk
            pending = inflater.unconsumed_tail
    rest = inflater.flush()
    if rest:
        yield rest
