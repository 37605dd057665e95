"""The state phases of the benchmark: history, memory probes, restart (`--history`, `--growth`).

Chosen path: the history goes through Kafka and the real worker, the same
process a deployment runs (validation, the Redis apply script, the KPI process,
its checkpoints from a forked copy and the log trims), not a re-creation of it
in the bench process. The cost is producing the events (several producer
processes, whole batches per partition); the worker's rate while it takes a
month of history is then a figure of its own.

1. Empty: the worker starts on an empty state; its processes' memory is the baseline.
2. History (`bench.history`), consumed by the worker until every event is stored,
   a KPI snapshot reflects all of it and a checkpoint covers it (the log is
   trimmed); then Redis (the run's keys by role) and the processes' memory.
3. Order probe: orders of two lines on existing SKU-locations, never dispatched,
   in a day then closed: bytes per order line held in the window.
4. Growth probe: inventory adjustments on the same SKU-locations over two days,
   then closed: bytes per added event (a dedup entry in Redis, ideally nothing in
   the processes), the issue's ≤ 48 B target.
5. Restart (after the timed phases): SIGKILL the worker, start it again, the
   time until a KPI snapshot generated after the start is in Redis, with the
   worker's own "engine restored" figures.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.history import DAY, GROWTH_DAYS, Tally
from bench.measure import Census, WorkerMemory, census, kpi_child, mb, per, worker_memory
from bench.produce import GatedProducer, Spec, produce_spec

if TYPE_CHECKING:
    from bench.run import Bench

SETTLE_SECONDS = 2.0  # after a checkpoint, before reading memory
GROWTH_TARGET = 48.0  # bytes per added event (issue 14)
RESTART_TARGET = 15.0  # seconds to the first fresh snapshot at 100k SKU-locations


def say(text: str) -> None:
    print(text, flush=True)


def placement(late: bool) -> str:
    if late:
        return "late: into closed days of the history (no room before the dedup horizon)"
    return "in days after the history, then closed"


def since(record: dict[str, Any], start: float, before: float | None = 0.0) -> str:
    """'4.2s' from `start` (epoch s) to a log record's ISO timestamp, less `before` seconds
    ('?s' without them)."""
    stamp = record.get("timestamp")
    if not stamp or before is None:
        return "?s"
    at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    return f"{at - before - start:.1f}s"


@dataclass
class Point:
    """The measured state at one moment: Redis keys by role, the worker's processes."""

    redis: Census
    processes: WorkerMemory
    stored: int  # events stored so far (events_total counters)


