"""Writing benchmark events to Kafka, in several processes when there are many.

A history of tens of millions of events is generated and sent by `parts`
processes (spawned, each with its own producer); a location belongs to exactly
one part, so each location's events reach its partition in event-time order.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from bench.events import Record
from bench.history import Tally, adjustments, closing, history, part_locations, probe_orders

IN_FLIGHT_BATCHES = 64  # batches sent before waiting for their acknowledgements


@dataclass(frozen=True)
class Spec:
    """What to generate (picklable: it crosses to the producer processes)."""

    kind: str  # history | orders | growth | close
    locations: int
    skus: int
    start: float = 0.0
    end: float = 0.0
    density: float = 0.0  # history: events per SKU-location per day
    count: int = 0  # orders, growth: how many in all
    tag: str = "h"
    seed: int = 11


def records_of(spec: Spec, part: int, parts: int, tally: Tally) -> Iterator[Record]:
    """The records of one part of `spec` (its share of the locations and of `count`)."""
    mine = part_locations(spec.locations, parts, part)
    if not mine:
        return iter(())
    tag, seed = f"{spec.tag}{part}", spec.seed * 1000 + part
    share = spec.count * (part + 1) // parts - spec.count * part // parts
    if spec.kind == "history":
        return history(mine, spec.skus, spec.start, spec.end, spec.density, tally, seed, tag)
    if spec.kind == "orders":
        return probe_orders(mine, spec.skus, share, spec.start, spec.end, tally, 2, seed, tag)
    if spec.kind == "growth":
        return adjustments(mine, spec.skus, share, spec.start, spec.end, tally, seed, tag)
    if spec.kind == "close":
        return closing(mine, spec.start, tally, tag)
    raise ValueError(spec.kind)


class BatchSender:
    """Records to `topic_prefix + record.topic`, keyed, in whole batches per partition.

    `create_batch`/`send_batch` with the partition chosen by aiokafka's default
    partitioner once per key (the partitions `send(key=...)` gives): a per-message
    `send` costs more than generating the event.
    """

    def __init__(self, kafka: str, topic_prefix: str) -> None:
        from aiokafka import AIOKafkaProducer
        from aiokafka.partitioner import DefaultPartitioner

        self._producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=20, acks=1)
        self._partitioner = DefaultPartitioner()
        self._prefix = topic_prefix
        self._partitions: dict[str, list[int]] = {}
        self._slot: dict[tuple[str, bytes], tuple[str, int]] = {}
        self._batches: dict[tuple[str, int], Any] = {}
        self._pending: list[asyncio.Future[Any]] = []
        self.sent = 0

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, record: Record) -> None:
        producer = self._producer
        where = self._slot.get((record.topic, record.key))
        if where is None:
            topic = self._prefix + record.topic
            if topic not in self._partitions:
                self._partitions[topic] = sorted(await producer.partitions_for(topic))
            every = self._partitions[topic]
            where = self._slot[(record.topic, record.key)] = (
                topic,
                self._partitioner(record.key, every, every),
            )
        batch = self._batches.get(where)
        if batch is None:
            batch = self._batches[where] = producer.create_batch()
        if batch.append(key=record.key, value=record.value, timestamp=None) is None:
            self._pending.append(await producer.send_batch(batch, where[0], partition=where[1]))
            batch = self._batches[where] = producer.create_batch()
            batch.append(key=record.key, value=record.value, timestamp=None)
        self.sent += 1
        if len(self._pending) >= IN_FLIGHT_BATCHES:
            await asyncio.gather(*self._pending)
            self._pending.clear()

    async def flush(self) -> None:
        """Send the open batches and wait until the broker has every record sent so far."""
        for (topic, partition), batch in self._batches.items():
            if batch.record_count():
                self._pending.append(
                    await self._producer.send_batch(batch, topic, partition=partition)
                )
        self._batches.clear()
        await asyncio.gather(*self._pending)
        self._pending.clear()


async def produce(kafka: str, topic_prefix: str, records: Iterable[Record]) -> int:
    """Send every record (see `BatchSender`); returns how many."""
    sender = BatchSender(kafka, topic_prefix)
    await sender.start()
    try:
        for record in records:
            await sender.send(record)
        await sender.flush()
    finally:
        await sender.stop()
    return sender.sent


def produce_part(spec: Spec, part: int, parts: int, kafka: str, topic_prefix: str) -> Tally:
    tally = Tally()
    asyncio.run(produce(kafka, topic_prefix, records_of(spec, part, parts, tally)))
    return tally


def produce_spec(spec: Spec, kafka: str, topic_prefix: str, parts: int = 1) -> Tally:
    """Generate and send `spec`, in `parts` processes; what was sent."""
    if parts <= 1:
        return produce_part(spec, 0, 1, kafka, topic_prefix)
    tally = Tally()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(parts, mp_context=context) as pool:
        futures = [
            pool.submit(produce_part, spec, part, parts, kafka, topic_prefix)
            for part in range(parts)
        ]
        for future in futures:
            tally.add(future.result())
    return tally


class GatedProducer:
    """`spec` sent by `parts` processes a step at a time: `advance(t)` sends every event
    before event time `t` and returns once the broker has them.

    The history goes out a day (bucket) at a time, each consumed before the next is
    sent, as a live stream would arrive: a consumer that reads a backlog of three
    topics takes them unevenly (a whole fetch of one partition, hours of event time,
    before the next), and an event would find its bucket closed by another topic's
    later events — late, which a month of live traffic seldom is.
    """

    def __init__(self, spec: Spec, kafka: str, topic_prefix: str, parts: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes: list[BaseProcess] = []
        for part in range(parts):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_gated_part,
                args=(spec, part, parts, kafka, topic_prefix, theirs),
                daemon=True,
            )
            process.start()
            theirs.close()
            self._pipes.append(mine)
            self._processes.append(process)

    def advance(self, until: float) -> int:
        """Send everything before `until` (epoch s); how many records that was."""
        for pipe in self._pipes:
            pipe.send(until)
        return sum(int(pipe.recv()) for pipe in self._pipes)

    def close(self) -> Tally:
        """Send the rest, stop the producers; what was sent in all."""
        tally = Tally()
        for pipe in self._pipes:
            pipe.send(None)
        for pipe in self._pipes:
            tally.add(pipe.recv())
        for process in self._processes:
            process.join(timeout=60)
        return tally

    def kill(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.kill()


def _gated_part(
    spec: Spec, part: int, parts: int, kafka: str, topic_prefix: str, pipe: Connection
) -> None:
    asyncio.run(_serve_part(spec, part, parts, kafka, topic_prefix, pipe))


async def _serve_part(
    spec: Spec, part: int, parts: int, kafka: str, topic_prefix: str, pipe: Connection
) -> None:
    tally = Tally()
    records = records_of(spec, part, parts, tally)
    sender = BatchSender(kafka, topic_prefix)
    await sender.start()
    try:
        waiting = next(records, None)
        while True:
            until = pipe.recv()  # blocks the loop: nothing of the producer is in flight
            before = sender.sent
            while waiting is not None and (until is None or waiting.at < until):
                await sender.send(waiting)
                waiting = next(records, None)
            await sender.flush()
            if until is None:
                break
            pipe.send(sender.sent - before)
    finally:
        await sender.stop()
    pipe.send(tally)
