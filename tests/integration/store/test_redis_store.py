"""The batch apply, event log and pruning of `RedisKpiStore` in the real Redis."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from streams.store.log import READ_PAGE_ENTRIES, TRIM_PAGE_ENTRIES
from streams.store.records import LATE, MessageRecord
from streams.store.redis_store import DedupLayout, RedisKpiStore, fingerprint

LABELS = {"orders": "order.placed", "shipments": "shipment.dispatched"}
TODAY = int(time.time() // 86400)  # the events' UTC day: their dedup hashes live from it


def event(
    offset: int, event_id: str, *, topic: str = "orders", partition: int = 0, location: str = "L1"
) -> MessageRecord:
    """A valid record; its payload names where it came from, so stored copies are told apart."""
    body = {"event_id": event_id, "topic": topic, "partition": partition, "offset": offset}
    return MessageRecord(
        topic,
        partition,
        offset,
        event_id,
        orjson.dumps({**body, "location": location}),
        LABELS[topic],
        day=TODAY,
    )


def rejected(
    offset: int, reason: str = "invalid_json", *, topic: str = "orders", partition: int = 0
) -> MessageRecord:
    return MessageRecord(topic, partition, offset, None, b"", reason)


@dataclass
class Outcome:
    fresh: list[list[int]] = field(default_factory=list)
    stored: list[bytes] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)


async def apply_all(store: RedisKpiStore, batches: list[list[MessageRecord]]) -> Outcome:
    """Apply the batches in turn; what the store returned and holds afterwards."""
    outcome = Outcome()
    for batch in batches:
        outcome.fresh.append((await store.apply_batch(batch)).fresh)
        assert not await store.client.exists(store.keys.log_staging)
    outcome.stored = [payload async for payload in store.stored_events()]
    raw: Any = await store.client.hgetall(store.keys.counters)
    outcome.counters = {key.decode(): int(value) for key, value in raw.items()}
    outcome.offsets = await store.applied_offsets()
    return outcome


def stored_of(batches: list[list[MessageRecord]], fresh: list[list[int]]) -> list[bytes]:
    """The payloads a store must hold, given the fresh positions it reported."""
    return [
        batch[i].payload for batch, positions in zip(batches, fresh, strict=True) for i in positions
    ]


def reference_fresh(batches: list[list[MessageRecord]]) -> list[list[int]]:
    """The fresh positions by the contract, computed independently of the store."""
    applied: dict[tuple[str, int], int] = {}
    seen: set[str] = set()
    fresh: list[list[int]] = []
    for batch in batches:
        positions = []
        for i, r in enumerate(batch):
            if r.offset <= applied.get((r.topic, r.partition), -1):
                continue
            applied[(r.topic, r.partition)] = r.offset
            if r.event_id is not None and r.event_id not in seen:
                seen.add(r.event_id)
                positions.append(i)
        fresh.append(positions)
    return fresh


ORDERS_TOTAL = "events_total|orders|order.placed"
ORDERS_DUPLICATE = "events_duplicate_total|orders"

REDELIVERIES = {
    "the whole batch again": (
        [[event(0, "a"), event(1, "b"), rejected(2)]] * 2,
        [[0, 1], []],
        {ORDERS_TOTAL: 2, "events_invalid_total|orders|invalid_json": 1},
        {("orders", 0): 2},
    ),
    "an overlapping batch": (
        [[event(0, "a"), event(1, "b")], [event(1, "b"), event(2, "c"), rejected(3)]],
        [[0, 1], [1]],
        {ORDERS_TOTAL: 3, "events_invalid_total|orders|invalid_json": 1},
        {("orders", 0): 3},
    ),
    "another partition is independent": (
        [[event(0, "a")], [event(0, "b", partition=1), event(0, "c")]],
        [[0], [0]],
        {ORDERS_TOTAL: 2},
        {("orders", 0): 0, ("orders", 1): 0},
    ),
    "an offset falling back inside a batch": (
        [[event(5, "a"), event(3, "b"), rejected(4), event(6, "c")]],
        [[0, 3]],
        {ORDERS_TOTAL: 2},
        {("orders", 0): 6},
    ),
}


@pytest.mark.parametrize(
    ("batches", "fresh", "counters", "offsets"),
    list(REDELIVERIES.values()),
    ids=list(REDELIVERIES),
)
def test_redelivered_offsets_are_skipped_whole(
    run_store: Any,
    batches: list[list[MessageRecord]],
    fresh: list[list[int]],
    counters: dict[str, int],
    offsets: dict[tuple[str, int], int],
) -> None:
    """A message at or below its partition's applied offset changes nothing, not even a counter."""
    assert reference_fresh(batches) == fresh
    outcome: Outcome = run_store(lambda store: apply_all(store, batches))
    assert outcome.fresh == fresh
    assert outcome.stored == stored_of(batches, fresh)
    assert outcome.counters == counters
    assert outcome.offsets == offsets


