"""Hostile records interleaved with ordinary events, through the real Kafka, worker and Redis.

Hypothesis draws, per example, which hostile records (tombstones, missing or wrong
keys, repeated JSON keys, codes outside the character set, timestamps a year
ahead, subnormal and overflowing numbers, conflicting duplicates of this or
another type, oversized and barely-undersized garbage, accepted extremes at the
bounds, an event years old) go where among the ordinary events of two fresh locations: `A`, the
target, and `B`, which only ever gets ordinary events. One worker serves every
example. After each one:

- the worker is the same process, and so is its KPI process;
- every hostile record is dead-lettered, byte for byte, with the reason written
  here for its kind (not computed by the worker's code), or accepted and then part
  of the clean run below (an extreme at the bounds is harmless);
- the KPIs of A and of B in the snapshot are exactly those of a clean run: a
  fresh in-process engine fed the accepted events of that location alone, so a
  hostile record reaches nothing beyond itself and never another location;
- no location's figures failed to compute, and `/metrics` parses as OpenMetrics
  and passes `promtool check metrics` (unit findings for `_days` series aside).
"""

from __future__ import annotations

import itertools
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from kafka import KafkaConsumer, KafkaProducer
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from streams.core.engine import KpiEngine
from streams.events.decode import Rejection, decode_event
from streams.events.models import TOPIC_OF
from streams.settings import KpiSettings
from streams.store.records import payload_digest
from streams.store.snapshot import decode_snapshot
from tests.integration.fixtures import MonitorFactory
from tests.integration.monitor import Monitor, wait_for

pytestmark = pytest.mark.integration

MAX_BYTES = 20_000
EXAMPLES = 12
NOW = time.time()
T0 = NOW - 3 * 86400  # ordinary events: the three days before the test
_counter = itertools.count()

Message = tuple[str, bytes | None, bytes | None, str]
"""(unprefixed topic, key, value, what the worker must make of it): `ok` (stored, unless
its event_id was stored before: then `duplicate` for the same bytes, else a conflict),
`late` (older than the dedup horizon: counted late, dropped) or the reason it is
dead-lettered with. Written here by hand, per hostile kind."""


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


@dataclass
class Example:
    """The messages of one example, in publish order, in two phases."""

    ns: str
    first: list[Message] = field(default_factory=list)
    second: list[Message] = field(default_factory=list)  # after the first is processed

    @property
    def a(self) -> str:
        return f"{self.ns}-A"

    @property
    def b(self) -> str:
        return f"{self.ns}-B"


def ordinary(location: str, hour: int) -> list[dict[str, Any]]:
    """A small, complete day of one location: stock, plans, an order shipped and delivered."""
    t = T0 + hour * 3600
    # Codes of this location only: nothing it does may reach another location's figures
    # through a shared SKU or supplier either.
    sku1, sku2, supplier = f"{location}-S1", f"{location}-S2", f"{location}-SUP"
    n = f"{location}-{hour}"
    base: list[dict[str, Any]] = [
        {"event_type": "inventory.snapshot", "sku": sku1, "on_hand": 40, "on_order": 10,
         "in_transit": 5, "unit_cost": 4.0, "sku_class": "A", "supplier_id": supplier},
        {"event_type": "inventory.snapshot", "sku": sku2, "on_hand": 3, "on_order": 0,
         "in_transit": 0, "unit_cost": 7.5, "sku_class": "B", "supplier_id": supplier},
        {"event_type": "policy.recommended", "recommendation_id": f"rec-{n}", "sku": sku1,
         "policy": {"safety_stock": 5, "reorder_point": 12}, "model": "m1"},
        {"event_type": "policy.applied", "sku": sku1, "recommendation_id": f"rec-{n}",
         "policy": {"safety_stock": 5, "reorder_point": 12}},
        {"event_type": "forecast.published", "sku": sku1, "period_start": stamp(t + 3600),
         "period_end": stamp(t + 7200), "quantity": 6, "model": "m1"},
        {"event_type": "order.placed", "order_id": f"o-{n}", "customer_id": "c1",
         "customer_tier": "strategic", "channel": "web", "region": "north",
         "promised_at": stamp(t + 5400), "lines": [
             {"line_id": "1", "sku": sku1, "quantity": 4, "unit_price": 9.0},
             {"line_id": "2", "sku": sku2, "quantity": 5, "unit_price": 12.0}]},
        {"event_type": "shipment.dispatched", "shipment_id": f"s-{n}", "order_id": f"o-{n}",
         "lines": [{"line_id": "1", "sku": sku1, "quantity": 4}], "expedited": True,
         "expedite_cost": 3.5},
        {"event_type": "shipment.delivered", "shipment_id": f"s-{n}", "order_id": f"o-{n}"},
        {"event_type": "inventory.adjusted", "sku": sku1, "delta": -4, "reason": "pick"},
        {"event_type": "inbound.received", "po_id": f"po-{n}", "supplier_id": supplier,
         "sku": sku2, "quantity": 20, "ordered_at": stamp(t - 5 * 86400),
         "promised_at": stamp(t - 86400)},
    ]  # fmt: skip
    out = []
    for k, event in enumerate(base):
        out.append(
            {
                "event_id": f"{n}-{k}-{next(_counter)}",
                "occurred_at": stamp(t + 60 * k),
                "location": location,
                **event,
            }
        )
    return out


