"""The KPI side of the worker: the engine, its snapshots and the alert rules.

It receives the payloads of the events the store took for the first time (each
exactly once, in apply order), feeds the in-memory `KpiEngine`, writes the KPI
snapshot and evaluates the alert rules on the snapshot timer. It runs inside
the worker process or in a process of its own (`streams.worker.kpi.process`),
reporting its own metrics to a `MetricsSink` either way; its state outlives it
through checkpoints and the event log (`streams.worker.kpi.state`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Protocol, cast

import structlog
from redis.exceptions import RedisError

from alerts.notifiers.kafka_topic import Send
from alerts.outcomes import OnResult
from alerts.pipeline import EngineSource, Evaluation
from alerts.runtime import AlertRuntime
from streams.core.engine import KpiEngine
from streams.events.wire import Event, ShipmentDispatched
from streams.retry import retry
from streams.settings import Settings
from streams.store.keys import counter_field
from streams.store.redis_store import RedisKpiStore
from streams.store.snapshot import SnapshotEncoder, exported_locations
from streams.worker.faults import worker_verdict
from streams.worker.heap import HeapGuard
from streams.worker.kpi.schedule import Backlog, compute_due
from streams.worker.kpi.sink import MetricsSink
from streams.worker.kpi.state import EngineState, StateStore, add_all, stored_event
from streams.worker.kpi.steps import event_time_steps

log = structlog.get_logger(__name__)

_OCCURRED_AT = attrgetter("occurred_at")

# A batch is fed to the engine in steps of at least this much event time, with the
# alert rules evaluated between steps (at most ALERT_STEPS a batch), so a backlog or
# a file published at once pages as it happened: the projected stockout before the
# stockout. 900 s is the shortest minimum duration among the shipped rules.
ALERT_STEP_SECONDS = 900.0
ALERT_STEPS = 16
# ...but the evaluations between steps of one batch may take at most this long in
# all (each costs time proportional to the locations touched): with a large state,
# fewer and wider steps.
ALERT_STEPS_BUDGET_SECONDS = 1.0
# A snapshot pass recomputes and encodes locations one at a time and looks at the
# event loop (lets a feed in) once a slice has taken this long: a location costs from
# well under a millisecond to ~100 ms (a thousand SKUs), so a fixed number of
# locations per slice could hold a feed up for a second.
SLICE_SECONDS = 0.02


async def in_slices(codes: Sequence[str], work: Callable[[str], object]) -> float:
    """`work(code)` for each code, yielding to the event loop every `SLICE_SECONDS` of
    work; returns the seconds spent working (the yields left out)."""
    busy = 0.0
    started = time.monotonic()
    for code in codes:
        work(code)
        now = time.monotonic()
        if now - started >= SLICE_SECONDS:
            busy += now - started
            await asyncio.sleep(0)
            started = time.monotonic()
    return busy + time.monotonic() - started


class RuntimeSnapshotError(Exception):
    """The engine failed to compute a snapshot (already logged)."""


class RuntimeStore(StateStore, Protocol):
    """What the runtime needs of the store: its state, the snapshot, counters."""

    async def write_snapshot(self, payload: bytes) -> None: ...

    async def increment_counter(self, field: str, amount: int = 1) -> None: ...


class Alerts(Protocol):
    """The alert rules' runtime (`alerts.runtime.AlertRuntime`)."""

    async def start(self) -> None: ...

    async def process(
        self,
        source: EngineSource,
        locations: Iterable[str],
        dispatches: Iterable[ShipmentDispatched] = (),
    ) -> Evaluation: ...

    async def stop(self) -> None: ...


AlertsFactory = Callable[[OnResult], Alerts]
"""Builds the alerts, given what to call with each delivery outcome."""


