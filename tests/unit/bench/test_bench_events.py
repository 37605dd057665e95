"""The benchmark's events are valid contracts on the right topics (no speed assertions)."""

from __future__ import annotations

from bench.events import generate, live_adjustment
from bench.run import histogram_quantiles, host_is_loopback, parse_args, window_rate
from streams.events.decode import Rejection, decode_event


def test_generated_events_are_valid_and_on_their_topics() -> None:
    records = list(generate(3000, locations=40, skus=20, start=1.7e9, end=1.7e9 + 86400))
    assert len(records) == 3000
    types = set()
    for record in records:
        event = decode_event(record.value, topic=record.topic)
        assert not isinstance(event, Rejection), event
        assert record.key == event.location.encode()  # type: ignore[union-attr]
        types.add(event.event_type)
    assert types == {
        "order.placed",
        "shipment.dispatched",
        "inventory.adjusted",
        "inventory.snapshot",
    }
    assert len({r.value for r in records}) == 3000


def test_generation_is_deterministic() -> None:
    first = [r.value for r in generate(200, 5, 5, 1.7e9, 1.7e9 + 60, seed=3, tag="x")]
    second = [r.value for r in generate(200, 5, 5, 1.7e9, 1.7e9 + 60, seed=3, tag="x")]
    assert first == second


def test_live_probe_is_valid() -> None:
    record = live_adjustment(1, "L0001", "S00001", 1.7e9, "t")
    assert not isinstance(decode_event(record.value, topic=record.topic), Rejection)


def test_helpers() -> None:
    assert window_rate(1000, {10: 1.0, 90: 3.0}) == 400.0
    before = {0.1: 0.0, 1.0: 0.0, float("inf"): 0.0}
    after = {0.1: 60.0, 1.0: 99.0, float("inf"): 100.0}
    assert histogram_quantiles(before, after) == (0.1, 1.0)
    assert host_is_loopback("127.0.0.1:9092")
    assert host_is_loopback("redis://localhost:6379/0")
    assert not host_is_loopback("kafka.example.com:9092")


def test_quick_options_are_reduced() -> None:
    quick = parse_args(["--quick", "--no-infra"])
    full = parse_args(["--no-infra"])
    assert quick.events < full.events
    assert quick.timeout <= 60
    assert full.memory_sizes == (10_000, 100_000)
