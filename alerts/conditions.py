"""From the KPI engine's views to observations: one function per rule kind.

Each function reads plain views (Protocols in `alerts.views`, re-exported
here) and a rule, and returns the observations the evaluator consumes.
Conditions past their clear threshold are left out: for a partition that was
evaluated, an unobserved condition is a cleared one. Annotations are built
only for firing observations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from alerts.links import Links
from alerts.model import SEVERITY_RANK, Observation, isoformat
from alerts.rules import (
    DisruptionRule,
    ExpediteCostRule,
    ExpediteSingleRule,
    ProjectedStockoutRule,
    Rule,
    RuleBase,
    ServiceRule,
    StockoutRule,
    WorkingCapitalRule,
)
from alerts.views import DispatchView, DisruptionView, KpiSource, SkuLocationView

__all__ = [
    "DispatchView",
    "DisruptionView",
    "KpiSource",
    "SkuLocationView",
    "disruption_observations",
    "expedite_ratio_observations",
    "expedite_single_observations",
    "observe_location",
    "observe_network",
    "projected_stockout_observations",
    "service_observations",
    "severity_for",
    "stockout_observations",
    "working_capital_observations",
]

NETWORK = ""  # partition of network-wide conditions (disruptions)
KpiLookup = Callable[[str, str], Mapping[str, float]]
MAX_LISTED = 10


def severity_for(
    rule: RuleBase,
    *,
    sku_class: str | None = None,
    strategic: bool | None = None,
    disruption_severity: str | None = None,
) -> str:
    """The rule's severity raised by the highest escalation whose conditions all hold."""
    best = rule.severity
    for esc in rule.escalations:
        if esc.sku_classes is not None and sku_class not in esc.sku_classes:
            continue
        if esc.strategic_open_orders is not None and bool(strategic) != esc.strategic_open_orders:
            continue
        if (
            esc.disruption_severities is not None
            and disruption_severity not in esc.disruption_severities
        ):
            continue
        if SEVERITY_RANK[esc.severity] > SEVERITY_RANK[best]:
            best = esc.severity
    return best


def _links(rule: RuleBase, links: Links, locations: Iterable[str]) -> dict[str, str]:
    return {
        "runbook_url": links.runbook_url(rule.alertname, rule.runbook),
        "dashboard_url": links.dashboard_url(locations),
    }


def _in_location_scope(rule: RuleBase, location: str) -> bool:
    return rule.scope.locations is None or location in rule.scope.locations


def _in_sku_scope(rule: RuleBase, view: SkuLocationView) -> bool:
    scope = rule.scope
    if not _in_location_scope(rule, view.location):
        return False
    if scope.sku_classes is not None and view.sku_class not in scope.sku_classes:
        return False
    return scope.customer_tiers is None or view.has_open_strategic_orders


def _fmt(number: float) -> str:
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def _sku_detail(view: SkuLocationView) -> str:
    parts = [
        f"on hand {_fmt(view.on_hand)}",
        f"in transit {_fmt(view.in_transit)}",
        f"expected demand {_fmt(view.expected_daily_demand)}/day",
        f"lead time {_fmt(view.lead_time_days)} days",
        f"safety stock {_fmt(view.safety_stock)}",
        f"class {view.sku_class or 'unclassified'}",
    ]
    if view.has_open_strategic_orders:
        parts.append("open orders of strategic customers")
    return "; ".join(parts)


def _sku_observation(
    rule: RuleBase,
    view: SkuLocationView,
    firing: bool,
    links: Links,
    text: Callable[[], dict[str, str]],
    value: float | None,
    since: float | None = None,
) -> Observation:
    annotations: dict[str, str] | None = None
    if firing:
        annotations = {**text(), **_links(rule, links, [view.location])}
    return Observation(
        rule_id=rule.rule_id,
        alertname=rule.alertname,
        identity={"location": view.location, "sku": view.sku},
        severity=severity_for(
            rule, sku_class=view.sku_class, strategic=view.has_open_strategic_orders
        ),
        firing=firing,
        cleared=False,
        partition=view.location,
        annotations=annotations,
        value=value,
        since=since,
    )


