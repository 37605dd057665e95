"""The planning system: daily forecasts and replenishment-policy changes.

Forecasts: every evening (22:00 UTC) a model publishes tomorrow's demand per
SKU-location (period = the UTC day; at the start, the rest of the current day):
the expected demand times a persistent per-SKU-location bias and lognormal
noise, so forecast error is real. Some forecasts are revised (re-published for
the same period, by a second model) shortly before the period starts.

Policies: a nightly planning run (01:00 UTC) recommends new policies for a
sample of SKU-locations; disruptions trigger quicker re-plans of what they
cover. Planners override some recommendations (more often after disruptions)
and apply most; applied policies drive replenishment. Units: simulated
seconds; forecast quantities and policies in whole units.
"""

from __future__ import annotations

import math

from streams.simulate import replenishment
from streams.simulate.clock import DAY, HOUR
from streams.simulate.world import Policy, Stock, World

FORECAST_MODEL = "demand-lgbm-v4"
REVISION_MODEL = "demand-ensemble-v2"
POLICY_MODEL = "policy-ai-v2"
FORECAST_HOUR_UTC = 22
PLANNING_HOUR_UTC = 1
REVISION_PROBABILITY = 0.12
ROUTINE_SHARE = 0.06  # of SKU-locations re-planned each night
STARTUP_SHARE = 0.3  # of SKU-locations re-planned by the catch-up run at start
Z = 1.65  # ~95 % cycle service
REVIEW_DAYS = 7.0
PLANNERS = tuple(f"PLN-{n:02d}" for n in range(1, 7))
OVERRIDE_REASONS = (
    "promotion planned next week",
    "supplier reliability worse than the model assumes",
    "shelf space limit",
    "customer commitment for a strategic account",
    "disruption: protect service until resolved",
    "working capital target this quarter",
)


def start(world: World) -> None:
    """Forecasts for the rest of today now, a first planning pass soon, then nightly cycles."""
    publish_forecasts(world, world.t, world.clock.day_start(world.t) + DAY)
    world.at(world.t + world.rng.uniform(5, 20) * 60, plan, STARTUP_SHARE, False)
    world.at(world.clock.next_time_of_day(world.t, FORECAST_HOUR_UTC * HOUR), forecast_cycle)
    world.at(world.clock.next_time_of_day(world.t, PLANNING_HOUR_UTC * HOUR), plan, ROUTINE_SHARE)


def _forecast(world: World, stock: Stock, period: tuple[float, float], noise: float) -> float:
    """Expected demand of the period x the model's bias x lognormal noise, whole units."""
    start, end = (world.clock.epoch(t) for t in period)
    expected = world.demand.expected(stock.loc, stock.sku, start, end)
    draw = world.rng.lognormvariate(-(noise**2) / 2, noise)
    return float(round(expected * stock.forecast_bias * draw))


def _publish(
    world: World, stock: Stock, period: tuple[float, float], noise: float, model: str
) -> None:
    world.emit(
        "forecast.published",
        "planning",
        **world.where(stock),
        period_start=world.iso(period[0]),
        period_end=world.iso(period[1]),
        quantity=_forecast(world, stock, period, noise),
        model=model,
    )


def publish_forecasts(world: World, period_start: float, period_end: float) -> None:
    """Every SKU-location's forecast of [period_start, period_end); some get revised later."""
    period = (period_start, period_end)
    for row in world.stock:
        for stock in row:
            _publish(world, stock, period, 0.25, FORECAST_MODEL)
            if world.rng.random() < REVISION_PROBABILITY:
                when = max(world.t, period_start - world.rng.uniform(0.1, 1.5) * HOUR)
                world.at(when, _publish, stock, period, 0.12, REVISION_MODEL)


def forecast_cycle(world: World) -> None:
    """Tomorrow's forecasts (the next UTC day); schedules the next cycle."""
    tomorrow = world.clock.day_start(world.t) + DAY
    publish_forecasts(world, tomorrow, tomorrow + DAY)
    world.at(world.t + DAY, forecast_cycle)


