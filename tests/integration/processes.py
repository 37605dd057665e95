"""Looking at real processes and the worker's JSON log from a test (Linux /proc)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import orjson


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def kpi_children(worker_pid: int) -> list[int]:
    """The worker's KPI child processes (by parent pid and command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"streams.worker.kpi.child" in command and parent_of(int(entry.name)) == worker_pid:
            found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    """No such process, or only its zombie (nobody may reap an orphan in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def kill_quietly(pid: int) -> None:
    """SIGCONT then SIGKILL `pid` if it still exists (test clean-up)."""
    for sig in (signal.SIGCONT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def log_events(text: str) -> list[dict[str, Any]]:
    """The JSON lines of a worker log (KPIMON_LOG_FORMAT=json); other lines skipped."""
    events = []
    for line in text.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(orjson.JSONDecodeError):
                events.append(orjson.loads(line))
    return events