def stockout_observations(
    rule: StockoutRule, views: Iterable[SkuLocationView], links: Links
) -> list[Observation]:
    """Stocked out now, or not yet restocked above `clear_threshold` units."""
    out: list[Observation] = []
    for view in views:
        if not _in_sku_scope(rule, view):
            continue
        if not view.stocked_out and view.on_hand > rule.clear_threshold:
            continue
        started = view.stockout_started_at

        def text(view: SkuLocationView = view, started: float | None = started) -> dict[str, str]:
            since = isoformat(started) if started is not None else "unknown"
            return {
                "summary": f"SKU {view.sku} is out of stock at {view.location}",
                "description": f"Stocked out since {since}: {_sku_detail(view)}.",
                "sku_class": view.sku_class or "",
                "on_hand": _fmt(view.on_hand),
            }

        out.append(
            _sku_observation(rule, view, view.stocked_out, links, text, view.on_hand, started)
        )
    return out


def _cover_ratio(view: SkuLocationView) -> float | None:
    """Time to the projected stockout as a multiple of the lead time.

    The projection runs from the location's watermark, so the time to it is the
    days of cover; None without a projection (no demand) or without a lead time.
    """
    if view.projected_stockout_at is None or view.days_of_cover is None:
        return None
    if view.lead_time_days <= 0:
        return None
    return view.days_of_cover / view.lead_time_days


def projected_stockout_observations(
    rule: ProjectedStockoutRule, views: Iterable[SkuLocationView], links: Links
) -> list[Observation]:
    """Stock on hand that runs out within `threshold` times the replenishment lead time."""
    clear = rule.clear_threshold if rule.clear_threshold is not None else rule.threshold
    out: list[Observation] = []
    for view in views:
        if not _in_sku_scope(rule, view) or view.stocked_out or view.on_hand <= 0:
            continue
        ratio = _cover_ratio(view)
        if ratio is None or ratio > clear:
            continue
        firing = ratio <= rule.threshold

        def text(view: SkuLocationView = view) -> dict[str, str]:
            at = isoformat(view.projected_stockout_at or 0.0)
            lead = _fmt(view.lead_time_days)
            return {
                "summary": (
                    f"SKU {view.sku} at {view.location} is projected to stock out at {at}, "
                    f"inside its {lead}-day lead time"
                ),
                "description": (
                    f"{_fmt(view.days_of_cover or 0.0)} days of cover against a lead time of "
                    f"{lead} days: {_sku_detail(view)}. Replenish, expedite or reallocate now."
                ),
                "projected_stockout_at": at,
                "sku_class": view.sku_class or "",
            }

        out.append(_sku_observation(rule, view, firing, links, text, ratio))
    return out


def _location_observation(
    rule: RuleBase,
    location: str,
    value: float,
    firing: bool,
    links: Links,
    summary: str,
    description: str,
    window: str,
) -> Observation:
    annotations = None
    if firing:
        annotations = {"summary": summary, "description": description, "value": _fmt(value)}
        annotations.update(_links(rule, links, [location]))
    return Observation(
        rule_id=rule.rule_id,
        alertname=rule.alertname,
        identity={"location": location, "window": window},
        severity=rule.severity,
        firing=firing,
        cleared=False,
        partition=location,
        annotations=annotations,
        value=value,
    )


def expedite_ratio_observations(
    rule: ExpediteCostRule, location: str, kpis: Mapping[str, float], links: Links
) -> list[Observation]:
    """Expedite cost ÷ sales above the threshold; absent KPI (no sales) clears."""
    ratio = kpis.get("expedite_cost_sales")
    clear = rule.clear_threshold if rule.clear_threshold is not None else rule.threshold
    if ratio is None or not _in_location_scope(rule, location) or ratio <= clear:
        return []
    return [
        _location_observation(
            rule,
            location,
            ratio,
            ratio > rule.threshold,
            links,
            summary=f"Expedite cost is {ratio:.1%} of sales at {location} ({rule.window})",
            description=(
                f"Expedite premiums reached {ratio:.2%} of sales over the last {rule.window}, "
                f"above the {rule.threshold:.1%} threshold (clears at {clear:.1%})."
            ),
            window=rule.window,
        )
    ]


