"""History for the benchmark: days of realistic events before the timed backlog (pure).

`--history 30d --density 10` fills the state with 30 days of events for every
SKU-location of the run (`locations x skus`), 10 events per SKU-location per day
on average, published to the bench topics and consumed by the real worker (the
worker's own apply path: validate, Redis apply, KPI engine, checkpoints).

The timeline, in whole UTC days (buckets) before today `D` (00:00 UTC):

    history          [D-5-H, D-5)      then one closing event per location at D-5 + CLOSE
    order probe      [D-5 + PROBE, D-4)  then closing events at D-4 + CLOSE
    growth probe     [D-4 + PROBE, D-2)  then closing events at D-2 + CLOSE
    backlog          [D-2 + PROBE, now - 60 s]   (the timed phases)

(With a history of 28 days or more the probes go into its last closed days
instead, as late events, and the growth probe runs twice, into different days:
see `Timeline`.)

A closing event (a small adjustment per location, past the allowed lateness)
moves every location's watermark past the phase's last bucket, so what is
measured after a phase is its closed buckets: aggregates, not raw events.

The history mix per SKU-location and day (measured counts are printed by the
bench): ~8% inventory snapshots, ~25% orders of 1-3 lines (1.75 mean) at one
location, ~22% dispatches of those orders 1 h to 2 days later (90% of orders are
dispatched whole, the rest stay open), the rest inventory adjustments (picks,
cycle counts). Deterministic per (seed, part).
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from bench.events import Record, location_code, sku_code

DAY = 86400
CLOSE = 900  # closing events this far into the next day (past a 120 s allowed lateness)
PROBE = 1800  # a probe starts this far into its first day (after the closing events)
GROWTH_DAYS = 2

SNAPSHOT_SHARE = 0.10
ORDER_SHARE = 0.32  # of the draws that are not a due dispatch
DISPATCHED_SHARE = 0.9
LINE_COUNTS = (1, 1, 2, 3)


def parse_days(text: str) -> float:
    """'30d', '7d', '36h', '2.5d' or a number of days -> days."""
    text = text.strip().lower()
    if text.endswith("d"):
        return float(text[:-1])
    if text.endswith("h"):
        return float(text[:-1]) / 24
    return float(text)


@dataclass(frozen=True)
class Timeline:
    """Where each phase of a history run sits in event time (see the module docstring).

    The probes measure what they add at a fixed state: their days must not move
    the windows or the dedup horizon (then the oldest day would leave as they
    arrive, and its bytes with it). When the history leaves no room for them
    within `horizon_days` (`late`), they go into the last closed days of the
    history instead, as late events (SPEC §4.1: applied where exact, counted in
    `kpimon_events_late_total`), and need no closing events.
    """

    today: float  # 00:00 UTC of the run's day
    history_days: float
    horizon_days: float = 30.0  # the dedup horizon (default: the longest window)

    @classmethod
    def of(cls, now: float, history_days: float, horizon_days: float = 30.0) -> Timeline:
        return cls(now - now % DAY, history_days, horizon_days)

    @property
    def late(self) -> bool:
        return self.history_days + 1 + GROWTH_DAYS > self.horizon_days

    @property
    def history(self) -> tuple[float, float]:
        end = self.today - 5 * DAY
        return end - self.history_days * DAY, end

    @property
    def history_close(self) -> float:
        return self.today - 5 * DAY + CLOSE

    @property
    def orders(self) -> tuple[float, float]:
        first = self.today - (8 if self.late else 5) * DAY
        return first + PROBE, first + DAY

    @property
    def orders_close(self) -> float | None:
        return None if self.late else self.today - 4 * DAY + CLOSE

    @property
    def growth(self) -> tuple[float, float]:
        return self.growth_pass(0)

    @property
    def growth_passes(self) -> int:
        """Late probes can repeat into earlier closed days: the second pass shows what
        stays per event once the first has set the allocator's high-water mark."""
        return 2 if self.late else 1

    def growth_pass(self, number: int) -> tuple[float, float]:
        """Days of the growth probe's pass `number` (0 first; later ones only when late)."""
        first = self.today - (7 + 3 * number if self.late else 4) * DAY
        return first + PROBE, first + GROWTH_DAYS * DAY

    @property
    def growth_close(self) -> float | None:
        return None if self.late else self.today - (4 - GROWTH_DAYS) * DAY + CLOSE

    @property
    def backlog_start(self) -> float:
        return self.today - (4 - GROWTH_DAYS) * DAY + PROBE