def recommended_policy(
    world: World, stock: Stock, risk: float = 1.0, demand_bias: float = 1.0
) -> Policy:
    """Safety stock z·sqrt(LT·sd_d² + d²·sd_LT²), reorder point d·LT + SS, order-up-to + a week.

    `risk` scales the safety stock; `demand_bias` the demand estimate (stale policies).
    """
    sku = world.catalog.skus[stock.sku]
    supplier = world.catalog.suppliers[sku.supplier_id]
    d = demand_bias * world.demand.mean_daily(stock.loc, stock.sku)
    sigma_d = d * (2.0 if sku.lumpy else 0.5)
    lead = supplier.lead_time_days + world.supplier_delay_days(sku.supplier_id, stock.loc)
    sigma_lead = supplier.lead_time_days * supplier.lead_time_cv
    safety = Z * risk * math.sqrt(lead * sigma_d**2 + d**2 * sigma_lead**2)
    reorder = d * lead + safety
    return Policy(math.ceil(safety), math.ceil(reorder), math.ceil(reorder + d * REVIEW_DAYS))


def plan(world: World, share: float, repeat: bool = True) -> None:
    """A planning run over a random `share` of SKU-locations (nightly when `repeat`)."""
    rng = world.rng
    for row in world.stock:
        for stock in row:
            if rng.random() < share:
                recommend(world, stock, disrupted=False)
            elif rng.random() < 0.003:  # a planner's manual change, no recommendation
                policy = recommended_policy(world, stock, rng.uniform(0.8, 1.3))
                world.at(world.t + rng.uniform(1, 10) * HOUR, apply, stock, policy, None)
    if repeat:
        world.at(world.t + DAY, plan, share)


def publish_recommendation(world: World, stock: Stock, policy: Policy) -> str:
    """Publish the model's `policy.recommended` for the SKU-location; its recommendation id."""
    recommendation_id = world.new_id("REC")
    world.emit(
        "policy.recommended",
        "planning",
        recommendation_id=recommendation_id,
        **world.where(stock),
        policy=policy.as_dict(),
        model=POLICY_MODEL,
    )
    return recommendation_id


def recommend(world: World, stock: Stock, disrupted: bool, risk: float = 1.0) -> None:
    """Publish a recommendation; a planner decides on it within hours (sooner if disrupted)."""
    policy = recommended_policy(world, stock, risk)
    recommendation_id = publish_recommendation(world, stock, policy)
    wait = world.rng.uniform(0.1, 1.0) if disrupted else world.rng.uniform(0.5, 4.0)
    world.at(world.t + wait * HOUR, decide, stock, recommendation_id, policy, disrupted)


def decide(
    world: World, stock: Stock, recommendation_id: str, policy: Policy, disrupted: bool
) -> None:
    """A planner reviews a recommendation: override it, apply it, or let it lapse."""
    rng = world.rng
    override = 0.35 if disrupted else 0.18
    draw = rng.random()
    if draw < override:
        factor = rng.choice((0.7, 0.8, 1.2, 1.3, 1.5))
        chosen = Policy(*(math.ceil(v * factor) for v in policy.as_dict().values()))
        world.emit(
            "policy.overridden",
            "planning",
            recommendation_id=recommendation_id,
            **world.where(stock),
            planner_id=rng.choice(PLANNERS),
            policy=chosen.as_dict(),
            reason=rng.choice(OVERRIDE_REASONS),
        )
        world.at(world.t + rng.uniform(0.05, 1.0) * HOUR, apply, stock, chosen, recommendation_id)
    elif draw < override + (1 - override) * 0.85:
        world.at(world.t + rng.uniform(0.02, 0.5) * HOUR, apply, stock, policy, recommendation_id)


def apply(world: World, stock: Stock, policy: Policy, recommendation_id: str | None) -> None:
    """The policy takes effect: published, then used by replenishment from now on."""
    fields = {"recommendation_id": recommendation_id} if recommendation_id else {}
    world.emit(
        "policy.applied", "planning", **world.where(stock), policy=policy.as_dict(), **fields
    )
    stock.policy = policy
    replenishment.review(world, stock)
