"""Alert rules as configuration: pydantic models of the rules file and its loader.

A rules file is YAML: `version: 1` and a list of `rules`, each with a `kind`
(the condition it evaluates), an `alertname`, a `severity` with optional
`escalations`, a `scope`, thresholds (`threshold` fires, `clear_threshold`
resolves: hysteresis), `for_seconds` (minimum duration) and `cooldown_seconds`.
`load_rules(None)` loads the shipped `alerts/default_rules.yaml`. A bad file
fails at start with one message naming the file, the rule and the field.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

Severity = Literal["info", "warning", "critical"]
SkuClass = Literal["A", "B", "C"]
CustomerTier = Literal["strategic", "key", "standard"]
DisruptionSeverity = Literal["low", "medium", "high", "critical"]

AlertName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
Window = Annotated[str, Field(pattern=r"^[1-9][0-9]*[smhdw]$")]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]

SKU_KINDS = frozenset({"stockout", "projected_stockout"})


class RulesError(ValueError):
    """A rules file that cannot be used; the message names file, rule and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    """Which conditions a rule looks at; an omitted list means all."""

    locations: list[str] | None = None
    sku_classes: list[SkuClass] | None = None
    customer_tiers: list[CustomerTier] | None = None


class Escalation(_Strict):
    """A higher severity when every condition given here holds."""

    severity: Severity
    sku_classes: list[SkuClass] | None = None
    strategic_open_orders: bool | None = None
    disruption_severities: list[DisruptionSeverity] | None = None

    @model_validator(mode="after")
    def _has_condition(self) -> Self:
        if (
            self.sku_classes is None
            and self.strategic_open_orders is None
            and self.disruption_severities is None
        ):
            raise ValueError(
                "an escalation needs sku_classes, strategic_open_orders or disruption_severities"
            )
        return self


class RuleBase(_Strict):
    id: str | None = Field(default=None, description="unique id; default alertname.kind[.window]")
    alertname: AlertName
    enabled: bool = True
    severity: Severity = "warning"
    escalations: list[Escalation] = Field(default_factory=list)
    scope: Scope = Field(default_factory=Scope)
    for_seconds: Seconds = 0.0
    cooldown_seconds: Seconds = 0.0
    runbook: str | None = Field(default=None, description="path under runbook_base_url")

    @property
    def kind_name(self) -> str:
        return str(getattr(self, "kind", ""))

    @property
    def rule_id(self) -> str:
        if self.id:
            return self.id
        window = getattr(self, "window", None)
        return ".".join(part for part in (self.alertname, self.kind_name, window) if part)

    @property
    def event_based(self) -> bool:
        """True when conditions come from single events, so absence does not clear them."""
        return False

    @model_validator(mode="after")
    def _scope_fits_kind(self) -> Self:
        kind = self.kind_name
        if self.scope.sku_classes is not None and kind not in SKU_KINDS:
            raise ValueError(f"scope.sku_classes applies only to {sorted(SKU_KINDS)} rules")
        tiers = self.scope.customer_tiers
        if tiers is not None and (kind not in SKU_KINDS or set(tiers) != {"strategic"}):
            raise ValueError(
                "scope.customer_tiers can only be [strategic], on stockout and"
                " projected_stockout rules (SKU-locations with open strategic orders);"
                " service KPIs are evaluated per location"
            )
        for escalation in self.escalations:
            sku_level = escalation.sku_classes is not None or escalation.strategic_open_orders
            if sku_level and kind not in SKU_KINDS:
                raise ValueError("sku_classes/strategic_open_orders escalations need a SKU rule")
            if escalation.disruption_severities is not None and kind != "disruption":
                raise ValueError("disruption_severities escalations need a disruption rule")
        return self


class StockoutRule(RuleBase):
    """A SKU-location is stocked out; resolves once on_hand exceeds `clear_threshold` units."""

    kind: Literal["stockout"]
    clear_threshold: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0


class ProjectedStockoutRule(RuleBase):
    """Time to the projected stockout <= `threshold` times lead time, stock still on hand."""

    kind: Literal["projected_stockout"]
    threshold: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    clear_threshold: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _hysteresis(self) -> Self:
        if self.clear_threshold is not None and self.clear_threshold < self.threshold:
            raise ValueError("clear_threshold must be >= threshold (the alert clears above it)")
        return self


class _AboveRule(RuleBase):
    window: Window = "7d"
    threshold: Finite
    clear_threshold: Finite | None = None

    @model_validator(mode="after")
    def _hysteresis(self) -> Self:
        if self.clear_threshold is not None and self.clear_threshold > self.threshold:
            raise ValueError("clear_threshold must be <= threshold (the alert clears below it)")
        return self


class ExpediteCostRule(_AboveRule):
    """Expedite cost ÷ sales in the window above `threshold` (a ratio, 0.05 = 5 %)."""

    kind: Literal["expedite_cost_ratio"]


