"""Recomputing changed locations a slice at a time gives the figures of a full recompute."""

from __future__ import annotations

from streams.core.engine import KpiEngine
from tests.unit.core.factories import settings
from tests.unit.core.simlog import simulated_events


def test_slices_then_computed_view_equal_a_full_recompute() -> None:
    """refresh() over slices of changed_locations(), read through as_computed(), equals
    samples(), sku_locations() and location_kpis() of an engine recomputed at once."""
    log = simulated_events(2000, seed=11, locations=4, skus=6, days=10.0)
    sliced, whole = KpiEngine(settings()), KpiEngine(settings())
    for event in log:
        sliced.add(event)
        whole.add(event)
    codes = sliced.changed_locations()
    assert codes == sorted(codes) and len(codes) == 4
    for first in range(0, len(codes), 3):
        sliced.refresh(codes[first : first + 3])
    assert sliced.changed_locations() == []
    computed = sliced.as_computed()
    assert computed.samples() == whole.samples()
    assert computed.sku_locations() == whole.sku_locations()
    for code in codes:
        assert computed.location_kpis(code, "7d") == whole.location_kpis(code, "7d")
        assert computed.watermark(code) == whole.watermark(code)


def test_the_computed_view_recomputes_nothing() -> None:
    """A location changed after its last recompute keeps its previous figures in the view
    and stays listed as changed until refreshed."""
    log = simulated_events(600, seed=12, locations=2, skus=4, days=5.0)
    engine = KpiEngine(settings())
    for event in log[:300]:
        engine.add(event)
    before = engine.samples()
    for event in log[300:]:
        engine.add(event)
    changed = engine.changed_locations()
    assert changed
    assert engine.as_computed().samples() == before
    assert engine.changed_locations() == changed
    engine.refresh(changed)
    assert engine.changed_locations() == []
    assert engine.as_computed().samples() == engine.samples()
