"""The KPI side in a child process: the worker's client end (see `child` for the other).

The worker's one event loop and its one GIL were the ceiling of its throughput:
validating and storing a batch, and feeding the engine and computing KPIs from
it, took turns on one core. With the KPI side in its own process, the engine
works on batch N while the worker stores batch N+1.

Frames (`streams.worker.kpi.frames`, one type each), worker to child: `Start`
(the pickled settings, first), `Feed` (stored_at, catching_up, log entry, payloads:
the only form events cross in), `Reload`, `Tick` (lag), `Prune`. Child to worker:
`Ready`, `Fed` (lag histogram counts and sum), `Reloaded`, `Computed` (snapshot
computing seconds, unprompted).

The child never outlives the worker: it is started with the worker's pid and asks
the kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`, see `child`),
so a SIGKILLed worker takes its child (which may hold gigabytes) with it at once;
a worker that stops gracefully closes the child's input, waits `STOP_SECONDS` for
it to exit, then kills it.

Guarantees: a batch is fed only after Redis applied it, and at most one fed
batch is unacknowledged, so the engine trails the store by at most one batch
(the backlog rate read from the store's counters is the engine's rate too).
If the child dies, the next batch (or tick) starts a new one, which rebuilds
from Redis: the batches applied meanwhile are in Redis, so none is lost, and
none is fed twice because the worker applies nothing while the new child
rebuilds (its caller holds the batch lock). A child that does not answer a feed
within `kpi_feed_timeout_seconds` is taken for hung, killed and replaced the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
import time
from collections import deque
from collections.abc import Sequence

import msgspec
import structlog

from streams.retry import EXIT_SOFTWARE, Backoff, Fatal, Verdict, retry
from streams.settings import Settings
from streams.worker import metrics
from streams.worker.kpi.frames import (
    Computed,
    Fed,
    Feed,
    Prune,
    Reload,
    Start,
    Tick,
    ToWorker,
    encode_frame,
    read_to_worker,
)

log = structlog.get_logger(__name__)

# A child that dies this many times within RESTART_WINDOW_SECONDS stops the worker.
MAX_RESTARTS = 5
EXIT_KPI_PROCESS_FAILING = EXIT_SOFTWARE
RESTART_WINDOW_SECONDS = 60.0
# How long a child whose input was closed may take to exit before it is killed.
STOP_SECONDS = 5.0
# Between two starts of a child that did not come up.
_START_BACKOFF = Backoff(initial_seconds=1.0, factor=1.0, max_seconds=1.0, jitter=0.0)


class KpiProcessGone(Exception):
    """The KPI process exited (or was never started)."""


class KpiProcessStopped(KpiProcessGone):
    """No child is started: the worker is stopping."""


class KpiProcessFailing(Fatal):
    """The KPI process keeps dying: the worker exits (status 70) for its supervisor to see.

    Out of memory, a broken install: Redis has every applied batch and Kafka's
    committed offsets go no further, so a restarted worker loses nothing.
    """

    exit_code = EXIT_KPI_PROCESS_FAILING


def _start_verdict(error: BaseException) -> Verdict:
    if isinstance(error, KpiProcessStopped):
        return "fatal"
    return "transient" if isinstance(error, KpiProcessGone) else "fatal"


class KpiProcess:
    """`KpiSide` in a child process (`python -m streams.worker.kpi.child`).

    `lock` is held by the worker while it applies a batch and feeds it; a restart
    from the timer takes it too, so no batch is applied during a rebuild.
    """

    def __init__(self, settings: Settings, lock: asyncio.Lock) -> None:
        self._settings = pickle.dumps(settings)
        self._feed_timeout = settings.worker.kpi_feed_timeout_seconds
        self._lock = lock
        self._child: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._replies: deque[asyncio.Future[ToWorker]] = deque()
        self._pending: asyncio.Future[ToWorker] | None = None  # the unacknowledged feed
        self._starts: deque[float] = deque()
        self._stopped = False  # the worker is stopping: no new child

    @property
    def alive(self) -> bool:
        return self._reader is not None and not self._reader.done()

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    async def start(self) -> None:
        """Start a child (it rebuilds from Redis) and wait until it is ready.

        A child that does not come up is started again, up to MAX_RESTARTS starts
        within RESTART_WINDOW_SECONDS; then `KpiProcessFailing`.
        """
        await retry(
            self._spawn,
            what="kpi process did not start",
            verdict=_start_verdict,
            backoff=_START_BACKOFF,
        )

    async def _spawn(self) -> None:
        now = time.monotonic()
        while self._starts and now - self._starts[0] > RESTART_WINDOW_SECONDS:
            self._starts.popleft()
        if len(self._starts) >= MAX_RESTARTS:
            raise KpiProcessFailing(
                f"the KPI process died {MAX_RESTARTS} times within {RESTART_WINDOW_SECONDS:g}s"
            )
        if self._stopped:
            raise KpiProcessStopped("the worker is stopping")
        self._starts.append(now)
        await self._end()
        try:
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "streams.worker.kpi.child",
                "--parent-pid",
                str(os.getpid()),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=1 << 20,
            )
        except OSError as error:  # fork or exec refused (out of memory, no such file)
            raise KpiProcessGone(f"could not start: {error}") from error
        self._child = child
        self._replies = deque()
        self._pending = None
        ready = self._expect()
        self._reader = asyncio.create_task(self._read(child), name="kpi-process-reader")
        self._write(encode_frame(Start(self._settings)))
        await ready
        log.info("kpi process ready", pid=child.pid)

    async def _respawn(self, reason: str) -> None:
        if self._stopped:
            log.info("kpi process gone; the worker is stopping", reason=reason)
            return
        log.error("kpi process gone; starting a new one (it rebuilds from redis)", reason=reason)
        await self.start()

    def _expect(self) -> asyncio.Future[ToWorker]:
        future: asyncio.Future[ToWorker] = asyncio.get_running_loop().create_future()
        self._replies.append(future)
        return future

    def _write(self, frame: bytes) -> None:
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.write(frame)

    def _try_write(self, frame: bytes) -> None:
        """Write if there is a child; a dead one is restarted by the next tick."""
        child = self._child
        if child is None or child.stdin is None:
            return
        try:
            child.stdin.write(frame)
        except ConnectionError as error:
            log.warning("kpi process input closed", error=str(error))

    async def _drain(self) -> None:
        assert self._child is not None and self._child.stdin is not None
        try:
            await self._child.stdin.drain()
        except (ConnectionError, BrokenPipeError) as error:
            raise KpiProcessGone(str(error)) from None

    async def _read(self, child: asyncio.subprocess.Process) -> None:
        assert child.stdout is not None
        try:
            while True:
                frame = await read_to_worker(child.stdout)
                if isinstance(frame, Computed):
                    for seconds in frame.seconds:
                        metrics.SNAPSHOT_SECONDS.observe(seconds)
                    continue
                if isinstance(frame, Fed):
                    metrics.EVENT_LAG.merge(frame.lag_counts, frame.lag_sum)
                if self._replies:
                    future = self._replies.popleft()
                    if not future.done():
                        future.set_result(frame)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except (msgspec.DecodeError, ValueError, IndexError, TypeError) as error:
            # A corrupt frame: the pipe cannot be trusted any more; replace the child.
            log.error("kpi process sent a corrupt frame; killing it", error=str(error))
            _kill(child)
        finally:
            code = await child.wait()
            (log.info if self._stopped else log.warning)(
                "kpi process exited", pid=child.pid, code=code
            )
            while self._replies:
                future = self._replies.popleft()
                if not future.done():
                    future.set_exception(KpiProcessGone(f"exit code {code}"))

    async def feed(
        self, payloads: Sequence[bytes], entry: str, stored_at: float, catching_up: bool
    ) -> None:
        """Send the batch once the previous one is fed (called with the batch lock held)."""
        if not await self._settle():
            return  # a new process rebuilt from Redis, this batch included
        # Sent even with no new events: the child learns the worker is catching up.
        self._pending = self._expect()
        self._write(encode_frame(Feed(stored_at, catching_up, entry, list(payloads))))
        try:
            await self._drain()
        except KpiProcessGone as error:
            await self._respawn(str(error))

    async def _settle(self) -> bool:
        """Wait for the fed batch; False when the process had to be restarted."""
        pending, self._pending = self._pending, None
        try:
            if pending is not None:
                try:
                    await asyncio.wait_for(pending, self._feed_timeout)
                except TimeoutError:
                    raise KpiProcessGone(f"no answer in {self._feed_timeout:g}s") from None
            if not self.alive:
                raise KpiProcessGone("not running")
        except KpiProcessGone as error:
            await self._respawn(str(error))
            return False
        return True

    async def reload(self) -> None:
        if not await self._settle():
            return
        reloaded = self._expect()
        self._write(encode_frame(Reload()))
        try:
            await self._drain()
            await reloaded
        except KpiProcessGone as error:
            await self._respawn(str(error))

    async def tick(self, lag: int) -> None:
        if self._stopped:
            return
        if not self.alive:
            async with self._lock:
                if not self.alive:
                    self._pending = None
                    await self._respawn("not running")
            return
        self._try_write(encode_frame(Tick(lag)))

    async def prune(self) -> None:
        if self.alive:
            self._try_write(encode_frame(Prune()))

    async def stop(self) -> None:
        """The worker is stopping: end the child within STOP_SECONDS, start no other."""
        self._stopped = True
        await self._end()

    async def _end(self) -> None:
        """End the child: its input closed, it exits; one that does not is killed."""
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            child.stdin.close()
        try:
            await asyncio.wait_for(child.wait(), STOP_SECONDS)
        except TimeoutError:
            log.warning("kpi process did not exit; killing it", pid=child.pid)
            _kill(child)
            await child.wait()
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader  # ends once the child has exited (it never raises)
        log.info("kpi process ended", pid=child.pid, code=child.returncode)


def _kill(child: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):  # exited meanwhile
        child.kill()
