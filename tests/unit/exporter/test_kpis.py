"""The once-per-snapshot KPI families and their pre-rendered lines equal the per-sample path."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics import exposition as om
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as om_families,
)
from prometheus_client.parser import text_string_to_metric_families

from streams.exporter.exposition import render
from streams.exporter.kpis import build_view
from tests.unit.exporter.snapshots import (
    GENERATED_AT,
    LW,
    ODD,
    Fixed,
    expected,
    snapshot,
    typical,
)

Encoder = Callable[[Any], bytes]

CASES = [
    pytest.param(typical(), 200, 200, id="under-caps"),
    pytest.param(typical(), 3, 4, id="skus-and-locations-over-caps"),
    pytest.param(typical(3) + ODD, 200, 200, id="odd-label-data"),
    pytest.param(typical(3) + ODD, 2, 3, id="odd-label-data-over-caps"),
    pytest.param([], 200, 200, id="empty"),
]

ENCODERS = [
    pytest.param(generate_latest, id="text-0.0.4"),
    pytest.param(partial(generate_latest, escaping=om.ALLOWUTF8), id="text-1.0.0-utf8"),
    pytest.param(partial(generate_latest, escaping=om.DOTS), id="text-dots"),
    pytest.param(partial(om.generate_latest, escaping=om.UNDERSCORES), id="openmetrics"),
    pytest.param(partial(om.generate_latest, escaping=om.ALLOWUTF8), id="openmetrics-utf8"),
    pytest.param(partial(om.generate_latest, escaping=om.VALUES), id="openmetrics-values"),
]


@pytest.mark.parametrize(("samples", "cap", "location_cap"), CASES)
def test_view_equals_per_sample_path(samples: list, cap: int, location_cap: int) -> None:
    """Families (names, help, types, samples in order) and the dropped count are unchanged."""
    payload = snapshot(samples)
    view = build_view(payload, cap, {"location": location_cap})
    families, dropped = expected(payload, cap, location_cap)
    assert view.generated_at == GENERATED_AT
    assert view.dropped == dropped
    assert view.families == families
    assert [f.name for f in view.families] == [f.name for f in families]


@pytest.mark.parametrize(("samples", "cap", "location_cap"), CASES)
@pytest.mark.parametrize("encoder", ENCODERS)
def test_render_is_byte_identical(
    samples: list, cap: int, location_cap: int, encoder: Encoder
) -> None:
    """render() writes exactly what prometheus_client writes for the per-sample families."""
    payload = snapshot(samples)
    view = build_view(payload, cap, {"location": location_cap})
    families, _ = expected(payload, cap, location_cap)
    assert render(Fixed([*view.families]), encoder) == encoder(Fixed(families))


@pytest.mark.parametrize(
    ("samples", "encoder", "parse"),
    [
        pytest.param(typical(3) + ODD, generate_latest, text_string_to_metric_families, id="text"),
        # The OpenMetrics parser refuses ODD's repeated label sets and odd bucket bounds.
        pytest.param(typical(3), partial(om.generate_latest), om_families, id="openmetrics"),
    ],
)
def test_rendered_text_parses_to_same_families(
    samples: list, encoder: Encoder, parse: Callable
) -> None:
    """Parsed back, the pre-rendered exposition gives the per-sample path's families."""
    payload = snapshot(samples)
    view = build_view(payload, 200, {"location": 200})
    families, _ = expected(payload, 200, 200)
    ours = list(parse(render(Fixed([*view.families]), encoder).decode()))
    theirs = list(parse(encoder(Fixed(families)).decode()))
    assert ours == theirs
    assert len(ours) == len(families)


@pytest.mark.parametrize(
    ("samples", "families"),
    [
        pytest.param(typical(2), 0, id="plain"),
        pytest.param([["inventory_otif_ratio", [["odd-name", "v"]], 1.0]], 1, id="odd-label-name"),
    ],
)
def test_only_odd_names_leave_the_fast_path(samples: list, families: int) -> None:
    """Families with a label name that encoders escape are rendered by prometheus_client."""
    view = build_view(snapshot(samples), 200, {"location": 200})
    assert sum(not f.plain for f in view.families) == families


@pytest.mark.parametrize(
    ("value", "line"),
    [
        pytest.param(-0.0, f'{LW}{{location="L1"}} -0.0', id="negative-zero"),
        pytest.param(0.0, f'{LW}{{location="L1"}} 0.0', id="zero"),
        pytest.param(12345678.9, f'{LW}{{location="L1"}} 1.23456789e+07', id="go-exponent"),
        pytest.param(3, f'{LW}{{location="L1"}} 3.0', id="integer"),
    ],
)
def test_values_print_as_prometheus_client_prints_them(value: float, line: str) -> None:
    """Values are formatted like floatToGoString, zero's sign included, after other zeros."""
    samples = [[LW, [["location", "L1"]], v] for v in (0.0, -0.0, value)]
    view = build_view(snapshot(samples), 200, {"location": 200})
    assert view.families[0].body().decode().splitlines()[-1] == line


@pytest.mark.parametrize(("cap", "location_cap"), [(200, 200), (3, 4)])
def test_promtool_accepts_the_exposition(cap: int, location_cap: int) -> None:
    """promtool parses the text format and lints it exactly as prometheus_client's output."""
    assert shutil.which("promtool"), "promtool is missing: `make install` installs prometheus"
    payload = snapshot(typical())
    view = build_view(payload, cap, {"location": location_cap})
    families, _ = expected(payload, cap, location_cap)

    def check(text: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["promtool", "check", "metrics"], input=text, capture_output=True, timeout=60
        )

    ours = check(render(Fixed([*view.families]), generate_latest))
    theirs = check(generate_latest(Fixed(families)))  # type: ignore[arg-type]
    assert ours.returncode in (0, 3), ours.stderr  # 3: lint findings (metric names), not errors
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode,
        theirs.stdout,
        theirs.stderr,
    )
