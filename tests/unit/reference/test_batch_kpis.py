"""The batch reference on tiny hand-made logs whose KPIs were computed by hand.

Times are whole or fractional days after T0; most logs use zero allowed lateness so
the watermark is simply the latest event time. A `tick` (a delivery of an unknown
shipment) moves a location's watermark without touching any KPI.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from streams.settings import KpiSettings
from tests.reference import batch_kpis, random_log

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY = 86400.0
ABSENT = None

# KpiSettings.model_construct skips the windows validator, which would import the engine.
NO_LATENESS = KpiSettings.model_construct(allowed_lateness_seconds=0.0)
DEFAULTS = KpiSettings.model_construct()

_ids = iter(range(1, 1_000_000))


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat()


def _event(event_type: str, days: float, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"e{next(_ids):06d}",
        "event_type": event_type,
        "occurred_at": at(days),
        **fields,
    }


def snapshot(days: float, sku: str, on_hand: float, unit_cost: float, loc: str = "L1") -> dict:
    return _event(
        "inventory.snapshot", days, sku=sku, location=loc, on_hand=on_hand, on_order=0.0,
        in_transit=0.0, unit_cost=unit_cost,
    )  # fmt: skip


def adjust(days: float, sku: str, delta: float, loc: str = "L1") -> dict:
    return _event("inventory.adjusted", days, sku=sku, location=loc, delta=delta, reason="count")


def order(
    days: float,
    order_id: str,
    promised: float,
    lines: list[tuple[str, str, float, float]],
    region: str = "north",
    channel: str = "web",
    tier: str = "standard",
    loc: str = "L1",
) -> dict:
    """`lines` are (line_id, sku, quantity, unit_price)."""
    return _event(
        "order.placed", days, order_id=order_id, location=loc, customer_id="C1",
        customer_tier=tier, channel=channel, region=region, promised_at=at(promised),
        lines=[{"line_id": i, "sku": s, "quantity": q, "unit_price": p} for i, s, q, p in lines],
    )  # fmt: skip


def cancel(days: float, order_id: str, loc: str = "L1") -> dict:
    return _event("order.cancelled", days, order_id=order_id, location=loc)


def dispatch(
    days: float,
    shipment_id: str,
    order_id: str,
    lines: list[tuple[str, str, float]],
    expedite_cost: float = 0.0,
    loc: str = "L1",
) -> dict:
    """`lines` are (line_id, sku, quantity)."""
    return _event(
        "shipment.dispatched", days, shipment_id=shipment_id, order_id=order_id, location=loc,
        lines=[{"line_id": i, "sku": s, "quantity": q} for i, s, q in lines],
        expedited=expedite_cost > 0, expedite_cost=expedite_cost,
    )  # fmt: skip


def deliver(days: float, shipment_id: str, order_id: str, loc: str = "L1") -> dict:
    return _event(
        "shipment.delivered", days, shipment_id=shipment_id, order_id=order_id, location=loc
    )


def forecast(days: float, sku: str, start: float, end: float, quantity: float) -> dict:
    return _event(
        "forecast.published", days, sku=sku, location="L1", period_start=at(start),
        period_end=at(end), quantity=quantity, model="m",
    )  # fmt: skip


def tick(days: float, loc: str = "L1") -> dict:
    return deliver(days, "no-such-shipment", "no-such-order", loc)


def value(
    series: batch_kpis.Series, metric: str, location: str = "L1", **labels: str
) -> float | None:
    return series.get((metric, frozenset({"location": location, **labels}.items())))


def check(series: batch_kpis.Series, metric: str, labels: dict[str, str], expected: Any) -> None:
    got = value(series, metric, **labels)
    if expected is ABSENT:
        assert got is None, f"{metric}{labels} should be absent, got {got}"
    else:
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), f"{metric}{labels}"


# --- fill rate ------------------------------------------------------------------------------


@cache
def fill_rate_series() -> batch_kpis.Series:
    return batch_kpis.compute(
        [
            order(0, "A", 2, [("1", "X", 10, 5), ("2", "Y", 5, 8)], "north", "web", "key"),
            order(0, "B", 2, [("1", "X", 4, 5)], "north", "web", "key"),
            order(0, "C", 3, [("1", "X", 6, 5)], "south", "web", "standard"),
            cancel(1, "B"),
            dispatch(1, "S1", "A", [("1", "X", 6), ("2", "Y", 5)]),
            dispatch(1.5, "S2", "A", [("2", "Y", 2)]),  # over-shipment: capped at 5
            dispatch(1, "S3", "B", [("1", "X", 4)]),  # cancelled order: outside the population
            dispatch(2, "S4", "C", [("1", "X", 6)]),
            tick(5),
        ],
        NO_LATENESS,
    )


NORTH = {"region": "north", "channel": "web", "customer_tier": "key"}


@pytest.mark.parametrize(
    ("metric", "labels", "expected"),
    [
        ("inventory_fill_rate_ratio", {"window": "7d"}, 17 / 21),
        ("inventory_fill_rate_ratio", {"window": "30d"}, 17 / 21),
        ("inventory_line_fill_rate_ratio", {"window": "7d"}, 2 / 3),
        ("inventory_window_units_ordered", {"window": "7d", **NORTH}, 15),
        ("inventory_window_units_shipped", {"window": "7d", **NORTH}, 11),
        ("inventory_window_order_lines", {"window": "7d", **NORTH}, 2),
        ("inventory_window_order_lines_filled", {"window": "7d", **NORTH}, 1),
        ("inventory_window_orders_due", {"window": "7d", **NORTH}, 1),
        ("inventory_fill_rate_by_region_ratio", {"window": "7d", "region": "north"}, 11 / 15),
        ("inventory_fill_rate_by_region_ratio", {"window": "7d", "region": "south"}, 1.0),
        ("inventory_fill_rate_by_channel_ratio", {"window": "7d", "channel": "web"}, 17 / 21),
        ("inventory_fill_rate_by_customer_tier_ratio", {"window": "7d", "customer_tier": "key"}, 11 / 15),  # noqa: E501
        ("inventory_units_ordered_total", {}, 25),  # the cancelled order's units included
        ("inventory_units_shipped_total", {}, 23),  # uncapped, cancelled order included
    ],
)  # fmt: skip
def test_fill_rate_partial_shipment_and_cancelled_order(
    metric: str, labels: dict[str, str], expected: float
) -> None:
    """Shipped units are capped per line at the ordered quantity and cancelled orders leave the
    service population, while the lifetime counters still count every unit."""
    check(fill_rate_series(), metric, labels, expected)


# --- OTIF -----------------------------------------------------------------------------------


@cache
def otif_series() -> batch_kpis.Series:
    return batch_kpis.compute(
        [
            order(0, "A", 2, [("1", "X", 10, 1)], region="north"),
            dispatch(1, "SA", "A", [("1", "X", 10)]),
            deliver(1.5, "SA", "A"),  # on time, in full
            order(0, "B", 2, [("1", "X", 10, 1)], region="south"),
            dispatch(1, "SB", "B", [("1", "X", 10)]),
            deliver(3, "SB", "B"),  # in full but late
            order(0, "C", 2, [("1", "X", 5, 1), ("2", "Y", 5, 1)], region="south"),
            dispatch(1, "SC1", "C", [("1", "X", 5)]),
            deliver(1.5, "SC1", "C"),
            dispatch(1, "SC2", "C", [("2", "Y", 5)]),  # shipped, never delivered
            order(0, "D", 2, [("1", "X", 10, 1)], region="north"),
            dispatch(1, "SD1", "D", [("1", "X", 6)]),
            deliver(1.2, "SD1", "D"),
            dispatch(1, "SD2", "D", [("1", "X", 4)]),
            deliver(2, "SD2", "D"),  # exactly at promised_at: on time
            tick(4),
        ],
        NO_LATENESS,
    )


@pytest.mark.parametrize(
    ("metric", "labels", "expected"),
    [
        ("inventory_otif_ratio", {"window": "7d"}, 0.5),
        ("inventory_fill_rate_ratio", {"window": "7d"}, 1.0),
        ("inventory_line_fill_rate_ratio", {"window": "7d"}, 1.0),
        ("inventory_otif_by_region_ratio", {"window": "7d", "region": "north"}, 1.0),
        ("inventory_otif_by_region_ratio", {"window": "7d", "region": "south"}, 0.0),
        ("inventory_window_orders_otif", {"window": "7d", "region": "north", "channel": "web", "customer_tier": "standard"}, 2),  # noqa: E501
        ("inventory_window_orders_due", {"window": "7d", "region": "south", "channel": "web", "customer_tier": "standard"}, 2),  # noqa: E501
    ],
)  # fmt: skip
def test_otif_late_delivery(metric: str, labels: dict[str, str], expected: float) -> None:
    """An order is OTIF only when every line's full quantity was delivered at or before
    promised_at: a late or missing delivery fails it even though the fill rate is 100%."""
    check(otif_series(), metric, labels, expected)


# --- turns and DIO --------------------------------------------------------------------------


@cache
def turns_series() -> batch_kpis.Series:
    return batch_kpis.compute(
        [
            snapshot(0, "X", 100, 10),  # value 1000 on [0, 2)
            adjust(2, "X", -40),  # value 600 on [2, 4)
            dispatch(3, "S1", "none", [("1", "X", 10)]),  # COGS 10 x 10; the day before "7d"
            snapshot(4, "X", 80, 12.5),  # value 1000 on [4, 10]
            dispatch(5, "S2", "none", [("1", "X", 20)]),  # COGS 20 x 12.5
            tick(10),
        ],
        NO_LATENESS,
    )


@pytest.mark.parametrize(
    ("metric", "window", "expected"),
    [
        ("inventory_window_covered_days", "30d", 10.0),
        ("inventory_average_value_dollars", "30d", (1000 * 2 + 600 * 2 + 1000 * 6) / 10),
        ("inventory_window_cogs_dollars", "30d", 100 + 250),
        ("inventory_turns_annualized", "30d", 350 / 920 * 365 / 10),
        ("inventory_days_inventory_outstanding_days", "30d", 920 / 350 * 10),
        # SPEC §4.1: at a midnight watermark (day 10) "7d" is the whole days [day 4, day 10].
        ("inventory_window_covered_days", "7d", 6.0),
        ("inventory_average_value_dollars", "7d", 1000.0),
        ("inventory_window_cogs_dollars", "7d", 250),  # the day-3 dispatch is before day 4
        ("inventory_turns_annualized", "7d", 250 / 1000 * 365 / 6),
        ("inventory_days_inventory_outstanding_days", "7d", 1000 / 250 * 6),
        ("inventory_value_dollars", None, 1000.0),
        ("inventory_cogs_dollars_total", None, 350.0),
    ],
)
def test_turns_and_dio_step_function(metric: str, window: str | None, expected: float) -> None:
    """Average value integrates the exact on_hand x unit_cost step function over the covered
    window, COGS uses the unit cost in force at dispatch, and turns x DIO = 365."""
    check(turns_series(), metric, {"window": window} if window else {}, expected)


def test_adjustment_at_snapshot_instant_applies_on_top() -> None:
    """An adjustment with the same occurred_at as a snapshot is applied after it (the tie order
    puts snapshots first), so the position is snapshot + delta."""
    series = batch_kpis.compute([adjust(1, "X", 5), snapshot(1, "X", 10, 1), tick(2)], NO_LATENESS)
    check(series, "inventory_value_dollars", {}, 15.0)
    check(series, "inventory_average_value_dollars", {"window": "7d"}, 15.0)


# --- stockouts ------------------------------------------------------------------------------


@cache
def stockout_series() -> batch_kpis.Series:
    return batch_kpis.compute(
        [
            snapshot(0, "X", 5, 1),
            adjust(1, "X", -5),  # episode 1 starts (day 1)
            order(1.5, "O1", 3, [("1", "X", 2, 1)]),  # already out: nothing new
            snapshot(2, "X", 10, 1),  # episode 1 ends
            snapshot(20, "X", 0, 1),  # episode 2 starts (day 20)
            adjust(21, "X", 3),  # ends
            adjust(22, "X", -5),  # episode 3 starts (day 22), on_hand -2
            adjust(22.5, "X", 1),  # still <= 0: same episode
            snapshot(0, "Y", 0, 1),  # 0 -> 0 is not a start
            order(23, "O2", 30, [("1", "Y", 1, 1)]),  # order hits an empty shelf: episode 4
            order(23.5, "O3", 30, [("1", "Y", 1, 1)]),  # already out
            tick(25),
        ],
        NO_LATENESS,
    )


@pytest.mark.parametrize(
    ("metric", "window", "expected"),
    [
        ("inventory_stockout_events", "7d", 3),  # starts on days 20, 22, 23
        ("inventory_stockout_events", "30d", 4),
        # Y's day-23 episode: no inventory event of L1 followed it, but the tick on day 25
        # closed day 23, and the episodes of a closed day are final (SPEC §4.1): counted.
        ("inventory_stockouts_total", None, 4),
        ("inventory_stocked_out_sku_locations", None, 2),  # X since day 22, Y since day 23
        ("inventory_sku_locations", None, 2),
    ],
)
def test_stockout_episodes(metric: str, window: str | None, expected: float) -> None:
    """An episode starts when on_hand drops from > 0 to <= 0 or an order line meets an empty
    shelf, counts once however long it lasts, ends when on_hand > 0, and is windowed by start."""
    check(stockout_series(), metric, {"window": window} if window else {}, expected)


def test_order_for_never_stocked_sku_starts_no_stockout() -> None:
    """An order line for a SKU with no inventory event meets an unknown position and starts
    nothing (reading 6), without making the SKU-location 'known'."""
    series = batch_kpis.compute([order(1, "O", 3, [("1", "Z", 1, 1)]), tick(2)], NO_LATENESS)
    check(series, "inventory_stockouts_total", {}, 0)
    check(series, "inventory_stockout_events", {"window": "7d"}, 0)
    check(series, "inventory_stocked_out_sku_locations", {}, 0)
    check(series, "inventory_sku_locations", {}, 0)


# --- forecast error -------------------------------------------------------------------------


@cache
def forecast_series() -> batch_kpis.Series:
    return batch_kpis.compute(
        [
            forecast(0, "X", 1, 2, 10),
            forecast(0.5, "X", 1, 2, 12),  # revision: the latest counts, F = 12
            forecast(0, "X", 2, 3, 5),
            forecast(0, "X", 3, 4, 4),  # no demand: A = 0, in WAPE only
            forecast(0, "X", 4, 5, 3),  # period_end == wm: closed
            forecast(0, "X", 5, 6, 9),  # not closed: ignored
            order(1.2, "O1", 9, [("1", "X", 8, 1)]),
            order(1.9, "O2", 9, [("1", "X", 2, 1), ("2", "Y", 100, 1)]),  # Y has no forecast
            order(2, "O3", 9, [("1", "X", 6, 1)]),  # at period_start of [2, 3)
            order(2.5, "O4", 9, [("1", "X", 4, 1)]),
            cancel(2.6, "O4"),  # cancelled demand is not actual demand
            order(4.5, "O5", 9, [("1", "X", 3, 1)]),
            tick(5),
        ],
        NO_LATENESS,
    )


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("inventory_forecast_abs_error_units", 2 + 1 + 4 + 0),
        ("inventory_forecast_actual_units", 10 + 6 + 0 + 3),
        ("inventory_forecast_wape_ratio", 7 / 19),
        ("inventory_forecast_absolute_percentage_errors", 2 / 10 + 1 / 6 + 0 / 3),
        ("inventory_forecast_periods", 3),
        ("inventory_forecast_mape_ratio", (2 / 10 + 1 / 6 + 0 / 3) / 3),
    ],
)
def test_forecast_wape_mape(metric: str, expected: float) -> None:
    """Closed periods use the latest forecast and non-cancelled demand ordered in
    [period_start, period_end); periods without demand enter WAPE but not MAPE."""
    check(forecast_series(), metric, {"window": "7d"}, expected)


# --- expedites ------------------------------------------------------------------------------


@cache
def expedite_series() -> batch_kpis.Series:
    return batch_kpis.compute(
        [
            order(0, "O1", 3, [("1", "X", 10, 20), ("2", "Y", 5, 4)]),
            dispatch(0.5, "D1", "O1", [("1", "X", 10)], expedite_cost=30),  # sales 200, 30d only
            dispatch(2, "D2", "O1", [("2", "Y", 5)]),  # sales 20
            dispatch(3, "D3", "UNKNOWN", [("1", "X", 7)], expedite_cost=50),  # sales 0
            order(0, "O2", 3, [("1", "X", 1, 100)]),
            cancel(1, "O2"),
            dispatch(4, "D4", "O2", [("1", "X", 1)]),  # shipped anyway: sales 100
            tick(8),
        ],
        NO_LATENESS,
    )


@pytest.mark.parametrize(
    ("metric", "window", "expected"),
    [
        ("inventory_window_expedite_cost_dollars", "30d", 80),
        ("inventory_window_sales_dollars", "30d", 320),
        ("inventory_expedite_cost_sales_ratio", "30d", 80 / 320),
        ("inventory_window_expedite_cost_dollars", "7d", 50),
        ("inventory_window_sales_dollars", "7d", 120),
        ("inventory_expedite_cost_sales_ratio", "7d", 50 / 120),
        ("inventory_sales_dollars_total", None, 320),
        ("inventory_expedite_cost_dollars_total", None, 80),
    ],
)
def test_expedite_share_of_sales(metric: str, window: str | None, expected: float) -> None:
    """Expedite cost and sales both come from dispatches in the window, sales priced at the
    order line's unit_price and 0 for a dispatch of an unknown order."""
    check(expedite_series(), metric, {"window": window} if window else {}, expected)


