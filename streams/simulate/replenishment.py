"""Stock keeping: reorder-point replenishment, receipts, counts and snapshots.

A SKU-location reorders from its supplier when its inventory position
(on_hand + on_order + in_transit) falls to the reorder point, up to its
order-up-to level in case packs. The actual lead time is the supplier's quoted
one times lognormal noise of the supplier's CV, lengthened by active supplier
disruptions; receipts blocked by a disruption wait until it is resolved. The
warehouse publishes a full snapshot of every location daily and the odd
cycle-count or damage adjustment. Units: simulated seconds, whole units.
"""

from __future__ import annotations

import math

from streams.simulate.clock import DAY, HOUR
from streams.simulate.world import PurchaseOrder, Stock, World

SNAPSHOT_LOCAL_HOUR = 2  # each location's WMS publishes its snapshot at 02:00 local
COUNTS_PER_LOCATION_DAY = 6.0  # cycle-count and damage adjustments


def review(world: World, stock: Stock) -> None:
    """Raise a purchase order when the position is at or below the reorder point."""
    position = stock.on_hand + stock.on_order + stock.in_transit
    if position > stock.policy.reorder_point:
        return
    pack = world.catalog.skus[stock.sku].case_pack
    quantity = math.ceil(max(stock.policy.order_up_to - position, 1) / pack) * pack
    place_po(world, stock, quantity, world.t)


def actual_lead_days(world: World, stock: Stock) -> float:
    """A sampled supplier lead time in days (quoted x lognormal noise + disruption delay)."""
    sku = world.catalog.skus[stock.sku]
    supplier = world.catalog.suppliers[sku.supplier_id]
    sigma = math.sqrt(math.log(1 + supplier.lead_time_cv**2))
    noise = world.rng.lognormvariate(math.log(0.93), sigma)  # median 0.93 of quoted
    extra = world.supplier_delay_days(sku.supplier_id, stock.loc) * world.rng.uniform(0.5, 1.0)
    return max(0.5, supplier.lead_time_days * noise) + extra


def place_po(
    world: World, stock: Stock, quantity: int, ordered_at: float, lead_days: float | None = None
) -> None:
    """Order `quantity` from the SKU's supplier at `ordered_at` (may be before the start)."""
    supplier = world.catalog.suppliers[world.catalog.skus[stock.sku].supplier_id]
    lead = (lead_days if lead_days is not None else actual_lead_days(world, stock)) * DAY
    po = PurchaseOrder(
        world.new_id("PO"),
        stock.loc,
        stock.sku,
        quantity,
        ordered_at,
        ordered_at + supplier.lead_time_days * DAY,
    )
    ship_at = ordered_at + 0.6 * lead
    if ship_at <= world.t:
        po.shipped = True
        stock.in_transit += quantity
    else:
        stock.on_order += quantity
        world.at(ship_at, supplier_ships, po)
    world.at(ordered_at + lead, receive, po)


def supplier_ships(world: World, po: PurchaseOrder) -> None:
    """The supplier ships: the PO's units move from on_order to in_transit (no event)."""
    if not po.shipped:
        po.shipped = True
        stock = world.stock[po.loc][po.sku]
        stock.on_order -= po.quantity
        stock.in_transit += po.quantity


def receive(world: World, po: PurchaseOrder) -> None:
    """The goods arrive, unless a disruption holds them; then stock goes up."""
    hold = world.receipt_hold_until(po)
    if hold is not None and hold > world.t:
        world.at(hold + world.rng.uniform(2, 24) * HOUR, receive, po)
        return
    supplier_ships(world, po)
    stock = world.stock[po.loc][po.sku]
    stock.in_transit -= po.quantity
    sku = world.catalog.skus[po.sku]
    world.emit(
        "inbound.received",
        "erp",
        po_id=po.po_id,
        supplier_id=sku.supplier_id,
        sku=sku.code,
        location=world.catalog.locations[po.loc].code,
        quantity=po.quantity,
        ordered_at=world.iso(po.ordered_at),
        promised_at=world.iso(po.promised_at),
    )
    world.adjust(stock, po.quantity, "receipt")


def snapshots(world: World, loc: int) -> None:
    """The location's daily full snapshot; schedules the next one."""
    for stock in world.stock[loc]:
        world.snapshot(stock)
    world.at(world.t + DAY, snapshots, loc)


def start_snapshots(world: World) -> None:
    """Schedule each location's first daily snapshot (02:00 local, a minute apart)."""
    for loc, site in enumerate(world.catalog.locations):
        utc_seconds = ((SNAPSHOT_LOCAL_HOUR - site.utc_offset_hours) % 24) * HOUR + loc * 60.0
        world.at(world.clock.next_time_of_day(world.t + 1.0, utc_seconds), snapshots, loc)


def count(world: World) -> None:
    """A cycle count or a damage write-off somewhere; schedules the next one."""
    rng = world.rng
    stock = rng.choice(world.stock[rng.randrange(len(world.stock))])
    if rng.random() < 0.7:
        delta = rng.choice((-3, -2, -1, -1, 1, 1, 2, 3))
        reason = "cycle_count"
    else:
        delta, reason = -rng.randint(1, 4), "damage"
    if world.adjust(stock, delta, reason) < 0:
        review(world, stock)
    start_counts(world)


def start_counts(world: World) -> None:
    """Schedule the next count/damage adjustment (about 6 per location and day)."""
    rate = COUNTS_PER_LOCATION_DAY * len(world.stock) / DAY
    world.at(world.t + world.rng.expovariate(rate), count)
