"""`kpimon summary` computes network ratios from numerators and denominators and lists alerts."""

from __future__ import annotations

from streams.cli.summary import parse_metrics, render

EXPOSITION = """
# TYPE inventory_fill_rate_ratio gauge
inventory_fill_rate_ratio{location="A",window="7d"} 0.5
inventory_fill_rate_ratio{location="A",window="30d"} 0.9
inventory_fill_rate_ratio{location="B",window="7d"} 1.0
# TYPE inventory_window_units_shipped gauge
inventory_window_units_shipped{location="A",window="7d",region="n",channel="w",customer_tier="k"} 5
inventory_window_units_shipped{location="B",window="7d",region="n",channel="w",customer_tier="k"} 30
# TYPE inventory_window_units_ordered gauge
inventory_window_units_ordered{location="A",window="7d",region="n",channel="w",customer_tier="k"} 10
inventory_window_units_ordered{location="B",window="7d",region="n",channel="w",customer_tier="k"} 30
# TYPE inventory_value_dollars gauge
inventory_value_dollars{location="A"} 1234.4
# TYPE kpimon_events counter
kpimon_events_total{topic="orders",event_type="order.placed"} 7
# TYPE kpimon_consumer_lag_messages gauge
kpimon_consumer_lag_messages{topic="orders",partition="0"} 3
"""


def test_window_values_and_network_ratio() -> None:
    """Per-location values come from the chosen window; network fill rate is 35/40."""
    series, pipeline = parse_metrics(EXPOSITION, "7d")
    assert series["inventory_fill_rate_ratio"] == {"A": 0.5, "B": 1.0}
    assert series["inventory_value_dollars"] == {"A": 1234.4}
    assert pipeline["kpimon_events_total"] == 7
    assert pipeline["lag"] == 3
    alerts = [
        {"labels": {"alertname": "InventoryStockout", "severity": "critical", "location": "A"}}
    ]
    view = render(series, pipeline, alerts, "7d")
    assert "network: fill rate 87.5%" in view
    assert "active alerts: InventoryStockout 1" in view
    assert "[critical] InventoryStockout A" in view
    row_a = next(line for line in view.splitlines() if line.strip().startswith("A "))
    assert "1,234" in row_a and "50.0%" in row_a