def working_capital_observations(
    rule: WorkingCapitalRule, location: str, kpis: Mapping[str, float], links: Links
) -> list[Observation]:
    """Working capital at risk above an amount or a share of inventory value."""
    amount = kpis.get("working_capital_at_risk")
    if amount is None or not _in_location_scope(rule, location):
        return []
    total = kpis.get("inventory_value")
    share = amount / total if total else None
    fires: list[bool] = []
    holds: list[bool] = []
    if rule.threshold is not None and share is not None:
        clear = rule.clear_threshold if rule.clear_threshold is not None else rule.threshold
        fires.append(share > rule.threshold)
        holds.append(share > clear)
    if rule.amount_threshold is not None:
        clear_amount = (
            rule.amount_clear_threshold
            if rule.amount_clear_threshold is not None
            else rule.amount_threshold
        )
        fires.append(amount > rule.amount_threshold)
        holds.append(amount > clear_amount)
    if not any(holds):
        return []
    share_text = f" ({share:.0%} of inventory value)" if share is not None else ""
    return [
        _location_observation(
            rule,
            location,
            amount,
            any(fires),
            links,
            summary=f"${amount:,.0f} of working capital at risk at {location}{share_text}",
            description=(
                f"Inventory exposed to demand or supply volatility or an active disruption "
                f"is worth ${amount:,.0f}{share_text} ({rule.window} volatility window)."
            ),
            window=rule.window,
        )
    ]


_SERVICE_KPI = {"fill_rate": ("fill_rate", "Fill rate"), "otif": ("otif", "OTIF")}


def service_observations(
    rule: ServiceRule, location: str, kpis: Mapping[str, float], links: Links
) -> list[Observation]:
    """A service KPI below target; absent (no orders due) clears."""
    key, label = _SERVICE_KPI[rule.kind]
    clear = rule.clear_threshold if rule.clear_threshold is not None else rule.threshold
    value = kpis.get(key)
    if value is None or value >= clear or not _in_location_scope(rule, location):
        return []
    return [
        _location_observation(
            rule,
            location,
            value,
            value < rule.threshold,
            links,
            summary=f"{label} {value:.1%} at {location} ({rule.window}) is below target",
            description=(
                f"{label} over orders due in the last {rule.window} is {value:.2%}, "
                f"below the {rule.threshold:.1%} target (clears at {clear:.1%})."
            ),
            window=rule.window,
        )
    ]


def expedite_single_observations(
    rule: ExpediteSingleRule, dispatches: Iterable[DispatchView], links: Links
) -> list[Observation]:
    """Every dispatch whose expedite premium alone exceeds the amount."""
    out: list[Observation] = []
    for event in dispatches:
        if event.expedite_cost <= rule.threshold or not _in_location_scope(rule, event.location):
            continue
        cost = event.expedite_cost
        annotations = {
            "summary": f"${cost:,.0f} expedite on shipment {event.shipment_id} at {event.location}",
            "description": (
                f"Shipment {event.shipment_id} of order {event.order_id} paid ${cost:,.2f} of "
                f"expedite premium, above the ${rule.threshold:,.0f} limit for one dispatch."
            ),
            "order_id": event.order_id,
            "value": _fmt(cost),
            **_links(rule, links, [event.location]),
        }
        out.append(
            Observation(
                rule_id=rule.rule_id,
                alertname=rule.alertname,
                identity={"location": event.location, "shipment_id": event.shipment_id},
                severity=rule.severity,
                firing=True,
                cleared=False,
                partition=event.location,
                annotations=annotations,
                value=cost,
                since=event.occurred_at.timestamp(),
            )
        )
    return out


def _listing(pairs: Sequence[tuple[str, str]]) -> str:
    shown = ", ".join(f"{loc}/{sku}" for loc, sku in pairs[:MAX_LISTED])
    more = f" and {len(pairs) - MAX_LISTED} more" if len(pairs) > MAX_LISTED else ""
    return f"{len(pairs)}" + (f" ({shown}{more})" if pairs else "")


def _at_risk_locations(item: DisruptionView) -> list[str]:
    """Where the disruption puts SKU-locations at risk, else the locations it names.

    Coverage is the engine's (SPEC §4): every filter of the disruption must match,
    so a supplier delay covers only that supplier's SKU-locations. A resolved
    disruption covers nothing any more: its named locations are all there is.
    """
    covered = sorted({location for location, _sku in item.covered})
    return covered or sorted(item.locations)


