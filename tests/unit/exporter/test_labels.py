"""Label values are sanitised and capped so event data cannot explode the series count."""

from __future__ import annotations

import pytest

from streams.exporter.labels import allowed_values, sanitise


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("DC-EAST", "DC-EAST"),
        ("store 12/NYC", "store_12_NYC"),
        ('a"b\\c\n', "a_b_c_"),
        ("x" * 80, "x" * 64),
        ("", "_"),
        ("ünïcode", "_n_code"),
    ],
)
def test_sanitise(raw: str, clean: str) -> None:
    """Unsafe characters become underscores and values are cut to 64 characters."""
    assert sanitise(raw) == clean


def test_cap_keeps_first_values_in_sorted_order() -> None:
    """Only the first `cap` distinct values per label survive, chosen deterministically."""
    label_sets = [(("location", f"L{i:03d}"), ("sku", f"S{i % 3}")) for i in range(10, 0, -1)]
    allowed = allowed_values(label_sets, cap=2, caps={"location": 4})
    assert allowed["location"] == {"L001", "L002", "L003", "L004"}
    assert allowed["sku"] == {"S0", "S1"}
