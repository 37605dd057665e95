"""Fixtures of the board tests: the generated boards and the metrics docs/METRICS.md names."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboards import build_all

REPO = Path(__file__).resolve().parents[3]
METRICS_DOC = REPO / "docs" / "METRICS.md"

# Prometheus' own series: scrape health and the alerts of its rule files.
PROMETHEUS_BUILTINS = frozenset(
    {"up", "ALERTS", "scrape_duration_seconds", "scrape_samples_scraped"}
)
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")

_NAME = re.compile(r"`([a-z_:][a-z0-9_:*]*)(?:\{[^`]*\})?`")


@dataclass(frozen=True)
class Documented:
    """Metric names of docs/METRICS.md, and which of them are histograms.

    A name with `*` (e.g. `inventory_otif_by_*_ratio`) documents a family of names.
    """

    names: frozenset[str]
    histograms: frozenset[str]

    def allows(self, name: str) -> bool:
        """Whether a query may select `name`: documented, a histogram series, or built in."""
        if name in self.names or name in PROMETHEUS_BUILTINS:
            return True
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.names if "*" in pattern):
            return True
        return any(
            name.endswith(suffix) and name.removesuffix(suffix) in self.histograms
            for suffix in HISTOGRAM_SUFFIXES
        )


def parse_metrics_doc(text: str) -> Documented:
    """Backticked metric names of the doc; histograms are those of a 'Histogram' section or row."""
    names: set[str] = set()
    histograms: set[str] = set()
    section = ""
    for line in text.splitlines():
        if line.startswith("#"):
            section = line.lower()
            continue
        found = {name for name in _NAME.findall(line) if name.startswith(("inventory_", "kpimon_"))}
        names |= found
        if "histogram" in section or re.search(r"\|\s*histogram\s*\|", line):
            histograms |= found
    return Documented(frozenset(names), frozenset(histograms))


@pytest.fixture(scope="session")
def boards() -> dict[str, dict[str, Any]]:
    """Every generated board, keyed by file name."""
    return build_all()


@pytest.fixture(scope="session")
def documented() -> Documented:
    """The metrics docs/METRICS.md documents."""
    return parse_metrics_doc(METRICS_DOC.read_text(encoding="utf-8"))


# Series shaped as docs/METRICS.md describes the exporter's and worker's output, for
# evaluating the boards' queries offline (`promtool test rules`). Values are arbitrary
# but plausible; counters grow so that rate() has something to show.
LOCATIONS = ("DC1", "DC2")
WINDOWS = ("7d", "30d")
EXPORTER = 'job="kpimon-exporter", instance="exporter:9464"'
WORKER = 'job="kpimon-worker", instance="worker:9465"'

WINDOW_GAUGES = {
    "inventory_turns_annualized": "9",
    "inventory_days_inventory_outstanding_days": "40",
    "inventory_window_cogs_dollars": "150000",
    "inventory_average_value_dollars": "800000",
    "inventory_window_covered_days": "7",
    "inventory_fill_rate_ratio": "0.96",
    "inventory_line_fill_rate_ratio": "0.93",
    "inventory_otif_ratio": "0.9",
    "inventory_stockout_events": "3",
    "inventory_forecast_wape_ratio": "0.25",
    "inventory_forecast_mape_ratio": "0.3",
    "inventory_forecast_abs_error_units": "250",
    "inventory_forecast_actual_units": "1000",
    "inventory_forecast_absolute_percentage_errors": "6",
    "inventory_forecast_periods": "20",
    "inventory_expedite_cost_sales_ratio": "0.01",
    "inventory_window_expedite_cost_dollars": "2000",
    "inventory_window_sales_dollars": "200000",
    "inventory_service_level_per_million_dollars": "1.2",
    "inventory_cost_to_service_slope": "0.05",
    "inventory_working_capital_at_risk_dollars": "90000",
    "inventory_policy_changes_per_sku_location": "0.4",
    "inventory_window_policy_changes": "10",
    "inventory_planner_override_ratio": "0.08",
    "inventory_window_policy_overrides": "2",
    "inventory_window_policy_recommendations": "25",
    "inventory_time_to_replan_median_seconds": "7200",
}
# Period over period (SPEC §4.3): per `kpi`, the prior window's value and the change ratio.
PRIOR_KPIS = {
    "turns": ("8.5", "0.06"),
    "days_inventory_outstanding": ("43", "-0.07"),
    "average_inventory_value": ("790000", "0.013"),
    "fill_rate": ("0.94", "0.02"),
    "line_fill_rate": ("0.92", "0.01"),
    "otif": ("0.91", "-0.01"),
    "stockout_events": ("4", "-0.25"),
    "forecast_wape": ("0.27", "-0.07"),
    "forecast_mape": ("0.31", "-0.03"),
    "expedite_cost_sales": ("0.012", "-0.17"),
    "service_per_million": ("1.19", "0.01"),
    "policy_changes_per_sku_location": ("0.5", "-0.2"),
    "planner_override": ("0.1", "-0.2"),
    "time_to_replan_median_seconds": ("9000", "-0.2"),
    # The prior window's numerators and denominators, summed network-wide by the boards.
    "cogs": ("140000", "0.07"),
    "covered_days": ("7", "0"),
    "units_ordered": ("98", "0.02"),
    "units_shipped": ("92", "0.03"),
    "order_lines": ("39", "0.03"),
    "order_lines_filled": ("36", "0.03"),
    "orders_due": ("21", "-0.05"),
    "orders_otif": ("19", "-0.05"),
    "expedite_cost": ("2300", "-0.13"),
    "sales": ("190000", "0.05"),
    "forecast_abs_error": ("270", "-0.07"),
    "forecast_actual": ("1000", "0"),
    "policy_changes": ("12", "-0.17"),
    "policy_overrides": ("3", "-0.33"),
    "policy_recommendations": ("30", "-0.17"),
}
INSIGHTS = {
    "turns_without_stockouts": "1",
    "service_without_inventory": "1",
    "fewer_surprises": "0",
    "simultaneous_improvement": "-1",
}
# Cohorts by who set the policy in force: numerators and denominators per `policy_source`.
COHORTS = {
    "model": {"ordered": "60", "shipped": "58", "cogs": "90000", "value": "420000"},
    "planner": {"ordered": "30", "shipped": "28", "cogs": "45000", "value": "260000"},
    "none": {"ordered": "10", "shipped": "9", "cogs": "15000", "value": "120000"},
}
COHORT_GAUGES = {
    "inventory_cohort_units_ordered": "ordered",
    "inventory_cohort_units_shipped": "shipped",
    "inventory_cohort_cogs_dollars": "cogs",
    "inventory_cohort_average_value_dollars": "value",
}
SERVICE_DETAIL = {
    "inventory_window_units_ordered": "100",
    "inventory_window_units_shipped": "95",
    "inventory_window_order_lines": "40",
    "inventory_window_order_lines_filled": "37",
    "inventory_window_orders_due": "20",
    "inventory_window_orders_otif": "18",
}
DIMENSIONS = {
    "region": ("emea", "apac"),
    "channel": ("retail", "online"),
    "customer_tier": ("strategic", "standard"),
}
LOCATION_GAUGES = {
    "inventory_value_dollars": "750000",
    "inventory_sku_locations": "25",
    "inventory_stocked_out_sku_locations": "1",
    "inventory_projected_stockout_sku_locations": "2",
    "inventory_watermark_timestamp_seconds": "1500",
    "inventory_excess_obsolete_ratio": "0.04",
    "inventory_excess_obsolete_value_dollars": "30000",
    "inventory_disruptions_awaiting_replan": "1",
    "inventory_disruption_oldest_unreplanned_age_seconds": "7200",
}
LOCATION_COUNTERS = (
    "inventory_units_ordered_total",
    "inventory_units_shipped_total",
    "inventory_sales_dollars_total",
    "inventory_cogs_dollars_total",
    "inventory_expedite_cost_dollars_total",
    "inventory_stockouts_total",
    "inventory_overrides_unmatched_total",
)
REPLAN_BUCKETS = ("3600", "7200", "14400", "28800", "43200", "86400", "172800", "259200")
LAG_BUCKETS = ("0.1", "0.5", "1", "5", "30", "60", "300", "3600", "86400")


def _series(name: str, labels: str, values: str) -> dict[str, str]:
    return {"series": f"{name}{{{labels}}}", "values": values}


def doc_shaped_series(samples: int) -> list[dict[str, str]]:
    """Input series for `promtool test rules`, one sample per interval for `samples` intervals."""
    flat = f"+0x{samples}"
    grow = f"+10x{samples}"
    out: list[dict[str, str]] = []
    for location in LOCATIONS:
        at = f'{EXPORTER}, location="{location}"'
        for window in WINDOWS:
            scoped = f'{at}, window="{window}"'
            out += [_series(name, scoped, v + flat) for name, v in WINDOW_GAUGES.items()]
            for kpi, (prior, change) in PRIOR_KPIS.items():
                labels = f'{scoped}, kpi="{kpi}"'
                out.append(_series("inventory_kpi_prior", labels, prior + flat))
                out.append(_series("inventory_kpi_change_ratio", labels, change + flat))
            for insight, signal in INSIGHTS.items():
                out.append(
                    _series("inventory_insight", f'{scoped}, insight="{insight}"', signal + flat)
                )
            for source, cohort in COHORTS.items():
                labels = f'{scoped}, policy_source="{source}"'
                out += [_series(n, labels, cohort[k] + flat) for n, k in COHORT_GAUGES.items()]
            for region in DIMENSIONS["region"]:
                for channel in DIMENSIONS["channel"]:
                    for tier in DIMENSIONS["customer_tier"]:
                        detail = (
                            f'{scoped}, region="{region}", channel="{channel}", '
                            f'customer_tier="{tier}"'
                        )
                        out += [_series(n, detail, v + flat) for n, v in SERVICE_DETAIL.items()]
            for dimension, values in DIMENSIONS.items():
                for value in values:
                    labels = f'{scoped}, {dimension}="{value}"'
                    for kpi in ("fill_rate", "otif"):
                        out.append(
                            _series(f"inventory_{kpi}_by_{dimension}_ratio", labels, "0.9" + flat)
                        )
        out += [_series(name, at, v + flat) for name, v in LOCATION_GAUGES.items()]
        out += [_series(name, at, "0" + grow) for name in LOCATION_COUNTERS]
        for day, (value, fill) in {
            "2024-01-01": ("700000", "0.93"),
            "2024-01-02": ("760000", "0.95"),
        }.items():
            period = f'{at}, period="{day}"'
            out.append(
                _series("inventory_cost_to_service_average_value_dollars", period, value + flat)
            )
            out.append(_series("inventory_cost_to_service_fill_rate_ratio", period, fill + flat))
        for number in range(3):
            out.append(
                _series(
                    "inventory_at_risk_days_of_cover",
                    f'{at}, sku="SKU-{number}"',
                    f"{number + 2}{flat}",
                )
            )
        for index, le in enumerate((*REPLAN_BUCKETS, "+Inf")):
            out.append(
                _series(
                    "inventory_time_to_replan_seconds_bucket", f'{at}, le="{le}"', f"{index}{flat}"
                )
            )
        out.append(_series("inventory_time_to_replan_seconds_count", at, "8" + flat))
        out.append(_series("inventory_time_to_replan_seconds_sum", at, "90000" + flat))
    for topic, event_type in (
        ("orders", "order.placed"),
        ("shipments", "shipment.dispatched"),
        ("disruptions", "disruption.reported"),
        ("disruptions", "disruption.resolved"),
    ):
        out.append(
            _series(
                "kpimon_events_total",
                f'{EXPORTER}, topic="{topic}", event_type="{event_type}"',
                "0" + grow,
            )
        )
    out.append(
        _series(
            "kpimon_events_invalid_total",
            f'{EXPORTER}, topic="orders", reason="malformed_json"',
            "0+1x" + str(samples),
        )
    )
    out.append(
        _series(
            "kpimon_events_duplicate_total", f'{EXPORTER}, topic="orders"', "0+1x" + str(samples)
        )
    )
    for outcome in ("sent", "failed", "rejected"):
        out.append(
            _series(
                "kpimon_alerts_sent_total",
                f'{EXPORTER}, channel="alertmanager", outcome="{outcome}"',
                "0+1x" + str(samples),
            )
        )
    out.append(_series("kpimon_kpi_snapshot_timestamp_seconds", EXPORTER, "1790" + flat))
    out.append(_series("kpimon_worker_heartbeat_timestamp_seconds", EXPORTER, "1790" + flat))
    out.append(_series("kpimon_exporter_redis_up", EXPORTER, "1" + flat))
    out.append(_series("kpimon_exporter_read_seconds", EXPORTER, "0.01" + flat))
    out.append(_series("kpimon_exporter_dropped_series", EXPORTER, "0" + flat))
    out.append(
        _series(
            "kpimon_worker_consumer_lag_messages",
            f'{WORKER}, topic="orders", partition="0"',
            "5" + flat,
        )
    )
    for name in ("kpimon_worker_batch_messages", "kpimon_worker_snapshot_seconds"):
        for index, le in enumerate(("1", "10", "+Inf")):
            out.append(
                _series(f"{name}_bucket", f'{WORKER}, le="{le}"', f"0+{index + 1}x{samples}")
            )
    for partition in ("0", "1"):
        out.append(
            _series(
                "kpimon_consumer_lag_messages",
                f'{WORKER}, topic="orders", partition="{partition}"',
                "5" + flat,
            )
        )
    for index, le in enumerate((*LAG_BUCKETS, "+Inf")):
        out.append(
            _series(
                "kpimon_event_lag_seconds_bucket",
                f'{WORKER}, le="{le}"',
                f"0+{index + 1}x{samples}",
            )
        )
    out.append(_series("kpimon_event_lag_seconds_count", WORKER, f"0+10x{samples}"))
    out.append(_series("kpimon_event_lag_seconds_sum", WORKER, f"0+20x{samples}"))
    for job in (EXPORTER, WORKER):
        out.append(_series("up", job, "1" + flat))
        out.append(_series("scrape_duration_seconds", job, "0.05" + flat))
        out.append(_series("scrape_samples_scraped", job, "900" + flat))
    return out


OFFLINE_SAMPLES = 30


@pytest.fixture(scope="session")
def doc_series() -> list[dict[str, str]]:
    """Doc-shaped input series for `promtool test rules`, one sample a minute for 30 minutes."""
    return doc_shaped_series(OFFLINE_SAMPLES)
