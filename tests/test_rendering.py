"""The one-pass renderer writes exactly the bytes prometheus_client's generate_latest writes."""

import gzip
import hashlib
import math
import subprocess
import tracemalloc
from collections.abc import Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.openmetrics import exposition as openmetrics_format
from prometheus_client.registry import Collector

from exporter import simulator
from exporter.collector import SnapshotCollector
from exporter.exposition import Exposition, render
from exporter.http import create_app
from exporter.metrics import MetricSpec
from exporter.rendering import decompressed, render_formats
from exporter.settings import JOBS
from exporter.store import AccountState, Store
from tests.support import demo_settings, running_daemon, running_simulator


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _reference(families: list[Metric]) -> tuple[bytes, bytes]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return (
        text_format.generate_latest(registry),
        openmetrics_format.generate_latest(registry),  # type: ignore[no-untyped-call]
    )


def _assert_same_as_prometheus_client(families: list[Metric]) -> None:
    text, openmetrics = _reference(families)
    formats = render_formats(families)
    assert formats.text == text
    assert formats.openmetrics == openmetrics
    assert gzip.decompress(formats.text_gzip) == text
    assert gzip.decompress(formats.openmetrics_gzip) == openmetrics


def _gunzip_outside(body: bytes) -> bytes:
    """`body` decompressed by the gzip program, which checks the trailer's CRC and size."""
    return subprocess.run(["gzip", "-dc"], input=body, capture_output=True, check=True).stdout


async def test_a_generated_fleet_renders_byte_for_byte_as_prometheus_client() -> None:
    fleet = simulator.generate_fleet(60, seed=7)
    async with (
        running_simulator(fleet) as endpoint,
        running_daemon(demo_settings(endpoint, account="prod"), timeout=60) as daemon,
    ):
        snapshot = daemon.store.current

    families = list(SnapshotCollector(snapshot).collect())
    assert sum(len(family.samples) for family in families) > 60 * 20
    _assert_same_as_prometheus_client(families)

    rendered = render(snapshot)
    text, openmetrics = _reference(families)
    assert rendered.body(openmetrics=False, compressed=False) == text
    assert rendered.body(openmetrics=True, compressed=False) == openmetrics
    assert gzip.decompress(rendered.body(openmetrics=True, compressed=True)) == openmetrics

    # The text body borrows the sample lines' deflate data from the OpenMetrics body.
    shared = {id(piece) for piece in rendered.gzip_pieces[True]}
    own = sum(len(piece) for piece in rendered.gzip_pieces[False] if id(piece) not in shared)
    text_gzip = rendered.body(openmetrics=False, compressed=True)
    assert own < len(text_gzip) / 10
    openmetrics_gzip = rendered.body(openmetrics=True, compressed=True)
    for body, plain in ((text_gzip, text), (openmetrics_gzip, openmetrics)):
        # An outside decoder checks the joined segments and each trailer's CRC and size.
        assert _gunzip_outside(body) == plain


def test_escapes_and_special_values_render_as_prometheus_client() -> None:
    gauge = GaugeMetricFamily(
        "ovh_example", 'Help with "quotes", a back\\slash\nand a newline.', labels=["b", "a"]
    )
    for index, value in enumerate(
        [0.0, -0.0, 1, True, 2.5, -3.0, 1e-9, 123456789.0, 1e300, math.inf, -math.inf, math.nan]
    ):
        gauge.add_metric([f'va"l\\ue\n{index}', "é ü 中"], value)
    counter = CounterMetricFamily("ovh_example_events", "Events.", labels=["vps"])
    counter.add_metric(["vps-1"], 3)
    bare = GaugeMetricFamily("ovh_example_bare", "No labels.", value=7.0)
    _assert_same_as_prometheus_client([gauge, counter, bare])