DUPLICATES = {
    "across batches": (
        [[event(0, "a")], [event(1, "a")]],
        [[0], []],
        {ORDERS_TOTAL: 1, ORDERS_DUPLICATE: 1},
    ),
    "within a batch": (
        [[event(0, "a"), event(1, "a"), event(2, "b"), event(3, "a")]],
        [[0, 2]],
        {ORDERS_TOTAL: 2, ORDERS_DUPLICATE: 2},
    ),
    "at two locations": (
        [
            [event(0, "a", location="L1"), event(1, "a", location="L2")],
            [event(2, "a", location="L3")],
        ],
        [[0], []],
        {ORDERS_TOTAL: 1, ORDERS_DUPLICATE: 2},
    ),
    "on another topic": (
        [[event(0, "a")], [event(0, "a", topic="shipments")]],
        [[0], []],
        {ORDERS_TOTAL: 1, "events_duplicate_total|shipments": 1},
    ),
    "after a redelivery in the same batch": (
        [[event(0, "a")], [event(0, "a"), event(1, "a"), event(2, "b")]],
        [[0], [2]],
        {ORDERS_TOTAL: 2, ORDERS_DUPLICATE: 1},
    ),
}


@pytest.mark.parametrize(
    ("batches", "fresh", "counters"), list(DUPLICATES.values()), ids=list(DUPLICATES)
)
def test_duplicates_are_counted_and_stored_once(
    run_store: Any,
    batches: list[list[MessageRecord]],
    fresh: list[list[int]],
    counters: dict[str, int],
) -> None:
    """An event_id seen before, anywhere (any location, topic or batch), is a duplicate."""
    assert reference_fresh(batches) == fresh
    outcome: Outcome = run_store(lambda store: apply_all(store, batches))
    assert outcome.fresh == fresh
    assert outcome.stored == stored_of(batches, fresh)
    assert outcome.counters == counters


def test_rejected_records_are_counted_and_advance_offsets(run_store: Any) -> None:
    """Rejected records count as invalid by reason, are never stored, and move the offsets on."""
    batches = [
        [rejected(0), event(1, "a"), rejected(2, "oversized"), rejected(3)],
        [rejected(4, "wrong_topic"), rejected(0, "invalid_json", partition=2)],
    ]
    outcome: Outcome = run_store(lambda store: apply_all(store, batches))
    assert outcome.fresh == [[1], []]
    assert outcome.stored == [batches[0][1].payload]
    assert outcome.counters == {
        ORDERS_TOTAL: 1,
        "events_invalid_total|orders|invalid_json": 3,
        "events_invalid_total|orders|oversized": 1,
        "events_invalid_total|orders|wrong_topic": 1,
    }
    assert outcome.offsets == {("orders", 0): 4, ("orders", 2): 0}


