"""Every board query returns data from the real Prometheus scraping a monitor fed by the simulator.

Grafana cannot run here, so the boards are checked the way Grafana would use
them: template variables interpolated, then each query sent to Prometheus'
HTTP API (`/api/v1/query`), which must answer with at least one series.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer

from dashboards import build_all
from dashboards.queries import DEFAULT_VALUES, substitute, targets, variable_queries
from streams.events.models import TOPIC_OF
from streams.simulate.config import SimulationConfig
from streams.simulate.generator import generate
from tests.integration.fixtures import MonitorFactory
from tests.integration.monitor import wait_for

BOARDS = build_all()
# Variables that select label values; "All" is `.+`, a concrete value is discovered.
SELECTIONS = ("location", "region", "channel", "customer_tier", "topic")
# Grafana built-ins, at values that suit the stack's 5 s scrape interval.
BUILTINS = {"window": "7d", "__rate_interval": "1m", "__interval": "15s", "__range": "1h"}


# Simulated days: enough for the 7d window to have a whole prior window. The engine reports
# a prior window (and so inventory_kpi_prior, _change_ratio and the insights) once the
# location's data began by the prior window's first bucket: 13 days before today's bucket.
DAYS = 15


def planning_answers(events: list[dict[str, Any]], start: datetime) -> list[dict[str, Any]]:
    """A disruption replanned while active and one still awaiting a replan (the simulator's
    planners do not react to disruptions), so the time-to-replan panels have data. Both fall
    in the last four simulated days, inside the 7d window."""
    first = next(e for e in events if e["event_type"] == "inventory.snapshot")
    location, sku = first["location"], first["sku"]
    base = start + timedelta(days=DAYS - 4)

    def at(hours: float) -> str:
        return (base + timedelta(hours=hours)).isoformat()

    def reported(disruption_id: str, hours: float) -> dict[str, Any]:
        return {
            "event_id": f"board-{disruption_id}", "event_type": "disruption.reported",
            "occurred_at": at(hours), "disruption_id": disruption_id, "kind": "supplier_delay",
            "severity": "high", "locations": [location], "skus": [],
            "description": "board check",
        }  # fmt: skip

    return [
        reported("BOARD-REPLANNED", 24.0),
        {
            "event_id": "board-replan",
            "event_type": "policy.applied",
            "occurred_at": at(26.0),
            "sku": sku,
            "location": location,
            "policy": {"safety_stock": 5.0, "reorder_point": 10.0},
        },
        reported("BOARD-WAITING", 72.0),
    ]


@pytest.fixture(scope="module")
def fed_monitor(local_stack: Any, monitor_factory: MonitorFactory) -> Iterator[None]:
    """A monitor fed `DAYS` simulated days, with poison and duplicates, scraped by Prometheus."""
    monitor = monitor_factory({"KPIMON_ALERTS__ALERTMANAGER_URL": local_stack.alertmanager_url})
    start = datetime(2026, 3, 2, tzinfo=UTC)
    config = SimulationConfig(
        seed=7,
        locations=3,
        skus=10,
        start=start,
        duration_seconds=DAYS * 86400,
        orders_per_hour=6,
    )
    events = list(generate(config))
    events += planning_answers(events, start)
    producer = KafkaProducer(bootstrap_servers=local_stack.kafka_bootstrap)
    for event in events:
        topic = monitor.topic_prefix + TOPIC_OF[event["event_type"]]
        producer.send(topic, key=str(event.get("location", "")).encode(), value=orjson.dumps(event))
    # A few duplicates and poison messages, so the pipeline-health series exist too.
    for event in events[:5]:  # keyed as the originals were: a record without a key is rejected
        topic = monitor.topic_prefix + TOPIC_OF[event["event_type"]]
        producer.send(topic, key=str(event.get("location", "")).encode(), value=orjson.dumps(event))
    for poison in (b"{oops", b'{"event_type": "inventory.snapshot"}'):
        producer.send(monitor.topic_prefix + "inventory", poison)
    producer.flush()
    producer.close()
    monitor.wait_processed(len(events) + 7, timeout=300)
    monitor.wait_snapshot_of(len(events))
    with (
        local_stack.scraped("kpimon-exporter", f"127.0.0.1:{monitor.exporter_port}"),
        local_stack.scraped("kpimon-worker", f"127.0.0.1:{monitor.worker_port}"),
    ):
        for port in (monitor.exporter_port, monitor.worker_port):
            query = f'count_over_time(up{{instance="127.0.0.1:{port}"}}[1m]) >= 3'
            wait_for(
                lambda q=query: instant_query(local_stack.prometheus_url, q),
                timeout=120,
                interval=2,
                what=f"three scrapes of 127.0.0.1:{port}",
            )
        yield


def panel_queries(
    board_json: Mapping[str, Any], values: Mapping[str, str] | None = None
) -> list[str]:
    """Every target of a board as Prometheus receives it: template variables interpolated.

    Selection variables default to Grafana's "All" value `.+`, `$window` to `7d`,
    `$__rate_interval` to `1m` and `$__range` to `1h`; `values` overrides any of them.
    """
    merged = {**DEFAULT_VALUES, **BUILTINS, **(values or {})}
    return [substitute(target.expr, merged) for target in targets(board_json)]


def instant_query(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    """The result of an instant query; fails the test on an API or PromQL error."""
    response = httpx.post(f"{prometheus_url}/api/v1/query", data={"query": expr}, timeout=30)
    body = response.json()
    assert response.status_code == 200 and body.get("status") == "success", f"{expr}\n{body}"
    result = body["data"]["result"]
    if body["data"]["resultType"] == "scalar":
        return [{"value": result}]
    assert isinstance(result, list)
    return result


def label_values(prometheus_url: str, label: str, match: str | None = None) -> list[str]:
    """Values of `label` (optionally only on series matching `match`), as Grafana lists them."""
    params = {"match[]": match} if match else None
    response = httpx.get(f"{prometheus_url}/api/v1/label/{label}/values", params=params, timeout=30)
    response.raise_for_status()
    values: list[str] = response.json()["data"]
    return sorted(values)


def empty_queries(
    prometheus_url: str, board: Mapping[str, Any], values: Mapping[str, str]
) -> list[str]:
    """`panel / refId: query` of every target of `board` that returns no series."""
    exprs = panel_queries(board, values)
    return [
        f"{target.panel} / {target.ref_id}: {expr}"
        for target, expr in zip(targets(board), exprs, strict=True)
        if not instant_query(prometheus_url, expr)
    ]


@pytest.mark.usefixtures("fed_monitor")
@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_panel_query_returns_data(local_stack: Any, name: str) -> None:
    """With every value selected ("All"), each panel query of the board returns data."""
    empty = empty_queries(local_stack.prometheus_url, BOARDS[name], {})
    assert not empty, f"{name}: {len(empty)} queries without data:\n" + "\n".join(empty)


@pytest.mark.usefixtures("fed_monitor")
@pytest.mark.parametrize("name", sorted(BOARDS))
def test_variable_queries_list_values(local_stack: Any, name: str) -> None:
    """Each `label_values(series, label)` variable offers at least one value."""
    for variable, (series, label) in variable_queries(BOARDS[name]).items():
        match = substitute(series, {**DEFAULT_VALUES, **BUILTINS}) if series else None
        values = label_values(local_stack.prometheus_url, label, match)
        assert values, f"{name}: variable ${variable} has no values ({series}, {label})"


@pytest.mark.usefixtures("fed_monitor")
@pytest.mark.parametrize("name", sorted(BOARDS))
def test_panel_queries_with_one_value_selected(local_stack: Any, name: str) -> None:
    """With one discovered value per variable (and the 30d window), every query still runs."""
    chosen = {"window": "30d"}
    for label in SELECTIONS:
        values = label_values(local_stack.prometheus_url, label)
        if values:
            chosen[label] = values[0]
    for expr in panel_queries(BOARDS[name], chosen):
        instant_query(local_stack.prometheus_url, expr)