class ExpediteSingleRule(RuleBase):
    """One dispatch whose expedite cost exceeds `threshold` dollars."""

    kind: Literal["expedite_single"]
    threshold: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    resolve_after_seconds: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 86400.0

    @property
    def event_based(self) -> bool:
        return True


class WorkingCapitalRule(RuleBase):
    """Working capital at risk above a share of inventory value and/or an amount."""

    kind: Literal["working_capital_at_risk"]
    window: Window = "30d"
    threshold: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    clear_threshold: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    amount_threshold: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    amount_clear_threshold: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _thresholds(self) -> Self:
        if self.threshold is None and self.amount_threshold is None:
            raise ValueError("set threshold (share of inventory value) and/or amount_threshold")
        pairs = (
            (self.threshold, self.clear_threshold, "clear_threshold"),
            (self.amount_threshold, self.amount_clear_threshold, "amount_clear_threshold"),
        )
        for fire, clear, name in pairs:
            if clear is not None and (fire is None or clear > fire):
                raise ValueError(f"{name} needs its threshold and must not exceed it")
        return self


def _high_and_critical() -> list[DisruptionSeverity]:
    return ["high", "critical"]


class DisruptionRule(RuleBase):
    """A disruption of a listed severity is active; resolves when it is resolved."""

    kind: Literal["disruption"]
    disruption_severities: list[DisruptionSeverity] = Field(
        default_factory=_high_and_critical, min_length=1
    )
    threshold: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        default=0.0, description="minimum inventory value at risk ($) to alert"
    )


class ServiceRule(RuleBase):
    """A service KPI (fill rate, OTIF) below `threshold`; clears at `clear_threshold`."""

    kind: Literal["fill_rate", "otif"]
    window: Window = "7d"
    threshold: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    clear_threshold: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _hysteresis(self) -> Self:
        if self.clear_threshold is not None and self.clear_threshold < self.threshold:
            raise ValueError("clear_threshold must be >= threshold (the alert clears above it)")
        return self


Rule = Annotated[
    StockoutRule
    | ProjectedStockoutRule
    | ExpediteCostRule
    | ExpediteSingleRule
    | WorkingCapitalRule
    | DisruptionRule
    | ServiceRule,
    Field(discriminator="kind"),
]


class RuleSet(_Strict):
    """Every rule of one file; `active` are the enabled ones."""

    version: Literal[1] = 1
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.rule_id in seen:
                raise ValueError(
                    f"two rules have the id {rule.rule_id!r}: give one of them a distinct `id`"
                )
            seen.add(rule.rule_id)
        return self

    @property
    def active(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.enabled]

    def by_id(self) -> dict[str, Rule]:
        return {rule.rule_id: rule for rule in self.active}

    def windows(self) -> set[str]:
        """The KPI windows the rules read (each must be a configured KPI window)."""
        return {w for rule in self.active if (w := getattr(rule, "window", None)) is not None}

    def check_windows(self, available: list[str]) -> None:
        """Fail when a rule reads a KPI window the engine does not compute."""
        missing = sorted(self.windows() - set(available))
        if missing:
            raise RulesError(f"alert rules read windows {missing} not in KPI windows {available}")


DEFAULT_RULES = "default_rules.yaml"


def _describe(error: ErrorDetails, raw: Any) -> str:
    loc = list(error.get("loc", ()))
    message = str(error.get("msg", "invalid"))
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        index = loc[1]
        rule = raw["rules"][index] if isinstance(raw, dict) else None
        name = rule.get("alertname", "?") if isinstance(rule, dict) else "?"
        rest = loc[2:]
        if rest and isinstance(rule, dict) and rest[0] == rule.get("kind"):
            rest = rest[1:]  # the discriminator tag pydantic puts in the path
        if error.get("type") in {"union_tag_invalid", "union_tag_not_found"}:
            rest = ["kind"]
        field = ".".join(str(part) for part in rest) or "<rule>"
        return f"rule #{index + 1} ({name}), field '{field}': {message}"
    field = ".".join(str(part) for part in loc) or "<file>"
    return f"field '{field}': {message}"


def parse_rules(text: str, source: str) -> RuleSet:
    """Validate rules given as YAML text; `source` names them in errors."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RulesError(f"alert rules {source}: not valid YAML: {error}") from None
    if raw is None:
        raw = {}
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as error:
        details = "; ".join(_describe(e, raw) for e in error.errors(include_url=False))
        raise RulesError(f"alert rules {source}: {details}") from None


def load_rules(path: Path | None = None) -> RuleSet:
    """Load and validate a rules file (None: the shipped defaults)."""
    if path is None:
        text = resources.files("alerts").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
        return parse_rules(text, f"<shipped {DEFAULT_RULES}>")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RulesError(f"alert rules {path}: cannot read: {error.strerror}") from None
    return parse_rules(text, str(path))


_WINDOW = re.compile(r"^([1-9][0-9]*)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def window_seconds(window: str) -> float:
    """`7d` → 604800.0."""
    match = _WINDOW.match(window)
    if match is None:
        raise ValueError(f"not a window: {window!r}")
    return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