def message(event: dict[str, Any], expect: str = "ok", key: str | None = "location") -> Message:
    value = orjson.dumps(event)
    if key == "location":
        key = event.get("location") or event.get("disruption_id")
    return TOPIC_OF[event["event_type"]], None if key is None else key.encode(), value, expect


def raw(topic: str, key: str, value: bytes | None, expect: str) -> Message:
    return topic, key.encode(), value, expect


HOSTILE_KINDS = (
    "tombstone", "missing_key", "wrong_key", "duplicate_key", "invalid_code", "bidi_code",
    "future", "subnormal", "overflow", "tiny_price", "oversized", "nearly_oversized",
    "not_json", "not_utf8", "nan", "nested", "wrong_topic", "extreme_accepted",
    "ancient_late", "disruption_of_a", "conflict_same_type", "conflict_other_type",
    "republished",
)  # fmt: skip


def hostile(kind: str, ex: Example, template: dict[str, Any]) -> tuple[str, list[Message]]:
    """Records of `kind` aimed at location A; ('first'|'second', messages)."""
    fresh = {**template, "event_id": f"{ex.ns}-x-{next(_counter)}"}
    a = ex.a
    if kind == "tombstone":
        return "first", [raw("inventory", a, None, "tombstone")]
    if kind == "missing_key":
        return "first", [message(fresh, "missing_key", key=None)]
    if kind == "wrong_key":
        return "first", [message(fresh, "wrong_key", key=ex.b)]
    if kind == "duplicate_key":
        topic, key, value, _ = message(fresh)
        assert value is not None and key is not None
        repeated = value[:-1] + b',"event_id":"' + ex.ns.encode() + b'-dup"}'
        return "first", [(topic, key, repeated, "duplicate_key")]
    if kind == "invalid_code":
        return "first", [message({**fresh, "location": f"{a} 1"}, "invalid_code")]
    if kind == "bidi_code":
        return "first", [message({**fresh, "location": f"{a}\u202e\u200b"}, "invalid_code", None)]
    if kind == "future":
        return "first", [message({**fresh, "occurred_at": stamp(NOW + 365 * 86400)}, "clock_skew")]
    if kind == "subnormal":
        event = {**fresh, "event_type": "inventory.adjusted", "sku": f"{a}-S1", "delta": 5e-324,
                 "reason": "x"}  # fmt: skip
        return "first", [message(_only(event, "inventory.adjusted"), "out_of_bounds")]
    if kind == "overflow":
        event = {**fresh, "event_type": "forecast.published", "quantity": 1e11}
        event.update(_forecast_fields(ex))
        return "first", [message(_only(event, "forecast.published"), "out_of_bounds")]
    if kind == "tiny_price":
        return "first", [message(_order(ex, fresh, quantity=2, price=1e-9), "out_of_bounds")]
    if kind == "oversized":
        return "first", [raw("orders", a, b"x" * (MAX_BYTES + 1), "oversized")]
    if kind == "nearly_oversized":
        return "first", [raw("orders", a, b"{" + b" " * (MAX_BYTES - 2) + b"!", "invalid_json")]
    if kind == "not_json":
        return "first", [raw("inventory", a, b"{not json", "invalid_json")]
    if kind == "not_utf8":
        return "first", [raw("inventory", a, b'{"event_id":"\xff\xfe"}', "invalid_json")]
    if kind == "nan":  # a JSON extension some parsers accept: a number it is not
        event = {**fresh, "event_type": "inventory.adjusted", "sku": f"{a}-S1", "delta": 1,
                 "reason": "x"}  # fmt: skip
        topic, key, value, _ = message(_only(event, "inventory.adjusted"))
        assert value is not None and key is not None
        return "first", [(topic, key, value.replace(b'"delta":1', b'"delta":NaN'), "out_of_range")]
    if kind == "nested":
        return "first", [raw("plans", a, b"[" * 5000 + b"]" * 5000, "invalid_json")]
    if kind == "wrong_topic":
        topic, key, value, _ = message(fresh)
        other = "forecasts" if topic != "forecasts" else "orders"
        return "first", [(other, key, value, "wrong_topic")]
    if kind == "extreme_accepted":
        order = _order(ex, fresh, quantity=1e9, price=1e9)
        adjust = {
            "event_id": f"{ex.ns}-adj-{next(_counter)}", "event_type": "inventory.adjusted",
            "occurred_at": fresh["occurred_at"], "location": a, "sku": f"{a}-S1",
            "delta": 1e9, "reason": "found a warehouse",
        }  # fmt: skip
        tiny = {**adjust, "event_id": f"{ex.ns}-adj-{next(_counter)}", "delta": -1e-6}
        return "first", [message(order), message(adjust), message(tiny)]
    if kind == "ancient_late":  # beyond the dedup horizon: counted late, dropped
        return "first", [message({**fresh, "occurred_at": stamp(NOW - 3 * 365 * 86400)}, "late")]
    if kind == "disruption_of_a":
        event = {
            "event_id": f"{ex.ns}-dis-{next(_counter)}", "event_type": "disruption.reported",
            "occurred_at": fresh["occurred_at"], "disruption_id": f"{ex.ns}-D1",
            "kind": "weather", "severity": "critical", "supplier_id": f"{a}-SUP",
            "locations": [a], "skus": [], "description": "storm",
        }  # fmt: skip
        return "first", [message(event)]
    if kind == "conflict_same_type":
        return "second", [message({**template, "source": "another system"}, "conflict")]
    if kind == "conflict_other_type":
        other = {
            "event_id": template["event_id"], "event_type": "inventory.adjusted",
            "occurred_at": template["occurred_at"], "location": a, "sku": f"{a}-S1",
            "delta": 99, "reason": "reused id",
        }  # fmt: skip
        return "second", [message(other, "conflict")]
    if kind == "republished":
        return "second", [message(template, "duplicate")]  # byte for byte
    raise AssertionError(kind)


