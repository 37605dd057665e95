"""Risk: stockout episodes, forecast error and expedite cost share."""

from __future__ import annotations

import pytest

from streams.events import models as m
from tests.unit.core.factories import (
    adjusted,
    at,
    cancel,
    dispatch,
    forecast,
    order,
    snapshot,
    tick,
)
from tests.unit.core.helpers import in_time_order, run, value


def stockout_log() -> list[m.Event]:
    """A: out on day 1 and day 3; B: out when an order meets an empty shelf; C: position unknown.

    In event-time order: nothing is late (the late rules are in test_spec_scenarios.py).
    """
    return in_time_order(
        [
            snapshot("A", 5, t=at(0)),
            adjusted("A", -5, t=at(1)),  # > 0 -> 0: episode 1 starts
            order(
                "O1", [("l1", "A", 1, 1.0)], t=at(1.5), promised=at(2)
            ),  # already out: no new one
            snapshot("A", 3, t=at(2)),  # ends
            adjusted("A", -3, t=at(3)),  # episode 2 starts
            snapshot("A", 0, t=at(3.5)),  # still out: no new one
            adjusted("A", 2, t=at(4)),  # ends
            snapshot("B", 0, t=at(0)),  # 0 -> 0 is not a start
            order("O2", [("l1", "B", 1, 1.0)], t=at(0.5), promised=at(1)),  # empty shelf: starts
            adjusted("B", 1, t=at(1)),  # ends
            order("O3", [("l1", "B", 1, 1.0)], t=at(2), promised=at(3)),  # on_hand 1: nothing
            order(
                "O4", [("l1", "C", 1, 1.0)], t=at(2), promised=at(3)
            ),  # position unknown: nothing
            tick(t=at(9)),
        ]
    )


@pytest.mark.parametrize(
    ("metric", "labels", "expected"),
    [
        # 7d window is [day 3, day 9]: only A's day-3 start.
        ("inventory_stockout_events", {"window": "7d"}, 1.0),
        ("inventory_stockout_events", {"window": "30d"}, 3.0),  # A day 1, B day 0.5, A day 3
        ("inventory_stockouts_total", {}, 3.0),
        ("inventory_stocked_out_sku_locations", {}, 0.0),  # C's position is unknown
    ],
)
def test_stockout_episodes(metric: str, labels: dict[str, str], expected: float) -> None:
    """Episodes start either way (never on an unknown position), count once while open, and
    are counted by start time."""
    assert value(run(stockout_log()), metric, location="L1", **labels) == expected


def test_stockout_view_state() -> None:
    """The view says which SKU-locations are out now and since when."""
    views = {v.sku: v for v in run(stockout_log()).sku_locations()}
    assert (views["A"].stocked_out, views["A"].stockout_started_at) == (False, None)
    assert (views["B"].stocked_out, views["B"].stockout_started_at) == (False, None)
    assert (views["C"].stocked_out, views["C"].stockout_started_at) == (False, None)


def forecast_log() -> list[m.Event]:
    """A: actuals 15 and 8 against forecasts 20 (re-published) and 10; B: actual 0 against 4."""
    return [
        order("O1", [("l1", "A", 10, 1.0)], t=at(1.2), promised=at(3)),
        order("O2", [("l1", "A", 5, 1.0)], t=at(1.8), promised=at(3)),
        order("O3", [("l1", "A", 100, 1.0)], t=at(1.5), promised=at(3)),
        cancel("O3", t=at(1.6)),  # cancelled: not an actual
        order("O4", [("l1", "A", 8, 1.0)], t=at(2.5), promised=at(3)),
        order("O5", [("l1", "A", 7, 1.0)], t=at(2), promised=at(3)),  # exactly at a period start
        forecast("A", 12, t=at(0), start=at(1), end=at(2)),
        forecast("A", 20, t=at(0.5), start=at(1), end=at(2)),  # the latest one counts
        forecast("A", 15, t=at(1.5), start=at(1), end=at(2)),  # after period_start: ignored
        forecast("A", 9, t=at(3.5), start=at(3), end=at(4)),  # the only one is late: skipped
        forecast("A", 10, t=at(0), start=at(2), end=at(3)),
        forecast("B", 4, t=at(0), start=at(1), end=at(2)),
        forecast("A", 3, t=at(0), start=at(5), end=at(6)),  # not closed yet
        tick(t=at(5)),
    ]


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("inventory_forecast_abs_error_units", 5.0 + 5.0 + 4.0),  # |15-20| + |15-10| + |0-4|
        ("inventory_forecast_actual_units", 30.0),
        ("inventory_forecast_wape_ratio", 14.0 / 30.0),
        ("inventory_forecast_absolute_percentage_errors", 5 / 15 + 5 / 15),
        ("inventory_forecast_periods", 2.0),
        ("inventory_forecast_mape_ratio", (5 / 15 + 5 / 15) / 2),
    ],
)
def test_forecast_error(metric: str, expected: float) -> None:
    """WAPE/MAPE: closed half-open periods, the latest publication at or before period_start
    (later ones are ignored, a period with none is skipped), cancelled demand left out."""
    got = value(run(forecast_log()), metric, location="L1", window="7d")
    assert got == pytest.approx(expected, rel=1e-12)


def expedite_log() -> list[m.Event]:
    """Sales 40 + 60 + 0 (unknown order); expedite 8 + 0 + 2."""
    return [
        order("O1", [("l1", "A", 10, 10.0)], t=at(0), promised=at(5)),
        dispatch("S1", "O1", [("l1", "A", 4)], t=at(1), expedite_cost=8.0),
        dispatch("S2", "O1", [("l1", "A", 6)], t=at(3)),
        dispatch("S3", "O9", [("l1", "A", 3)], t=at(4), expedite_cost=2.0),
        tick(t=at(9)),
    ]


@pytest.mark.parametrize(
    ("window", "metric", "expected"),
    [
        ("7d", "inventory_window_expedite_cost_dollars", 2.0),
        ("7d", "inventory_window_sales_dollars", 60.0),
        ("7d", "inventory_expedite_cost_sales_ratio", 2 / 60),
        ("30d", "inventory_expedite_cost_sales_ratio", 10 / 100),
    ],
)
def test_expedite_cost_share_of_sales(window: str, metric: str, expected: float) -> None:
    """Expedite cost over sales of dispatches in the window; sales of an unknown order are 0."""
    assert value(run(expedite_log()), metric, location="L1", window=window) == expected


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("inventory_units_ordered_total", 10.0),
        ("inventory_units_shipped_total", 13.0),
        ("inventory_sales_dollars_total", 100.0),
        ("inventory_expedite_cost_dollars_total", 10.0),
        ("inventory_cogs_dollars_total", 0.0),  # no snapshot: no cost known yet, waits
    ],
)
def test_lifetime_counters(metric: str, expected: float) -> None:
    """Counters sum every event seen at the location, uncapped."""
    assert value(run(expedite_log()), metric, location="L1") == expected