class IsoClock:
    """ISO-8601 UTC stamps with milliseconds (the date formatted once per day: this runs
    for every generated event)."""

    def __init__(self) -> None:
        self._day = -1
        self._date = ""

    def __call__(self, t: float) -> str:
        ms = int(t * 1000)
        day, rest = divmod(ms, DAY * 1000)
        if day != self._day:
            self._day = day
            self._date = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT")
        seconds, ms = divmod(rest, 1000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return f"{self._date}{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}+00:00"


@dataclass
class Tally:
    """What a generator produced: events by type, order lines, open (never dispatched) lines."""

    events: Counter[str] = field(default_factory=Counter)
    lines: int = 0
    open_lines: int = 0

    def add(self, other: Tally) -> None:
        self.events.update(other.events)
        self.lines += other.lines
        self.open_lines += other.open_lines

    @property
    def total(self) -> int:
        return sum(self.events.values())

    def mix(self) -> str:
        total = max(self.total, 1)
        return ", ".join(
            f"{kind} {count * 100 / total:.0f}%" for kind, count in sorted(self.events.items())
        )


def part_locations(locations: int, parts: int, part: int) -> list[int]:
    """The location indexes of one producer part (a location is in exactly one part)."""
    return list(range(part, locations, parts))


def history_count(sku_locations: int, density: float, days: float) -> int:
    return round(sku_locations * density * days)


def history(
    locations: Sequence[int],
    skus: int,
    start: float,
    end: float,
    density: float,
    tally: Tally,
    seed: int = 11,
    tag: str = "h",
) -> Iterator[Record]:
    """`density` events per SKU-location per day over [start, end), time-ordered.

    Orders are dispatched later by schedule (a heap of due dispatches), so every
    dispatch follows its order and the mix holds at any density.
    """
    rng = random.Random(seed)
    rand = rng.random

    def randrange(a: int, b: int | None = None) -> int:  # 4x cheaper than rng.randrange
        return int(rand() * a) if b is None else a + int(rand() * (b - a))

    codes = [location_code(i) for i in locations]
    keys = [code.encode() for code in codes]
    sku_codes = [sku_code(i) for i in range(skus)]
    count = history_count(len(locations) * skus, density, (end - start) / DAY)
    step = (end - start) / max(count, 1)
    iso, promise_iso = IsoClock(), IsoClock()
    due: list[tuple[float, int, str, int, list[tuple[str, str, float]]]] = []
    events = tally.events
    for i in range(count):
        t = start + i * step
        event_id = f"{tag}-{i}"
        if due and due[0][0] <= t:
            _, _n, order_id, loc, lines = heapq.heappop(due)
            expedited = rand() < 0.1
            body: dict[str, object] = {
                "event_id": event_id,
                "event_type": "shipment.dispatched",
                "occurred_at": iso(t),
                "shipment_id": f"S{order_id}",
                "order_id": order_id,
                "location": codes[loc],
                "lines": [{"line_id": lid, "sku": sku, "quantity": q} for lid, sku, q in lines],
                "expedited": expedited,
                "expedite_cost": 25.0 if expedited else 0.0,
            }
            topic, kind = "shipments", "shipment.dispatched"
        else:
            loc = randrange(len(codes))
            draw = rand()
            if draw < SNAPSHOT_SHARE:
                body = {
                    "event_id": event_id,
                    "event_type": "inventory.snapshot",
                    "occurred_at": iso(t),
                    "sku": sku_codes[randrange(skus)],
                    "location": codes[loc],
                    "on_hand": float(randrange(2000, 6000)),
                    "on_order": float(randrange(0, 200)),
                    "in_transit": float(randrange(0, 100)),
                    "unit_cost": 12.5,
                    "sku_class": "B",
                    "supplier_id": f"SUP{loc % 40:03d}",
                }
                topic, kind = "inventory", "inventory.snapshot"
            elif draw < SNAPSHOT_SHARE + ORDER_SHARE * (1 - SNAPSHOT_SHARE):
                order_id = f"O{tag}-{i}"
                lines = [
                    (str(n), sku_codes[randrange(skus)], float(randrange(1, 6)))
                    for n in range(LINE_COUNTS[randrange(len(LINE_COUNTS))])
                ]
                body = {
                    "event_id": event_id,
                    "event_type": "order.placed",
                    "occurred_at": iso(t),
                    "order_id": order_id,
                    "location": codes[loc],
                    "customer_id": f"C{randrange(5000)}",
                    "customer_tier": ("strategic", "key", "standard")[randrange(3)],
                    "channel": "web",
                    "region": "north",
                    "promised_at": promise_iso(t + (0.5 + 2.5 * rand()) * DAY),
                    "lines": [
                        {"line_id": lid, "sku": sku, "quantity": q, "unit_price": 9.5}
                        for lid, sku, q in lines
                    ],
                }
                tally.lines += len(lines)
                if rand() < DISPATCHED_SHARE:
                    ship_at = t + 3600 + rand() * 2 * DAY
                    heapq.heappush(due, (ship_at, i, order_id, loc, lines))
                else:
                    tally.open_lines += len(lines)
                topic, kind = "orders", "order.placed"
            else:
                body = {
                    "event_id": event_id,
                    "event_type": "inventory.adjusted",
                    "occurred_at": iso(t),
                    "sku": sku_codes[randrange(skus)],
                    "location": codes[loc],
                    "delta": float(randrange(-5, 6) or 1),
                    "reason": "pick",
                }
                topic, kind = "inventory", "inventory.adjusted"
        events[kind] += 1
        yield Record(topic, keys[loc], orjson.dumps(body), t)
    tally.open_lines += sum(len(lines) for *_, lines in due)  # due after the end: open


def _spread(
    locations: Sequence[int], count: int, start: float, end: float, seed: int
) -> Iterator[tuple[int, float, str, random.Random]]:
    """`count` evenly spaced times over [start, end), each at a random location of
    `locations`: (index, time, location code, the generator for further draws)."""
    rng = random.Random(seed)
    step = (end - start) / max(count, 1)
    for i in range(count):
        yield i, start + i * step, location_code(locations[rng.randrange(len(locations))]), rng


def probe_orders(
    locations: Sequence[int],
    skus: int,
    count: int,
    start: float,
    end: float,
    tally: Tally,
    lines: int = 2,
    seed: int = 13,
    tag: str = "po",
) -> Iterator[Record]:
    """`count` orders of `lines` lines on existing SKU-locations, never dispatched."""
    iso = IsoClock()
    for i, t, code, rng in _spread(locations, count, start, end, seed):
        body = {
            "event_id": f"{tag}-{i}",
            "event_type": "order.placed",
            "occurred_at": iso(t),
            "order_id": f"O{tag}-{i}",
            "location": code,
            "customer_id": f"C{i % 5000}",
            "customer_tier": "standard",
            "channel": "web",
            "region": "north",
            "promised_at": iso(t + 2 * DAY),
            "lines": [
                {
                    "line_id": str(n),
                    "sku": sku_code(rng.randrange(skus)),
                    "quantity": 3.0,
                    "unit_price": 9.5,
                }
                for n in range(lines)
            ],
        }
        tally.events["order.placed"] += 1
        tally.lines += lines
        tally.open_lines += lines
        yield Record("orders", code.encode(), orjson.dumps(body), t)


def adjustments(
    locations: Sequence[int],
    skus: int,
    count: int,
    start: float,
    end: float,
    tally: Tally,
    seed: int = 17,
    tag: str = "g",
) -> Iterator[Record]:
    """`count` inventory adjustments on existing SKU-locations over [start, end)."""
    iso = IsoClock()
    for i, t, code, rng in _spread(locations, count, start, end, seed):
        body = {
            "event_id": f"{tag}-{i}",
            "event_type": "inventory.adjusted",
            "occurred_at": iso(t),
            "sku": sku_code(rng.randrange(skus)),
            "location": code,
            "delta": float(rng.randrange(-5, 5) or 1),
            "reason": "pick",
        }
        tally.events["inventory.adjusted"] += 1
        yield Record("inventory", code.encode(), orjson.dumps(body), t)


def closing(locations: Sequence[int], at: float, tally: Tally, tag: str) -> Iterator[Record]:
    """One small adjustment per location at `at`: every watermark passes the day before."""
    iso = IsoClock()
    for loc in locations:
        code = location_code(loc)
        body = {
            "event_id": f"{tag}-{loc}",
            "event_type": "inventory.adjusted",
            "occurred_at": iso(at),
            "sku": sku_code(0),
            "location": code,
            "delta": 1.0,
            "reason": "cycle count",
        }
        tally.events["inventory.adjusted"] += 1
        yield Record("inventory", code.encode(), orjson.dumps(body), at)