def _only(event: dict[str, Any], event_type: str) -> dict[str, Any]:
    """`event` with just the fields of `event_type` (plus the envelope)."""
    keep = {
        "inventory.adjusted": {"sku", "delta", "reason"},
        "forecast.published": {"sku", "period_start", "period_end", "quantity", "model"},
    }[event_type]
    envelope = {"event_id", "event_type", "occurred_at", "location"}
    return {k: v for k, v in event.items() if k in keep | envelope}


def _forecast_fields(ex: Example) -> dict[str, Any]:
    return {"sku": f"{ex.a}-S1", "period_start": stamp(T0), "period_end": stamp(T0 + 3600),
            "model": "m1"}  # fmt: skip


def _order(ex: Example, fresh: dict[str, Any], quantity: float, price: float) -> dict[str, Any]:
    return {
        "event_id": fresh["event_id"], "event_type": "order.placed",
        "occurred_at": fresh["occurred_at"], "location": ex.a,
        "order_id": f"{ex.ns}-big-{next(_counter)}", "customer_id": "c9",
        "customer_tier": "key", "channel": "b2b", "region": "south",
        "promised_at": stamp(T0 + 86400),
        "lines": [{"line_id": "1", "sku": f"{ex.a}-S2", "quantity": quantity,
                   "unit_price": price}],
    }  # fmt: skip


