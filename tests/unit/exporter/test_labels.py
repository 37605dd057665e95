"""Label values stay distinct and bounded: injective encoding, caps filled by activity."""

from __future__ import annotations

from collections import Counter

import pytest

from streams.exporter.labels import allowed_values, cap_values, sanitise
from streams.store.snapshot import exported_locations


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("DC-EAST", "DC-EAST"),
        ("DC/1", "DC/1"),  # a valid code is exported as it is
        ("DC_1", "DC_1"),
        ("a.b:c-d_e/f", "a.b:c-d_e/f"),
        ("store 12/NYC", "store%2012/NYC"),
        ('a"b\\c\n', "a%22b%5Cc%0A"),
        ("50%", "50%25"),
        ("", "%"),
        ("ünï", "%C3%BCn%C3%AF"),
        ("x" * 80, "x" * 80),
    ],
)
def test_sanitise_keeps_codes_and_percent_encodes_the_rest(raw: str, clean: str) -> None:
    """Codes pass unchanged; any other character is %XX per UTF-8 byte."""
    assert sanitise(raw) == clean


@pytest.mark.parametrize(
    "values",
    [
        ["DC/1", "DC_1", "DC%2F1", "DC 1", "DC%201", "%", "", "%25"],
        ["a\u200bb", "ab", "a%E2%80%8Bb"],
    ],
)
def test_distinct_values_never_map_to_one_label_value(values: list[str]) -> None:
    """No two distinct strings share a label value (DC/1 and DC_1 were one series)."""
    assert len({sanitise(v) for v in values}) == len(values)


@pytest.mark.parametrize(
    ("activity", "cap", "allowlist", "chosen"),
    [
        ({"A": 5, "B": 9, "C": 1}, 2, [], ["B", "A"]),  # most active first
        ({"A": 5, "B": 5, "C": 5}, 2, [], ["A", "B"]),  # ties by code
        ({"A": 5, "B": 9, "C": 1}, 2, ["C"], ["C", "B"]),  # allow-listed first
        ({"A": 5}, 3, ["Z", "A", "A"], ["A"]),  # an allow-listed code with no data: nothing
        ({"A": 5, "B": 9}, 0, ["A"], []),
    ],
)
def test_exported_locations_are_the_allow_listed_then_the_most_active(
    activity: dict[str, int], cap: int, allowlist: list[str], chosen: list[str]
) -> None:
    """The location cap is filled by the allow-list, then by events recorded (SPEC §5)."""
    assert exported_locations(activity, cap, allowlist) == chosen


def test_a_flood_of_junk_codes_that_sort_first_does_not_push_out_real_locations() -> None:
    """Ten busy locations stay exported under a cap of 10 however many quiet codes sort first."""
    activity = {f"DC-{i}": 1000 + i for i in range(10)}
    activity.update({f"0junk{i:05d}": 1 for i in range(5000)})
    label_sets = [(("location", code), ("window", "7d")) for code in activity]
    allowed = allowed_values(label_sets, cap=50, caps={"location": 10}, activity=activity)
    assert allowed["location"] == {f"DC-{i}" for i in range(10)}


def test_other_labels_are_capped_by_the_series_that_carry_them() -> None:
    """Over the cap, the values on the most series stay (ties by value), not the first sorted."""
    seen = {"region": Counter({"aaa-junk": 1, "north": 40, "south": 12, "zzz": 12})}
    assert cap_values(seen, cap=2) == {"region": {"north", "south"}}
    assert cap_values(seen, cap=4) == {"region": {"aaa-junk", "north", "south", "zzz"}}
