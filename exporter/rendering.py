"""Renders metric families in both exposition formats at once, byte for byte as prometheus_client.

prometheus_client's `generate_latest` collects every family again for each
format, and formats each sample by escaping and sorting its labels anew; at
10,000 VPS that is most of a render. Here the families are collected once, each
sample's line is built once (a gauge or counter line reads the same in the text
format and in OpenMetrics; only the HELP, TYPE and UNIT lines differ), escaped
label values are remembered, and both formats are gzip-compressed as they are
written: a family's lines go to the compressors a batch at a time, so a render
never holds a whole family's text. A family this module does not handle exactly
(a type other than gauge and counter, an OpenMetrics-only sample such as
`_created`, a name outside the legacy character set) goes through
prometheus_client itself, so the output is always prometheus_client's; when
that shows only midway through a family, the compressors are put back where the
family began. `tests/test_rendering.py` holds the two to the same bytes.
"""

import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import exposition as text_format
from prometheus_client import utils as client_utils
from prometheus_client.core import Metric
from prometheus_client.openmetrics import exposition as openmetrics_format
from prometheus_client.registry import Collector

# The names prometheus_client writes unchanged in both formats (its "legacy" set
# without ':', which OpenMetrics sample names would turn into '_').
_PLAIN_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FAST_TYPES = frozenset({"gauge", "counter"})
_OPENMETRICS_ONLY = ("_created", "_gsum", "_gcount")
_EOF = b"# EOF\n"
# gzip framing for zlib, at the level exposition.py has always used.
_GZIP_WBITS = 31
_GZIP_LEVEL = 6
# prometheus_client's own float formatting, which Go's parser reads back exactly.
_go_float: Callable[[float], str] = client_utils.floatToGoString
# Sample lines encoded together, about 200 KB of output.
_BATCH_LINES = 2048
# Values most samples have: 0/1 flags and small counts.
_COMMON_VALUES = {float(n): _go_float(float(n)) for n in range(-1, 1025)}


@dataclass(frozen=True)
class Formats:
    """One rendering in the text format and in OpenMetrics, gzip-compressed and maybe plain."""

    text_gzip: bytes
    openmetrics_gzip: bytes
    text_size: int
    openmetrics_size: int
    # The plain bytes, when asked for; None otherwise.
    text: bytes | None = None
    openmetrics: bytes | None = None


@dataclass(frozen=True)
class _Mark:
    """Where a sink's output stood, to go back to if what follows must be written otherwise."""

    compressor: "zlib._Compress"
    size: int
    parts: int
    compressed: int


class _Sink:
    """Compresses one format's bytes as they arrive, keeping the plain ones only if asked."""

    def __init__(self, keep_plain: bool) -> None:
        """Start empty."""
        self._keep_plain = keep_plain
        self._parts: list[bytes] = []
        self._compressor = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
        self._compressed: list[bytes] = []
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Add bytes to the output."""
        self.size += len(chunk)
        if self._keep_plain:
            self._parts.append(chunk)
        self._compressed.append(self._compressor.compress(chunk))

    def mark(self) -> _Mark:
        """The output as it stands; the compressor's state is copied, a few hundred KB."""
        return _Mark(self._compressor.copy(), self.size, len(self._parts), len(self._compressed))

    def rewind(self, mark: _Mark) -> None:
        """Forget everything written since `mark`; a mark is rewound to at most once."""
        self._compressor = mark.compressor
        self.size = mark.size
        del self._parts[mark.parts :]
        del self._compressed[mark.compressed :]

    def close(self) -> tuple[bytes | None, bytes]:
        """The whole output, plain (None unless kept) and gzip-compressed."""
        self._compressed.append(self._compressor.flush())
        plain = b"".join(self._parts) if self._keep_plain else None
        self._parts.clear()
        return plain, b"".join(self._compressed)


class _Escapes:
    """Escaped label values, remembered: a fleet repeats the same few thousand values."""

    def __init__(self) -> None:
        """Start with nothing remembered."""
        self._known: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        """The value as prometheus_client escapes label values: backslash, newline, quote."""
        escaped = self._known.get(value)
        if escaped is None:
            escaped = value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
            self._known[value] = escaped
        return escaped


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


def _sample_batches(family: Metric, escape: _Escapes) -> Iterator[bytes]:
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
            inner = ",".join([f'{key}="{escape(labels[key])}"' for key in order])
            lines.append(f"{sample.name}{{{inner}}} {_value(sample.value)}\n")
        else:
            lines.append(f"{sample.name} {_value(sample.value)}\n")
        if len(lines) == _BATCH_LINES:
            yield "".join(lines).encode()
            lines.clear()
    if lines:
        yield "".join(lines).encode()


def _write_handled(family: Metric, escape: _Escapes, text: _Sink, openmetrics: _Sink) -> bool:
    """Write a family to both sinks as its lines are made; False, writing nothing, if unhandled."""
    if family.type not in _FAST_TYPES or family.unit or not _PLAIN_NAME.fullmatch(family.name):
        return False
    text_mark, openmetrics_mark = text.mark(), openmetrics.mark()
    text_header, openmetrics_header = _headers(family)
    text.write(text_header)
    openmetrics.write(openmetrics_header)
    try:
        for batch in _sample_batches(family, escape):
            text.write(batch)
            openmetrics.write(batch)
    except _UnhandledError:
        text.rewind(text_mark)
        openmetrics.rewind(openmetrics_mark)
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
    text, openmetrics = _Sink(keep_plain), _Sink(keep_plain)
    escape = _Escapes()
    for family in families:
        if not _write_handled(family, escape, text, openmetrics):
            alone = _One(family)
            text.write(text_format.generate_latest(alone))
            whole = openmetrics_format.generate_latest(alone)  # type: ignore[no-untyped-call]
            openmetrics.write(whole.removesuffix(_EOF))
    openmetrics.write(_EOF)
    text_plain, text_gzip = text.close()
    openmetrics_plain, openmetrics_gzip = openmetrics.close()
    return Formats(
        text_gzip=text_gzip,
        openmetrics_gzip=openmetrics_gzip,
        text_size=text.size,
        openmetrics_size=openmetrics.size,
        text=text_plain,
        openmetrics=openmetrics_plain,
    )


def decompressed(packed: bytes, piece: int = 1 << 20) -> Iterator[bytes]:
    """The plain bytes of a gzip body, at most `piece` bytes at a time."""
    inflater = zlib.decompressobj(_GZIP_WBITS)
    pending = packed
    while pending:
        chunk = inflater.decompress(pending, piece)
        if chunk:
            yield chunk
        pending = inflater.unconsumed_tail
    rest = inflater.flush()
    if rest:
        yield rest