def build(kinds: list[str], choose: Any) -> Example:
    """An example with hostile records of `kinds`; `choose(options)` picks templates and
    positions (a hypothesis draw, or a fixed rule for the explicit example)."""
    ex = Example(f"H{next(_counter)}")
    a_events = [e for hour in range(3) for e in ordinary(ex.a, hour)]
    b_events = [e for hour in range(3) for e in ordinary(ex.b, hour)]
    pairs = itertools.chain(*zip(a_events, b_events, strict=True))
    first: list[Message] = [message(e) for e in pairs]
    second: list[Message] = []
    for kind in kinds:
        template = choose(a_events)
        phase, records = hostile(kind, ex, template)
        if phase == "first":
            at = choose(range(len(first) + 1))
            first[at:at] = records
        else:
            second.extend(records)
    second.extend(message(e) for e in ordinary(ex.b, 5))
    ex.first, ex.second = first, second
    return ex


@st.composite
def examples(draw: st.DrawFn) -> Example:
    kinds = draw(st.lists(st.sampled_from(HOSTILE_KINDS), min_size=2, max_size=8))
    return build(kinds, lambda options: draw(st.sampled_from(list(options))))


def every_kind() -> Example:
    """Every hostile kind once, spread evenly (the explicit example: all rules, every run)."""
    turn = itertools.count()
    return build(list(HOSTILE_KINDS), lambda options: list(options)[next(turn) * 7 % len(options)])


@dataclass
class Expected:
    """What the worker must make of the messages so far (computed with its own rules)."""

    reasons: Counter[str] = field(default_factory=Counter)
    late: int = 0  # too old to deduplicate: counted late, neither stored nor dead-lettered
    stored_digest: dict[str, str] = field(default_factory=dict)  # event_id -> digest
    accepted: dict[str, list[Any]] = field(default_factory=dict)  # location -> events
    dead_values: Counter[bytes | None] = field(default_factory=Counter)

    def add(self, messages: list[Message]) -> None:
        for _topic, _key, value, expect in messages:
            if expect == "late":
                self.late += 1
                continue
            if expect not in ("ok", "duplicate", "conflict"):
                self.reasons[expect] += 1
                self.dead_values[value] += 1
                continue
            assert value is not None
            event = decode_event(value)  # the struct, to feed the clean run
            assert not isinstance(event, Rejection), (event, value)
            known = self.stored_digest.get(event.event_id)
            if expect == "ok":
                assert known is None, value
                self.stored_digest[event.event_id] = payload_digest(value)
                location = getattr(event, "location", None) or "*"
                self.accepted.setdefault(location, []).append(event)
            elif expect == "conflict":
                assert known is not None and known != payload_digest(value)
                self.reasons["conflicting_duplicate"] += 1
                self.dead_values[value] += 1
            else:
                assert known == payload_digest(value)


