"""A KPI child never outlives the process that started it, even while it ignores its input.

Real processes (no broker, no Redis needed): the child is started as the worker starts
it, by a stand-in parent, with an input pipe this test keeps open, so the only thing
that can end it when its parent dies is the parent-death signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from streams.worker.kpi.lifetime import EXIT_ORPHANED

REPO = Path(__file__).resolve().parents[3]

PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen(
    [sys.executable, "-m", "streams.worker.kpi.child", "--parent-pid", str(os.getpid())],
    stdin=int(sys.argv[1]), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    pass_fds=(int(sys.argv[1]),),
)
print(child.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    """No such process, or only its zombie (nobody may reap an orphan in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _wait(predicate: object, timeout: float, what: str) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - began
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _redirected(pid: int) -> bool:
    """The child has passed its start-up checks: it moved fd 1 (frames) aside."""
    try:
        return os.readlink(f"/proc/{pid}/fd/1") == os.readlink(f"/proc/{pid}/fd/2")
    except OSError:
        return False


def test_a_child_is_killed_as_soon_as_its_parent_is_sigkilled() -> None:
    """SIGKILL of the parent: the child, blocked on an input still open, is gone in < 2 s."""
    read_end, write_end = os.pipe()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(read_end)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        pass_fds=(read_end,),
    )
    os.close(read_end)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        _wait(lambda: _redirected(child), 30, "the child to start")
        parent.kill()
        parent.wait(timeout=10)
        seconds = _wait(lambda: _gone(child), 5, f"child {child} to die with its parent")
        assert seconds < 2.0
    finally:
        os.close(write_end)
        if parent.poll() is None:
            parent.kill()
        with contextlib.suppress(ProcessLookupError, UnboundLocalError):
            os.kill(child, signal.SIGKILL)


def test_a_child_whose_parent_is_already_gone_exits_at_once() -> None:
    """The race: the worker died before the child asked for the signal; it exits itself."""
    read_end, write_end = os.pipe()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "streams.worker.kpi.child", "--parent-pid", "1"],
            cwd=REPO,
            stdin=read_end,
            capture_output=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(read_end)
        os.close(write_end)
    assert result.returncode == EXIT_ORPHANED
    assert b"is gone" in result.stderr
