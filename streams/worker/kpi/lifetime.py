"""A process that never outlives its parent (the KPI process, its checkpoint writers).

It asks Linux to SIGKILL it when its parent dies (`prctl(PR_SET_PDEATHSIG)`),
then checks that its parent is still the one that started it (the parent may
have died before the request was made). Where prctl is not available, a thread
watches the parent pid instead.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time

import structlog

log = structlog.get_logger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The exit status of a process that finds its parent already gone at start.
EXIT_ORPHANED = 3
# How often the fallback watcher (no prctl) looks at the parent pid.
PARENT_POLL_SECONDS = 0.5


class Orphaned(Exception):
    """The process that started this one is gone."""


def die_with_parent(parent_pid: int) -> bool:
    """Be SIGKILLed when the parent dies; raises `Orphaned` if it is already gone.

    Returns False when the kernel does not offer the parent-death signal (not Linux):
    the caller then watches the parent itself (`watch_parent`).
    """
    supported = True
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            supported = False
            log.warning("prctl(PR_SET_PDEATHSIG) failed", errno=ctypes.get_errno())
    except (OSError, AttributeError):
        supported = False
    # The parent may have died before the request: the process then has a new parent.
    if os.getppid() != parent_pid:
        raise Orphaned(f"the parent (pid {parent_pid}) is gone")
    return supported


def watch_parent(parent_pid: int, interval: float = PARENT_POLL_SECONDS) -> threading.Thread:
    """A daemon thread that ends this process when its parent is no longer `parent_pid`.

    A thread, not a task: it runs while the event loop is busy computing.
    """

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="kpi-parent-watch", daemon=True)
    thread.start()
    return thread