def clean_run(events: list[Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    engine = KpiEngine(KpiSettings())
    for event in events:
        engine.add(event)
    return {(s.name, s.labels): s.value for s in engine.samples()}


def served(monitor: Monitor, location: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    raw = monitor.redis().get(f"{monitor.key_prefix}kpi:snapshot")
    assert raw is not None
    return {
        (s.name, s.labels): s.value
        for s in decode_snapshot(raw).samples
        if ("location", location) in s.labels
    }


def children(pid: int) -> set[int]:
    """Pids whose parent is `pid` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def dead_letters(consumer: KafkaConsumer) -> tuple[Counter[str], Counter[bytes | None]]:
    reasons: Counter[str] = Counter()
    values: Counter[bytes | None] = Counter()
    for record in consumer:
        headers = {k: v.decode() for k, v in record.headers}
        reasons[headers["reason"]] += 1
        values[record.value] += 1
    return reasons, values


class Run:
    """The one monitor all examples share, and what it must hold so far."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.expected = Expected()
        self.sent = 0
        self.worker_pid = monitor.processes["worker"].pid
        self.kpi_pids = wait_for(lambda: children(self.worker_pid), 60, what="the KPI process")
        self.producer = KafkaProducer(
            bootstrap_servers=monitor.kafka_bootstrap, linger_ms=5, max_request_size=1 << 20
        )
        self.consumer = KafkaConsumer(
            monitor.topic_prefix + "events-dlq",
            bootstrap_servers=monitor.kafka_bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=1000,
        )
        self.dead_reasons: Counter[str] = Counter()
        self.dead_values: Counter[bytes | None] = Counter()

    def publish(self, messages: list[Message]) -> None:
        for topic, key, value, _expect in messages:
            self.producer.send(self.monitor.topic_prefix + topic, key=key, value=value)
        self.producer.flush(timeout=60)
        self.sent += len(messages)
        self.expected.add(messages)
        self.monitor.wait_processed(self.sent, timeout=120)

    def settle(self) -> None:
        stored = len(self.expected.stored_digest)
        self.monitor.wait_snapshot_of(stored, timeout=120)

        def all_dead() -> bool:
            reasons, values = dead_letters(self.consumer)
            self.dead_reasons += reasons
            self.dead_values += values
            return sum(self.dead_reasons.values()) >= sum(self.expected.reasons.values())

        wait_for(all_dead, 60, what="the dead letters")


@pytest.fixture(scope="module")
def run(monitor_factory: MonitorFactory) -> Run:
    monitor = monitor_factory({"KPIMON_KAFKA__MAX_MESSAGE_BYTES": str(MAX_BYTES)})
    return Run(monitor)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@example(example=every_kind())
@given(example=examples())
def test_hostile_records_reach_nothing_but_themselves(run: Run, example: Example) -> None:
    """Hostile records interleaved: worker unmoved, each dead-lettered or harmless, KPIs exact."""
    monitor = run.monitor
    run.publish(example.first)
    run.publish(example.second)
    run.settle()

    worker = monitor.processes["worker"]
    assert worker.poll() is None, monitor.log_text("worker")[-4000:]
    assert worker.pid == run.worker_pid
    assert children(run.worker_pid) == run.kpi_pids, "the KPI process was replaced"

    counters = monitor.counters()
    by_reason: Counter[str] = Counter()
    for name, value in counters.items():
        if name.startswith("events_invalid_total|"):
            by_reason[name.split("|")[2]] += value
    assert by_reason == run.expected.reasons
    assert run.dead_reasons == run.expected.reasons
    assert run.dead_values == run.expected.dead_values  # byte for byte (tombstones as None)
    assert not any(k.startswith("kpi_location_errors_total|") for k in counters), counters
    late = sum(v for k, v in counters.items() if k.startswith("events_late_total|"))
    assert late == run.expected.late

    for location in (example.a, example.b):
        want = clean_run(run.expected.accepted.get(location, []) + _global(run, location))
        assert served(monitor, location) == want, location

    _metrics_parse(monitor)
    # The explicit example alone brings every rule's reason: the check above is not vacuous.
    assert set(EVERY_RULE) <= set(run.expected.reasons), run.expected.reasons


EVERY_RULE = (
    "tombstone", "missing_key", "wrong_key", "duplicate_key", "invalid_code", "clock_skew",
    "out_of_bounds", "conflicting_duplicate", "oversized", "wrong_topic", "invalid_json",
)  # fmt: skip


def _global(run: Run, location: str) -> list[Any]:
    """Accepted events without a location (disruptions) that name `location`."""
    return [e for e in run.expected.accepted.get("*", []) if location in e.locations]


def _metrics_parse(monitor: Monitor) -> None:
    url = f"http://127.0.0.1:{monitor.exporter_port}/metrics"
    accept = {"Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"}
    openmetrics = httpx.get(url, headers=accept, timeout=30)
    assert openmetrics.status_code == 200
    assert list(text_string_to_metric_families(openmetrics.text))
    text = httpx.get(url, timeout=30)
    assert text.status_code == 200
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=text.content, capture_output=True, timeout=60
    )
    assert lint.returncode in (0, 3), lint.stderr  # 3: lint findings, checked next
    findings = [line for line in lint.stderr.decode().splitlines() if line.strip()]
    findings = [line for line in findings if "_days" not in line and "problem" not in line]
    assert not findings, findings