# --- zero denominators ----------------------------------------------------------------------


@cache
def quiet_series() -> batch_kpis.Series:
    return batch_kpis.compute(
        [
            snapshot(0, "X", 10, 2, loc="STOCK"),
            tick(3, loc="STOCK"),
            order(0, "O", 9, [("1", "X", 1, 1)], loc="SALES"),  # promised after the watermark
            tick(3, loc="SALES"),
        ],
        NO_LATENESS,
    )


@pytest.mark.parametrize(
    ("location", "metric", "expected"),
    [
        ("STOCK", "inventory_fill_rate_ratio", ABSENT),
        ("STOCK", "inventory_line_fill_rate_ratio", ABSENT),
        ("STOCK", "inventory_otif_ratio", ABSENT),
        ("STOCK", "inventory_forecast_wape_ratio", ABSENT),
        ("STOCK", "inventory_forecast_mape_ratio", ABSENT),
        ("STOCK", "inventory_expedite_cost_sales_ratio", ABSENT),
        ("STOCK", "inventory_planner_override_ratio", ABSENT),
        ("STOCK", "inventory_days_inventory_outstanding_days", ABSENT),
        ("STOCK", "inventory_service_level_per_million_dollars", ABSENT),
        ("STOCK", "inventory_cost_to_service_slope", ABSENT),
        ("STOCK", "inventory_time_to_replan_median_seconds", ABSENT),
        ("STOCK", "inventory_turns_annualized", 0.0),  # COGS 0 over a positive average
        ("STOCK", "inventory_policy_changes_per_sku_location", 0.0),
        ("STOCK", "inventory_window_sales_dollars", 0.0),
        ("STOCK", "inventory_forecast_actual_units", 0.0),
        ("STOCK", "inventory_average_value_dollars", 20.0),
        ("SALES", "inventory_fill_rate_ratio", ABSENT),  # its one order is not due yet
        ("SALES", "inventory_turns_annualized", ABSENT),  # average value 0
        ("SALES", "inventory_excess_obsolete_ratio", ABSENT),  # current value 0
        ("SALES", "inventory_policy_changes_per_sku_location", ABSENT),  # no SKU-location known
        ("SALES", "inventory_average_value_dollars", 0.0),
    ],
)
def test_zero_denominators_absent(location: str, metric: str, expected: float | None) -> None:
    """A KPI whose denominator is zero is absent (not 0, not NaN) while its numerator and
    denominator series are still exported."""
    check(quiet_series(), metric, {"location": location, "window": "7d"}, expected)


