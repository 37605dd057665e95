"""`kpimon alerts check` replays a log through the real KPI engine and prints what would page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.cli.main import build_parser
from streams.settings import Settings


def main(argv: list[str]) -> int:
    """Run a `kpimon` command without `main`'s global logging setup (pytest owns stderr)."""
    args = build_parser().parse_args(argv)
    status: int = args.func(args, Settings())
    return status


def _event(event_type: str, event_id: str, at: str, **fields: object) -> str:
    return json.dumps({"event_id": event_id, "event_type": event_type, "occurred_at": at, **fields})


def _snapshot(event_id: str, at: str, sku: str, on_hand: float, sku_class: str) -> str:
    return _event(
        "inventory.snapshot", event_id, at, sku=sku, location="DC1", on_hand=on_hand,
        on_order=0, in_transit=0, unit_cost=5, sku_class=sku_class, supplier_id=f"SUP-{sku}",
    )  # fmt: skip


LOG = [
    _snapshot("s1", "2026-03-01T00:00:00+00:00", "A", 10, "A"),
    _snapshot("s2", "2026-03-01T00:00:00+00:00", "B", 100, "C"),
    _event(
        "order.placed", "o1", "2026-03-01T01:00:00+00:00", order_id="O1", location="DC1",
        customer_id="C1", customer_tier="standard", channel="web", region="EU",
        promised_at="2026-03-02T00:00:00+00:00",
        lines=[{"line_id": "1", "sku": "A", "quantity": 10, "unit_price": 20}],
    ),
    _event(
        "inventory.adjusted", "a1", "2026-03-01T02:00:00+00:00", sku="A", location="DC1",
        delta=-10, reason="picked",
    ),
    _event(
        "disruption.reported", "d1", "2026-03-01T03:00:00+00:00", disruption_id="D1",
        kind="supplier_delay", severity="critical", supplier_id="SUP-B", locations=["DC1"],
        skus=[], description="Plant fire",
    ),
    _event(
        "shipment.dispatched", "sh1", "2026-03-01T03:30:00+00:00", shipment_id="SH1",
        order_id="O1", location="DC1", lines=[{"line_id": "1", "sku": "A", "quantity": 10}],
        expedited=True, expedite_cost=7000,
    ),
    _snapshot("s3", "2026-03-01T05:00:00+00:00", "A", 200, "A"),
    _event("disruption.resolved", "d2", "2026-03-01T06:00:00+00:00", disruption_id="D1"),
    "{not json",
    _snapshot("s4", "2026-03-01T07:00:00+00:00", "B", 100, "C"),
]  # fmt: skip


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """The event log on disk."""
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(LOG) + "\n")
    return path


def _lines(text: str, alertname: str) -> list[str]:
    return [" ".join(line.split()[:4]) for line in text.splitlines() if alertname in line]


def test_check_prints_fires_and_resolutions_at_event_time(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The A-class stockout, the disruption and the big expedite fire and resolve when they did."""
    assert main(["alerts", "check", str(log), "--step", "0s"]) == 0
    out = capsys.readouterr().out
    assert _lines(out, "InventoryStockout") == [
        "2026-03-01T02:00:00.000Z FIRING InventoryStockout critical",
        "2026-03-01T05:00:00.000Z RESOLVED InventoryStockout critical",
    ]
    assert _lines(out, "InventoryDisruption") == [
        "2026-03-01T03:00:00.000Z FIRING InventoryDisruption critical",
        "2026-03-01T06:00:00.000Z RESOLVED InventoryDisruption critical",
    ]
    assert "shipment_id=SH1  $7,000 expedite on shipment SH1 at DC1" in out
    assert "1 invalid lines skipped" in out


def test_check_is_deterministic_and_speaks_json(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two replays print the same transitions; --json gives one transition object per line."""
    main(["alerts", "check", str(log), "--every", "1", "--json"])
    first = capsys.readouterr().out
    main(["alerts", "check", str(log), "--every", "1", "--json"])
    assert capsys.readouterr().out == first
    records = [json.loads(line) for line in first.splitlines()]
    stockout = [r for r in records if r["alertname"] == "InventoryStockout"]
    assert [r["status"] for r in stockout] == ["firing", "resolved"]
    assert stockout[0]["labels"] == {
        "alertname": "InventoryStockout", "severity": "critical", "location": "DC1", "sku": "A",
    }  # fmt: skip
    assert stockout[1]["ends_at"] == "2026-03-01T05:00:00.000Z"


def test_a_bad_rules_file_fails_with_its_name(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken rules file stops the check with exit status 2 and names the rule and field."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {alertname: A, kind: otif, threshold: 2}\n")
    assert main(["alerts", "check", str(log), "--rules", str(rules)]) == 2
    assert f"alert rules {rules}: rule #1 (A), field 'threshold'" in capsys.readouterr().err
