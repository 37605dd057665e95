"""The Redis key layout, in one place.

All keys start with the configured prefix (default `kpimon:`). What is kept
grows with SKU-locations, time buckets and the orders in the window, not with
the number of events (SPEC §4.1).

- `offsets` (hash): `topic:partition` → last Kafka offset applied, stored with
  the state in the same atomic step.
- `log` (stream): the events applied since the KPI state's last checkpoint, one
  entry per applied batch that stored anything (`streams.store.log`). The entry
  id's millisecond part is the ingest time (Redis's clock). Field `i`: msgpack
  array of the batch's valid event_ids, in batch order; field `s` (only when
  needed): the comma-separated 0-based indexes into `i` of the events NOT
  stored (redeliveries, duplicates, conflicts), which readers skip. The KPI
  process trims the entries a checkpoint covers.
- `log:{entry id}` (string): msgpack array of the same valid events' original
  JSON payloads, in the same order as `i` (kept out of the stream so the apply
  script never copies them; see `apply_batch.lua`).
- `log:staging` (string): the payloads of the batch being applied; exists only
  inside the MULTI that applies it.
- `ids:{slot key}` (hash): the dedup set, `slots` hashes per UTC event day
  (slot key = day * slots + fingerprint mod slots): event_id fingerprint →
  digest of the payload stored (`records.payload_digest`); the same id with
  another digest is a conflict. `dedup:clock` (hash): `day`, the latest event day
  stored, and `pruned`, the latest day deleted: a day's hashes go once the clock
  is a dedup horizon past it (event time: a backfill deduplicates like live data).
  `ids` (hash) is the set of an earlier version, read while it lasts.
- `dead_letters:pending` (hash): `topic:partition:offset` -> stored digest, of
  each conflicting duplicate the apply script refused, until the worker has
  sent it to the dead-letter topic (see `apply_batch.lua`).
- `counters` (hash): `events_total|topic|event_type`,
  `events_invalid_total|topic|reason`, `events_duplicate_total|topic`,
  `events_late_total|topic` (too old to deduplicate: dropped by the worker),
  `alerts_sent_total|channel|outcome`, `kpi_location_errors_total|reason`.
- `state:meta` (hash), `state:manifest` (hash), `state:global:{v}`,
  `state:loc:{v}:{location}` (strings): the KPI state's checkpoint
  (`streams.store.checkpoints`).
- `kpi:snapshot` (string): JSON of the KPI samples the worker computed last.
- `worker:status` (string): JSON of consumer lag and the worker's heartbeat.
- `alerts:*`: alert state and delivery outbox (see `alerts/store.py`).
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
    def ids_clock(self) -> str:
        return f"{self.prefix}dedup:clock"

    @property
    def ids_slot_prefix(self) -> str:
        """The dedup hashes are this prefix followed by their slot key."""
        return f"{self.prefix}ids:"

    @property
    def state_meta(self) -> str:
        return f"{self.prefix}state:meta"

    @property
    def state_manifest(self) -> str:
        return f"{self.prefix}state:manifest"

    def state_global(self, version: int) -> str:
        return f"{self.prefix}state:global:{version}"

    def state_location(self, version: int, location: str) -> str:
        return f"{self.prefix}state:loc:{version}:{location}"

    @property
    def state_location_pattern(self) -> str:
        return f"{self.prefix}state:loc:*"

    @property
    def state_global_pattern(self) -> str:
        return f"{self.prefix}state:global:*"

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
