"""Same configuration, same log; anything that defines the run changes it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from streams.simulate import SimulationConfig, generate, run_tag
from tests.unit.simulate.replay import START

BASE = SimulationConfig(seed=3, start=START, events=1500)


@pytest.mark.parametrize("seed", [1, 2, 99])
def test_same_config_gives_identical_log(seed: int) -> None:
    """Two runs of one config yield the same events, byte for byte."""
    config = replace(BASE, seed=seed)
    assert list(generate(config)) == list(generate(config))


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 4},
        {"start": START + timedelta(hours=1)},
        {"locations": 5},
        {"skus": 30},
    ],
)
def test_a_different_run_gives_a_different_log_and_fresh_ids(change: dict[str, object]) -> None:
    """Changing seed, start or world shape changes the log and shares no event or order id."""
    first = list(generate(BASE))
    second = list(generate(replace(BASE, **change)))  # type: ignore[arg-type]
    assert first != second
    assert not {e["event_id"] for e in first} & {e["event_id"] for e in second}
    orders = {e.get("order_id") for e in first if e["event_type"] == "order.placed"}
    assert not orders & {e.get("order_id") for e in second if e["event_type"] == "order.placed"}


def test_run_tag_depends_on_seed_and_start() -> None:
    """The id prefix of a run is stable for a config and differs across seeds and starts."""
    assert run_tag(BASE, START) == run_tag(BASE, START)
    assert run_tag(BASE, START) != run_tag(replace(BASE, seed=4), START)
    assert run_tag(BASE, START) != run_tag(BASE, START + timedelta(seconds=1))


@pytest.mark.parametrize("events", [0, 1, 250, 2000])
def test_event_limit_is_exact(events: int) -> None:
    """`events=N` yields exactly N events."""
    assert sum(1 for _ in generate(replace(BASE, events=events))) == events


def test_duration_limit_stops_at_the_simulated_horizon() -> None:
    """`duration_seconds` yields only events up to start + duration, and some near its end."""
    config = replace(BASE, events=None, duration_seconds=6 * 3600.0)
    stamps = [e["occurred_at"] for e in generate(config)]
    end = (START + timedelta(hours=6)).isoformat(timespec="microseconds")
    assert stamps and stamps[-1] <= end
    assert stamps[-1] >= (START + timedelta(hours=5)).isoformat(timespec="microseconds")


def test_without_start_the_run_begins_now() -> None:
    """With `start=None` the first event carries the current time."""
    from datetime import UTC, datetime

    before = datetime.now(UTC)
    first = next(iter(generate(replace(BASE, start=None))))
    after = datetime.now(UTC)
    assert before <= datetime.fromisoformat(first["occurred_at"]) <= after


@pytest.mark.parametrize(
    "bad",
    [
        {"locations": 0},
        {"skus": 0},
        {"speedup": -1.0},
        {"events": -1},
        {"orders_per_hour": 0.0},
        {"start": START.replace(tzinfo=None)},
    ],
)
def test_invalid_configs_are_refused(bad: dict[str, object]) -> None:
    """Out-of-range settings and a start without offset raise ValueError."""
    with pytest.raises(ValueError):
        replace(BASE, **bad)  # type: ignore[arg-type]
