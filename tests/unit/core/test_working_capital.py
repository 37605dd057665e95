"""Working capital: average value, COGS, turns, DIO, covered days and excess & obsolete."""

from __future__ import annotations

import pytest

from streams.events import models as m
from tests.unit.core.factories import adjusted, at, cancel, dispatch, order, snapshot, tick
from tests.unit.core.helpers import run, value


def step_log() -> list[m.Event]:
    """Value 20 on days 0-2, 10 on days 2-4, 60 on days 4-6; COGS 4*2 + 2*3 = 14."""
    return [
        snapshot("A", 10, unit_cost=2.0, t=at(0)),
        adjusted("A", -5, t=at(2)),
        snapshot("A", 20, unit_cost=3.0, t=at(4)),
        dispatch("S1", "O1", [("l1", "A", 4)], t=at(3)),  # priced at the day-0 cost of 2
        dispatch("S2", "O1", [("l1", "A", 2)], t=at(5)),  # priced at the day-4 cost of 3
        tick(t=at(6)),
    ]


@pytest.mark.parametrize("window", ["7d", "30d"])
@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("inventory_window_covered_days", 6.0),
        ("inventory_average_value_dollars", 180.0 / 6),
        ("inventory_window_cogs_dollars", 14.0),
        ("inventory_turns_annualized", 14.0 / 30.0 * 365.0 / 6.0),
        ("inventory_days_inventory_outstanding_days", 30.0 / 14.0 * 6.0),
    ],
)
def test_turns_and_dio_on_a_step_function(metric: str, window: str, expected: float) -> None:
    """Turns and DIO follow from the exact integral of the value step function."""
    engine = run(step_log())
    assert value(engine, metric, location="L1", window=window) == pytest.approx(expected, rel=1e-12)


def test_current_value_and_turns_times_dio() -> None:
    """Current value uses the latest position; annualised turns times DIO is 365."""
    engine = run(step_log())
    assert value(engine, "inventory_value_dollars", location="L1") == 60.0
    kpis = engine.location_kpis("L1", "7d")
    assert kpis["turns"] * kpis["days_inventory_outstanding"] == pytest.approx(365.0)


@pytest.mark.parametrize(
    ("window", "covered", "average"),
    [
        # Whole days (SPEC §4.1): at a midnight watermark "7d" is [day 4, day 10], 6 days.
        ("7d", 6.0, 100.0),
        ("30d", 10.0, (3 * 50.0 + 7 * 100.0) / 10),
    ],
)
def test_window_longer_than_the_data_uses_the_covered_span(
    window: str, covered: float, average: float
) -> None:
    """A location that started inside the window averages over the days since its first event;
    one that did not, over the window's whole buckets."""
    engine = run([snapshot("A", 50, t=at(0)), snapshot("A", 100, t=at(3)), tick(t=at(10))])
    assert value(engine, "inventory_window_covered_days", location="L1", window=window) == covered
    assert value(engine, "inventory_average_value_dollars", location="L1", window=window) == average


def test_adjustment_before_the_first_snapshot_is_valued_at_the_first_snapshot_cost() -> None:
    """Before any snapshot on_hand sums adjustments from 0, priced at the first snapshot's cost."""
    engine = run(
        [adjusted("A", 5, t=at(0)), snapshot("A", 10, unit_cost=2.0, t=at(1)), tick(t=at(2))]
    )
    assert value(engine, "inventory_average_value_dollars", location="L1", window="7d") == 15.0


def test_adjustment_read_before_the_first_snapshot_is_revalued_when_it_arrives() -> None:
    """An adjustment read (and reported) before any snapshot is repriced by the first snapshot."""
    engine = run([adjusted("A", 5, t=at(0)), tick(t=at(2))])
    assert value(engine, "inventory_average_value_dollars", location="L1", window="7d") == 0.0
    engine.add(snapshot("A", 10, unit_cost=2.0, t=at(1)))
    assert value(engine, "inventory_average_value_dollars", location="L1", window="7d") == 15.0


def test_adjustment_at_a_snapshot_instant_applies_on_top_of_it() -> None:
    """Ties resolve snapshot first, then adjustment, whatever the arrival order."""
    engine = run([adjusted("A", 3, t=at(1)), snapshot("A", 10, t=at(1)), tick(t=at(2))])
    assert value(engine, "inventory_value_dollars", location="L1") == 13.0


def eo_log() -> list[m.Event]:
    """A: 100 units at $2, 14 ordered on day 6; B: 50 at $1, 10 ordered on day 2; wm day 10."""
    return [
        snapshot("A", 100, unit_cost=2.0, t=at(0)),
        snapshot("B", 50, unit_cost=1.0, t=at(0)),
        order("O1", [("l1", "B", 10, 1.0)], t=at(2), promised=at(3)),
        order("O2", [("l1", "A", 14, 1.0)], t=at(6), promised=at(7)),
        order("O3", [("l1", "A", 500, 1.0)], t=at(6), promised=at(7)),
        cancel("O3", t=at(6.5)),
        tick(t=at(10)),
    ]


@pytest.mark.parametrize(
    ("obsolete_after_days", "eo_value"),
    [
        # Model d over the 10 covered days: A 14/10, B 10/10 per day (excess cover 2 days).
        # A: excess 100 - 2 * 1.4 = 97.2 units * $2; B: no order for 5 days: obsolete, $50.
        (5.0, 97.2 * 2.0 + 50.0),
        # Obsolescence not judged yet (data spans 10 < 20 days): B is excess only, 50 - 2 * 1.
        (20.0, 97.2 * 2.0 + 48.0),
    ],
)
def test_excess_and_obsolete(obsolete_after_days: float, eo_value: float) -> None:
    """E&O is one point-in-time figure per location: obsolete stock whole, other stock above
    excess_cover_days of the uncertainty model's expected daily demand."""
    engine = run(eo_log(), excess_cover_days=2.0, obsolete_after_days=obsolete_after_days)
    got = value(engine, "inventory_excess_obsolete_value_dollars", location="L1")
    assert got == pytest.approx(eo_value, rel=1e-12)
    ratio = value(engine, "inventory_excess_obsolete_ratio", location="L1")
    assert ratio == pytest.approx(eo_value / 250.0, rel=1e-12)
    assert engine.location_kpis("L1", "7d")["excess_obsolete"] == ratio


def test_excess_and_obsolete_has_no_window() -> None:
    """No E&O series carries a window label, whatever windows are configured."""
    engine = run(eo_log(), windows=["12h", "7d", "30d"], bucket_seconds=3600)
    eo = [s for s in engine.samples() if s.name.startswith("inventory_excess_obsolete")]
    assert [(s.name, s.labels) for s in eo] == [
        ("inventory_excess_obsolete_value_dollars", (("location", "L1"),)),
        ("inventory_excess_obsolete_ratio", (("location", "L1"),)),
    ]
