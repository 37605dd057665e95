"""The shipped Prometheus rules and Alertmanager config pass the promtool and amtool checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
# Every rule file the stack's Prometheus loads (deploy/prometheus/prometheus.yml: *.yml).
RULE_FILES = sorted((REPO / "alerts" / "prometheus").glob("*.yml"))
RULE_TESTS = sorted((REPO / "alerts" / "prometheus" / "tests").glob("*.yml"))
ALERTMANAGER = REPO / "alerts" / "alertmanager.yml"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not on PATH: install Debian's "
            f"{'prometheus' if name == 'promtool' else 'prometheus-alertmanager'} package",
            pytrace=False,
        )
    return path


def _run(*command: str) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, cwd=REPO
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


def _rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def test_rule_files_found() -> None:
    """The monitor's own rules and the planning rules are both picked up."""
    assert {path.name for path in RULE_FILES} >= {"monitor.rules.yml", "planning.rules.yml"}


def test_promtool_check_rules() -> None:
    """`promtool check rules` accepts every shipped Prometheus rule file."""
    output = _run(_tool("promtool"), "check", "rules", *map(str, RULE_FILES))
    assert output.count("SUCCESS") == len(RULE_FILES)


def test_promtool_test_rules() -> None:
    """`promtool test rules` passes every unit test of the monitor's rules."""
    assert RULE_TESTS, "no promtool rule tests found"
    assert "SUCCESS" in _run(_tool("promtool"), "test", "rules", *map(str, RULE_TESTS))


def test_every_monitor_alert_has_a_promtool_test() -> None:
    """Each alert of the shipped Prometheus rules is exercised by at least one promtool test."""
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts - tested == set()


def test_amtool_check_config() -> None:
    """`amtool check-config` accepts the Alertmanager routing example."""
    assert "SUCCESS" in _run(_tool("amtool"), "check-config", str(ALERTMANAGER))


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=InventoryStockout", "severity=critical", "location=DC1"], "pager"),
        (["alertname=InventoryFillRateLow", "severity=warning", "location=DC1"], "chat"),
        (["alertname=KpimonKpisStale", "severity=critical"], "pager"),
        (
            [
                "alertname=InventoryInsightViolated",
                "severity=warning",
                "team=planning",
                "location=DC1",
                "window=7d",
                "insight=simultaneous_improvement",
            ],
            "planning-owners",
        ),
        (["alertname=Other", "severity=critical", "team=planning"], "planning-owners"),
        (["alertname=Other"], "default"),
    ],
)
def test_amtool_routes(labels: list[str], receiver: str) -> None:
    """The planning team's alerts go to its owners; other critical alerts to the pager,
    warnings to chat, anything else to the default."""
    output = _run(
        _tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels
    )
    assert output.split()[0] == receiver


def test_alertmanager_groups_and_inhibits_as_specified() -> None:
    """Grouping is by alertname and location; stockouts inhibit projected stockouts per SKU."""
    config = yaml.safe_load(ALERTMANAGER.read_text())
    assert config["route"]["group_by"] == ["alertname", "location"]
    [inhibit] = config["inhibit_rules"]
    assert inhibit["source_matchers"] == ['alertname="InventoryStockout"']
    assert inhibit["target_matchers"] == ['alertname="InventoryProjectedStockout"']
    assert inhibit["equal"] == ["location", "sku"]
    urls = [w["url"] for r in config["receivers"] for w in r.get("webhook_configs", [])]
    assert "http://127.0.0.1:9099/alerts" in urls


def test_planning_alerts_are_warnings_for_the_planning_team() -> None:
    """The insight alert is a warning labelled team=planning, like every planning rule."""
    [planning] = [path for path in RULE_FILES if path.name == "planning.rules.yml"]
    rules = [
        rule for group in yaml.safe_load(planning.read_text())["groups"] for rule in group["rules"]
    ]
    assert [rule["alert"] for rule in rules] == ["InventoryInsightViolated"]
    for rule in rules:
        assert rule["labels"] == {"severity": "warning", "team": "planning"}
        assert set(rule["annotations"]) == {
            "summary",
            "description",
            "runbook_url",
            "dashboard_url",
        }
        assert rule["for"] == "1h"


def test_every_runbook_link_has_a_runbook() -> None:
    """Each runbook the inventory rules and the Prometheus rules link to exists in the repo."""
    from alerts.rules import load_rules

    names = {rule.alertname for rule in load_rules(None).rules}
    linked = {rule["annotations"]["runbook_url"].rsplit("/", 1)[1] for rule in _rules()}
    wanted = {f"{name}.md" for name in names} | linked
    missing = sorted(n for n in wanted if not (REPO / "alerts" / "runbooks" / n).is_file())
    assert missing == []
