"""`kpimon simulate`: option resolution, file output and publishing (without Kafka)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli import simulate as cli
from streams.events.decode import Rejection, decode_event
from streams.settings import Settings
from streams.simulate import SimulationConfig, generate
from streams.simulate.demand import orders_per_hour_for

START = "2026-11-27T10:00:00+00:00"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kpimon")
    cli.add_command(parser.add_subparsers())
    return parser.parse_args(["simulate", *argv])


def test_out_writes_the_generated_log_as_valid_jsonl(tmp_path: Path) -> None:
    """`--no-publish --out FILE` writes exactly the generator's events, each contract-valid."""
    out = tmp_path / "sim.jsonl"
    args = parse("--no-publish", "--out", str(out), "--events", "400", "--start", START)
    assert cli.run(args, Settings()) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 400
    assert not any(isinstance(decode_event(line), Rejection) for line in lines)
    config = SimulationConfig(seed=1, start=datetime.fromisoformat(START), events=400)
    assert [orjson.loads(line) for line in lines] == list(generate(config))


def test_out_dash_streams_jsonl_to_stdout_and_the_summary_to_stderr(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """With `--out -` stdout carries only JSON lines; the per-type summary goes to stderr."""
    assert cli.run(parse("--no-publish", "--out", "-", "--events", "150"), Settings()) == 0
    captured = capsysbinary.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 150 and all(orjson.loads(line)["event_id"] for line in lines)
    assert b"inventory.snapshot" in captured.err and b"150 events" in captured.err


def test_backfill_without_a_limit_stops_at_now(tmp_path: Path) -> None:
    """`--start now-2h` with no --events/--duration yields events from 2 h ago up to now."""
    out = tmp_path / "backfill.jsonl"
    before = datetime.now(UTC)
    assert cli.run(parse("--no-publish", "--out", str(out), "--start", "now-2h"), Settings()) == 0
    stamps = [
        datetime.fromisoformat(orjson.loads(x)["occurred_at"])
        for x in out.read_bytes().splitlines()
    ]
    assert (
        before - timedelta(hours=2, seconds=5)
        <= stamps[0]
        <= before - timedelta(hours=2) + timedelta(seconds=5)
    )
    assert stamps[-1] <= datetime.now(UTC)


class FakePublisher:
    """Stands in for EventPublisher; records what it is given."""

    instances: list[FakePublisher] = []

    def __init__(self, kafka: Any, limits: Any = None) -> None:
        self.raw: list[bytes] = []
        self.flushed = self.closed = False
        FakePublisher.instances.append(self)

    def publish_raw(self, raw: bytes) -> object:
        decoded = decode_event(raw)
        assert not isinstance(decoded, Rejection)
        self.raw.append(raw)
        return decoded

    def flush(self, timeout: float | None = None) -> None:
        self.flushed = True

    def __enter__(self) -> FakePublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


def test_publishes_every_event_through_the_event_publisher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --no-publish every event goes to publish_raw; the publisher is flushed, closed."""
    import streams.events.publisher as publisher

    monkeypatch.setattr(publisher, "EventPublisher", FakePublisher)
    FakePublisher.instances.clear()
    args = parse("--events", "300", "--start", START)
    assert cli.run(args, Settings()) == 0
    (fake,) = FakePublisher.instances
    assert len(fake.raw) == 300 and fake.flushed and fake.closed


class UnreachablePublisher:
    """An EventPublisher whose broker cannot be reached."""

    def __init__(self, kafka: Any, limits: Any = None) -> None:
        from kafka.errors import KafkaTimeoutError

        raise KafkaTimeoutError("Unable to bootstrap from ['127.0.0.1:1']")


class PickyPublisher(FakePublisher):
    """Rejects order.placed events as the contract check would reject an invalid event."""

    def publish_raw(self, raw: bytes) -> object:
        from streams.events.publisher import RejectedEvent

        if b'"order.placed"' in raw:
            raise RejectedEvent(Rejection("invalid", "test"))
        return super().publish_raw(raw)


def test_unreachable_kafka_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the publisher cannot reach Kafka the command says so and exits with status 2."""
    import streams.events.publisher as publisher

    monkeypatch.setattr(publisher, "EventPublisher", UnreachablePublisher)
    assert cli.run(parse("--events", "10", "--start", START), Settings()) == 2
    assert "cannot publish to Kafka" in capsys.readouterr().err


def test_rejected_events_are_reported_and_fail_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Events the publisher rejects are counted, the rest still sent, and the exit status is 1."""
    import streams.events.publisher as publisher

    monkeypatch.setattr(publisher, "EventPublisher", PickyPublisher)
    FakePublisher.instances.clear()
    assert cli.run(parse("--events", "400", "--start", START), Settings()) == 1
    (fake,) = FakePublisher.instances
    assert 0 < len(fake.raw) < 400
    assert "rejected by the contract" in capsys.readouterr().out


SIZED_200 = orders_per_hour_for(200 * 3600, 4)  # world sized for 200 events/s at speed-up 1
SIZED_50 = orders_per_hour_for(50 * 3600, 4)


@pytest.mark.parametrize(
    ("argv", "speedup", "cap", "orders", "duration"),
    [
        # live: paced at 1, the world at its default size, endless
        ([], 1.0, 0.0, 20.0, None),
        # live with --rate: the world is sized for the rate, nothing capped
        (["--rate", "200"], 1.0, 0.0, SIZED_200, None),
        # live, explicit world size: the rate is a cap
        (["--rate", "200", "--orders-per-hour", "50"], 1.0, 200.0, 50.0, None),
        # backfill: unpaced, runs up to now
        (["--start", START], 0.0, 0.0, 20.0, 7200.0),
        # backfill with a rate: capped, not sized
        (["--start", START, "--rate", "500"], 0.0, 500.0, 20.0, 7200.0),
        # backfill then live: no horizon, sized for the live part
        (["--start", START, "--follow", "--rate", "50"], 0.0, 0.0, SIZED_50, None),
        # file only: unpaced by default
        (["--no-publish", "--events", "10"], 0.0, 0.0, 20.0, None),
        # explicit speed-up and duration: the 36 hours that end now, fast-forwarded
        (["--speedup", "60", "--duration", "36h"], 60.0, 0.0, 20.0, 129600.0),
        # file only, fast: written ahead of the clock is fine
        (["--no-publish", "--speedup", "60", "--duration", "1h"], 60.0, 0.0, 20.0, 3600.0),
    ],
)
def test_options_resolve_to_pacing_and_world_size(
    argv: list[str], speedup: float, cap: float, orders: float, duration: float | None
) -> None:
    """Each combination of live/backfill/file options resolves as the module docstring says."""
    resolved = cli.plan(parse(*argv), NOW)
    assert resolved.config.speedup == speedup
    assert resolved.cap == cap
    assert resolved.config.orders_per_hour == pytest.approx(orders)
    assert resolved.config.duration_seconds == duration
    assert resolved.follow == ("--follow" in argv)
    if "--start" not in argv:
        fast = "--no-publish" not in argv and speedup > 1
        assert resolved.config.start == (NOW - timedelta(seconds=duration or 0) if fast else NOW)


def test_a_published_speed_up_from_now_without_a_span_is_refused() -> None:
    """Events would run ahead of the clock and be rejected as clock_skew: a clear error."""
    with pytest.raises(ValueError, match="ahead of the clock"):
        cli.plan(parse("--speedup", "60"), NOW)


@pytest.mark.parametrize(
    ("argv", "scenario", "rollout_at", "share"),
    [
        # the default world tells the steady story
        ([], "steady", None, 0.5),
        # a backfill up to now (2 h): the model takes over halfway
        (["--scenario", "adaptive-rollout", "--start", START], "adaptive-rollout", 3600.0, 0.5),
        # backfill then live: halfway between the start and the moment the command started
        (
            ["--scenario", "adaptive-rollout", "--start", START, "--follow"],
            "adaptive-rollout",
            3600.0,
            0.5,
        ),
        # a file of 56 simulated days: 28 and 28
        (
            ["--scenario", "adaptive-rollout", "--no-publish", "--duration", "56d"],
            "adaptive-rollout",
            28 * 86400.0,
            0.5,
        ),
        # explicit switch and share
        (
            ["--scenario", "adaptive-rollout", "--rollout-at", "30m", "--rollout-share", "0.2"],
            "adaptive-rollout",
            1800.0,
            0.2,
        ),
    ],
)
def test_scenario_options_resolve_to_the_config(
    argv: list[str], scenario: str, rollout_at: float | None, share: float
) -> None:
    """Scenario options reach the config; the switch defaults to halfway through the period."""
    config = cli.plan(parse(*argv), NOW).config
    assert (config.scenario, config.rollout_at(), config.rollout_share) == (
        scenario,
        rollout_at,
        share,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "adaptive-rollout"], "splits a period in two"),  # live and endless
        (["--rollout-share", "0.3"], "need --scenario adaptive-rollout"),
        (["--rollout-at", "3d"], "need --scenario adaptive-rollout"),
    ],
)
def test_scenario_options_without_a_meaning_are_refused(argv: list[str], message: str) -> None:
    """A rollout with no period to split, or rollout options of a steady run, are clear errors."""
    with pytest.raises(ValueError, match=message):
        cli.plan(parse(*argv), NOW)


def test_rollout_scenario_writes_the_generated_log(tmp_path: Path) -> None:
    """`--scenario adaptive-rollout --out FILE` writes exactly the scenario's generated events."""
    out = tmp_path / "rollout.jsonl"
    argv = ["--no-publish", "--out", str(out), "--start", START, "--duration", "1d"]
    assert cli.run(parse(*argv, "--scenario", "adaptive-rollout"), Settings()) == 0
    config = SimulationConfig(
        seed=1,
        start=datetime.fromisoformat(START),
        duration_seconds=86400.0,
        scenario="adaptive-rollout",
    )
    assert [orjson.loads(line) for line in out.read_bytes().splitlines()] == list(generate(config))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T10:00:00+00:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T11:00:00+01:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T10:00:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),  # naive = UTC
    ],
)
def test_start_accepts_rfc3339_instants(text: str, expected: datetime) -> None:
    """--start takes RFC 3339 with or without an offset (naive means UTC)."""
    assert parse("--start", text).start == expected


@pytest.mark.parametrize(("text", "ago"), [("now-7d", 7 * 86400), ("-36h", 36 * 3600), ("now", 0)])
def test_start_accepts_times_relative_to_now(text: str, ago: float) -> None:
    """--start now-7d / -36h / now mean that long before the command started."""
    start = parse(f"--start={text}").start
    assert abs((datetime.now(UTC) - start).total_seconds() - ago) < 5


@pytest.mark.parametrize(
    "argv",
    [
        ["--start", "yesterday"],
        ["--rate", "-1"],
        ["--duration", "soon"],
        ["--scenario", "sunny"],
        ["--rollout-share", "1.5"],
    ],
)
def test_bad_options_are_usage_errors(argv: list[str]) -> None:
    """Unparsable times, negative rates, bad durations, scenarios and shares exit with status 2."""
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
