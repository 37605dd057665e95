"""`generate(config)`: the simulated supply chain as a stream of event dicts.

The world is set up at the start instant (every SKU-location's opening stock,
policy and in-flight purchase orders, published as snapshots), then its agenda
runs in simulated-time order. Events come out JSON-ready (timestamps as RFC
3339 strings with offset) in non-decreasing `occurred_at`. Only
`random.Random(config.seed)` is used, and the wall clock only when
`config.start` is None, so equal configs give identical sequences.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from streams.simulate import disruptions, planning, replenishment, rollout, supply_chain
from streams.simulate.catalog import build_catalog
from streams.simulate.clock import DAY, HOUR, SimClock
from streams.simulate.config import SimulationConfig, run_tag
from streams.simulate.demand import DemandModel
from streams.simulate.world import Policy, Stock, World

EMPTY_AT_START = 0.05  # share of SKU-locations out of stock at the start (plus one per location)
RUNNING_LOW = 0.12  # share starting with at most two days of demand on hand


def build_world(config: SimulationConfig) -> World:
    """The world of a run at its start: opened, its first events waiting in `out`."""
    start = config.resolved_start()
    rng = random.Random(config.seed)
    catalog = build_catalog(rng, config.locations, config.skus, config.suppliers)
    rollout_at = config.rollout_at()
    if rollout_at is not None:
        catalog = rollout.soften(catalog)
    demand = DemandModel(catalog, config.orders_per_hour, rng)
    world = World(catalog, demand, SimClock(start), rng, run_tag(config, start))
    if rollout_at is None:
        _open(world, config)
    else:
        rollout.open_world(world, config, rollout_at)
    return world


def _open(world: World, config: SimulationConfig) -> None:
    """Opening stock, policies and in-flight POs; the first snapshots; all processes."""
    for loc in range(len(world.catalog.locations)):
        empty = world.rng.randrange(len(world.catalog.skus))  # one empty SKU per location
        world.stock.append(
            [
                _opening_stock(world, loc, sku, sku == empty)
                for sku in range(len(world.catalog.skus))
            ]
        )
    for row in world.stock:
        for stock in row:
            world.snapshot(stock)
    planning.start(world)
    supply_chain.start(world)
    replenishment.start_snapshots(world)
    replenishment.start_counts(world)
    disruptions.start(world, config.disruptions_per_week)


def _opening_stock(world: World, loc: int, sku: int, empty: bool) -> Stock:
    """One SKU-location at the start: a stale policy, some stock, maybe a PO on its way."""
    rng = world.rng
    stock = Stock(loc, sku, 0, Policy(0, 0, 0), forecast_bias=rng.uniform(0.85, 1.15))
    # Opening policies are stale: demand estimates from a quieter season.
    stock.policy = planning.recommended_policy(
        world, stock, risk=rng.uniform(0.5, 1.2), demand_bias=rng.uniform(0.4, 1.1)
    )
    lead = replenishment.actual_lead_days(world, stock)
    draw = rng.random()
    if empty or draw < EMPTY_AT_START:
        arrival = rng.uniform(0.5, 3.0) * HOUR  # an urgent PO is nearly here
    else:
        if draw < EMPTY_AT_START + RUNNING_LOW:
            daily = world.demand.mean_daily(loc, sku)
            stock.on_hand = round(daily * rng.uniform(0.2, 2.0))
        else:
            stock.on_hand = round(stock.policy.order_up_to * rng.uniform(0.2, 1.5))
        if stock.on_hand > stock.policy.reorder_point:
            return stock
        arrival = rng.uniform(0.05, 1.0) * lead * DAY  # ordered earlier, still on its way
    pack = world.catalog.skus[sku].case_pack
    quantity = math.ceil(max(stock.policy.order_up_to - stock.on_hand, 1) / pack) * pack
    replenishment.place_po(world, stock, quantity, arrival - lead * DAY, lead)
    return stock


def generate(config: SimulationConfig) -> Iterator[dict[str, Any]]:
    """Yield the run's events until `config.events` or `config.duration_seconds` is reached.

    With neither limit the stream is endless. Stopping at a duration drops
    everything after `start + duration_seconds` (simulated).
    """
    world = build_world(config)
    remaining = config.events
    horizon = config.duration_seconds
    if remaining == 0:
        return
    agenda = world.agenda
    learner = world.rollout
    while True:
        if world.out:
            batch, world.out = world.out, []
            if learner is not None:  # the rollout's planning model learns from the stream
                learner.observe(batch, world.t)
            for event in batch:
                yield event
                if remaining is not None:
                    remaining -= 1
                    if remaining == 0:
                        return
        if not agenda:
            return
        t, _, action, args = heapq.heappop(agenda)
        if horizon is not None and t > horizon:
            return
        world.t = t
        action(world, *args)


def write_jsonl(events: Iterable[dict[str, Any]], target: str | Path | IO[bytes]) -> int:
    """Write events as JSON Lines (UTF-8) to a path or binary stream; returns the count."""
    if isinstance(target, str | Path):
        with Path(target).open("wb") as stream:
            return write_jsonl(events, stream)
    written = 0
    for event in events:
        target.write(orjson.dumps(event) + b"\n")
        written += 1
    return written
