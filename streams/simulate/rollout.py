"""The `adaptive-rollout` scenario: planners' blanket buffers, then the model's, side by side.

It stages the leaders' question (SPEC §4.3): is adaptive planning working? The
run is split in two by simulated time at `rollout_at` (by default half of the
run):

- **First half, blanket buffers.** Every SKU-location runs on the planners'
  rule of thumb: a safety stock of `BLANKET_COVER_DAYS` days of mean demand
  for every SKU alike, reorder point = mean demand x quoted lead time + that
  buffer, order-up-to a week of demand above it. A few minutes in, planners
  apply it to every SKU-location (`policy.applied` without a
  recommendation_id), so all are in the `planner` cohort from the start. The
  nightly planning run (01:00 UTC) still publishes `policy.recommended`
  (model `planning.POLICY_MODEL`) for a sample of `REVIEW_SHARE` of them, and
  planners override every one back to the blanket rule (`policy.overridden`,
  then `policy.applied` naming the overridden recommendation: `planner`).
- **Second half, rollout.** At `rollout_at` a planning run recommends, for a
  `rollout_share` of SKU-locations drawn by seed (`model_cohort`), per-SKU
  buffers sized from live variability, and each is applied as recommended
  (`policy.applied` naming a recommendation nobody overrode: the `model`
  cohort); nightly runs re-plan a sample of them the same way. The other
  SKU-locations stay on the blanket rule (`planner` cohort): their
  recommendations keep being overridden.

The model learns from the event stream as a real planning system would
(`Rollout.observe` sees every published event): per SKU-location the mean d
and standard deviation sd_d of daily ordered units over the whole days so far
(days without orders count as 0), per supplier the mean LT and standard
deviation sd_LT of the lead times of received purchase orders (receipt time -
ordered_at), never below the supplier's quote (receipts seen so far miss the
late purchase orders still out). Its policy, as `planning.recommended_policy`
but from those live figures: safety stock z * sqrt(LT * sd_d² + d² * sd_LT²)
with z = `MODEL_Z`, reorder point d * LT + safety stock, order-up-to a week of
demand above. With less than `MIN_HISTORY_DAYS` of history or
`MIN_LEAD_SAMPLES` receipts it falls back to the catalogue's figures.

The blanket rule is generous (three weeks of cover: no stockouts to speak of)
but blind to variability. The model keeps as much or a little more where
supply is long and uncertain (21 to 25 days of cover for a 21-day overseas
lead time of CV 0.3) and far less for steady SKUs from reliable suppliers (2
to 3 days for a 4-day lead time of CV 0.08). So the model cohort's second
half shows turns up (less average inventory for the same sales), fill rate
flat (at 100 %) and no more stockouts (none), while the planner cohort, the
control group, stays put. Measured with the plain-Python KPIs of
`tests/unit/simulate/test_sim_rollout.py` over 28-day halves: model-cohort
turns +36 % for seed 1 of the default 4 x 25 world (20 or 60 orders an hour),
+10 % to +42 % over seeds 1-12, planner cohort within ±7 %. Stock bought
under the old rule keeps arriving for a lead time after the rollout and
on-hand falls no faster than demand, so the gain shows in full only with
halves longer than the longest lead time: with 14-day halves it is about a
quarter of it (+8 % for seed 1) and not certain for every seed.

Differences from the `steady` world, so that the policy is the only thing that
changes between the halves (measured: otherwise single events of one half,
not the policy, decide the comparison):
- no disruptions at all (no reports, no flash demand spikes) and so no
  disruption re-plans: one critical supplier delay in one half swamps it;
- suppliers' lead-time CV is capped at `MAX_LEAD_TIME_CV` (0.5; the steady
  world's most erratic supplier has 0.9): with the heavier lognormal tail, the
  on-hand of a few high-value SKU-locations swings by tens of percent from
  one fortnight to the next whatever the policy;
- no lumpy (intermittent) SKUs, every C-class SKU has smooth demand: a handful
  of very large order lines a week turns each half's stockout count into a
  lottery;
- no stale opening policies and no SKU-location empty at the start: the world
  opens near the blanket rule's steady state (on-hand between the buffer and a
  week of demand above it, the purchase orders of the coming lead time on
  their way), so the first half is not a recovery from a bad start;
- no planners' manual changes outside the planning runs.
Forecasts, orders, fulfilment, replenishment, counts and snapshots are as in
`steady`. Units: simulated seconds; policies in whole units; days where named.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from streams.simulate import planning, replenishment, supply_chain
from streams.simulate.catalog import Catalog
from streams.simulate.clock import DAY, HOUR
from streams.simulate.config import SimulationConfig
from streams.simulate.world import Policy, Stock, World

BLANKET_COVER_DAYS = 21.0  # the planners' safety stock, in days of mean demand, for every SKU
# The model's service factor. High on purpose: the formula treats lead time as normal, the
# simulated lead times are lognormal (a heavier right tail), and the model aims at (almost)
# no stockouts, as the planners' rule achieves with its generous buffer.
MODEL_Z = 3.5
MIN_HISTORY_DAYS = 3  # whole days of demand before the model trusts its own estimate
MIN_LEAD_SAMPLES = 3  # receipts of a supplier before the model trusts its lead-time estimate
MAX_LEAD_TIME_CV = 0.5  # suppliers' lead-time variability is capped at this CV (see above)
REVIEW_SHARE = 0.06  # of SKU-locations the nightly planning run re-plans
BLANKET_REASON = f"blanket rule: {BLANKET_COVER_DAYS:g} days of cover for every SKU"


@dataclass(slots=True)
class Moments:
    """Running count, sum and sum of squares of a series."""

    count: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.squares += value * value

    def mean_and_deviation(self, count: int | None = None) -> tuple[float, float]:
        """Mean and population standard deviation (over `count` values, the rest being 0)."""
        n = self.count if count is None else count
        mean = self.total / n
        return mean, math.sqrt(max(0.0, self.squares / n - mean * mean))


@dataclass
class Rollout:
    """The scenario's state: when the model takes over, for whom, and what it has seen."""

    at: float  # simulated seconds
    model: frozenset[tuple[int, int]]  # (location index, SKU index) of the model cohort
    skus: int  # SKUs per location
    loc_index: dict[str, int]
    sku_index: dict[str, int]
    start_epoch: float
    rolled_out: bool = False
    day: int = 0  # the day (since the start) whose orders `today` collects
    today: dict[int, float] = field(default_factory=dict)  # loc * skus + sku -> units
    daily: dict[int, Moments] = field(default_factory=dict)  # of the whole days before `day`
    leads: dict[str, Moments] = field(default_factory=dict)  # supplier -> lead times (days)

    def in_model(self, stock: Stock) -> bool:
        """Whether the model sets this SKU-location's policy now."""
        return self.rolled_out and (stock.loc, stock.sku) in self.model

    def observe(self, events: list[dict[str, Any]], t: float) -> None:
        """Learn from published events: ordered units per day, lead times of receipts."""
        for event in events:
            kind = event["event_type"]
            if kind == "order.placed":
                self._close_days(int(t // DAY))
                base = self.loc_index[event["location"]] * self.skus
                for line in event["lines"]:
                    index = base + self.sku_index[line["sku"]]
                    self.today[index] = self.today.get(index, 0.0) + line["quantity"]
            elif kind == "inbound.received":
                ordered = datetime.fromisoformat(event["ordered_at"]).timestamp()
                lead = (t - (ordered - self.start_epoch)) / DAY
                self.leads.setdefault(event["supplier_id"], Moments()).add(lead)

    def _close_days(self, day: int) -> None:
        """Fold the collected day into the statistics once `day` has begun."""
        if day > self.day:
            for index, units in self.today.items():
                self.daily.setdefault(index, Moments()).add(units)
            self.today.clear()
            self.day = day

    def demand(self, stock: Stock, t: float) -> tuple[float, float] | None:
        """(mean, standard deviation) of daily ordered units over the whole days before t."""
        days = int(t // DAY)
        if days < MIN_HISTORY_DAYS:
            return None
        self._close_days(days)
        moments = self.daily.get(stock.loc * self.skus + stock.sku, Moments())
        return moments.mean_and_deviation(days)  # days without orders count as 0

    def lead_time(self, supplier_id: str) -> tuple[float, float] | None:
        """(mean, standard deviation) of the supplier's observed lead times, days."""
        moments = self.leads.get(supplier_id)
        if moments is None or moments.count < MIN_LEAD_SAMPLES:
            return None
        return moments.mean_and_deviation()


def soften(catalog: Catalog) -> Catalog:
    """The catalogue with lead-time CVs capped at MAX_LEAD_TIME_CV and no lumpy SKUs."""
    suppliers = {
        key: replace(supplier, lead_time_cv=min(supplier.lead_time_cv, MAX_LEAD_TIME_CV))
        for key, supplier in catalog.suppliers.items()
    }
    skus = tuple(replace(sku, lumpy=False, lumpy_factor=1.0) for sku in catalog.skus)
    return replace(catalog, suppliers=suppliers, skus=skus)


def model_cohort(config: SimulationConfig) -> frozenset[tuple[int, int]]:
    """The SKU-locations the model takes over: `rollout_share` of them, drawn by seed."""
    everyone = [(loc, sku) for loc in range(config.locations) for sku in range(config.skus)]
    count = round(config.rollout_share * len(everyone))
    return frozenset(random.Random(f"rollout-{config.seed}").sample(everyone, count))


def blanket_policy(world: World, stock: Stock) -> Policy:
    """The planners' rule: the same days of cover as buffer for every SKU, quoted lead time."""
    sku = world.catalog.skus[stock.sku]
    lead = world.catalog.suppliers[sku.supplier_id].lead_time_days
    d = world.demand.mean_daily(stock.loc, stock.sku)
    safety = BLANKET_COVER_DAYS * d
    reorder = d * lead + safety
    return Policy(
        math.ceil(safety), math.ceil(reorder), math.ceil(reorder + d * planning.REVIEW_DAYS)
    )


def model_policy(world: World, stock: Stock) -> Policy:
    """The model's per-SKU policy from live demand and lead-time variability."""
    rollout = _state(world)
    sku = world.catalog.skus[stock.sku]
    supplier = world.catalog.suppliers[sku.supplier_id]
    demand = rollout.demand(stock, world.t)
    if demand is None:  # the catalogue's prior, as planning.recommended_policy
        d = world.demand.mean_daily(stock.loc, stock.sku)
        sigma_d = d * (2.0 if sku.lumpy else 0.5)
    else:
        d, sigma_d = demand
    # Receipts seen so far under-represent the long lead times (those POs are still out):
    # never assume a supplier better than its own quote.
    lead, sigma_lead = supplier.lead_time_days, supplier.lead_time_days * supplier.lead_time_cv
    observed = rollout.lead_time(sku.supplier_id)
    if observed is not None:
        lead, sigma_lead = max(lead, observed[0]), max(sigma_lead, observed[1])
    safety = MODEL_Z * math.sqrt(lead * sigma_d**2 + d**2 * sigma_lead**2)
    reorder = d * lead + safety
    return Policy(
        math.ceil(safety), math.ceil(reorder), math.ceil(reorder + d * planning.REVIEW_DAYS)
    )


def _state(world: World) -> Rollout:
    if world.rollout is None:
        raise RuntimeError("not an adaptive-rollout world")
    return world.rollout


def open_world(world: World, config: SimulationConfig, at: float) -> None:
    """Opening stock near the blanket steady state, the first snapshots, all processes."""
    world.rollout = Rollout(
        at=at,
        model=model_cohort(config),
        skus=len(world.catalog.skus),
        loc_index={site.code: i for i, site in enumerate(world.catalog.locations)},
        sku_index={sku.code: i for i, sku in enumerate(world.catalog.skus)},
        start_epoch=world.clock.start_epoch,
    )
    for loc in range(len(world.catalog.locations)):
        world.stock.append([_opening_stock(world, loc, sku) for sku in range(config.skus)])
    for row in world.stock:
        for stock in row:
            world.snapshot(stock)
    planning.publish_forecasts(world, world.t, world.clock.day_start(world.t) + DAY)
    hour = planning.FORECAST_HOUR_UTC * HOUR
    world.at(world.clock.next_time_of_day(world.t, hour), planning.forecast_cycle)
    world.at(world.t + world.rng.uniform(5, 20) * 60, _planners_apply_blanket)
    hour = planning.PLANNING_HOUR_UTC * HOUR
    world.at(world.clock.next_time_of_day(world.t, hour), nightly_plan)
    world.at(at, roll_out)
    supply_chain.start(world)
    replenishment.start_snapshots(world)
    replenishment.start_counts(world)


def _opening_stock(world: World, loc: int, sku: int) -> Stock:
    """On-hand between the buffer and a week above it; the coming lead time's POs on their way."""
    rng = world.rng
    stock = Stock(loc, sku, 0, Policy(0, 0, 0), forecast_bias=rng.uniform(0.85, 1.15))
    stock.policy = blanket_policy(world, stock)
    d = world.demand.mean_daily(loc, sku)
    cycle = max(1, stock.policy.order_up_to - stock.policy.reorder_point)  # units a PO brings
    share = rng.random()
    stock.on_hand = round(stock.policy.safety_stock + share * cycle)
    pack = world.catalog.skus[sku].case_pack
    quantity = math.ceil(cycle / pack) * pack
    quoted = world.catalog.suppliers[world.catalog.skus[sku].supplier_id].lead_time_days
    arrival = share * cycle / max(d, 1e-9)  # days until the buffer is reached
    while arrival < quoted:  # one PO per cycle of the coming lead time, as a steady state has
        lead = max(arrival, replenishment.actual_lead_days(world, stock))  # ordered by now
        replenishment.place_po(world, stock, quantity, (arrival - lead) * DAY, lead)
        arrival += quantity / max(d, 1e-9)
    return stock


def _planners_apply_blanket(world: World) -> None:
    """Planners put every SKU-location on the blanket rule (no recommendation behind it)."""
    rollout = _state(world)
    for row in world.stock:
        for stock in row:
            if not rollout.in_model(stock):  # a rollout at the very start came first
                planning.apply(world, stock, blanket_policy(world, stock), None)


def nightly_plan(world: World) -> None:
    """The nightly run: recommendations for a sample; the model's own cohort follows them."""
    rollout = _state(world)
    for row in world.stock:
        for stock in row:
            if world.rng.random() < REVIEW_SHARE:
                _recommend(world, stock, follow=rollout.in_model(stock))
    world.at(world.t + DAY, nightly_plan)


def roll_out(world: World) -> None:
    """The rollout planning run: the model's policy for every SKU-location of its cohort."""
    rollout = _state(world)
    rollout.rolled_out = True
    for row in world.stock:
        for stock in row:
            if rollout.in_model(stock):
                _recommend(world, stock, follow=True)


def _recommend(world: World, stock: Stock, follow: bool) -> None:
    """Publish the model's recommendation; applied as is (`follow`) or overridden by a planner."""
    policy = model_policy(world, stock)
    recommendation_id = planning.publish_recommendation(world, stock, policy)
    if follow:
        wait = world.rng.uniform(0.02, 0.5) * HOUR
        world.at(world.t + wait, planning.apply, stock, policy, recommendation_id)
    else:
        world.at(world.t + world.rng.uniform(0.5, 4.0) * HOUR, _override, stock, recommendation_id)


def _override(world: World, stock: Stock, recommendation_id: str) -> None:
    """A planner overrides the recommendation with the blanket rule, then applies that."""
    if _state(world).in_model(stock):
        return  # the rollout took this SKU-location over meanwhile: the review lapses
    policy = blanket_policy(world, stock)
    world.emit(
        "policy.overridden",
        "planning",
        recommendation_id=recommendation_id,
        **world.where(stock),
        planner_id=world.rng.choice(planning.PLANNERS),
        policy=policy.as_dict(),
        reason=BLANKET_REASON,
    )
    world.at(
        world.t + world.rng.uniform(0.05, 1.0) * HOUR,
        _apply_override,
        stock,
        policy,
        recommendation_id,
    )


def _apply_override(world: World, stock: Stock, policy: Policy, recommendation_id: str) -> None:
    if not _state(world).in_model(stock):
        planning.apply(world, stock, policy, recommendation_id)
