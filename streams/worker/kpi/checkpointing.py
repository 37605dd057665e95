"""Checkpoints of the engine, written by a forked copy of the KPI process.

`os.fork()` gives the copy a consistent image of the engine as of the last fed
batch, at the cost of a page table: the live process goes on feeding while the
copy pickles the locations changed since the previous checkpoint and writes
them (`streams.store.checkpoints.write_checkpoint`). Copy-on-write pages cost
memory only while the copy runs. Redis BGSAVE works the same way.

Only the KPI process forks (`fork=True`): it runs no threads of its own that
could hold a lock across the fork. In the worker process (`KPIMON_WORKER__KPI_PROCESS=false`)
the checkpoint is written inline, which blocks that process while it writes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from streams.worker.kpi.lifetime import die_with_parent, watch_parent

log = structlog.get_logger(__name__)

# A copy that has not finished by then is taken for stuck and killed.
CHECKPOINT_TIMEOUT_SECONDS = 600.0


class Dumpable(Protocol):
    """What a checkpoint reads of the engine (`streams.core.engine.KpiEngine`)."""

    def dump_location(self, code: str) -> bytes: ...

    def dump_global(self) -> bytes: ...


Write = Callable[[str, bytes | None, dict[str, bytes], int], object]
"""(applied entry, global blob or None, location blobs, events reflected) -> written
(may raise)."""


DONE, FAILED = 0, -1
"""The `pid` of a checkpoint written inline: done, or failed."""


@dataclass
class Pending:
    """A checkpoint being written by the forked copy `pid` (or inline: DONE, FAILED)."""

    pid: int
    applied: str
    events: int
    locations: set[str]
    global_changed: bool
    started: float = field(default_factory=time.monotonic)


def write(
    engine: Dumpable,
    applied: str,
    events: int,
    codes: set[str],
    global_changed: bool,
    sink: Write,
) -> None:
    """Dump the changed parts of `engine` and write them as of log entry `applied`."""
    blobs = {code: engine.dump_location(code) for code in sorted(codes)}
    global_blob = engine.dump_global() if global_changed else None
    sink(applied, global_blob, blobs, events)


def start(
    engine: Dumpable,
    applied: str,
    events: int,
    codes: set[str],
    global_changed: bool,
    connect: Callable[[], Write],
    fork: bool,
) -> Pending:
    """Start writing a checkpoint; `poll` tells when it is done.

    `connect` opens what writes (a fresh Redis connection: the copy must not share
    the live process's sockets) and is called in the process that writes.
    """
    if not fork:
        try:
            write(engine, applied, events, codes, global_changed, connect())
        except Exception as error:  # like a copy that failed: `poll` says so
            log.error("checkpoint not written", error=repr(error)[:500])
            return Pending(FAILED, applied, events, codes, global_changed)
        return Pending(DONE, applied, events, codes, global_changed)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the copy: write, then leave without running the live process's cleanup
        status = 1
        try:
            # A fork clears the parent-death signal: ask again, so a writer never
            # outlives the KPI process (its replacement may be checkpointing already).
            if not die_with_parent(parent):
                watch_parent(parent)
            write(engine, applied, events, codes, global_changed, connect())
            status = 0
        except BaseException as error:  # reported by the exit status
            log.error("checkpoint not written", error=repr(error)[:500])
        finally:
            os._exit(status)
    return Pending(pid, applied, events, codes, global_changed)


def poll(pending: Pending) -> bool | None:
    """True once written, False if the copy failed (or was stuck and killed), None while
    it runs."""
    if pending.pid in (DONE, FAILED):
        return pending.pid == DONE
    done, status = os.waitpid(pending.pid, os.WNOHANG)
    if done == 0:
        if time.monotonic() - pending.started > CHECKPOINT_TIMEOUT_SECONDS:
            log.error("checkpoint writer stuck; killing it", pid=pending.pid)
            os.kill(pending.pid, 9)
            os.waitpid(pending.pid, 0)
            return False
        return None
    return os.waitstatus_to_exitcode(status) == 0
