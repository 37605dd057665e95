"""Wall-clock pacing of simulated events (`streams.simulate.clock.Pacer`)."""

from __future__ import annotations

import pytest

from streams.simulate import Pacer


class FakeClock:
    """Monotonic and wall clocks that only move when the pacer sleeps."""

    def __init__(self, wall: float = 1_000_000.0) -> None:
        self.mono = 50.0
        self.wall_offset = wall - self.mono
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> float:
        return self.mono + self.wall_offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.mono += seconds


def paced(
    occurred: list[float], *, speedup: float = 0.0, rate: float = 0.0, follow: bool = False
) -> list[float]:
    clock = FakeClock()
    pacer = Pacer(
        speedup=speedup,
        rate=rate,
        follow=follow,
        monotonic=clock.monotonic,
        wall=clock.wall,
        sleep=clock.sleep,
    )
    for epoch in occurred:
        pacer.wait(epoch)
    return clock.sleeps


@pytest.mark.parametrize(
    ("occurred", "options", "sleeps"),
    [
        # speedup 1: simulated gaps become wall gaps
        ([100.0, 101.5, 103.0], {"speedup": 1.0}, [1.5, 1.5]),
        # speedup 10: ten simulated seconds per wall second
        ([100.0, 110.0, 130.0], {"speedup": 10.0}, [1.0, 2.0]),
        # rate 2: at most two events a second, whatever their times
        ([5.0, 5.0, 5.0], {"rate": 2.0}, [0.5, 0.5]),
        # follow: wait for the wall clock to reach each event's time, never for past ones
        ([999_990.0, 1_000_003.0, 1_000_001.0], {"follow": True}, [3.0]),
        # unpaced: never sleeps
        ([1.0, 500.0, 90_000.0], {}, []),
        # the stricter constraint wins: rate 1/s over speedup 100
        ([0.0, 1.0, 2.0], {"speedup": 100.0, "rate": 1.0}, [1.0, 1.0]),
    ],
)
def test_pacer_sleeps_as_the_constraints_require(
    occurred: list[float], options: dict[str, float], sleeps: list[float]
) -> None:
    """Each pacing rule (speedup, rate cap, follow, none, combined) yields the expected sleeps."""
    assert paced(occurred, **options) == sleeps  # type: ignore[arg-type]


def test_pacer_is_active_only_with_a_constraint() -> None:
    """`active` tells whether the caller needs to consult the pacer at all."""
    assert not Pacer(speedup=0, rate=0, follow=False).active
    assert Pacer(speedup=1, rate=0, follow=False).active
    assert Pacer(speedup=0, rate=5, follow=False).active
    assert Pacer(speedup=0, rate=0, follow=True).active


def test_pacer_refuses_negative_settings() -> None:
    """A negative speed-up or rate is a ValueError."""
    with pytest.raises(ValueError):
        Pacer(speedup=-1, rate=0, follow=False)
    with pytest.raises(ValueError):
        Pacer(speedup=0, rate=-1, follow=False)
