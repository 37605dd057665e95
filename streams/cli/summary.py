"""`kpimon summary`: a terminal view of the KPIs and active alerts (live with `--follow`).

Reads what operations would see on the boards: the exporter's /metrics and
Alertmanager's active alerts. Network figures are sum(numerator)/sum(denominator).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from streams.settings import Settings

Series = dict[str, dict[str, float]]  # metric -> location -> value (window-filtered)

COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (header, metric, format)
    ("value $", "inventory_value_dollars", "{:,.0f}"),
    ("turns", "inventory_turns_annualized", "{:.1f}"),
    ("DIO d", "inventory_days_inventory_outstanding_days", "{:.0f}"),
    ("E&O", "inventory_excess_obsolete_ratio", "{:.0%}"),
    ("fill", "inventory_fill_rate_ratio", "{:.1%}"),
    ("OTIF", "inventory_otif_ratio", "{:.1%}"),
    ("stockouts", "inventory_stockout_events", "{:.0f}"),
    ("WAPE", "inventory_forecast_wape_ratio", "{:.0%}"),
    ("expedite", "inventory_expedite_cost_sales_ratio", "{:.1%}"),
    ("WC@risk $", "inventory_working_capital_at_risk_dollars", "{:,.0f}"),
    ("proj.out", "inventory_projected_stockout_sku_locations", "{:.0f}"),
    ("override", "inventory_planner_override_ratio", "{:.0%}"),
)
NETWORK_RATIOS: tuple[tuple[str, str, str], ...] = (
    ("fill rate", "inventory_window_units_shipped", "inventory_window_units_ordered"),
    ("OTIF", "inventory_window_orders_otif", "inventory_window_orders_due"),
    (
        "expedite % sales",
        "inventory_window_expedite_cost_dollars",
        "inventory_window_sales_dollars",
    ),
)


def parse_metrics(text: str, window: str) -> tuple[Series, Counter[str]]:
    """Per-location values of the window (or window-less gauges), and pipeline totals."""
    series: Series = defaultdict(lambda: defaultdict(float))
    pipeline: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name.startswith("kpimon_events"):
                pipeline[sample.name] += int(sample.value)
            elif sample.name == "kpimon_consumer_lag_messages":
                pipeline["lag"] += int(sample.value)
            elif "location" in labels and labels.get("window", window) == window:
                if {"period", "sku", "le"} & labels.keys():
                    continue
                series[sample.name][labels["location"]] += sample.value
    return series, pipeline


def render(
    series: Series, pipeline: Counter[str], alerts: list[dict[str, Any]], window: str
) -> str:
    locations = sorted(set().union(*(values.keys() for values in series.values())) or [])
    lines = [f"Inventory KPI Monitor — window {window} — {time.strftime('%H:%M:%S')}", ""]
    header = ["location", *(name for name, _, _ in COLUMNS)]
    rows = [header]
    for location in locations:
        row = [location]
        for _, metric, fmt in COLUMNS:
            value = series.get(metric, {}).get(location)
            row.append("-" if value is None else fmt.format(value))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    network = []
    for name, numerator, denominator in NETWORK_RATIOS:
        den = sum(series.get(denominator, {}).values())
        num = sum(series.get(numerator, {}).values())
        network.append(f"{name} {num / den:.1%}" if den else f"{name} -")
    lines += ["", "network: " + ", ".join(network)]
    lines.append(
        f"pipeline: {pipeline['kpimon_events_total']:,} events, "
        f"{pipeline['kpimon_events_invalid_total']:,} dead-lettered, "
        f"{pipeline['kpimon_events_duplicate_total']:,} duplicates, lag {pipeline['lag']:,}"
    )
    by_name = Counter(alert["labels"].get("alertname", "?") for alert in alerts)
    lines.append(
        "active alerts: "
        + (", ".join(f"{name} {count}" for name, count in by_name.most_common()) or "none")
    )
    for alert in alerts[:8]:
        labels = alert["labels"]
        lines.append(
            f"  [{labels.get('severity', '?')}] {labels.get('alertname')} "
            f"{labels.get('location', '')} {labels.get('sku', '')}".rstrip()
        )
    return "\n".join(lines)


def add_command(sub: Any) -> None:
    parser = sub.add_parser("summary", help="terminal view of the KPIs and active alerts")
    parser.add_argument("--window", default="7d")
    parser.add_argument("--follow", action="store_true", help="refresh until Ctrl-C")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between refreshes")
    parser.set_defaults(func=run)


def _snapshot(settings: Settings, window: str) -> str:
    exporter = f"http://{settings.exporter.host}:{settings.exporter.port}/metrics"
    try:
        text = httpx.get(exporter, timeout=10).text
    except httpx.HTTPError as error:
        return f"exporter not reachable at {exporter}: {error}"
    alerts: list[dict[str, Any]] = []
    if settings.alerts.alertmanager_url:
        try:
            url = settings.alerts.alertmanager_url.rstrip("/") + "/api/v2/alerts"
            alerts = httpx.get(url, params={"active": "true"}, timeout=10).json()
        except (httpx.HTTPError, ValueError):
            alerts = []
    series, pipeline = parse_metrics(text, window)
    return render(series, pipeline, alerts, window)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not args.follow:
        print(_snapshot(settings, args.window))
        return 0
    try:
        while True:
            view = _snapshot(settings, args.window)
            if sys.stdout.isatty():
                sys.stdout.write("\x1b[2J\x1b[H")
            print(view, flush=True)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0
