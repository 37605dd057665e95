"""What the benchmark reads of the running system: process memory, Redis keys by role.

Process memory is read from `/proc/<pid>/status` (VmRSS now, VmHWM the peak) for
the worker and its KPI process (`python -m streams.worker.kpi.child`, a child of
the worker; a checkpoint writer, a short-lived fork of the KPI process, is not
counted). Redis memory is `MEMORY USAGE` (all samples) summed over the run's own
keys, by role, so other users of the same Redis do not blur it; `used_memory`
(INFO) is reported beside it as a cross-check.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

KPI_CHILD = "streams.worker.kpi.child"
PIPELINE_KEYS = 2000
_LOG = re.compile(r"^log(:|$)")


@dataclass(frozen=True)
class ProcessMemory:
    rss: int  # bytes
    peak: int  # VmHWM, bytes


def process_memory(pid: int) -> ProcessMemory | None:
    """VmRSS and VmHWM of a live process (None once it has gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    if "VmRSS" not in values:
        return None  # a zombie
    return ProcessMemory(values["VmRSS"], values.get("VmHWM", values["VmRSS"]))


def children(pid: int) -> list[int]:
    """The direct children of `pid` (every thread's list)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def kpi_child(worker_pid: int) -> int | None:
    """The worker's KPI process, if it runs."""
    return next((pid for pid in children(worker_pid) if KPI_CHILD in cmdline(pid)), None)


@dataclass(frozen=True)
class WorkerMemory:
    worker: ProcessMemory
    kpi: ProcessMemory | None

    @property
    def rss(self) -> int:
        return self.worker.rss + (self.kpi.rss if self.kpi else 0)

    @property
    def peak(self) -> int:
        return self.worker.peak + (self.kpi.peak if self.kpi else 0)

    def describe(self) -> str:
        kpi = self.kpi
        return (
            f"RSS {mb(self.rss)} (worker {mb(self.worker.rss)}, KPI process "
            f"{mb(kpi.rss) if kpi else 'none'}); peak {mb(self.peak)}"
        )


def worker_memory(worker_pid: int) -> WorkerMemory | None:
    worker = process_memory(worker_pid)
    if worker is None:
        return None
    child = kpi_child(worker_pid)
    return WorkerMemory(worker, process_memory(child) if child is not None else None)


def role_of(key: str) -> str:
    """A key (without the run's prefix) by what it holds (see streams/store/keys.py)."""
    if key.startswith("ids:") or key in ("ids", "dedup:clock"):
        return "dedup"
    if key.startswith("state:"):
        return "checkpoint"
    if _LOG.match(key):
        return "log"
    if key == "kpi:snapshot":
        return "snapshot"
    if key.startswith("alerts:"):
        return "alerts"
    return "other"


ROLES = ("dedup", "checkpoint", "log", "snapshot", "alerts", "other")
STATE_ROLES = ("dedup", "checkpoint", "log")  # what grows with events (SPEC §4.1)


@dataclass
class Census:
    """The run's Redis keys: bytes and keys by role, and the event ids kept for dedup."""

    bytes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    keys: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    ids: int = 0  # entries of the dedup hashes
    used_memory: int = 0  # INFO used_memory of the whole Redis, for a cross-check

    @property
    def total(self) -> int:
        return sum(self.bytes.values())

    @property
    def state(self) -> int:
        """Bytes of the KPI state proper: dedup ids, checkpoint, event log."""
        return sum(self.bytes[role] for role in STATE_ROLES)

    def describe(self) -> str:
        parts = ", ".join(
            f"{role} {mb(self.bytes[role])} ({self.keys[role]:,} keys)"
            for role in ROLES
            if self.keys[role]
        )
        return f"{mb(self.total)}: {parts}; {self.ids:,} ids"


def _chunks(names: list[bytes]) -> Iterator[list[bytes]]:
    for first in range(0, len(names), PIPELINE_KEYS):
        yield names[first : first + PIPELINE_KEYS]


def census(client: redis.Redis, prefix: str) -> Census:
    """Sum MEMORY USAGE (every element sampled) of the keys under `prefix`, by role."""
    result = Census()
    names: list[bytes] = list(client.scan_iter(match=f"{prefix}*", count=5000))
    cut = len(prefix)
    for chunk in _chunks(names):
        with client.pipeline(transaction=False) as pipe:
            for name in chunk:
                pipe.memory_usage(name, samples=0)
            sizes: list[Any] = pipe.execute()
        ids = [name for name in chunk if name[cut:].startswith(b"ids:")]
        if ids:
            with client.pipeline(transaction=False) as pipe:
                for name in ids:
                    pipe.hlen(name)
                result.ids += sum(int(n) for n in pipe.execute())
        for name, size in zip(chunk, sizes, strict=True):
            if size is None:  # deleted meanwhile
                continue
            role = role_of(name[cut:].decode())
            result.bytes[role] += int(size)
            result.keys[role] += 1
    info: Any = client.info("memory")
    result.used_memory = int(info["used_memory"])
    return result


def mb(value: float) -> str:
    return f"{value / 1e6:,.1f} MB"


def per(value: float, count: float) -> str:
    """Bytes per unit, e.g. '17 B'."""
    return f"{value / count:,.0f} B" if count else "n/a"