def test_no_series_is_nan() -> None:
    """No figure of any hand-made log is NaN or infinite."""
    for series in (quiet_series(), turns_series(), forecast_series(), otif_series()):
        assert all(v == v and abs(v) != float("inf") for v in series.values())


# --- covered window days --------------------------------------------------------------------


@cache
def covered_series() -> batch_kpis.Series:
    lateness = DEFAULTS.allowed_lateness_seconds / DAY
    return batch_kpis.compute(
        [
            snapshot(0, "X", 1, 1, loc="OLD"),
            tick(10 + lateness, loc="OLD"),
            snapshot(7, "X", 50, 10, loc="NEW"),  # value 500 on [7, 8.5)
            adjust(8.5, "X", 30, loc="NEW"),  # value 800 on [8.5, 10]
            dispatch(9, "S", "none", [("1", "X", 10)], loc="NEW"),  # COGS 100
            tick(10 + lateness, loc="NEW"),
            snapshot(10, "X", 1, 1, loc="LATE"),  # only event inside the allowed lateness
        ],
        DEFAULTS,
    )


@pytest.mark.parametrize(
    ("location", "metric", "window", "expected"),
    [
        ("OLD", "inventory_window_covered_days", "7d", 6.0),  # [day 4, day 10]: whole days
        ("OLD", "inventory_window_covered_days", "30d", 10.0),
        ("NEW", "inventory_window_covered_days", "7d", 3.0),
        ("NEW", "inventory_window_covered_days", "30d", 3.0),
        ("NEW", "inventory_average_value_dollars", "30d", 650.0),
        ("NEW", "inventory_turns_annualized", "30d", 100 / 650 * 365 / 3),
        ("NEW", "inventory_turns_annualized", "7d", 100 / 650 * 365 / 3),
        ("NEW", "inventory_days_inventory_outstanding_days", "30d", 650 / 100 * 3),
        ("NEW", "inventory_watermark_timestamp_seconds", None, T0.timestamp() + 10 * DAY),
        ("LATE", "inventory_window_covered_days", "7d", 0.0),
        ("LATE", "inventory_average_value_dollars", "7d", ABSENT),
        ("LATE", "inventory_turns_annualized", "7d", ABSENT),
        ("LATE", "inventory_excess_obsolete_value_dollars", "7d", ABSENT),
        ("LATE", "inventory_value_dollars", None, 1.0),  # current value ignores the watermark
    ],
)
def test_window_covered_days(
    location: str, metric: str, window: str | None, expected: float | None
) -> None:
    """A location whose data starts inside the window uses the covered span (from its first
    event to its watermark) for window days and the average; with no span they are absent."""
    labels = {"location": location, **({"window": window} if window else {})}
    check(covered_series(), metric, labels, expected)