def test_the_exporters_own_families_render_as_prometheus_client() -> None:
    gauge = MetricSpec("ovh_example", "gauge", 'Help "quoted"\\\n.', ("vps", "b", "a")).family()
    for index, value in enumerate([0.0, -0.0, 1, True, 2.5, 1e-9, 1e300, math.inf, math.nan]):
        gauge.add_metric(["vps-1", f'va"l\\ue\n{index}', "é ü 中"], value)
    counter = MetricSpec("ovh_example_events_total", "counter", "Events.", ("vps",)).family()
    counter.add_metric(["vps-1"], 3)
    bare = MetricSpec("ovh_example_bare", "gauge", "No labels.", (), job="vps").family()
    bare.add_metric([], 7.0)
    flags = MetricSpec("ovh_example_state", "gauge", "State.", ("vps", "disk", "state")).family()
    flags.add_flags(["vps-1", "d1"], ("on", "off", "new"), ["new"])
    flags.add_metric(["vps-1", "d2", "odd"], 2.0)
    flags.add_flags(["vps-2", "d1"], ("on", "off"), ["on", "off"])
    flags.add_flags(["vps-3", "d1"], ("on", "off"), [])
    _assert_same_as_prometheus_client([gauge, counter, bare, flags])

    assert [
        (sample.labels["vps"], sample.labels["state"], sample.value) for sample in flags.samples
    ] == [
        ("vps-1", "on", 0.0),
        ("vps-1", "off", 0.0),
        ("vps-1", "new", 1.0),
        ("vps-1", "odd", 2.0),
        ("vps-2", "on", 1.0),
        ("vps-2", "off", 1.0),
        ("vps-3", "on", 0.0),
        ("vps-3", "off", 0.0),
    ]
    # VPS in the same state share one row value.
    flags.add_flags(["vps-4", "d1"], ("on", "off"), ["off", "on"])
    assert flags.rows[-1][1] is flags.rows[-3][1]
    with pytest.raises(ValueError, match="ovh_example_state: 3 label values for 2 labels"):
        flags.add_flags(["vps-1", "d1", "on"], ("on",), [])
    # A sample added the prometheus_client way would be lost: refused.
    with pytest.raises(TypeError, match="add_metric or add_flags"):
        flags.add_sample("ovh_example_state", {}, 1.0)

    assert [sample.labels for sample in counter.samples] == [{"vps": "vps-1"}]
    assert counter.samples[0].name == "ovh_example_events_total"
    with pytest.raises(ValueError, match="ovh_example_events_total: 2 label values for 1 labels"):
        counter.add_metric(["vps-1", "extra"], 1.0)


def test_families_left_to_prometheus_client_still_render_identically() -> None:
    created = CounterMetricFamily("ovh_example_created", "Has _created.", labels=["a"])
    created.add_metric(["x"], 1.0, created=1700000000.0)
    info = InfoMetricFamily("ovh_example_build", "Info.", value={"version": "1"})
    stateset = StateSetMetricFamily("ovh_example_flags", "Stateset.", value={"on": True})
    with_unit = GaugeMetricFamily("ovh_example_seconds", "Unit.", value=1.0, unit="seconds")
    colon = GaugeMetricFamily("ovh:example", "A colon.", value=2.0)
    timestamped = GaugeMetricFamily("ovh_example_stamped", "Timestamp.", labels=["a"])
    timestamped.add_metric(["x"], 1.0, timestamp=1700000000.5)
    _assert_same_as_prometheus_client(
        [created, info, stateset, with_unit, colon, timestamped, GaugeMetricFamily("ovh_e", "E.")]
    )


def test_a_family_found_unhandled_after_whole_batches_renders_identically() -> None:
    late = GaugeMetricFamily("ovh_example_late", "A timestamp after 5,000 lines.", labels=["vps"])
    for index in range(5000):
        late.add_metric([f"vps-{index}.vps.ovh.net"], index)
    late.add_metric(["vps-last.vps.ovh.net"], 1.0, timestamp=1700000000.5)
    after = CounterMetricFamily("ovh_example_after", "Written after it.", labels=["vps"])
    after.add_metric(["vps-1.vps.ovh.net"], 2)
    _assert_same_as_prometheus_client([late, after])

    text, openmetrics = _reference([late, after])
    formats = render_formats([late, after], keep_plain=False)
    assert (formats.text_size, formats.openmetrics_size) == (len(text), len(openmetrics))
    assert gzip.decompress(formats.text_gzip) == text