class StatePhases:
    """History, probes and restart of one benchmark run (see the module docstring)."""

    def __init__(self, bench: Bench) -> None:
        self.b = bench
        self.empty: WorkerMemory | None = None
        self.empty_redis: Census | None = None
        self.after_history: Point | None = None
        self.growth_bytes: tuple[float, float] | None = None  # Redis, processes per event
        self.restart_seconds: float | None = None

    # -- reading the system --------------------------------------------------------------

    def stored(self) -> int:
        raw: Any = self.b.redis.hgetall(f"{self.b.key_prefix}counters")
        return sum(int(v) for k, v in raw.items() if k.startswith(b"events_total|"))

    def memory(self) -> WorkerMemory:
        pid = self.b.processes["worker"].pid
        found = worker_memory(pid)
        if found is None or found.kpi is None:
            raise RuntimeError(f"worker {pid} or its KPI process is not running")
        return found

    def point(self) -> Point:
        time.sleep(SETTLE_SECONDS)
        return Point(census(self.b.redis, self.b.key_prefix), self.memory(), self.stored())

    def wait_loaded(self, since: float, timeout: float = 300.0) -> None:
        """Until the worker has restored its state (its status heartbeat after `since`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.b.check_worker()
            raw: Any = self.b.redis.get(f"{self.b.key_prefix}worker:status")
            if raw and json.loads(raw)["heartbeat"] > since:
                pid = self.b.processes["worker"].pid
                if kpi_child(pid) is not None:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not load its state in {timeout:.0f}s")

    def settle(self, timeout: float) -> float:
        """Until every stored event is in a KPI snapshot and in a checkpoint, the log trimmed.

        Returns the seconds it took. Needs the worker to have processed all it was sent.
        """
        b = self.b
        keys = b.key_prefix
        started = time.monotonic()
        deadline = started + timeout
        stored = self.stored()
        while time.monotonic() < deadline:
            b.check_worker()
            log_entries = int(b.redis.xlen(f"{keys}log"))
            meta: Any = b.redis.hgetall(f"{keys}state:meta")
            checkpointed = int(meta.get(b"events", 0)) if meta.get(b"applied") else -1
            if log_entries == 0 and checkpointed >= stored and b.snapshot_events() >= stored:
                return time.monotonic() - started
            time.sleep(0.25)
        meta = b.redis.hgetall(f"{keys}state:meta")
        raise RuntimeError(
            f"no checkpoint covering {stored:,} events within {timeout:.0f}s "
            f"(log entries {b.redis.xlen(f'{keys}log')}, checkpoint meta {meta})"
        )

    def checkpoint_lines(self, since: int) -> list[dict[str, Any]]:
        """The worker's "checkpoint written" log records from byte `since` of its log."""
        return [r for r in self.b.log_records(since) if r.get("event") == "checkpoint written"]

    # -- phases --------------------------------------------------------------------------

    def fill(self) -> None:
        b, o = self.b, self.b.o
        tl = b.timeline
        sku_locations = o.locations * o.skus
        log_from = b.log_size()
        started = time.time()
        b.start("worker", log_level="INFO")
        self.wait_loaded(started)
        time.sleep(SETTLE_SECONDS)
        self.empty = self.memory()
        self.empty_redis = census(b.redis, b.key_prefix)
        say(f"[bench] empty worker: {self.empty.describe()}")

        start, end = tl.history
        spec = Spec("history", o.locations, o.skus, start, end, o.density, tag=f"{b.name}h")
        gates = [g for g in range(int(start - start % DAY + DAY), int(end), DAY) if g > start]
        producers = GatedProducer(spec, o.kafka, b.topic_prefix, o.parts)
        spy = b.profile(o.profile_fill) if o.profile_fill else None
        producing = consuming = 0.0
        last = (0, 0.0)
        timeout = max(o.timeout, 600.0 + sku_locations * o.density / 500)
        try:
            for gate in [*gates, end]:
                base = b.processed()
                clock = time.monotonic()
                sent = producers.advance(gate)
                produced = time.monotonic()
                b.sent += sent
                b.wait_processed(sent, base, timeout)
                done = time.monotonic()
                producing += produced - clock
                consuming += done - produced
                last = (sent, done - clock)
            tally = producers.close()
        finally:
            producers.kill()
            if spy is not None:
                b.end_profile(spy)
        closing = self.send_and_wait(Spec("close", o.locations, o.skus, tl.history_close, tag="c1"))
        say(
            f"[bench] history: {tally.total:,} events ({o.history_days:g} days x "
            f"{sku_locations:,} SKU-locations x {o.density:g}/day, then {closing.total:,} "
            f"closing) sent a day at a time by {o.parts} producers, each day taken by the "
            f"worker before the next: {producing + consuming:.0f}s ({producing:.0f}s sending, "
            f"{consuming:.0f}s more until stored: "
            f"{tally.total / max(consuming + producing, 1e-3):,.0f} ev/s overall; "
            f"last day {last[0]:,} events in {last[1]:.1f}s = "
            f"{last[0] / max(last[1], 1e-3):,.0f} ev/s); mix {tally.mix()}; {tally.lines:,} "
            f"order lines ({tally.open_lines:,} never dispatched)"
        )
        self.after_history = self.measure("history", log_from)
        self.report_history(tally)
        if o.order_probe:
            self.order_probe()
        if o.growth:
            self.growth_probe()
        b.stop_worker()

    def send_and_wait(self, spec: Spec) -> Tally:
        """Send a probe (one producer, its ids tagged with the run's name) and wait until
        the worker has handled it."""
        b = self.b
        base = b.processed()
        tally = produce_spec(replace(spec, tag=f"{b.name}{spec.tag}"), b.o.kafka, b.topic_prefix)
        b.sent += tally.total
        b.wait_processed(tally.total, base, max(b.o.timeout, 600.0))
        return tally

    def measure(self, what: str, log_from: int) -> Point:
        """Once the worker settled (`settle`): the state's memory, and its checkpoints."""
        b = self.b
        settled = self.settle(max(b.o.timeout, 900.0))
        point = self.point()
        checkpoints = self.checkpoint_lines(log_from)
        longest = max(checkpoints, key=lambda r: r.get("seconds", 0), default=None)
        say(
            f"[bench] after the {what}: snapshot, checkpoint and log trim {settled:.1f}s after "
            f"the last event was handled; {len(checkpoints)} checkpoints"
            + (
                f", longest {longest['seconds']}s ({longest.get('locations')} locations)"
                if longest
                else ""
            )
            + f"; {b.not_stored()}"
        )
        return point

    def report_history(self, tally: Tally) -> None:
        o = self.b.o
        point, empty, empty_redis = self.after_history, self.empty, self.empty_redis
        assert point is not None and empty is not None and empty_redis is not None
        sku_locations = o.locations * o.skus
        redis_bytes = point.redis.total - empty_redis.total
        process_bytes = point.processes.rss - empty.rss
        say(
            f"[bench] state after the history (closed buckets, checkpointed, log trimmed): "
            f"Redis {point.redis.describe()}; used_memory "
            f"{mb(point.redis.used_memory - empty_redis.used_memory)} more (whole Redis); "
            f"worker processes {point.processes.describe()}"
        )
        say(
            f"[bench] memory per SKU-location ({sku_locations:,}, {o.history_days:g} days at "
            f"{o.density:g}/day, all-in): Redis {per(redis_bytes, sku_locations)} "
            f"(checkpoint {per(point.redis.bytes['checkpoint'], sku_locations)}, dedup ids "
            f"{per(point.redis.bytes['dedup'], sku_locations)}); worker processes "
            f"{per(process_bytes, sku_locations)} RSS over the empty worker "
            f"(peak {per(point.processes.peak - empty.peak, sku_locations)})"
        )
        say(
            f"[bench] per stored event of the history ({point.stored:,}): Redis "
            f"{per(redis_bytes, point.stored)}, dedup id "
            f"{per(point.redis.bytes['dedup'], point.redis.ids)} "
            f"({point.redis.ids:,} ids), processes {per(process_bytes, point.stored)}"
        )

    def order_probe(self) -> None:
        b, o = self.b, self.b.o
        tl = b.timeline
        before = self.after_history
        assert before is not None
        start, end = tl.orders
        log_from = b.log_size()
        tally = self.send_and_wait(
            Spec("orders", o.locations, o.skus, start, end, count=o.order_probe, tag="po")
        )
        if tl.orders_close is not None:
            tally.add(
                self.send_and_wait(Spec("close", o.locations, o.skus, tl.orders_close, tag="c2"))
            )
        after = self.measure("order probe", log_from)
        lines = tally.lines
        checkpoint = after.redis.bytes["checkpoint"] - before.redis.bytes["checkpoint"]
        dedup = after.redis.bytes["dedup"] - before.redis.bytes["dedup"]
        ids = after.redis.ids - before.redis.ids
        processes = after.processes.rss - before.processes.rss
        say(
            f"[bench] order probe: {o.order_probe:,} orders x 2 lines ({lines:,} lines, never "
            f"dispatched, {placement(tl.late)}) + {tally.total - o.order_probe:,} closing "
            f"adjustments: Redis checkpoint {mb(checkpoint)} more = {per(checkpoint, lines)} "
            f"per order line, dedup {per(dedup, ids)} per id ({ids:,} ids); worker processes "
            f"RSS {mb(processes)} more = {per(processes, lines)} per order line"
        )
        self.after_history = after

    def growth_probe(self) -> None:
        for number in range(self.b.timeline.growth_passes):
            self.growth_pass(number)

    def growth_pass(self, number: int) -> None:
        """One pass of the growth probe. The first pass's process figure includes the
        allocator's high-water mark for the events held meanwhile (freed pages that
        RSS keeps); a second pass into other days shows what stays per event."""
        b, o = self.b, self.b.o
        tl = b.timeline
        before = self.after_history
        assert before is not None
        start, end = tl.growth_pass(number)
        log_from = b.log_size()
        tally = self.send_and_wait(
            Spec(
                "growth",
                o.locations,
                o.skus,
                start,
                end,
                count=o.growth,
                tag=f"g{number}",
                seed=17 + number,
            )
        )
        if tl.growth_close is not None:
            tally.add(
                self.send_and_wait(Spec("close", o.locations, o.skus, tl.growth_close, tag="c3"))
            )
        events = tally.total
        after = self.measure("growth probe", log_from)
        redis_bytes = after.redis.total - before.redis.total
        state_bytes = after.redis.state - before.redis.state
        process_bytes = after.processes.rss - before.processes.rss
        worker = after.processes.worker.rss - before.processes.worker.rss
        assert after.processes.kpi is not None and before.processes.kpi is not None
        kpi = after.processes.kpi.rss - before.processes.kpi.rss
        self.growth_bytes = (redis_bytes / events, process_bytes / events)
        self.after_history = after
        say(
            f"[bench] growth{f' (pass {number + 1})' if tl.growth_passes > 1 else ''}: "
            f"{o.growth:,} inventory adjustments over {GROWTH_DAYS} days on "
            f"{o.locations * o.skus:,} existing SKU-locations (+{events - o.growth:,} closing), "
            f"{placement(tl.late)}, checkpointed: Redis {mb(redis_bytes)} more = "
            f"{per(redis_bytes, events)} per event, of which the state "
            f"{per(state_bytes, events)} (dedup "
            f"{per(after.redis.bytes['dedup'] - before.redis.bytes['dedup'], events)}, "
            f"checkpoint "
            f"{per(after.redis.bytes['checkpoint'] - before.redis.bytes['checkpoint'], events)}"
            f", used_memory {per(after.redis.used_memory - before.redis.used_memory, events)}); "
            f"worker processes RSS {mb(process_bytes)} more = {per(process_bytes, events)} per "
            f"event (worker {per(worker, events)}, KPI process {per(kpi, events)})"
        )
        say(
            f"[bench] growth per added event vs the {GROWTH_TARGET:.0f} B target: Redis "
            f"{redis_bytes / events / GROWTH_TARGET:.2f}x (state keys "
            f"{state_bytes / events / GROWTH_TARGET:.2f}x), processes "
            f"{process_bytes / events / GROWTH_TARGET:.2f}x"
        )

    def restart(self) -> None:
        """SIGKILL the worker; time its replacement's first fresh KPI snapshot."""
        b, o = self.b, self.b.o
        worker = b.processes["worker"]
        child = kpi_child(worker.pid)
        log_entries = int(b.redis.xlen(f"{b.key_prefix}log"))
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        del b.processes["worker"]
        deadline = time.monotonic() + 30
        while child is not None and Path(f"/proc/{child}").exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the KPI process {child} outlived its SIGKILLed worker")
            time.sleep(0.05)
        log_from = b.log_size()
        started_wall = time.time()
        started = time.monotonic()
        b.start("worker", log_level="INFO")
        timeout = max(120.0, o.timeout)
        while True:
            b.check_worker()
            generated = b.snapshot_generated_at()
            if generated is not None and generated > started_wall:
                break
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"no fresh KPI snapshot {timeout:.0f}s after the restart")
            time.sleep(0.05)
        seconds = time.monotonic() - started
        self.restart_seconds = seconds
        records = list(b.log_records(log_from))
        restored = next((r for r in records if r.get("event") == "engine restored"), {})
        ready = next((r for r in records if r.get("event") == "kpi process ready"), {})
        memory = self.memory()
        sku_locations = o.locations * o.skus
        growth = memory.rss - self.empty.rss if self.empty else 0
        say(
            f"[bench] restart after SIGKILL ({log_entries:,} log entries since the last "
            f"checkpoint): restore began {since(restored, started_wall, restored.get('seconds'))}"
            f", engine restored {since(restored, started_wall)}, KPI process ready "
            f"{since(ready, started_wall)} and first fresh KPI snapshot {seconds:.1f}s after "
            f"the worker started "
            f"({seconds / RESTART_TARGET:.2f}x the {RESTART_TARGET:.0f} s target); engine "
            f"restored: load_seconds {restored.get('load_seconds')}, events_replayed "
            f"{restored.get('events_replayed')}, seconds {restored.get('seconds')}, "
            f"{restored.get('locations')} locations; restored {memory.describe()} = "
            f"{per(growth, sku_locations)} per SKU-location over the empty worker"
        )