# --- whole-log properties -------------------------------------------------------------------


@cache
def small_log() -> tuple[dict[str, Any], ...]:
    return tuple(random_log.generate(1500, seed=7, days=20, n_locations=2, n_skus=8))


def _without_counters(series: batch_kpis.Series) -> batch_kpis.Series:
    return {k: v for k, v in series.items() if not k[0].endswith("_total")}


def _day(event: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(event["occurred_at"]).timestamp() // DAY)


def test_order_of_events_within_a_day_does_not_matter() -> None:
    """Every figure but the counters is a function of the set of events within open buckets
    (SPEC §4.1): shuffling the log inside each day changes none of them."""
    log = sorted(small_log(), key=_day)
    expected = batch_kpis.compute(log, DEFAULTS)
    random.Random(1).shuffle(log)
    shuffled = batch_kpis.compute(sorted(log, key=_day), DEFAULTS)
    assert batch_kpis.compare(_without_counters(expected), _without_counters(shuffled)) == []


def test_counters_follow_the_processing_order_and_never_go_down() -> None:
    """Counters count facts in the order of the log (the processing order): each counter of a
    prefix of the log is at most the counter of the whole log, shuffled or not."""
    log = list(small_log())
    random.Random(2).shuffle(log)
    whole = batch_kpis.compute(log, DEFAULTS)
    for cut in (len(log) // 4, len(log) // 2, 3 * len(log) // 4):
        prefix = batch_kpis.compute(log[:cut], DEFAULTS)
        for key, value in prefix.items():
            if key[0].endswith("_total"):
                assert whole[key] >= value, (key, value, whole[key])


@cache
def counter_series() -> batch_kpis.Series:
    return batch_kpis.compute(
        [
            snapshot(5, "X", 100, 10),  # known cost $10
            dispatch(6, "S1", "O1", [("1", "X", 10)]),  # COGS 10 x $10 when processed
            snapshot(1, "X", 100, 5),  # older, another cost: reprices nothing counted
            dispatch(2, "S2", "O2", [("1", "Y", 4)]),  # Y has no cost yet: waits
            snapshot(3, "Y", 10, 3),  # Y's first cost: 4 x $3
            order(0.5, "O1", 9, [("1", "X", 10, 7)]),  # after its dispatch: sales 10 x $7
            order(0.2, "O1", 9, [("1", "X", 99, 1)]),  # re-publication: counts nothing
            tick(8),
        ],
        NO_LATENESS,
    )


@pytest.mark.parametrize(
    ("metric", "labels", "expected"),
    [
        ("inventory_cogs_dollars_total", {}, 100 + 12),
        ("inventory_window_cogs_dollars", {"window": "7d"}, 10 * 10 + 4 * 3),  # X at day 6: $10
        ("inventory_sales_dollars_total", {}, 70),
        ("inventory_units_ordered_total", {}, 10),
        ("inventory_units_shipped_total", {}, 14),
    ],
)  # fmt: skip
def test_counters_count_facts_as_processed(
    metric: str, labels: dict[str, str], expected: float
) -> None:
    """COGS at the cost known when the dispatch is processed (or at the first cost, when none
    was known), sales when the order is known, each order id's first placement only."""
    check(counter_series(), metric, labels, expected)


def test_duplicates_and_invalid_events_change_nothing() -> None:
    """A re-published event_id (even with another payload) and invalid events are dropped."""
    log = list(small_log())
    expected = batch_kpis.compute(log, DEFAULTS)
    valid_ids = {e.event_id for e in batch_kpis.valid_events(log)}
    replays = [dict(e, occurred_at=at(0)) for e in log[:300] if e["event_id"] in valid_ids]
    noisy = [*log, *replays]
    noisy += [dict(e, event_id=f"bad{i}", unknown=1) for i, e in enumerate(log[:50])]
    noisy += [dict(e, event_id=f"neg{i}", quantity=-1.0) for i, e in enumerate(log[:50])]
    assert batch_kpis.compare(expected, batch_kpis.compute(noisy, DEFAULTS)) == []


def test_turns_times_dio_is_365() -> None:
    """On a random log, every location and window has turns x DIO = 365."""
    series = batch_kpis.compute(list(small_log()), DEFAULTS)
    turns = {k[1]: v for k, v in series.items() if k[0] == "inventory_turns_annualized"}
    dio = {
        k[1]: v for k, v in series.items() if k[0] == "inventory_days_inventory_outstanding_days"
    }
    assert turns
    for labels, value in turns.items():
        assert value * dio[labels] == pytest.approx(365.0, rel=1e-12)


# --- exposition parsing and comparison ------------------------------------------------------


def _exposition() -> str:
    registry = CollectorRegistry()
    fill = Gauge("inventory_fill_rate_ratio", "", ["location", "window"], registry=registry)
    fill.labels("L1", "7d").set(0.75)
    average = Gauge(
        "inventory_average_value_dollars", "", ["location", "window"], registry=registry
    )
    average.labels("L1", "7d").set(1000.0)
    Counter("inventory_units_ordered", "", ["location"], registry=registry).labels("L1").inc(25)
    replan = Histogram(
        "inventory_time_to_replan_seconds", "", ["location"], buckets=(3600.0,), registry=registry
    )
    replan.labels("L1").observe(60.0)
    Counter("kpimon_events", "", ["topic"], registry=registry).labels("orders").inc()
    return generate_latest(registry).decode()


def _key(name: str, **labels: str) -> batch_kpis.Key:
    return (name, frozenset(labels.items()))


REFERENCE = {
    _key("inventory_fill_rate_ratio", location="L1", window="7d"): 0.75,
    _key("inventory_average_value_dollars", location="L1", window="7d"): 1000.0,
    _key("inventory_units_ordered_total", location="L1"): 25.0,
    _key("inventory_time_to_replan_seconds_count", location="L1"): 1.0,
    _key("inventory_time_to_replan_seconds_sum", location="L1"): 60.0,
}


def test_parse_exposition_keys() -> None:
    """Exposition samples come back under their sample names and labels, without `_created`."""
    served = batch_kpis.parse_exposition(_exposition())
    assert REFERENCE.items() <= served.items()
    assert not any(name.endswith("_created") for name, _ in served)
    assert _key("kpimon_events_total", topic="orders") in served


def _edit(key: batch_kpis.Key, factor: float | None) -> dict[batch_kpis.Key, float]:
    """The reference with one series scaled by `factor` (None: removed)."""
    edited = {k: v for k, v in REFERENCE.items() if k != key or factor is not None}
    if factor is not None:
        edited[key] = REFERENCE[key] * factor
    return edited


FILL = _key("inventory_fill_rate_ratio", location="L1", window="7d")
AVERAGE = _key("inventory_average_value_dollars", location="L1", window="7d")


@pytest.mark.parametrize(
    ("served", "problems"),
    [
        (REFERENCE, []),
        (_edit(FILL, 1 + 1e-12), []),  # float noise in an exact figure
        (_edit(FILL, 1 + 1e-6), ["differs: inventory_fill_rate_ratio"]),
        (_edit(AVERAGE, 1.005), []),  # time-weighted: within 1%
        (_edit(AVERAGE, 1.02), ["differs: inventory_average_value_dollars"]),
        (_edit(FILL, None), ["missing: inventory_fill_rate_ratio"]),
        ({**REFERENCE, _key("inventory_otif_ratio", location="L1", window="7d"): 1.0},
         ["extra: inventory_otif_ratio"]),
        ({**REFERENCE, _key("kpimon_events_total", topic="orders"): 3.0}, []),  # not compared
    ],
)  # fmt: skip
def test_compare(served: dict[batch_kpis.Key, float], problems: list[str]) -> None:
    """Counts and ratios must match to 1e-9, time-weighted figures to 1%, and a series on one
    side only is reported; metrics outside the reference are ignored."""
    found = batch_kpis.compare(REFERENCE, served)
    assert [line.split("{")[0] for line in found] == problems


def test_compare_served_exposition() -> None:
    """The reference matches what a Prometheus exposition of the same values serves."""
    assert batch_kpis.compare(REFERENCE, batch_kpis.parse_exposition(_exposition())) == []


def test_load_jsonl_keeps_json_objects(tmp_path: Path) -> None:
    """load_jsonl returns the JSON objects of a log and skips blank, malformed and non-object
    lines."""
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\n\nnot json\n[1, 2]\n{"b": "é"}\n', encoding="utf-8")
    assert batch_kpis.load_jsonl(path) == [{"a": 1}, {"b": "é"}]


@pytest.mark.parametrize(
    "key",
    [
        _key("inventory_working_capital_at_risk_dollars", location="L1", window="7d"),
        _key("inventory_value_dollars", location="L1"),
        _key("inventory_excess_obsolete_value_dollars", location="L1"),
        _key("inventory_excess_obsolete_ratio", location="L1"),
        _key("inventory_window_covered_days", location="L1", window="7d"),
    ],
)
def test_figures_that_are_not_time_weighted_compare_exactly(key: batch_kpis.Key) -> None:
    """Current value, E&O, working capital at risk and covered days get no 1% tolerance: half a
    percent off is a mismatch, float noise is not."""
    expected = {key: 1000.0}
    assert batch_kpis.compare(expected, {key: 1000.0 * (1 + 1e-12)}) == []
    [problem] = batch_kpis.compare(expected, {key: 1005.0})
    assert problem.startswith(f"differs: {key[0]}") and "tolerance 1e-09" in problem
