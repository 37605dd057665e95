"""The pure KPI engine: events in, samples and views out (no I/O).

`engine.KpiEngine` is the entry point. State is kept per UTC bucket of event
time (SPEC §4.1): raw events only while their bucket is open, then per-bucket
totals. The math lives in small modules:

- `windows`: durations, buckets, windows of whole buckets, covered days, periods;
- `context`: settings, derived constants and the global books;
- `walk`, `position`: a SKU-location's inventory walk in its open buckets (value
  step function, unit cost at a time, stockout episodes, COGS prices) and folding
  it into closed-bucket totals;
- `history`: a SKU-location's closed buckets (demand, dispatched units, snapshots);
- `columns`: a location's closed buckets (value integral, COGS, sales, expedite,
  stockout starts);
- `demand`: ordered quantity over time (open part, daily sums);
- `orders`, `service`: orders joined with cancellations, dispatches and
  deliveries; fill rate, line fill and OTIF populations;
- `forecast`: WAPE and MAPE over closed periods;
- `uncertainty`: lead-time statistics, safety stock, projected stockout;
- `planning`, `coverage`, `replan`: policy counts and overrides, disruptions
  and the SKU-locations they cover, time-to-replan and disruptions awaiting one;
- `counters`: the lifetime counters, facts counted as processed (only go up);
- `sku_location`, `location`: state per SKU-location and location (settling the
  recorded events in processing order);
- `closing`, `late`: closing buckets; late inventory events;
- `kpis`, `figures`, `emit`: a location's KPIs as numbers, then as samples;
- `samples`, `views`: the output types and the metric catalog;
- `pruning`: forgetting what no window can see any more;
- `checkpoint`: the blobs of a location's state and of the global part;
- `ratios`: ratios that may be absent, exact sums, spread.
"""
