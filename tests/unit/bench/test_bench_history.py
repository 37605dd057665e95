"""The history of `--history`: valid, time-ordered, at the asked density, in its phase."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from bench.events import Record
from bench.history import (
    DAY,
    IsoClock,
    Tally,
    Timeline,
    adjustments,
    closing,
    history,
    history_count,
    parse_days,
    part_locations,
    probe_orders,
)
from bench.measure import role_of
from bench.produce import Spec, records_of
from bench.run import parse_args
from streams.events.decode import Rejection, decode_event

START = 1_700_006_400.0  # a UTC midnight


def decoded(records: list[Record]) -> list[Any]:
    events: list[Any] = []
    for record in records:
        event: Any = decode_event(record.value, topic=record.topic)
        assert not isinstance(event, Rejection), (event, record.value)
        assert record.key == event.location.encode()
        assert record.at == event.occurred_at.timestamp()
        events.append(event)
    return events


def test_history_is_valid_ordered_and_at_the_density() -> None:
    tally = Tally()
    records = list(history(range(8), 25, START, START + 3 * DAY, 10.0, tally, tag="t"))
    assert len(records) == history_count(8 * 25, 10.0, 3) == 6000 == tally.total
    events = decoded(records)
    times = [record.at for record in records]
    assert times == sorted(times)
    assert times[0] >= START and times[-1] < START + 3 * DAY
    assert len({e.event_id for e in events}) == len(events)
    kinds = {e.event_type for e in events}
    assert kinds == {
        "order.placed",
        "shipment.dispatched",
        "inventory.adjusted",
        "inventory.snapshot",
    }
    placed = {e.order_id: e.occurred_at for e in events if e.event_type == "order.placed"}
    for e in events:
        if e.event_type == "shipment.dispatched":
            assert placed[e.order_id] < e.occurred_at
    assert tally.lines == sum(len(e.lines) for e in events if e.event_type == "order.placed")
    assert 0 < tally.open_lines < tally.lines


def test_history_is_deterministic() -> None:
    def run() -> list[bytes]:
        return [r.value for r in history(range(3), 4, START, START + DAY, 5.0, Tally(), 3, "x")]

    assert run() == run()


def test_probes_and_closing_events_are_valid_and_within_their_span() -> None:
    tally = Tally()
    orders = list(probe_orders([1, 2], 5, 40, START, START + DAY, tally, tag="p"))
    assert tally.lines == tally.open_lines == 80
    more = list(adjustments([1, 2], 5, 50, START, START + DAY, tally, tag="g"))
    close = list(closing([1, 2], START + DAY + 900, tally, "c"))
    events = decoded([*orders, *more, *close])
    assert len(events) == tally.total == 40 + 50 + 2
    assert all(START <= r.at < START + DAY for r in [*orders, *more])
    assert {e.location for e in events} == {"L0001", "L0002"}


def test_parts_split_locations_and_counts() -> None:
    assert part_locations(7, 3, 0) == [0, 3, 6]
    assert sorted(p for part in range(3) for p in part_locations(7, 3, part)) == list(range(7))
    spec = Spec("growth", 6, 4, START, START + DAY, count=101, tag="g")
    tallies = [Tally() for _ in range(4)]
    parts = [list(records_of(spec, part, 4, tallies[part])) for part in range(4)]
    assert sum(len(p) for p in parts) == 101
    keys = [{r.key for r in p} for p in parts]
    assert all(not (a & b) for i, a in enumerate(keys) for b in keys[i + 1 :])
    ids = [r.value for p in parts for r in p]
    assert len(set(ids)) == 101


def test_timeline_phases_follow_each_other_in_whole_days() -> None:
    now = START + 5 * 3600.0
    line = Timeline.of(now, 7)
    assert line.today == START and not line.late
    h0, h1 = line.history
    assert h1 - h0 == 7 * DAY and h1 % DAY == 0
    o0, o1 = line.orders
    g0, g1 = line.growth
    assert line.orders_close is not None and line.growth_close is not None
    assert h1 < line.history_close < o0 < o1 < line.orders_close < g0 < g1 < line.growth_close
    assert line.growth_close < line.backlog_start < now
    # history and probes stay within the dedup horizon: nothing leaves while measuring
    assert line.growth_close - h0 < 30 * DAY


def test_probes_go_into_closed_history_days_when_there_is_no_room() -> None:
    line = Timeline.of(START + 3600.0, 30)
    assert line.late
    assert line.orders_close is None and line.growth_close is None
    h0, h1 = line.history
    o0, o1 = line.orders
    g0, g1 = line.growth
    # the last three days of the history, closed by its closing event, one phase a day
    assert h0 < o0 < o1 <= g0 < g1 <= h1 < line.history_close
    assert o0 // DAY != g0 // DAY and (g1 - 1) // DAY < line.history_close // DAY


def test_a_late_growth_probe_runs_twice_into_other_closed_days() -> None:
    """The second late growth pass takes closed history days of its own, apart from the
    order probe's and the first pass's."""
    line = Timeline.of(START + 3600.0, 30)
    assert line.growth_passes == 2 and Timeline.of(START + 3600.0, 7).growth_passes == 1
    h0, h1 = line.history
    o0, o1 = line.orders
    first, second = line.growth_pass(0), line.growth_pass(1)
    assert first == line.growth
    assert h0 < second[0] < second[1] <= o0 < o1 <= first[0] < first[1] <= h1
    assert second[1] - second[0] == first[1] - first[0]


def test_iso_clock_matches_datetime() -> None:
    clock = IsoClock()
    for t in (START, START + 0.999, START + DAY - 0.5, START + 12345.678):
        parsed = datetime.fromisoformat(clock(t)).timestamp()
        assert abs(parsed - t) < 0.001


def test_parse_days() -> None:
    assert parse_days("30d") == 30
    assert parse_days("36h") == 1.5
    assert parse_days("2.5") == 2.5


def test_history_options() -> None:
    options = parse_args(["--no-infra", "--history", "30d", "--locations", "1000", "--skus", "100"])
    assert options.history_days == 30
    assert options.density == 10
    assert options.growth == 200_000
    assert options.order_probe == 50_000
    assert options.restart
    assert options.memory_sizes == ()
    # the documented dedup sizing: a day's events / 100 (1M a day here)
    assert options.worker_env["KPIMON_STATE__DEDUP_SLOTS"] == "10000"
    growth = parse_args(["--no-infra", "--growth", "200000", "--sku-locations", "2000"])
    assert (growth.locations, growth.skus, growth.history_days) == (20, 100, 7)
    plain = parse_args(["--no-infra"])
    assert plain.history_days == 0 and not plain.restart and plain.growth == 0
    with pytest.raises(SystemExit):
        parse_args(["--no-infra", "--history", "90d"])


def test_keys_by_role() -> None:
    assert role_of("ids:123") == role_of("dedup:clock") == "dedup"
    assert role_of("state:loc:3:L0001") == role_of("state:meta") == "checkpoint"
    assert role_of("log") == role_of("log:1-0") == "log"
    assert role_of("kpi:snapshot") == "snapshot"
    assert role_of("alerts:state:x") == "alerts"
    assert role_of("counters") == role_of("logbook") == "other"