def test_stored_events_are_exactly_the_fresh_payloads_in_order(run_store: Any) -> None:
    """Over more log entries than a read page, the log yields each fresh payload once, in order."""
    batches: list[list[MessageRecord]] = []
    offset = 0
    for n in range(3 * READ_PAGE_ENTRIES + 1):
        batch = []
        for k in range(4):
            # every third event repeats an earlier id; every batch redelivers the
            # previous batch's last message
            event_id = f"e{n}-{k}" if (n + k) % 3 else f"e{max(n - 1, 0)}-1"
            batch.append(event(offset, event_id, partition=n % 2, location=f"L{k}"))
            offset += 1
        if batches:
            batch.insert(1, batches[-1][-1])
        batches.append(batch)
    outcome: Outcome = run_store(lambda store: apply_all(store, batches))
    assert outcome.fresh == reference_fresh(batches)
    assert outcome.stored == stored_of(batches, outcome.fresh)
    ids = [orjson.loads(payload)["event_id"] for payload in outcome.stored]
    assert len(ids) == len(set(ids)) == outcome.counters[ORDERS_TOTAL]
    every = {r.event_id for batch in batches for r in batch}
    assert set(ids) == every


def test_trim_drops_the_entries_a_checkpoint_covers_and_keeps_their_ids(run_store: Any) -> None:
    """Entries up to the trim point leave the log with their payloads; their ids stay known."""
    old = [event(0, "a"), event(1, "b")]
    new = [event(2, "c"), event(3, "a"), event(4, "d")]

    async def scenario(store: RedisKpiStore) -> None:
        first = await store.apply_batch(old)
        second = await store.apply_batch(new)
        assert (first.fresh, second.fresh) == ([0, 1], [0, 2])
        assert first.entry and second.entry and first.entry != second.entry
        assert await store.trim_log(first.entry) == 2
        assert await store.trim_log(first.entry) == 0
        batches = [b async for b in store.read_log()]
        assert [(b.entry, b.payloads) for b in batches] == [
            (second.entry, [new[0].payload, new[2].payload])
        ]
        assert [b async for b in store.read_log(second.entry)] == []
        assert not await store.client.exists(store.keys.log_payloads(first.entry))
        # Unlike the log, the dedup set keeps its horizon: a trimmed id is still known.
        again = await store.apply_batch([event(5, "b"), event(6, "e"), event(7, "a")])
        assert again.fresh == [1]

    run_store(scenario)


def test_trim_pages_through_many_entries(run_store: Any) -> None:
    """More entries than one trim page all go with their payload keys; only dedup remains."""
    count = 2 * TRIM_PAGE_ENTRIES + 3

    async def scenario(store: RedisKpiStore) -> None:
        last = ""
        for n in range(count):
            last = (
                await store.apply_batch([event(2 * n, f"p{n}"), event(2 * n + 1, f"p{n}")])
            ).entry
        assert await store.trim_log(last) == count
        assert [p async for p in store.stored_events()] == []
        keys = {key.decode() async for key in store.client.scan_iter(f"{store.keys.prefix}*")}
        dedup = {k for k in keys if k.startswith(store.keys.ids_slot_prefix)}
        # the emptied stream stays: it keeps the last entry id, so ids keep rising
        assert keys - dedup == {
            store.keys.offsets,
            store.keys.counters,
            store.keys.log,
            store.keys.ids_clock,
        }
        assert (await store.apply_batch([event(2 * count, "p0")])).fresh == []

    run_store(scenario)


@pytest.mark.parametrize("slots", [1, 7, 4096])
def test_ids_live_in_day_slots_until_the_clock_is_a_horizon_past_their_day(
    run_store: Any, slots: int
) -> None:
    """Each id sits in the hash of its event day and slot; the day goes once the dedup clock
    (the latest event day stored) is a horizon past it."""
    records = [event(n, f"id-{n}") for n in range(50)]

    async def scenario(store: RedisKpiStore) -> None:
        store.dedup = DedupLayout(slots=slots, horizon_days=3)
        first = await store.apply_batch(records)
        assert first.clock == TODAY
        for record in records:
            print_ = fingerprint(record.event_id)  # type: ignore[arg-type]
            key = store.keys.ids_slot_prefix + str(TODAY * slots + print_ % slots)
            assert await store.client.hget(key, str(print_)) == record.digest.encode()
        pattern = f"{store.keys.ids_slot_prefix}*"
        names = [k async for k in store.client.scan_iter(pattern)]
        assert len(names) == len({fingerprint(f"id-{n}") % slots for n in range(50)})
        assert store.dedup.oldest_day(first.clock) == TODAY - 3
        # Three days on, today's ids are still within the horizon; four days on, gone.
        for ahead, left in ((3, len(names) + 1), (4, 2)):
            later = event(100 + ahead, f"later-{ahead}")._replace(day=TODAY + ahead)
            outcome = await store.apply_batch([later])
            assert outcome.clock == TODAY + ahead
            assert len([k async for k in store.client.scan_iter(pattern)]) == min(
                left, len(names) + 2
            )

    run_store(scenario)


