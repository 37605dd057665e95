"""Customer orders and their fulfilment: placement, picking, dispatch, delivery.

An order is picked from on-hand stock some hours after placement. Lines that
cannot be filled wait as backorders and are retried until a few days past the
promise, so stockouts turn into partial shipments, late deliveries and the odd
cancellation. Shipments that would miss the promise are often expedited at a
premium. Units: simulated seconds, whole units, dollars (cents).
"""

from __future__ import annotations

import math

from streams.simulate import replenishment
from streams.simulate.clock import DAY, HOUR
from streams.simulate.world import Line, Order, World

TIER_DISCOUNT = {"strategic": 0.12, "key": 0.06, "standard": 0.0}
EXPEDITE_WHEN_LATE = {"strategic": 0.8, "key": 0.5, "standard": 0.15}  # probability
CANCEL_PROBABILITY = 0.02  # customer wants to cancel (too late once shipped)
SPLIT_PROBABILITY = 0.05  # multi-line order shipped in two waves
GIVE_UP_AFTER = 5 * DAY  # past the promise, unfilled backorders are dropped
DISPATCH_MEDIAN = 2 * HOUR
BACKLOG_PROBABILITY = 0.04  # warehouse backlog: dispatch a day or more later
# Standard transit time range (days) by channel: click & collect, courier, freight.
TRANSIT_DAYS = {
    "store": (0.02, 0.15),
    "online": (0.3, 1.5),
    "b2b": (0.7, 2.5),
    "marketplace": (1.0, 3.0),
}


def start(world: World) -> None:
    """Schedule the first order of every location."""
    for loc in range(len(world.catalog.locations)):
        _schedule_next(world, loc)


def _schedule_next(world: World, loc: int) -> None:
    gap = world.demand.next_arrival(
        loc, world.clock.epoch(world.t), world.rng, world.demand_multiplier(loc)
    )
    world.at(world.t + gap, place, loc)


def place(world: World, loc: int) -> None:
    """A customer order arrives at location index `loc`."""
    rng, site = world.rng, world.catalog.locations[loc]
    customers = world.catalog.customers[site.region]
    customer = rng.choices(customers, cum_weights=world.catalog.customer_weights[site.region])[0]
    channel = rng.choices(site.channels, weights=site.channel_weights)[0]
    count = world.demand.line_count(rng)
    discount = TIER_DISCOUNT[customer.tier]
    lines = []
    for number, sku in enumerate(
        world.demand.pick_skus(loc, count, rng, world.boosted_skus(loc)), start=1
    ):
        price = world.catalog.skus[sku].price * (1 - discount)
        lines.append(Line(f"L{number}", sku, world.demand.quantity(loc, sku, rng), round(price, 2)))
    # Promise: 18:00 local on the (promise_days)th day, 1 to 5 days after placement.
    promise_days = rng.randint(1, 3) if site.kind == "store" else rng.randint(3, 5)
    cutoff = (18 - site.utc_offset_hours) % 24 * HOUR
    promised = world.clock.next_time_of_day(world.t + (promise_days - 1) * DAY, cutoff)
    if promised - world.t < DAY:
        promised += DAY
    order = Order(world.new_id("SO"), loc, customer.tier, channel, promised, lines)
    world.orders[order.order_id] = order
    world.emit(
        "order.placed",
        "oms",
        order_id=order.order_id,
        location=site.code,
        customer_id=customer.customer_id,
        customer_tier=customer.tier,
        channel=channel,
        region=site.region,
        promised_at=world.iso(promised),
        lines=[
            {
                "line_id": line.line_id,
                "sku": world.catalog.skus[line.sku].code,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
            }
            for line in lines
        ],
    )
    delay = rng.lognormvariate(math.log(DISPATCH_MEDIAN), 0.8)
    if rng.random() < BACKLOG_PROBABILITY:
        delay += rng.uniform(1, 4) * DAY
    world.at(world.t + delay, fulfil, order.order_id, rng.random() < SPLIT_PROBABILITY)
    if rng.random() < CANCEL_PROBABILITY:
        world.at(world.t + rng.lognormvariate(0.0, 1.0) * HOUR, cancel, order.order_id)
    _schedule_next(world, loc)


def cancel(world: World, order_id: str) -> None:
    """The customer cancels; too late once anything has shipped."""
    order = world.orders.get(order_id)
    if order is None or order.shipped_any:
        return
    del world.orders[order_id]
    location = world.catalog.locations[order.loc].code
    world.emit("order.cancelled", "oms", order_id=order_id, location=location)


def fulfil(world: World, order_id: str, split: bool = False) -> None:
    """Pick and dispatch what stock allows; retry the rest later or give up."""
    order = world.orders.get(order_id)
    if order is None:
        return
    rng = world.rng
    open_lines = [line for line in order.lines if line.shipped < line.quantity]
    if split and len(open_lines) > 1:
        open_lines = open_lines[: len(open_lines) // 2]
    picks = []
    for line in open_lines:
        stock = world.stock[order.loc][line.sku]
        quantity = min(line.quantity - line.shipped, stock.on_hand)
        if quantity > 0:
            picks.append((line, quantity))
    if picks:
        _dispatch(world, order, picks)
    if all(line.shipped >= line.quantity for line in order.lines):
        del world.orders[order_id]
    elif world.t > order.promised_at + GIVE_UP_AFTER:
        del world.orders[order_id]
        if not order.shipped_any:
            location = world.catalog.locations[order.loc].code
            world.emit("order.cancelled", "oms", order_id=order_id, location=location)
    else:
        world.at(world.t + rng.uniform(4, 16) * HOUR, fulfil, order_id)


def _dispatch(world: World, order: Order, picks: list[tuple[Line, int]]) -> None:
    """Ship the picks (expedited at a premium if standard transit would miss the promise)."""
    rng, site = world.rng, world.catalog.locations[order.loc]
    factor = world.transit_factor(order.loc)
    transit = rng.uniform(*TRANSIT_DAYS[order.channel]) * DAY
    would_be_late = world.t + transit * factor > order.promised_at
    expedited = rng.random() < (EXPEDITE_WHEN_LATE[order.tier] if would_be_late else 0.01)
    cost = 0.0
    if expedited:
        transit = rng.uniform(0.25, 0.8) * DAY
        value = sum(line.unit_price * quantity for line, quantity in picks)
        cost = round(25.0 + 0.06 * value + rng.uniform(0.0, 40.0), 2)
    shipment_id = world.new_id("SH")
    world.emit(
        "shipment.dispatched",
        "tms",
        shipment_id=shipment_id,
        order_id=order.order_id,
        location=site.code,
        lines=[
            {
                "line_id": line.line_id,
                "sku": world.catalog.skus[line.sku].code,
                "quantity": quantity,
            }
            for line, quantity in picks
        ],
        expedited=expedited,
        expedite_cost=cost,
    )
    order.shipped_any = True
    for line, quantity in picks:
        line.shipped += quantity
        stock = world.stock[order.loc][line.sku]
        world.adjust(stock, -quantity, "pick")
        replenishment.review(world, stock)
    world.at(world.t + transit * factor, deliver, shipment_id, order.order_id, site.code)


def deliver(world: World, shipment_id: str, order_id: str, location: str) -> None:
    """The carrier reports the shipment delivered."""
    world.emit(
        "shipment.delivered", "tms", shipment_id=shipment_id, order_id=order_id, location=location
    )
