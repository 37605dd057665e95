"""The simulated network's master data: locations, SKUs, suppliers, customers.

Built once per run from the run's random generator, so the same seed always
gives the same world. Units: money in dollars (cents precision), lead times in
days, demand weights are relative (normalised per location by `demand.py`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# code, region, kind, UTC offset in hours (drives the local daily profile)
_LOCATIONS: tuple[tuple[str, str, str, int], ...] = (
    ("DC-EAST", "US-EAST", "dc", -5),
    ("DC-WEST", "US-WEST", "dc", -8),
    ("STORE-NYC", "US-EAST", "store", -5),
    ("STORE-LA", "US-WEST", "store", -8),
    ("DC-CENTRAL", "US-CENTRAL", "dc", -6),
    ("STORE-CHI", "US-CENTRAL", "store", -6),
    ("STORE-SEA", "US-WEST", "store", -8),
    ("STORE-BOS", "US-EAST", "store", -5),
    ("DC-EU", "EU-WEST", "dc", 1),
    ("STORE-LON", "EU-WEST", "store", 0),
    ("STORE-PAR", "EU-WEST", "store", 1),
    ("STORE-BER", "EU-CENTRAL", "store", 1),
)
_CHANNELS = {"dc": (("b2b", 0.7), ("marketplace", 0.3)), "store": (("store", 0.6), ("online", 0.4))}

# id, quoted lead time (days), lead-time coefficient of variation, overseas
_SUPPLIERS: tuple[tuple[str, float, float, bool], ...] = (
    ("SUP-ACME", 4.0, 0.08, False),
    ("SUP-GLOBEX", 7.0, 0.2, False),
    ("SUP-OCEANIC", 21.0, 0.3, True),
    ("SUP-UMBRELLA", 5.0, 0.9, False),
    ("SUP-INITECH", 10.0, 0.35, False),
    ("SUP-STARK", 14.0, 0.6, True),
)
TIERS: tuple[str, ...] = ("strategic", "key", "standard")
_TIER_SHARE = (0.08, 0.22, 0.70)  # share of customers
_TIER_ORDER_WEIGHT = {"strategic": 5.0, "key": 2.5, "standard": 1.0}  # relative order frequency
CUSTOMERS_PER_REGION = 30


@dataclass(frozen=True, slots=True)
class Location:
    code: str
    region: str
    kind: str  # "dc" or "store"
    utc_offset_hours: int
    channels: tuple[str, ...]
    channel_weights: tuple[float, ...]
    line_quantity_mean: float  # units per order line of a smooth SKU
    order_scale: float  # relative order intensity (DCs busier than stores)


@dataclass(frozen=True, slots=True)
class Supplier:
    supplier_id: str
    lead_time_days: float  # quoted (promised) lead time
    lead_time_cv: float  # coefficient of variation of the actual lead time
    overseas: bool


@dataclass(frozen=True, slots=True)
class Sku:
    code: str
    sku_class: str  # "A", "B" or "C" by demand rank
    unit_cost: float  # dollars
    price: float  # list price, dollars, always above unit_cost
    supplier_id: str
    weight: float  # relative popularity among smooth SKUs
    lumpy: bool  # intermittent demand: rare, large order lines
    lumpy_factor: float  # quantity multiplier of a lumpy line
    case_pack: int  # purchase orders are multiples of this


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    region: str
    tier: str


@dataclass(frozen=True, slots=True)
class Catalog:
    locations: tuple[Location, ...]
    skus: tuple[Sku, ...]
    suppliers: dict[str, Supplier]
    customers: dict[str, tuple[Customer, ...]]  # by region
    customer_weights: dict[str, tuple[float, ...]]  # cumulative, by region


def _location(index: int) -> tuple[str, str, str, int]:
    if index < len(_LOCATIONS):
        return _LOCATIONS[index]
    _, region, _, offset = _LOCATIONS[index % len(_LOCATIONS)]
    return (f"STORE-{index + 1:03d}", region, "store", offset)


def build_locations(count: int) -> tuple[Location, ...]:
    locations = []
    for index in range(count):
        code, region, kind, offset = _location(index)
        channels = tuple(name for name, _ in _CHANNELS[kind])
        weights = tuple(weight for _, weight in _CHANNELS[kind])
        locations.append(
            Location(
                code=code,
                region=region,
                kind=kind,
                utc_offset_hours=offset,
                channels=channels,
                channel_weights=weights,
                line_quantity_mean=10.0 if kind == "dc" else 2.5,
                order_scale=1.25 if kind == "dc" else 0.75,
            )
        )
    return tuple(locations)


def build_suppliers(rng: random.Random, count: int) -> dict[str, Supplier]:
    suppliers = {}
    for index in range(count):
        if index < len(_SUPPLIERS):
            supplier_id, lead, cv, overseas = _SUPPLIERS[index]
        else:
            supplier_id = f"SUP-{index + 1:03d}"
            overseas = rng.random() < 0.3
            lead = round(rng.uniform(14, 30) if overseas else rng.uniform(3, 12), 1)
            cv = round(rng.choice((0.1, 0.25, 0.4, 0.8)), 2)
        suppliers[supplier_id] = Supplier(supplier_id, lead, cv, overseas)
    return suppliers


def build_skus(rng: random.Random, count: int, supplier_ids: list[str]) -> tuple[Sku, ...]:
    skus = []
    c_rank = 0
    for rank in range(count):
        share = rank / count
        sku_class = "A" if share < 0.2 else "B" if share < 0.5 else "C"
        lumpy = sku_class == "C" and c_rank % 3 == 1  # every third slow mover
        c_rank += sku_class == "C"
        unit_cost = round(min(900.0, max(0.5, rng.lognormvariate(math.log(18.0), 1.0))), 2)
        price = round(unit_cost * rng.uniform(1.3, 2.4), 2)
        case_pack = 1 if unit_cost > 150 else rng.choice((1, 6, 12, 24))
        skus.append(
            Sku(
                code=f"SKU-{rank + 1:05d}",
                sku_class=sku_class,
                unit_cost=unit_cost,
                price=max(price, round(unit_cost + 0.01, 2)),
                supplier_id=rng.choice(supplier_ids),
                weight=12.0 / (1 + rank) ** 0.8,
                lumpy=lumpy,
                lumpy_factor=rng.uniform(20, 60) if lumpy else 1.0,
                case_pack=case_pack,
            )
        )
    return tuple(skus)


def build_customers(
    rng: random.Random, regions: list[str]
) -> tuple[dict[str, tuple[Customer, ...]], dict[str, tuple[float, ...]]]:
    customers: dict[str, tuple[Customer, ...]] = {}
    weights: dict[str, tuple[float, ...]] = {}
    number = 0
    for region in regions:
        pool = []
        for _ in range(CUSTOMERS_PER_REGION):
            number += 1
            tier = rng.choices(TIERS, weights=_TIER_SHARE)[0]
            pool.append(Customer(f"CUST-{number:05d}", region, tier))
        customers[region] = tuple(pool)
        running, cumulative = 0.0, []
        for customer in pool:
            running += _TIER_ORDER_WEIGHT[customer.tier]
            cumulative.append(running)
        weights[region] = tuple(cumulative)
    return customers, weights


def build_catalog(rng: random.Random, locations: int, skus: int, suppliers: int) -> Catalog:
    """The world of one run; consumes `rng` in a fixed order (deterministic per seed)."""
    sites = build_locations(locations)
    supplier_map = build_suppliers(rng, suppliers)
    sku_list = build_skus(rng, skus, list(supplier_map))
    regions = sorted({site.region for site in sites})
    customers, weights = build_customers(rng, regions)
    return Catalog(sites, sku_list, supplier_map, customers, weights)
