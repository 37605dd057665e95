"""The Redis key layout, in one place.

All keys start with the configured prefix (default `kpimon:`).

- `offsets` (hash): `topic:partition` → last Kafka offset applied, stored with
  the state in the same atomic step.
- `locations` (set): every location code with stored events.
- `events:{location}` (hash): `event_id` → the event's original JSON bytes; the
  event log the KPIs are computed from, and the idempotency check.
- `event_times:{location}` (sorted set): `event_id` scored by `occurred_at`
  (epoch s), for pruning.
- `network_events`, `network_event_times`: the same for events without a
  location (disruptions).
- `counters` (hash): `events_total|topic|event_type`,
  `events_invalid_total|topic|reason`, `events_duplicate_total|topic`,
  `alerts_sent_total|channel|outcome`.
- `kpi:snapshot` (string): JSON of the KPI samples the worker computed last.
- `worker:status` (string): JSON of consumer lag and the worker's heartbeat.
- `alerts:*`: alert state and delivery outbox (see `alerts/store.py`).

Events expire from `events:*` once they fall behind the retention horizon of
their location (the longest window or the obsolete-stock horizon, whichever is
longer); every per-location key also carries a TTL of that length, renewed on
each write, so an abandoned location does not hold memory for ever.
"""

from __future__ import annotations

from dataclasses import dataclass

NETWORK = ""  # the "location" of events that have none (disruptions)
FIELD_SEPARATOR = "|"


@dataclass(frozen=True)
class KeyLayout:
    prefix: str = "kpimon:"

    @property
    def offsets(self) -> str:
        return f"{self.prefix}offsets"

    @property
    def locations(self) -> str:
        return f"{self.prefix}locations"

    def events(self, location: str) -> str:
        if location == NETWORK:
            return f"{self.prefix}network_events"
        return f"{self.prefix}events:{location}"

    def event_times(self, location: str) -> str:
        if location == NETWORK:
            return f"{self.prefix}network_event_times"
        return f"{self.prefix}event_times:{location}"

    @property
    def counters(self) -> str:
        return f"{self.prefix}counters"

    @property
    def snapshot(self) -> str:
        return f"{self.prefix}kpi:snapshot"

    @property
    def worker_status(self) -> str:
        return f"{self.prefix}worker:status"


def counter_field(name: str, *labels: str) -> str:
    return FIELD_SEPARATOR.join((name, *labels))


def parse_counter_field(field: str) -> tuple[str, tuple[str, ...]]:
    name, *labels = field.split(FIELD_SEPARATOR)
    return name, tuple(labels)
