"""The collector rebuilds the KPI families only when the worker wrote another snapshot."""

from __future__ import annotations

from typing import Any, cast

import orjson
import pytest
import redis
from prometheus_client import generate_latest

from streams.exporter.collector import RedisStateCollector
from streams.settings import ExporterSettings, KpiSettings, RedisSettings, Settings
from streams.store.keys import KeyLayout
from tests.unit.exporter.snapshots import FakeRedis, expected, snapshot, typical

KEYS = KeyLayout("t:")
SETTINGS = Settings(
    redis=RedisSettings(key_prefix="t:"),
    exporter=ExporterSettings(cache_seconds=0),
    kpi=KpiSettings(max_locations=4, max_label_values=3),
)
FIRST = snapshot(typical(), generated_at=100.5)
SECOND = snapshot(typical(), generated_at=101.5)
# Not how encode_snapshot writes: its head cannot tell one snapshot from another.
NO_HEAD = orjson.dumps({"events": 7, "samples": typical(), "generated_at": 5.0})


def scrape(collector: RedisStateCollector) -> dict[tuple[str, tuple[Any, ...]], float]:
    """Sample name (with labels) -> value of one collection."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in collector.collect()
        for s in metric.samples
    }


@pytest.mark.parametrize(
    ("writes", "gets"),
    [
        pytest.param([FIRST, FIRST, FIRST], 1, id="unchanged-read-once"),
        pytest.param([FIRST, SECOND, SECOND], 2, id="new-snapshot-rebuilt"),
        pytest.param([FIRST, None, FIRST], 2, id="deleted-then-rewritten"),
        pytest.param([NO_HEAD, NO_HEAD], 2, id="unknown-head-always-read"),
        pytest.param([None, None], 0, id="no-snapshot"),
    ],
)
def test_snapshot_read_only_when_changed(writes: list[bytes | None], gets: int) -> None:
    """Each scrape serves the snapshot in Redis; the full payload is fetched only on change."""
    client = FakeRedis()
    collector = RedisStateCollector(cast(redis.Redis, client), SETTINGS)
    for payload in writes:
        if payload is None:
            client.data.pop(KEYS.snapshot, None)
        else:
            client.data[KEYS.snapshot] = payload
        served = scrape(collector)
        stamp = served.get(("kpimon_kpi_snapshot_timestamp_seconds", ()))
        assert stamp == (None if payload is None else orjson.loads(payload)["generated_at"])
    assert client.gets.count(KEYS.snapshot) == gets


def test_served_kpis_equal_per_sample_path() -> None:
    """KPI samples and the dropped count served are those of the per-sample path."""
    client = FakeRedis()
    client.data[KEYS.snapshot] = FIRST
    collector = RedisStateCollector(cast(redis.Redis, client), SETTINGS)
    families, dropped = expected(FIRST, 3, 4)
    metrics = list(collector.collect())
    served = {m.name: m for m in metrics}
    assert [m for m in metrics if m.name in {f.name for f in families}] == families
    assert served["kpimon_exporter_dropped_series"].samples[0].value == dropped > 0
    assert b"inventory_fill_rate_ratio{" in generate_latest(collector)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("down", "up"),
    [pytest.param(False, 1.0, id="redis-up"), pytest.param(True, 0.0, id="redis-down")],
)
def test_redis_failure_reports_down(down: bool, up: float) -> None:
    """A Redis error yields only kpimon_exporter_redis_up 0, and the next read recovers."""
    client = FakeRedis()
    client.data[KEYS.snapshot] = FIRST
    client.down = down
    collector = RedisStateCollector(cast(redis.Redis, client), SETTINGS)
    served = scrape(collector)
    assert served[("kpimon_exporter_redis_up", ())] == up
    assert (("kpimon_kpi_snapshot_timestamp_seconds", ()) in served) is not down
    client.down = False
    assert scrape(collector)[("kpimon_kpi_snapshot_timestamp_seconds", ())] == 100.5


@pytest.mark.parametrize(
    "value",
    [None, True, "12", [1], {"v": 1}, "NaN"],
)
def test_a_value_that_is_not_a_finite_number_is_dropped_not_fatal(value: Any) -> None:
    """One bad value in a snapshot drops that series only; every other series is served."""
    samples = typical()
    bad = ["inventory_turns_annualized", [["location", "L000"], ["window", "7d"]], value]
    client = FakeRedis()
    client.data[KEYS.snapshot] = snapshot([bad, *samples])
    collector = RedisStateCollector(cast(redis.Redis, client), SETTINGS)
    served = scrape(collector)
    assert ("inventory_turns_annualized", (("location", "L000"), ("window", "7d"))) not in served
    assert ("inventory_otif_ratio", (("location", "L000"), ("window", "7d"))) in served
    generate_latest(collector)  # the exposition renders


def test_an_unreadable_snapshot_keeps_the_previous_one_served_and_counts() -> None:
    """A snapshot that is not JSON (e.g. an Infinity literal) never fails /metrics."""
    client = FakeRedis()
    client.data[KEYS.snapshot] = FIRST
    collector = RedisStateCollector(cast(redis.Redis, client), SETTINGS)
    assert scrape(collector)[("kpimon_kpi_snapshot_timestamp_seconds", ())] == 100.5
    client.data[KEYS.snapshot] = FIRST.replace(b'"generated_at":100.5', b'"generated_at":Infinity')
    served = scrape(collector)
    assert served[("kpimon_kpi_snapshot_timestamp_seconds", ())] == 100.5
    assert served[("kpimon_exporter_snapshot_errors_total", ())] == 1.0
    generate_latest(collector)