def test_an_event_too_old_to_deduplicate_is_counted_late_not_stored(run_store: Any) -> None:
    """A LATE record is counted in events_late_total, stored nowhere, its offset applied."""

    async def scenario(store: RedisKpiStore) -> None:
        late = MessageRecord("orders", 0, 0, None, b"", LATE)
        outcome = await store.apply_batch([late, event(1, "fresh")])
        assert outcome.fresh == [1]
        raw: Any = await store.client.hgetall(store.keys.counters)
        counters = {k.decode(): int(v) for k, v in raw.items()}
        assert counters == {"events_late_total|orders": 1, ORDERS_TOTAL: 1}
        assert await store.applied_offsets() == {("orders", 0): 1}

    run_store(scenario)


def test_batches_beyond_the_lua_unpack_limit(run_store: Any) -> None:
    """A 10,000-record batch is applied whole, fresh or full of duplicates and repeats."""
    size = 10_000
    first = [event(i, f"big-{i}", partition=i % 3) for i in range(size)]
    # ids 7500..12499, each twice: 5000 records repeat the first batch, and of
    # the other 5000 every second one repeats the one before it
    second = [event(size + i, f"big-{i // 2 + 7500}", partition=i % 3) for i in range(size)]
    outcome: Outcome = run_store(lambda store: apply_all(store, [first, second, second]))
    assert outcome.fresh == [list(range(size)), list(range(5000, size, 2)), []]
    assert outcome.fresh == reference_fresh([first, second, second])
    assert len(outcome.stored) == 12_500
    assert outcome.stored == stored_of([first, second, second], outcome.fresh)
    assert outcome.counters == {ORDERS_TOTAL: 12_500, ORDERS_DUPLICATE: 7_500}
    assert outcome.offsets == {
        ("orders", p): max(r.offset for r in second if r.partition == p) for p in range(3)
    }


def test_counter_fields_and_keys_keep_their_names(run_store: Any) -> None:
    """The exporter's counter fields and the documented keys are all a batch leaves behind."""
    batch = [
        event(0, "a"),
        event(1, "b"),
        event(0, "s", topic="shipments", partition=2),
        rejected(2),
        event(3, "a"),
    ]

    async def scenario(store: RedisKpiStore) -> tuple[Outcome, set[str]]:
        outcome = await apply_all(store, [batch])
        await store.increment_counter("alerts_sent_total|webhook|ok")
        await store.write_snapshot(b"{}")
        prefix = store.keys.prefix
        keys = {key.decode()[len(prefix) :] async for key in store.client.scan_iter(f"{prefix}*")}
        return outcome, keys

    outcome, keys = run_store(scenario)
    assert outcome.counters == {
        "events_total|orders|order.placed": 2,
        "events_total|shipments|shipment.dispatched": 1,
        "events_invalid_total|orders|invalid_json": 1,
        "events_duplicate_total|orders": 1,
    }
    assert outcome.offsets == {("orders", 0): 3, ("shipments", 2): 0}
    entries = {key for key in keys if key.startswith("log:")}
    assert len(entries) == 1 and entries != {"log:staging"}
    dedup = {key for key in keys if key.startswith("ids:")}
    assert 1 <= len(dedup) <= 3  # one hash per (event day, slot) of the 3 ids stored
    assert keys - entries - dedup == {"offsets", "counters", "log", "kpi:snapshot", "dedup:clock"}