class KpiRuntime:
    """The engine fed from the store, with its snapshot and alert timers' work.

    `fork`: checkpoints are written by a forked copy of this process (the KPI
    process); False writes them inline (the KPI side in the worker process).
    `alerts` defaults to the rules of the settings on the store's Redis.
    """

    def __init__(
        self,
        settings: Settings,
        store: RuntimeStore,
        sink: MetricsSink,
        send_alert: Send | None = None,
        fork: bool = False,
        alerts: AlertsFactory | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sink = sink
        self.state = EngineState(settings, store, fork)
        if alerts is None:
            client = cast(RedisKpiStore, store).client

            def alerts(on_result: OnResult) -> Alerts:
                return AlertRuntime.from_settings(
                    settings, client, send=send_alert, on_result=on_result
                )

        self.alerts = alerts(self._count_alert)
        # Locations and dispatches not yet seen by the alert rules (evaluated on the timer).
        self._touched: set[str] = set()
        self._dispatches: list[ShipmentDispatched] = []
        self._dirty = True
        self.heap = HeapGuard()
        self._batch_size = settings.worker.batch_size
        # Monotonic end of the last snapshot + alert evaluation; starting the clock now
        # lets a worker that starts on a backlog ingest first (see schedule.compute_due).
        self._computed_at = time.monotonic()
        self._alert_cost = 0.0  # seconds the last alert evaluation took
        # Seconds to recompute one changed location (measured by each snapshot pass;
        # the first guess is a location of about a hundred SKUs).
        self._location_cost = 0.005
        self._compute_cost = 0.0  # seconds the last one took
        self.backlog = Backlog(self._batch_size)

    @property
    def engine(self) -> KpiEngine:
        return self.state.engine

    async def _count_alert(self, channel: str, outcome: str) -> None:
        try:
            await self.store.increment_counter(counter_field("alerts_sent_total", channel, outcome))
        except (RedisError, OSError) as error:
            log.warning("alert outcome not counted", error=str(error))

    # -- state -------------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild the engine from Redis and load the alert states (retrying while down)."""
        await self._retrying("redis unavailable at start", self._start)

    async def _start(self) -> None:
        await self._rebuild()
        await self.alerts.start()

    async def _retrying(self, failure: str, step: Callable[[], Awaitable[None]]) -> None:
        """Run `step` until Redis lets it finish, backing off between tries.

        Gives up (`streams.retry.Stalled`, `Persistent`) past `worker.max_stall_seconds`
        or after the same non-transient error a few times: the process exits loudly.
        """
        await retry(
            step,
            what=failure,
            verdict=worker_verdict,
            stall_seconds=self.settings.worker.max_stall_seconds,
        )

    async def _rebuild(self) -> None:
        """The engine from the last checkpoint and the log after it."""
        await self.state.restore(self.heap.after_batch)
        self._dirty = True

    @property
    def events_fed(self) -> int:
        """Distinct events the engine reflects (checkpointed, replayed, fed)."""
        return self.state.events

    async def reload(self) -> None:
        """The engine restored again from Redis (retrying while it is down).

        For a batch whose apply failed: Redis may have taken it before the failure
        reached the worker, and the retry then reports nothing new.
        """
        await self._retrying("engine reload failed", self._rebuild)
        self._touched.update(self.engine.locations())

    # -- feeding -----------------------------------------------------------------------

    async def feed(
        self, payloads: Sequence[bytes], entry: str, stored_at: float, catching_up: bool
    ) -> None:
        """Give the events of an applied batch to the engine (each exactly once).

        `payloads` are the events the store took for the first time, `entry` the log
        entry holding them. Each event's lag from its `occurred_at` to `stored_at`
        (epoch seconds) goes to the sink. While catching up, a batch is one step and
        the alert rules wait for the snapshot timer; live, it is fed in event-time
        steps with the rules evaluated between them.
        """
        fresh = [event for event in map(stored_event, payloads) if event is not None]
        self.sink.observe_lag(stored_at, map(datetime.timestamp, map(_OCCURRED_AT, fresh)))
        self.backlog.fed(catching_up)
        if catching_up:
            add_all(self.engine, fresh)
            self._note_for_alerts(fresh)
        else:
            steps = event_time_steps(fresh, ALERT_STEP_SECONDS, self._alert_steps(fresh))
            for number, step in enumerate(steps, start=1):
                add_all(self.engine, step)
                self._note_for_alerts(step)
                if number < len(steps):
                    await self.evaluate_alerts()
        self.state.fed(entry, len(fresh))
        self.heap.after_batch()
        self._dirty = self._dirty or bool(fresh)

    def _alert_steps(self, events: Sequence[Event]) -> int:
        """How many event-time steps a batch may have, given what an evaluation costs.

        An evaluation recomputes every changed location first, so its cost is predicted
        from those (with what this batch touches) at the measured cost per location.
        """
        touched = {getattr(event, "location", None) for event in events}
        changed = len(self.engine.changed_locations()) + len(touched)
        per_pass = max(self._alert_cost, changed * self._location_cost)
        if per_pass <= 0:
            return ALERT_STEPS
        return max(1, min(ALERT_STEPS, int(ALERT_STEPS_BUDGET_SECONDS / per_pass) + 1))

    def _note_for_alerts(self, events: Sequence[Event]) -> None:
        # Comprehensions, not one loop with branches: this runs over every event.
        locations = {getattr(event, "location", None) for event in events}
        locations.discard(None)
        self._touched.update(cast(set[str], locations))
        self._dispatches.extend(
            event for event in events if event.event_type == "shipment.dispatched"
        )
        if any(event.event_type.startswith("disruption.") for event in events):
            self._touched.update(self.engine.locations())

    # -- computing ---------------------------------------------------------------------

    async def compute(self, lag: int) -> None:
        """Write the KPI snapshot and evaluate the alert rules, when due.

        `lag`: messages waiting (consumer lag, or more than a batch when the last one
        was full). While behind, this runs rarely (see `streams.worker.kpi.schedule`).
        """
        await self.checkpoint()  # every tick: it is cheap unless one is due
        since = time.monotonic() - self._computed_at
        if not compute_due(since, self._compute_cost, self.backlog.behind(lag)):
            return
        busy = 0.0  # seconds computing, not counting the ingestion interleaved
        try:
            if self._dirty:
                self._dirty = False
                fed = self.events_fed
                busy += await self._recompute_in_slices()
                started = time.monotonic()
                activity = self.engine.activity()
                # Only the locations that may be exported (SPEC §5: by activity or the
                # allow-list), so a flood of junk codes cannot swell the snapshot either.
                exported = exported_locations(
                    activity, self.settings.kpi.max_locations, self.settings.kpi.location_allowlist
                )
                # Every event fed before the pass is reflected; some fed during it may be.
                encoder = SnapshotEncoder(
                    time.time(),
                    fed,
                    {code: activity[code] for code in exported},
                    len(activity),
                    self.engine.late_totals(),
                )
                computed = self.engine.as_computed()
                codes = sorted(exported)
                busy += time.monotonic() - started
                # A slice at a time, letting batches in between (the figures encoded are
                # those computed above: a location fed meanwhile waits for the next pass).
                busy += await in_slices(codes, lambda code: encoder.add(computed.samples([code])))
                started = time.monotonic()
                payload = encoder.finish()
                busy += time.monotonic() - started
                self.sink.observe_snapshot(busy)
                await self.store.write_snapshot(payload)
                if self.engine.changed_locations():
                    self._dirty = True  # changed during the pass: the next one covers them
        except (RedisError, OSError) as error:
            self._dirty = True
            log.warning("snapshot not written", error=str(error))
        except RuntimeSnapshotError:
            self._dirty = True
        started = time.monotonic()
        await self.evaluate_alerts(self.engine.as_computed())
        self.heap.after_batch()  # the figures just computed are long-lived too
        self._computed_at = time.monotonic()
        self._compute_cost = busy + (self._computed_at - started)

    async def checkpoint(self) -> None:
        """Finish or start a checkpoint (`EngineState.tick`); Redis trouble waits a tick."""
        try:
            await self.state.tick()
        except (RedisError, OSError) as error:
            log.warning("checkpoint step deferred", error=str(error))

    async def _recompute_in_slices(self) -> float:
        """Recompute the changed locations a slice at a time, letting batches in between.

        Returns the seconds spent computing. An engine bug is logged and raised as
        RuntimeSnapshotError (no snapshot is written).
        """
        codes = self.engine.changed_locations()
        try:
            busy = await in_slices(codes, lambda code: self.engine.refresh([code]))
        except Exception:
            # The engine contains failures per location; this is a bug outside them.
            log.exception("KPI recompute failed")
            raise RuntimeSnapshotError from None
        if codes:
            self._location_cost = busy / len(codes)
        await self._report_failures()
        return busy

    async def _report_failures(self) -> None:
        """Log and count the locations the engine could not (wholly) compute.

        Their series go stale (an exception) or lose the non-finite values; the
        others are fresh. `kpimon_kpi_location_errors_total{reason}` makes it visible.
        """
        failures = self.engine.take_failures()
        if not failures:
            return
        counts: dict[str, int] = {}
        for failure in failures:
            log.error(
                "location KPIs not computed"
                if failure.reason == "exception"
                else "non-finite KPI values dropped",
                location=failure.location,
                reason=failure.reason,
                detail=failure.detail,
            )
            counts[failure.reason] = counts.get(failure.reason, 0) + 1
        try:
            for reason, count in counts.items():
                await self.store.increment_counter(
                    counter_field("kpi_location_errors_total", reason), count
                )
        except (RedisError, OSError) as error:
            log.warning("location errors not counted", error=str(error))

    async def evaluate_alerts(self, source: EngineSource | None = None) -> None:
        """Run the alert rules over what changed since the last evaluation, then commit.

        `source` defaults to the engine (recomputing what changed); the snapshot pass
        passes the figures it just computed.
        """
        if not (self._touched or self._dispatches):
            return
        touched, dispatches = self._touched, self._dispatches
        self._touched, self._dispatches = set(), []
        started = time.monotonic()
        try:
            evaluation = await self.alerts.process(
                source or self.engine, sorted(touched), dispatches
            )
            self._alert_cost = time.monotonic() - started
        except (RedisError, OSError) as error:
            # Nothing was committed: evaluate the same changes again on the next tick.
            self._touched |= touched
            self._dispatches = dispatches + self._dispatches
            log.warning("alert evaluation not committed", error=str(error))
            return
        except Exception:
            # A bug in a rule must not stop the stream; the KPIs keep flowing.
            log.exception("alert evaluation failed", locations=len(touched))
            return
        if source is not None:
            # Locations changed after `source` was computed were judged on their previous
            # figures: look at them again next time.
            self._touched |= touched.intersection(self.engine.changed_locations())
        for transition in evaluation.transitions:
            log.info(
                "alert state change",
                alertname=transition.labels.get("alertname"),
                status=transition.status,
                labels=transition.labels,
            )

    def prune(self) -> None:
        """Forget engine state behind each location's event-time retention horizon."""
        self.engine.prune()

    async def stop(self) -> None:
        """Stop the alert deliveries (the KPI process, on its way out)."""
        await self.alerts.stop()
