"""Grafana boards of the monitor, generated from code with grafana-foundation-sdk.

One module per board (`executive`, `operations`, `oncall`, `pipeline`; the
executive board's leading answer rows in `executive_answer`), shared helpers in
`panels`, `promql`, `variables`, `targets` and `layout`; `build` turns them into
the committed `dashboards/*.json`. Every query uses only the metrics of
docs/METRICS.md and the Prometheus datasource uid `prometheus`.
"""

from dashboards.build import build_all, write_all

__all__ = ["build_all", "write_all"]
