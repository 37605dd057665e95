"""The Redis key layout, in one place.

All keys start with the configured prefix (default `kpimon:`).

- `offsets` (hash): `topic:partition` → last Kafka offset applied, stored with
  the state in the same atomic step.
- `log` (stream): the event log the KPIs are rebuilt from, one entry per
  applied batch that stored anything. The entry id's millisecond part is the
  ingest time (Redis's clock). Field `i`: msgpack array of the batch's valid
  event_ids, in batch order; field `s` (only when needed): the comma-separated
  0-based indexes into `i` of the events NOT stored (redeliveries and
  duplicates), which readers skip.
- `log:{entry id}` (string): msgpack array of the same valid events' original
  JSON payloads, in the same order as `i` (kept out of the stream so the apply
  script never copies them; see `apply_batch.lua`).
- `log:staging` (string): the payloads of the batch being applied; exists only
  inside the MULTI that applies it.
- `ids` (hash): every stored `event_id` (all locations together) -> the digest
  of the payload stored (`records.payload_digest`), the idempotency check; the
  same id with another digest is a conflict. An id leaves with the log entry
  that stored it.
- `dead_letters:pending` (hash): `topic:partition:offset` -> stored digest, of
  each conflicting duplicate the apply script refused, until the worker has
  sent it to the dead-letter topic (see `apply_batch.lua`).
- `counters` (hash): `events_total|topic|event_type`,
  `events_invalid_total|topic|reason`, `events_duplicate_total|topic`,
  `alerts_sent_total|channel|outcome`.
- `kpi:snapshot` (string): JSON of the KPI samples the worker computed last.
- `worker:status` (string): JSON of consumer lag and the worker's heartbeat.
- `alerts:*`: alert state and delivery outbox (see `alerts/store.py`).

Retention is by ingest time: `RedisKpiStore.prune(before)` drops the log
entries ingested before `before` with their payload keys and the ids they
stored, atomically per entry, so an event and its idempotency entry leave
together. Ingest time is never earlier than event time for a producer with a
sane clock, so this keeps at least what an event-time horizon of the same
length would keep.
"""

from __future__ import annotations

from dataclasses import dataclass

FIELD_SEPARATOR = "|"


@dataclass(frozen=True)
class KeyLayout:
    prefix: str = "kpimon:"

    @property
    def offsets(self) -> str:
        return f"{self.prefix}offsets"

    @property
    def log(self) -> str:
        return f"{self.prefix}log"

    def log_payloads(self, entry_id: str) -> str:
        return f"{self.prefix}log:{entry_id}"

    @property
    def log_staging(self) -> str:
        return f"{self.prefix}log:staging"

    @property
    def ids(self) -> str:
        return f"{self.prefix}ids"

    @property
    def dead_letters_pending(self) -> str:
        return f"{self.prefix}dead_letters:pending"

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
