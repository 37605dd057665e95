"""Grafana provisioning matches the boards: datasource uid, name, URL and dashboards path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dashboards.panels import DATASOURCE_UID

REPO = Path(__file__).resolve().parents[3]
PROVISIONING = REPO / "deploy" / "grafana" / "provisioning"


def load(relative: str) -> dict[str, Any]:
    """One provisioning YAML file."""
    data: dict[str, Any] = yaml.safe_load((PROVISIONING / relative).read_text(encoding="utf-8"))
    return data


def test_prometheus_datasource() -> None:
    """The provisioned datasource is the one every board refers to by uid."""
    data = load("datasources/prometheus.yml")
    assert data["apiVersion"] == 1
    (source,) = data["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["name"] == "Prometheus"
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert source["access"] == "proxy"
    assert source.get("isDefault") is True


def test_dashboard_provider() -> None:
    """The file provider loads the generated JSON from /var/lib/grafana/dashboards, read-only."""
    data = load("dashboards/kpimon.yml")
    assert data["apiVersion"] == 1
    (provider,) = data["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert provider["allowUiUpdates"] is False
