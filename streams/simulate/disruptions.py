"""Disruptions: reported, felt by the world while active, then resolved.

Reports arrive as a Poisson process (`disruptions_per_week`); every run also
gets a minor, short one within its first hours so short runs exercise both
disruption events. While active: supplier delays and port closures lengthen
new purchase orders' lead times and hold receipts; transport and weather slow
deliveries and hold receipts at the locations they cover; quality holds block
receipts of the SKUs; demand spikes multiply order arrivals and favour their
SKUs. Unreported flash spikes add demand surprises. Every report triggers
quick re-plans of some covered SKU-locations. Units: simulated seconds, days
for `expected_delay_days`.
"""

from __future__ import annotations

from typing import get_args

from streams.events.models import DisruptionKind
from streams.simulate import planning
from streams.simulate.clock import DAY, HOUR
from streams.simulate.world import Disruption, World

KINDS: tuple[str, ...] = get_args(DisruptionKind)
KIND_WEIGHTS = (0.28, 0.2, 0.08, 0.14, 0.1, 0.14, 0.06)
SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_WEIGHTS = (0.35, 0.35, 0.2, 0.1)
# Duration range (hours) and supplier delay range (days) by severity.
DURATION_HOURS = {"low": (2, 12), "medium": (12, 48), "high": (48, 120), "critical": (96, 240)}
DELAY_DAYS = {"low": (1, 2), "medium": (2, 5), "high": (5, 10), "critical": (10, 21)}
REPLAN_HOURS = {
    "low": (2.0, 12.0),
    "medium": (1.0, 6.0),
    "high": (0.5, 3.0),
    "critical": (0.2, 1.5),
}
MAX_REPLANS = 12
FLASH_SPIKES_PER_DAY = 0.5


def start(world: World, per_week: float) -> None:
    """The early minor disruption, the random reports and the unreported flash spikes."""
    rng = world.rng
    world.at(world.t + rng.uniform(0.25, 1.25) * HOUR, report, "minor")
    if per_week > 0:
        world.at(world.t + rng.expovariate(per_week / (7 * DAY)), arrivals, per_week)
    world.at(world.t + rng.expovariate(FLASH_SPIKES_PER_DAY / DAY), flash_spike)


def arrivals(world: World, per_week: float) -> None:
    """One random report; the next follows after an exponential gap (mean 7 d / per_week)."""
    report(world, "random")
    world.at(world.t + world.rng.expovariate(per_week / (7 * DAY)), arrivals, per_week)


def _skus_of(world: World, supplier_id: str) -> set[int]:
    return {i for i, sku in enumerate(world.catalog.skus) if sku.supplier_id == supplier_id}


def _targets(world: World, kind: str) -> tuple[str | None, set[int], set[int]]:
    """(supplier_id, location indexes, SKU indexes) a new disruption of `kind` covers."""
    rng, catalog = world.rng, world.catalog
    all_locations = range(len(catalog.locations))
    if kind in ("supplier_delay", "port_closure"):
        # Only suppliers that supply something: an empty SKU list would mean "every SKU".
        supplying = [s for s in catalog.suppliers.values() if _skus_of(world, s.supplier_id)]
        overseas = [s for s in supplying if s.overseas]
        supplier = rng.choice(overseas if kind == "port_closure" and overseas else supplying)
        skus = _skus_of(world, supplier.supplier_id)
        if kind == "port_closure" or rng.random() < 0.5:
            return supplier.supplier_id, set(), skus  # every location
        some = set(rng.sample(all_locations, rng.randint(1, len(all_locations))))
        return supplier.supplier_id, some, skus
    if kind == "weather":
        region = rng.choice(catalog.locations).region
        return None, {i for i, site in enumerate(catalog.locations) if site.region == region}, set()
    loc = rng.randrange(len(catalog.locations))
    if kind in ("quality_hold", "demand_spike"):
        count = min(len(catalog.skus), rng.randint(1, 4))
        return None, {loc}, set(rng.sample(range(len(catalog.skus)), count))
    return None, {loc}, set()