def _disruption_text(item: DisruptionView, rule: DisruptionRule, links: Links) -> dict[str, str]:
    locations = sorted(item.locations)
    where = ", ".join(locations) if locations else "all locations"
    supplier = f", supplier {item.supplier_id}" if item.supplier_id else ""
    delay = ""
    if item.expected_delay_days is not None:
        delay = f", expected delay {_fmt(item.expected_delay_days)} days"
    reported = item.description.strip().rstrip(".")
    lead = f"{reported}. " if reported else ""
    return {
        "summary": (
            f"{item.severity.capitalize()} {item.kind} disruption {item.disruption_id}: "
            f"${item.value_at_risk:,.0f} of inventory at risk"
        ),
        "description": (
            f"{lead}Reported {isoformat(item.reported_at)} at {where}{supplier}{delay}. "
            f"Inventory value at risk ${item.value_at_risk:,.0f}; "
            f"SKU-locations at risk: {_listing(item.covered)}; "
            f"projected stockouts: {_listing(item.projected_stockouts)}."
        ),
        "value_at_risk": _fmt(item.value_at_risk),
        "sku_locations_at_risk": str(len(item.covered)),
        "projected_stockouts": str(len(item.projected_stockouts)),
        **_links(rule, links, _at_risk_locations(item)),
    }


def disruption_observations(
    rule: DisruptionRule, disruptions: Iterable[DisruptionView], links: Links
) -> list[Observation]:
    """Active disruptions of the listed severities; resolved ones clear at `resolved_at`.

    Enriched with the engine's coverage: the inventory value and the SKU-locations a
    disruption covers (every filter it carries must match). A rule scoped to some
    locations sees a disruption that names one of them or covers SKU-locations at
    one of them. Labels come from what the disruption names only, so they stay
    stable while its coverage changes.
    """
    out: list[Observation] = []
    for item in disruptions:
        if item.severity not in rule.disruption_severities:
            continue
        locations = sorted(item.locations)
        scoped = rule.scope.locations
        where = _at_risk_locations(item)
        if scoped is not None and where and not set(where) & set(scoped):
            continue
        resolved = item.resolved_at is not None
        firing = not resolved and item.value_at_risk >= rule.threshold
        if not resolved and not firing:
            continue
        extra = {"disruption_kind": item.kind, "disruption_severity": item.severity}
        if item.supplier_id:
            extra["supplier_id"] = item.supplier_id
        if len(locations) == 1:
            extra["location"] = locations[0]
        annotations = _disruption_text(item, rule, links) if firing else None
        out.append(
            Observation(
                rule_id=rule.rule_id,
                alertname=rule.alertname,
                identity={"disruption_id": item.disruption_id},
                severity=severity_for(rule, disruption_severity=item.severity),
                firing=firing,
                cleared=resolved,
                partition=NETWORK,
                extra_labels=extra,
                annotations=annotations,
                value=item.value_at_risk,
                since=item.reported_at,
                ended_at=item.resolved_at,
            )
        )
    return out


def observe_location(
    rules: Iterable[Rule],
    location: str,
    views: Sequence[SkuLocationView],
    kpis: KpiLookup,
    links: Links,
    dispatches: Sequence[DispatchView] = (),
) -> list[Observation]:
    """Every observation of one location: its SKU-locations, KPIs and dispatches."""
    out: list[Observation] = []
    for rule in rules:
        if isinstance(rule, StockoutRule):
            out.extend(stockout_observations(rule, views, links))
        elif isinstance(rule, ProjectedStockoutRule):
            out.extend(projected_stockout_observations(rule, views, links))
        elif isinstance(rule, ExpediteSingleRule):
            out.extend(expedite_single_observations(rule, dispatches, links))
        elif isinstance(rule, ExpediteCostRule):
            out.extend(
                expedite_ratio_observations(rule, location, kpis(location, rule.window), links)
            )
        elif isinstance(rule, WorkingCapitalRule):
            out.extend(
                working_capital_observations(rule, location, kpis(location, rule.window), links)
            )
        elif isinstance(rule, ServiceRule):
            out.extend(service_observations(rule, location, kpis(location, rule.window), links))
    return out


def observe_network(
    rules: Iterable[Rule], disruptions: Iterable[DisruptionView], links: Links
) -> list[Observation]:
    """Every network-wide observation (partition `NETWORK`): the disruptions."""
    items = list(disruptions)
    out: list[Observation] = []
    for rule in rules:
        if isinstance(rule, DisruptionRule):
            out.extend(disruption_observations(rule, items, links))
    return out
