"""The pure KPI engine: events in, samples and views out (no I/O).

`engine.KpiEngine` is the entry point. The math lives in small modules:

- `windows`: durations, trailing event-time windows, demand days, periods;
- `position`, `walk`: a SKU-location's inventory walk (value step function,
  unit cost at a time, stockout episodes, COGS prices);
- `demand`: ordered quantity over time (expected demand, daily buckets,
  forecast actuals);
- `orders`, `service`: orders joined with cancellations, dispatches and
  deliveries; fill rate, line fill and OTIF populations;
- `forecast`: WAPE and MAPE over closed periods;
- `uncertainty`: lead-time statistics, safety stock, projected stockout;
- `planning`, `coverage`, `replan`: policy counts and overrides, disruptions
  and the SKU-locations they cover, time-to-replan and disruptions awaiting one;
- `counters`: the lifetime counters, facts counted as processed (only go up);
- `sku_location`, `location`: recorded state per SKU-location and location;
- `kpis`, `figures`, `emit`: a location's KPIs as numbers, then as samples;
- `samples`, `views`: the output types and the metric catalog;
- `pruning`: forgetting what no window can see any more;
- `ratios`: ratios that may be absent, exact sums, spread.
"""