def report(world: World, how: str) -> None:
    """A new disruption; `how` is "minor" (the early one of every run) or "random"."""
    rng, catalog = world.rng, world.catalog
    if how == "minor":
        kind, severity = rng.choice(("transport", "weather", "other")), "low"
        duration = rng.uniform(0.5, 1.5) * HOUR
    else:
        kind = rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
        severity = rng.choices(SEVERITIES, weights=SEVERITY_WEIGHTS)[0]
        duration = rng.uniform(*DURATION_HOURS[severity]) * HOUR
    supplier_id, locations, skus = _targets(world, kind)
    if supplier_id:  # extra lead time of new purchase orders
        delay = round(rng.uniform(*DELAY_DAYS[severity]), 1)
    else:  # how long the disruption is expected to last
        delay = round(duration / DAY * rng.uniform(0.8, 1.25), 1)
    factor = {
        "demand_spike": rng.uniform(2.0, 4.0),
        "transport": rng.uniform(1.5, 3.0),
        "weather": rng.uniform(1.3, 2.5),
    }.get(kind, 1.0)
    disruption = Disruption(
        world.new_id("DIS"),
        kind,
        severity,
        world.t + duration,
        supplier_id,
        frozenset(locations),
        frozenset(skus),
        delay if supplier_id else 0.0,
        factor,
    )
    world.disruptions[disruption.disruption_id] = disruption
    codes = sorted(catalog.locations[i].code for i in locations)
    sku_codes = sorted(catalog.skus[i].code for i in skus)
    fields: dict[str, object] = {"supplier_id": supplier_id} if supplier_id else {}
    if kind in ("supplier_delay", "port_closure", "transport", "weather"):
        fields["expected_delay_days"] = delay
    where = ", ".join(codes) or "all locations"
    world.emit(
        "disruption.reported",
        "risk-feed",
        disruption_id=disruption.disruption_id,
        kind=kind,
        severity=severity,
        **fields,
        locations=codes,
        skus=sku_codes,
        description=f"{severity} {kind.replace('_', ' ')} at {where}"
        + (f" (supplier {supplier_id})" if supplier_id else ""),
    )
    world.at(disruption.ends_at, resolve, disruption.disruption_id)
    _replan(world, disruption)


def _replan(world: World, disruption: Disruption) -> None:
    """Schedule quick re-plans (hours, sooner when severe) of up to 12 covered SKU-locations."""
    rng = world.rng
    covered = [
        stock
        for row in world.stock
        for stock in row
        if disruption.covers(stock.loc, stock.sku)
        and (
            not disruption.supplier_id
            or world.catalog.skus[stock.sku].supplier_id == disruption.supplier_id
        )
    ]
    if disruption.severity == "low" and disruption.kind != "other" and rng.random() < 0.3:
        return  # not worth a re-plan
    risk = {"low": 1.0, "medium": 1.15, "high": 1.3, "critical": 1.5}[disruption.severity]
    for stock in rng.sample(covered, min(MAX_REPLANS, len(covered))):
        when = world.t + rng.uniform(*REPLAN_HOURS[disruption.severity]) * HOUR
        world.at(when, planning.recommend, stock, True, risk)


def resolve(world: World, disruption_id: str) -> None:
    """The disruption ends; reported ones publish their resolution."""
    disruption = world.disruptions.pop(disruption_id, None)
    if disruption is not None and disruption.reported:
        world.emit("disruption.resolved", "risk-feed", disruption_id=disruption_id)


def flash_spike(world: World) -> None:
    """An unreported burst of demand at one location for a few hours."""
    rng = world.rng
    loc = rng.randrange(len(world.catalog.locations))
    spike = Disruption(
        world.new_id("FLASH"),
        "demand_spike",
        "low",
        world.t + rng.uniform(1, 6) * HOUR,
        locations=frozenset({loc}),
        factor=rng.uniform(2.0, 3.5),
        reported=False,
    )
    world.disruptions[spike.disruption_id] = spike
    world.at(spike.ends_at, resolve, spike.disruption_id)
    world.at(world.t + rng.expovariate(FLASH_SPIKES_PER_DAY / DAY), flash_spike)
