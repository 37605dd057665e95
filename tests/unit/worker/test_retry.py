"""The one retry helper: back-off between tries, a bound on stalling, suspects given up on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from streams.retry import (
    EXIT_PERSISTENT,
    EXIT_STALLED,
    Backoff,
    Persistent,
    Stalled,
    Verdict,
    describe,
    retry,
)


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Step:
    """Fails with the given errors in turn, then returns `result`."""

    def __init__(self, *errors: Exception, result: str = "done") -> None:
        self.errors = list(errors)
        self.calls = 0
        self.result = result

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def by_type(error: BaseException) -> Verdict:
    if isinstance(error, ConnectionError):
        return "transient"
    if isinstance(error, LookupError):
        return "suspect"
    return "fatal"


NO_JITTER = Backoff(initial_seconds=1.0, factor=2.0, max_seconds=8.0, jitter=0.0)


def run(
    step: Step,
    time: FakeTime,
    *,
    stall_seconds: float | None,
    on_failure: Callable[[BaseException], None] | None = None,
) -> str:
    return asyncio.run(
        retry(
            step,
            what="thing not done",
            verdict=by_type,
            stall_seconds=stall_seconds,
            backoff=NO_JITTER,
            on_failure=on_failure,
            clock=time.clock,
            sleep=time.sleep,
        )
    )


def test_transient_failures_are_retried_with_capped_exponential_backoff() -> None:
    """Six connection errors, then success: delays 1, 2, 4, 8, 8, 8 s and the step's result."""
    time = FakeTime()
    step = Step(*[ConnectionError("refused")] * 6)
    seen: list[BaseException] = []
    assert run(step, time, stall_seconds=300.0, on_failure=seen.append) == "done"
    assert time.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert step.calls == 7
    assert len(seen) == 6


def test_a_step_failing_past_the_stall_bound_raises_stalled_with_the_last_error() -> None:
    """Transient errors for 20 s against a 20 s bound: Stalled (exit 69), not a silent loop."""
    time = FakeTime()
    step = Step(*[ConnectionError(f"refused {n}") for n in range(100)])
    with pytest.raises(Stalled) as raised:
        run(step, time, stall_seconds=20.0)
    assert raised.value.exit_code == EXIT_STALLED
    assert isinstance(raised.value.__cause__, ConnectionError)
    assert "refused" in str(raised.value) and "20s" in str(raised.value)
    # 1+2+4+8 = 15, then the last wait is cut to land on the bound: 5.
    assert time.sleeps == [1.0, 2.0, 4.0, 8.0, 5.0]
    assert time.now - 1000.0 == 20.0


def test_an_outage_shorter_than_the_bound_is_ridden_out() -> None:
    """Failing for 15 s of a 20 s bound, then healthy: the step succeeds, nothing raised."""
    time = FakeTime()
    step = Step(*[ConnectionError("down")] * 4)
    assert run(step, time, stall_seconds=20.0) == "done"
    assert sum(time.sleeps) == 15.0


def test_the_same_suspect_error_three_times_in_a_row_is_persistent() -> None:
    """A script error is retried twice (a failover's hiccup), the third gives up (exit 76)."""
    time = FakeTime()
    step = Step(*[KeyError("script failed")] * 5)
    with pytest.raises(Persistent) as raised:
        run(step, time, stall_seconds=300.0)
    assert raised.value.exit_code == EXIT_PERSISTENT
    assert step.calls == 3
    assert len(time.sleeps) == 2


def test_a_transient_error_between_suspects_resets_their_count() -> None:
    """suspect, suspect, transient, suspect, suspect: not three in a row, so it succeeds."""
    time = FakeTime()
    step = Step(KeyError("a"), KeyError("b"), ConnectionError("c"), KeyError("d"), KeyError("e"))
    assert run(step, time, stall_seconds=300.0) == "done"
    assert step.calls == 6


def test_a_fatal_error_is_raised_unchanged_without_waiting() -> None:
    """A bug is not retried: the original exception, at once."""
    time = FakeTime()
    step = Step(ValueError("bug"))
    with pytest.raises(ValueError, match="bug"):
        run(step, time, stall_seconds=300.0)
    assert time.sleeps == []
    assert step.calls == 1


def test_without_a_bound_transient_errors_are_retried_for_as_long_as_they_last() -> None:
    """stall_seconds=None (an alert producer waiting for its broker): 200 failures, then ok."""
    time = FakeTime()
    step = Step(*[ConnectionError("down")] * 200)
    assert run(step, time, stall_seconds=None) == "done"
    assert step.calls == 201
    assert max(time.sleeps) == 8.0


def test_cancellation_is_not_swallowed() -> None:
    """A task cancelled while it backs off is cancelled, not retried."""

    async def scenario() -> None:
        async def step() -> None:
            raise ConnectionError("down")

        task = asyncio.create_task(
            retry(step, what="x", verdict=by_type, backoff=Backoff(initial_seconds=60.0))
        )
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_jitter_stays_within_its_share_of_the_delay() -> None:
    """±10 % jitter around the exponential delay, never past the cap."""
    backoff = Backoff(initial_seconds=0.2, max_seconds=30.0, jitter=0.1)
    assert backoff.delay(1, rand=lambda: 0.0) == pytest.approx(0.18)
    assert backoff.delay(1, rand=lambda: 1.0) == pytest.approx(0.22)
    assert backoff.delay(20, rand=lambda: 1.0) == 30.0


def test_describe_names_the_error_type_even_without_a_message() -> None:
    """aiokafka raises errors with empty messages; logs still say what happened."""
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(ConnectionError("refused")) == "ConnectionError: refused"
