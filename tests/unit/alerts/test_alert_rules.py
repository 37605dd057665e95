"""The rules loader accepts the shipped defaults and names file, rule and field of every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.rules import RulesError, load_rules, parse_rules

BUILT_IN = {
    "InventoryStockout",
    "InventoryProjectedStockout",
    "InventoryExpediteCost",
    "InventoryWorkingCapitalAtRisk",
    "InventoryDisruption",
    "InventoryFillRateLow",
    "InventoryOtifLow",
}


def test_shipped_defaults_load_with_every_built_in_alert() -> None:
    """`load_rules(None)` loads alerts/default_rules.yaml with all seven alert names."""
    rules = load_rules(None)
    assert {r.alertname for r in rules.active} == BUILT_IN
    kinds = {r.kind for r in rules.rules if r.alertname == "InventoryExpediteCost"}
    assert kinds == {"expedite_cost_ratio", "expedite_single"}
    assert rules.windows() <= {"7d", "30d"}


def test_stockout_defaults_escalate_a_class_and_strategic() -> None:
    """The shipped stockout rule raises severity for A-class SKUs and strategic open orders."""
    [stockout] = [r for r in load_rules(None).rules if r.alertname == "InventoryStockout"]
    assert stockout.severity == "warning"
    assert {(e.severity, tuple(e.sku_classes or ()), e.strategic_open_orders)
            for e in stockout.escalations} == {("critical", ("A",), None),
                                               ("critical", (), True)}  # fmt: skip


def test_a_file_on_disk_loads(tmp_path: Path) -> None:
    """A rules file given by path is read and validated."""
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nrules:\n  - {alertname: A, kind: otif, threshold: 0.9}\n")
    assert load_rules(path).rules[0].rule_id == "A.otif.7d"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - {alertname: Low, kind: fill_rate, threshold: 1.5}",
            "rule #1 (Low), field 'threshold': Input should be less than or equal to 1",
        ),
        (
            "rules:\n  - {alertname: A, kind: otif, threshold: 0.9}\n"
            "  - {alertname: B, kind: stockout, colour: red}",
            "rule #2 (B), field 'colour': Extra inputs are not permitted",
        ),
        (
            "rules:\n  - {alertname: A, kind: teleport}",
            "rule #1 (A), field 'kind'",
        ),
        (
            "rules:\n  - {alertname: A, kind: fill_rate, threshold: 0.9, clear_threshold: 0.8}",
            "rule #1 (A), field '<rule>': Value error, clear_threshold must be >= threshold",
        ),
        (
            "rules:\n  - {alertname: A, kind: expedite_cost_ratio, threshold: 0.05,"
            " clear_threshold: 0.06}",
            "clear_threshold must be <= threshold",
        ),
        (
            "rules:\n  - {alertname: A, kind: otif, threshold: 0.9, window: 7 days}",
            "rule #1 (A), field 'window': String should match pattern",
        ),
        (
            "rules:\n  - {alertname: A, kind: otif, threshold: 0.9}\n"
            "  - {alertname: A, kind: otif, threshold: 0.8}",
            "two rules have the id 'A.otif.7d'",
        ),
        (
            "rules:\n  - {alertname: A, kind: otif, threshold: 0.9, scope: {sku_classes: [A]}}",
            "scope.sku_classes applies only to",
        ),
        (
            "rules:\n  - {alertname: A, kind: stockout, escalations: [{severity: critical}]}",
            "rule #1 (A), field 'escalations.0': Value error, an escalation needs",
        ),
        (
            "rules:\n  - {alertname: A, kind: working_capital_at_risk}",
            "set threshold (share of inventory value) and/or amount_threshold",
        ),
        (
            "rules:\n  - {alertname: bad-name, kind: stockout}",
            "rule #1 (bad-name), field 'alertname': String should match pattern",
        ),
        ("rules: [\n", "not valid YAML"),
        ("version: 2\n", "field 'version'"),
        ("rules:\n  - {alertname: A, kind: stockout, for_seconds: -1}", "field 'for_seconds'"),
    ],
)
def test_bad_files_fail_with_file_rule_and_field(text: str, message: str) -> None:
    """Every mistake is reported with the file name, the rule (number and name) and the field."""
    with pytest.raises(RulesError) as error:
        parse_rules(text, "/etc/kpimon/rules.yaml")
    assert str(error.value).startswith("alert rules /etc/kpimon/rules.yaml: ")
    assert message in str(error.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    """A path that cannot be read fails with the path in the message."""
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RulesError, match=f"alert rules {missing}: cannot read"):
        load_rules(missing)


def test_windows_must_be_computed_by_the_engine() -> None:
    """A rule reading a window the engine does not compute fails at start."""
    rules = parse_rules("rules: [{alertname: A, kind: otif, threshold: 0.9, window: 14d}]", "<t>")
    with pytest.raises(RulesError, match=r"windows \['14d'\]"):
        rules.check_windows(["7d", "30d"])


def test_disabled_rules_are_not_active() -> None:
    """`enabled: false` keeps a rule in the file but out of evaluation."""
    rules = parse_rules("rules: [{alertname: A, kind: stockout, enabled: false}]", "<t>")
    assert rules.active == [] and rules.by_id() == {}


def test_empty_file_is_an_empty_rule_set() -> None:
    """An empty file means no rules (alerting switched off), not an error."""
    assert parse_rules("", "<t>").rules == []