def test_a_family_found_unhandled_after_whole_pieces_renders_identically() -> None:
    before = GaugeMetricFamily("ovh_example_before", "Written first.", labels=["vps"])
    before.add_metric(["vps-0.vps.ovh.net"], 1.0)
    # Random label values compress poorly: more than one piece (256 KB) of gzip
    # output is made before the timestamp shows the family is not handled here.
    late = GaugeMetricFamily("ovh_example_late", "A timestamp after pieces.", labels=["vps"])
    for index in range(40_000):
        late.add_metric([hashlib.sha256(str(index).encode()).hexdigest()], index)
    late.add_metric(["vps-last.vps.ovh.net"], 1.0, timestamp=1700000000.5)
    formats = render_formats([before, late], keep_plain=False)

    assert len(formats.openmetrics_gzip) > 2 * 256 * 1024
    text, openmetrics = _reference([before, late])
    assert gzip.decompress(formats.text_gzip) == text
    assert gzip.decompress(formats.openmetrics_gzip) == openmetrics


def test_a_large_family_is_compressed_without_holding_its_text() -> None:
    gauge = GaugeMetricFamily("ovh_example_state", "Example.", labels=["vps", "state"])
    for index in range(200_000):
        gauge.add_metric([f"vps-{index % 100}.vps.ovh.net", "running"], index % 2)

    tracemalloc.start()
    try:
        formats = render_formats([gauge], keep_plain=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # About 12.8 MB of text; a batch of lines and the compressors' state are what remain.
    assert formats.text_size > 12_000_000
    assert peak < formats.text_size / 4
    assert gzip.decompress(formats.text_gzip) == _reference([gauge])[0]


_NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,12}", fullmatch=True).filter(
    lambda name: not name.startswith("__")
)
_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**12), 10**12))


@st.composite
def _family(draw: st.DrawFn) -> Metric:
    name = "ovh_" + draw(_NAMES)
    labels = draw(st.lists(_NAMES, max_size=4, unique=True))
    kind = draw(st.sampled_from(["gauge", "counter", "our gauge", "our counter"]))
    help_text = draw(st.text(max_size=40))
    family: Metric
    if kind.startswith("our "):
        suffix = "_total" if kind == "our counter" else ""
        spec = MetricSpec(name + suffix, "counter" if suffix else "gauge", help_text, tuple(labels))
        family = spec.family()
    else:
        maker = GaugeMetricFamily if kind == "gauge" else CounterMetricFamily
        family = maker(name, help_text, labels=labels)
    for _ in range(draw(st.integers(0, 6))):
        values = [draw(st.text(max_size=12)) for _ in labels]
        family.add_metric(values, draw(_VALUES))
    return family


@settings(max_examples=300, deadline=None)
@given(st.lists(_family(), max_size=5))
def test_random_families_render_as_prometheus_client(families: list[Metric]) -> None:
    _assert_same_as_prometheus_client(families)


def test_without_plain_bytes_only_their_sizes_are_kept() -> None:
    gauge = GaugeMetricFamily("ovh_example", "Example.", labels=["vps"])
    # More samples than one batch of lines: the batches join without a seam.
    for index in range(5000):
        gauge.add_metric([f"vps-{index}.vps.ovh.net"], index)
    text, openmetrics = _reference([gauge])

    assert render_formats([gauge]).text == text
    formats = render_formats([gauge], keep_plain=False)

    assert (formats.text, formats.openmetrics) == (None, None)
    assert (formats.text_size, formats.openmetrics_size) == (len(text), len(openmetrics))
    pieces = list(decompressed(formats.openmetrics_gzip_pieces, piece=4096))
    assert len(pieces) > 10
    assert max(len(piece) for piece in pieces) <= 4096
    assert b"".join(pieces) == openmetrics


async def test_scrapes_with_and_without_gzip_get_the_same_exposition() -> None:
    state = AccountState("prod", dict.fromkeys(JOBS, 60.0), stale_after=3)
    for index in range(3000):
        state.api_requests[(f"/route/{index}", "200")] = index
    store = Store([state])
    exposition = Exposition(store.current)
    expected = render(store.current)
    async with TestClient(TestServer(create_app(exposition, store.ready))) as client:
        plain = await client.get("/metrics", headers={"Accept-Encoding": "identity"})
        body = await plain.read()
        packed = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
        unpacked = await packed.read()  # aiohttp's client decompresses it.
        head = await client.head("/metrics", headers={"Accept-Encoding": "identity"})

    assert len(body) > 200_000
    assert body == expected.text
    assert plain.headers["Content-Length"] == str(len(body))
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert unpacked == expected.text
    assert head.status == 200
    assert head.headers["Content-Length"] == str(len(body))
