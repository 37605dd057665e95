"""The one retry loop of the monitor: capped exponential back-off, and a bound on stalling.

Every place that waits for Redis or Kafka to come back (the worker's batch, its start,
the KPI side's rebuild, the alert producer, the alert dispatcher's back-off) uses this
module, so "how long do we keep trying, and what then" has one answer:

- a **transient** error (a connection refused, a timeout, a broker without a leader) is
  retried with back-off for as long as the step keeps failing, up to `stall_seconds`
  since its first failure; past that the step raises `Stalled`: the process cannot
  make progress and must say so (exit non-zero) instead of looping silently;
- a **suspect** error (one that does not usually heal by itself: a Redis script error,
  a broker refusing for good) is retried a few times in a row, in case it was a
  failover's hiccup, then raises `Persistent`;
- anything else (a bug) is raised at once, unchanged.

The caller says which is which (`Verdict`), so this module stays pure: no Redis, no
Kafka; the clock, the sleep and the jitter are parameters (tests pass fakes).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
# What a failure means for the step: retry it, retry it a few times, or give up now.
Verdict = Literal["transient", "suspect", "fatal"]

# The longest pause between two tries of a worker step (Redis or Kafka coming back).
RETRY_MAX_SECONDS = 30.0
# A suspect error this many times in a row is taken as permanent.
SUSPECT_ATTEMPTS = 3

# Exit statuses of the worker (sysexits.h), one per way of giving up, so a supervisor
# and the on-call engineer can tell them apart.
EXIT_STALLED = 69  # EX_UNAVAILABLE: a dependency stayed unavailable past the bound
EXIT_SOFTWARE = 70  # EX_SOFTWARE: the KPI process keeps dying, or an unexpected error
EXIT_PERSISTENT = 76  # EX_PROTOCOL: Redis or Kafka keeps refusing the same request


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry `attempt` (1, 2, ...): initial * factor^(attempt-1), capped, +- jitter."""

    initial_seconds: float = 0.5
    factor: float = 2.0
    max_seconds: float = 60.0
    jitter: float = 0.1

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        base = min(self.max_seconds, self.initial_seconds * self.factor ** max(0, attempt - 1))
        spread = base * self.jitter * (2.0 * rand() - 1.0)
        return max(0.0, min(self.max_seconds, base + spread))


# The worker's steps: quick first retries (a Redis failover takes a fraction of a
# second), at most RETRY_MAX_SECONDS apart.
WORKER_BACKOFF = Backoff(initial_seconds=0.2, max_seconds=RETRY_MAX_SECONDS)


class Fatal(Exception):
    """The process cannot go on; its entry point exits with `exit_code` (already logged)."""

    exit_code: int = EXIT_SOFTWARE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class Stalled(Fatal):
    """A step kept failing with transient errors for longer than its bound."""

    exit_code = EXIT_STALLED


class Persistent(Fatal):
    """A step failed with the same kind of non-transient error several times in a row."""

    exit_code = EXIT_PERSISTENT


def describe(error: BaseException) -> str:
    """`Type: message` (aiokafka's errors often have an empty message)."""
    text = str(error)
    name = type(error).__name__
    return f"{name}: {text}" if text and not text.startswith(name) else text or name


async def retry(
    step: Callable[[], Awaitable[T]],
    *,
    what: str,
    verdict: Callable[[BaseException], Verdict],
    stall_seconds: float | None = None,
    backoff: Backoff = WORKER_BACKOFF,
    suspect_attempts: int = SUSPECT_ATTEMPTS,
    on_failure: Callable[[BaseException], None] | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Run `step` until it returns, backing off between tries; returns its result.

    `what` names the failure in logs and errors ("batch not stored"). `stall_seconds`
    bounds how long the step may keep failing (None: for ever, for steps whose caller
    has nothing better to do, such as an alert producer waiting for its broker).
    `on_failure` sees every failure that will be retried (the worker rebuilds its KPI
    side after one).
    Cancellation is never caught.
    """
    attempt = 0
    suspects = 0
    first_failure: float | None = None
    while True:
        try:
            return await step()
        except Exception as error:
            kind = verdict(error)
            if kind == "fatal":
                raise
            now = clock()
            if first_failure is None:
                first_failure = now
            attempt += 1
            failing_for = now - first_failure
            suspects = suspects + 1 if kind == "suspect" else 0
            if suspects >= suspect_attempts:
                raise Persistent(
                    f"{what}: a non-transient error {suspects} times in a row: {describe(error)}"
                ) from error
            if stall_seconds is not None and failing_for >= stall_seconds:
                raise Stalled(
                    f"{what}: failing for {failing_for:.0f}s (bound {stall_seconds:g}s, "
                    f"{attempt} attempts); last error: {describe(error)}"
                ) from error
            delay = backoff.delay(attempt, rand)
            if stall_seconds is not None:  # the last try lands on the bound, not past it
                delay = max(0.0, min(delay, stall_seconds - failing_for))
            if on_failure is not None:
                on_failure(error)
            log.warning(
                f"{what}; retrying",
                error=describe(error),
                verdict=kind,
                attempt=attempt,
                delay=round(delay, 3),
                failing_for=round(failing_for, 3),
            )
            await sleep(delay)
