"""Every board query is valid PromQL, checked offline by `promtool check rules`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from dashboards.queries import annotation_queries, substitute, targets, variable_queries

PROMTOOL = shutil.which("promtool")
# How Grafana formats a multi-value selection of a regex-matched variable.
MULTI_VALUES = {
    "location": "(DC-1|DC_2)",
    "region": "(emea|apac)",
    "channel": "(retail|online)",
    "customer_tier": "(strategic|key)",
    "topic": "(orders|shipments)",
    "window": "30d",
    "__rate_interval": "20s",
}

# No skip: without promtool these checks would pass by not running. `make install` puts it
# on PATH (Debian's prometheus package); a machine without it fails here, loudly.
assert PROMTOOL is not None, "promtool is not on PATH: `make install` installs prometheus"


def _record_name(uid: str, variant: str, number: int) -> str:
    return f"dashboard_query_check:{re.sub(r'[^a-zA-Z0-9_]', '_', uid)}:{variant}_{number:03d}"


def rule_groups(boards: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One recording-rule group per board and variable set, one rule per query."""
    groups = []
    for board in boards.values():
        for variant, values in (("all", None), ("multi", MULTI_VALUES)):
            rules = []
            queries = [(t.panel, t.ref_id, t.expr) for t in targets(board)]
            queries += [("annotation", "", expr) for expr in annotation_queries(board)]
            queries += [
                (f"variable {name}", "", series)
                for name, (series, _) in variable_queries(board).items()
                if series
            ]
            for number, (panel, ref_id, expr) in enumerate(queries, start=1):
                rules.append(
                    {
                        "record": _record_name(board["uid"], variant, number),
                        "expr": substitute(expr, values),
                        "labels": {"panel": panel, "ref_id": ref_id},
                    }
                )
            groups.append({"name": f"{board['uid']}-{variant}", "rules": rules})
    return groups


def test_every_query_parses(boards: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """promtool accepts every query, with "All" and with multi-value selections substituted."""
    groups = rule_groups(boards)
    assert sum(len(group["rules"]) for group in groups) >= 60
    rules = tmp_path / "dashboard-queries.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False, allow_unicode=True))
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"


def test_promtool_rejects_bad_query(tmp_path: Path) -> None:
    """The check is real: promtool fails a rule file whose expression is not PromQL."""
    rules = tmp_path / "bad.yml"
    bad = {"groups": [{"name": "bad", "rules": [{"record": "x:y", "expr": "sum(rate(x[1m])"}]}]}
    rules.write_text(yaml.safe_dump(bad))
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)], capture_output=True, timeout=60, check=False
    )
    assert result.returncode != 0


# Offline evaluation: `promtool test rules` runs PromQL on an embedded engine over input series.
SAMPLES = 30  # one a minute, as the doc_series fixture
OFFLINE_VALUES = {"__rate_interval": "5m", "__range": "1h"}


def offline_unit_test(
    exprs: list[str], series: list[dict[str, str]], rules: Path
) -> dict[str, Any]:
    """A promtool unit-test file asserting each expression returns data (`absent()` is empty)."""
    return {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {"expr": f"absent({expr})", "eval_time": f"{SAMPLES}m", "exp_samples": []}
                    for expr in exprs
                ],
            }
        ],
    }


def run_offline(
    exprs: list[str], series: list[dict[str, str]], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """Evaluate `exprs` over `series` with `promtool test rules`."""
    rules = tmp_path / "empty-rules.yml"
    rules.write_text("groups: []\n")
    test_file = tmp_path / "dashboard-queries-test.yml"
    test_file.write_text(
        yaml.safe_dump(
            offline_unit_test(exprs, series, rules),
            sort_keys=False,
            allow_unicode=True,
        )
    )
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_query_returns_data_on_doc_shaped_series(
    boards: dict[str, dict[str, Any]], doc_series: list[dict[str, str]], tmp_path: Path
) -> None:
    """Over series labelled as docs/METRICS.md says, every panel and variable query has data."""
    exprs = [substitute(t.expr, OFFLINE_VALUES) for b in boards.values() for t in targets(b)]
    exprs += [
        substitute(series, OFFLINE_VALUES)
        for board in boards.values()
        for series, _ in variable_queries(board).values()
        if series
    ]
    result = run_offline(exprs, doc_series, tmp_path)
    assert result.returncode == 0, f"{result.stdout[-8000:]}\n{result.stderr[-4000:]}"


def test_offline_check_catches_empty_query(
    doc_series: list[dict[str, str]], tmp_path: Path
) -> None:
    """The offline evaluation is real: a query matching no series fails it."""
    result = run_offline(['sum(inventory_fill_rate_ratio{window="90d"})'], doc_series, tmp_path)
    assert result.returncode != 0


def test_offline_series_have_the_engines_labels(doc_series: list[dict[str, str]]) -> None:
    """The offline series carry exactly the label names the engine's metric catalog exports."""
    from streams.core import samples

    seen: dict[str, set[str]] = {}
    for item in doc_series:
        name, _, labels = item["series"].partition("{")
        if not name.startswith("inventory_"):
            continue
        family = re.sub(r"_(bucket|count|sum)$", "", name) if name not in samples.METRICS else name
        keys = set(re.findall(r'(\w+)="', labels)) - {"job", "instance", "le"}
        seen.setdefault(family, set()).update(keys)
    for family, keys in seen.items():
        assert family in samples.METRICS, f"{family} is not in the engine's catalog"
        assert keys == set(samples.METRICS[family].labels), family
