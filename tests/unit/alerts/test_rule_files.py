"""The shipped Prometheus rules and Alertmanager config pass the promtool and amtool checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "alerts" / "prometheus" / "monitor.rules.yml"
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


def test_promtool_check_rules() -> None:
    """`promtool check rules` accepts the monitor's own alerting rules."""
    assert "SUCCESS" in _run(_tool("promtool"), "check", "rules", str(RULES))


def test_promtool_test_rules() -> None:
    """`promtool test rules` passes every unit test of the monitor's rules."""
    assert RULE_TESTS, "no promtool rule tests found"
    assert "SUCCESS" in _run(_tool("promtool"), "test", "rules", *map(str, RULE_TESTS))


def test_every_monitor_alert_has_a_promtool_test() -> None:
    """Each alert of the monitor's rules is exercised by at least one promtool test."""
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
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
        (["alertname=Other"], "default"),
    ],
)
def test_amtool_routes(labels: list[str], receiver: str) -> None:
    """Critical alerts route to the pager, warnings to chat, anything else to the default."""
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


def test_every_runbook_link_has_a_runbook() -> None:
    """Each runbook the inventory rules and the monitor's rules link to exists in the repo."""
    from alerts.rules import load_rules

    names = {rule.alertname for rule in load_rules(None).rules}
    linked = {
        rule["annotations"]["runbook_url"].rsplit("/", 1)[1]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    wanted = {f"{name}.md" for name in names} | linked
    missing = sorted(n for n in wanted if not (REPO / "alerts" / "runbooks" / n).is_file())
    assert missing == []
