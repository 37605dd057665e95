"""Read queries back out of board JSON: for checks against promtool and a real Prometheus.

Grafana interpolates template variables before a query reaches Prometheus;
`substitute` does the same with fixed values so a query can be run or
syntax-checked outside Grafana.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# What Grafana puts in place of each variable when every value is selected.
DEFAULT_VALUES: dict[str, str] = {
    "window": "7d",
    "location": ".+",
    "region": ".+",
    "channel": ".+",
    "customer_tier": ".+",
    "topic": ".+",
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
}

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<series>.+),\s*)?(?P<label>\w+)\)$")

# PromQL words that look like identifiers but are not metric names.
KEYWORDS = frozenset(
    {
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "offset",
        "bool",
        "inf",
        "nan",
        "atan2",
    }
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^{}]*\}")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_LABEL_LISTS = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_OFFSET = re.compile(r"\boffset\s+-?(?:\d+(?:ms|[smhdwy]))+", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w:])(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)")
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


@dataclass(frozen=True, slots=True)
class PanelQuery:
    """One target of one panel, as written in the board (variables not substituted)."""

    board: str
    panel: str
    ref_id: str
    expr: str


def panels(board: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every non-row panel of a board, including those nested in collapsed rows."""
    for panel in board.get("panels", []):
        if panel.get("type") == "row":
            yield from panels(panel)
        else:
            yield panel


def targets(board: Mapping[str, Any]) -> Iterator[PanelQuery]:
    """Every Prometheus target of a board."""
    for panel in panels(board):
        for target in panel.get("targets") or []:
            yield PanelQuery(
                board=str(board.get("uid", "")),
                panel=str(panel.get("title", "")),
                ref_id=str(target.get("refId", "")),
                expr=str(target.get("expr", "")),
            )


def annotation_queries(board: Mapping[str, Any]) -> list[str]:
    """PromQL of the board's Prometheus annotations (may rightly be empty when nothing fires)."""
    return [
        str(annotation["expr"])
        for annotation in board.get("annotations", {}).get("list", [])
        if annotation.get("expr")
    ]


def substitute(expr: str, values: Mapping[str, str] | None = None) -> str:
    """Replace `$var`, `${var}` and `[[var]]` with `values` (defaulting to `DEFAULT_VALUES`)."""
    merged = {**DEFAULT_VALUES, **(values or {})}

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in merged:
            raise KeyError(f"no value for template variable ${name} in {expr!r}")
        return merged[name]

    return _VARIABLE.sub(replace, expr)


def variable_queries(board: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Query variables as `{name: (series selector, label)}` from `label_values(series, label)`."""
    found: dict[str, tuple[str, str]] = {}
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query)
        match = _LABEL_VALUES.match(text.strip())
        if match is None:
            raise ValueError(f"variable {variable.get('name')}: unsupported query {text!r}")
        found[str(variable["name"])] = (match.group("series") or "", match.group("label"))
    return found


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects, ignoring functions, keywords and label names."""
    text = _STRING.sub(" ", expr)
    text = _BRACKETS.sub(" ", text)
    while _BRACES.search(text):
        text = _BRACES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    text = _OFFSET.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        word = match.group()
        following = text[match.end() :].lstrip()
        if following.startswith("("):  # a function call
            continue
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names
