"""`kpimon simulate`: a deterministic supply chain, published live or written as JSONL.

Time semantics (simulated time vs wall clock):

- **Live (default, no `--start`)**: the simulation starts *now* and is paced at
  `--speedup 1`: an event is published when the wall clock reaches its
  simulated time, so every event carries (about) the current time. It runs
  until `--events`/`--duration` or Ctrl-C. `--speedup 60 --duration 36h`
  fast-forwards (an hour a minute) through the 36 hours that end now: it starts
  36 h ago, so no timestamp runs ahead of the wall clock (the worker rejects
  events more than `KPIMON_EVENTS__MAX_CLOCK_SKEW_SECONDS` ahead: clock_skew);
  a published speed-up above 1 without `--duration` or `--start` is refused.
- **Backfill (`--start ISO` or `--start now-7d`)**: the simulation starts at that
  instant and is unpaced by default (`--speedup 0`): history is produced as fast
  as Kafka takes it. Without `--events`/`--duration` it stops when the simulated
  clock reaches the moment the command started, i.e. it fills exactly the gap
  up to now. With `--follow` it never publishes an event before its
  `occurred_at` on the wall clock instead: it backfills, catches up with now and
  carries on live.
- **File only (`--no-publish --out FILE`)**: unpaced unless `--speedup` is given;
  the start defaults to now as above.

`--rate N` always means "about N events per wall second":
- paced by simulated time (speedup > 0, or `--follow`) and no
  `--orders-per-hour` given: the world is sized to produce N events per wall
  second on average (more orders per hour) and nothing is capped; timestamps
  stay exact, e.g. `kpimon simulate --rate 200` is a busy live feed stamped
  with the current time. The rate swings with the local daily demand profile
  (from about 0.2 N at night to 2 N at peak), and a fresh world runs lighter
  (about 0.75 N over its first day) while its first orders are still being
  picked and delivered. Mind that a sized world is big: a `--follow` backfill
  of it produces about N x 86,400 events per simulated day;
- otherwise (unpaced, or `--orders-per-hour` given): a cap, publication is
  throttled to N events per second (events keep their simulated times; the
  feed just lags).
`--rate 0` (default): no sizing, no cap; the world has `--orders-per-hour` (20)
orders per location and hour, about 11,000 events a simulated day with the
default 4 locations.

Scenarios (`--scenario`):
- `steady` (default): the stressed supply chain, disruptions and all.
- `adaptive-rollout`: the leaders' question (SPEC §4.3) staged. The period is
  split in two by simulated time: in the first half every SKU-location runs on
  the planners' blanket buffer (three weeks of cover for every SKU; policies
  applied without a recommendation, or from overridden ones: the `planner`
  cohort); at the midpoint the policy model takes over `--rollout-share`
  (default 0.5, drawn by seed) of them with per-SKU buffers sized from live
  variability (recommendations applied as is: the `model` cohort), the rest
  stay on the blanket rule. The model cohort's turns go up, fill rate and
  stockouts do not get worse. The period is `--duration`, or the backfill span
  of a past `--start` (also with `--follow`: the rollout is then halfway
  between the start and the moment the command started); `--rollout-at 30d`
  sets the switch explicitly (simulated time after the start; give it, too,
  for a backfill "up to now" that must be the same log when re-run, else the
  midpoint moves with the clock, and so do the ids). Halves of four
  weeks or more show the effect in full (`--start now-60d --follow`: the
  default 30d window after the rollout, its prior window before);
  `streams/simulate/rollout.py` says what else differs from `steady`.

Same `--seed`, world options and absolute `--start` give the identical event
log (ids included; a backfill "up to now" just gets longer the later it runs),
so re-running a backfill is idempotent downstream. Without `--start`, or with a
relative one, the start instant differs per run, and so do the ids.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
from tqdm import tqdm

from streams.settings import Settings
from streams.simulate import Pacer, SimulationConfig, generate
from streams.simulate.config import ROLLOUT, SCENARIOS, STEADY
from streams.simulate.demand import orders_per_hour_for

MAX_REPORTED_REJECTS = 10
DEFAULT_ORDERS_PER_HOUR = 20.0
_RELATIVE = re.compile(r"(?:now)?-(\d+(?:\.\d+)?[smhdw])")


def _duration(text: str) -> float:
    """Seconds from "3600", "90m", "36h", "7d" or "2w"."""
    try:
        return float(text)
    except ValueError:
        pass
    from streams.core.windows import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _start(text: str) -> datetime:
    """An RFC 3339 instant (naive = UTC), "now", or relative to now: "now-7d" or "-7d"."""
    if text == "now":
        return datetime.now(UTC)
    relative = _RELATIVE.fullmatch(text)
    if relative:
        return datetime.now(UTC) - timedelta(seconds=_duration(relative[1]))
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (expected e.g. 2026-11-27T10:00:00+00:00 or -7d)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "simulate",
        help="simulate a supply chain: publish its events live or write a JSONL log",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--locations", type=int, default=4, help="number of locations")
    parser.add_argument("--skus", type=int, default=25, help="SKUs per location")
    parser.add_argument("--events", type=int, help="stop after N events")
    parser.add_argument(
        "--duration", type=_duration, help="stop after this much simulated time (s, or 36h, 7d)"
    )
    parser.add_argument(
        "--rate", type=_non_negative, default=0.0, help="cap in events per wall second (0 = none)"
    )
    parser.add_argument(
        "--start", type=_start, help="simulated start: RFC 3339, or relative as now-7d; default now"
    )
    parser.add_argument(
        "--speedup",
        type=_non_negative,
        help="simulated seconds per wall second, 0 = unpaced "
        "(default 1 live, 0 with --start or --no-publish)",
    )
    parser.add_argument(
        "--follow", action="store_true", help="never publish an event before its time (go live)"
    )
    parser.add_argument(
        "--orders-per-hour",
        type=float,
        help="mean orders per location and simulated hour (default 20, or sized by --rate)",
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default=STEADY,
        help="what the world tells: steady (default) or adaptive-rollout (see above)",
    )
    parser.add_argument(
        "--rollout-share",
        type=_share,
        help="adaptive-rollout: share of SKU-locations the model takes over (default 0.5)",
    )
    parser.add_argument(
        "--rollout-at",
        type=_duration,
        help="adaptive-rollout: simulated time after the start when the model takes over "
        "(default: half the period)",
    )
    parser.add_argument("--out", help="also write the events as JSON Lines here ('-' = stdout)")
    parser.add_argument("--no-publish", action="store_true", help="do not publish to Kafka")
    parser.set_defaults(func=run)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a command line resolves to: the world and how to pace it."""

    config: SimulationConfig
    cap: float  # events per wall second, 0 = no cap
    follow: bool


def plan(args: argparse.Namespace, started: datetime) -> Plan:
    """Resolve the options as the module docstring describes (`started` = now, UTC)."""
    start = args.start if args.start is not None else started
    duration = args.duration
    fast_live = args.start is None and not args.no_publish and (args.speedup or 0) > 1
    if fast_live:
        if duration is None:
            raise ValueError(
                "--speedup above 1 from now would stamp events ahead of the clock, which the "
                "worker rejects (clock_skew); give --duration (the span ending now) or --start"
            )
        start = started - timedelta(seconds=duration)
    if args.start is not None and args.events is None and duration is None and not args.follow:
        duration = max(0.0, (started - args.start).total_seconds())  # backfill up to now
    if args.speedup is not None:
        speedup = args.speedup
    else:
        speedup = 1.0 if args.start is None and not args.no_publish else 0.0
    orders_per_hour = args.orders_per_hour
    cap = args.rate
    if orders_per_hour is None:
        orders_per_hour = DEFAULT_ORDERS_PER_HOUR
        if args.rate > 0 and (speedup > 0 or args.follow):  # size the world, don't cap
            live_speedup = speedup if speedup > 0 else 1.0  # --follow goes live at 1
            orders_per_hour = orders_per_hour_for(args.rate * 3600 / live_speedup, args.locations)
            cap = 0.0
    rollout_at = args.rollout_at
    if args.scenario != ROLLOUT and (rollout_at is not None or args.rollout_share is not None):
        raise ValueError("--rollout-share and --rollout-at need --scenario adaptive-rollout")
    if args.scenario == ROLLOUT and rollout_at is None:
        span = duration
        if span is None and start < started:  # a backfill that goes on live
            span = (started - start).total_seconds()
        if not span:
            raise ValueError(
                "--scenario adaptive-rollout splits a period in two: give --duration, "
                "a past --start or --rollout-at"
            )
        rollout_at = span / 2
    config = SimulationConfig(
        seed=args.seed,
        locations=args.locations,
        skus=args.skus,
        start=start,
        speedup=speedup,
        events=args.events,
        duration_seconds=duration,
        orders_per_hour=orders_per_hour,
        scenario=args.scenario,
        rollout_share=0.5 if args.rollout_share is None else args.rollout_share,
        rollout_at_seconds=rollout_at,
    )
    return Plan(config, cap, args.follow)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        resolved = plan(args, datetime.now(UTC))
    except ValueError as error:
        print(f"kpimon simulate: {error}", file=sys.stderr)
        return 2
    config = resolved.config
    report = sys.stderr if args.out == "-" else sys.stdout
    pacer = Pacer(speedup=config.speedup, rate=resolved.cap, follow=resolved.follow)
    by_type: Counter[str] = Counter()
    rejected = 0
    first = last = ""
    wall = time.perf_counter()
    status = 0
    with ExitStack() as stack:
        out: IO[bytes] | None = None
        if args.out == "-":
            out = sys.stdout.buffer
        elif args.out:
            out = stack.enter_context(Path(args.out).open("wb"))
        publisher = None
        rejection: type[Exception] = ValueError
        if not args.no_publish:
            from kafka.errors import KafkaError

            from streams.events.limits import Limits
            from streams.events.publisher import EventPublisher, RejectedEvent

            rejection = RejectedEvent
            try:
                publisher = stack.enter_context(
                    EventPublisher(settings.kafka, Limits.from_settings(settings))
                )
            except KafkaError as error:
                servers = settings.kafka.bootstrap_servers
                print(
                    f"kpimon simulate: cannot publish to Kafka at {servers}: {error!r} "
                    "(use --no-publish --out FILE to only write a log)",
                    file=sys.stderr,
                )
                return 2
        progress = stack.enter_context(
            tqdm(total=args.events, unit="ev", desc="simulate", file=sys.stderr, disable=None)
        )
        try:
            for event in generate(config):
                occurred = event["occurred_at"]
                if pacer.active:
                    pacer.wait(datetime.fromisoformat(occurred).timestamp())
                raw = orjson.dumps(event)
                if out is not None:
                    out.write(raw + b"\n")
                if publisher is not None:
                    try:
                        publisher.publish_raw(raw)
                    except rejection as error:  # a simulator bug: report it, keep going
                        rejected += 1
                        if rejected <= MAX_REPORTED_REJECTS:
                            progress.write(
                                f"rejected {event['event_id']}: {error}", file=sys.stderr
                            )
                        continue
                by_type[event["event_type"]] += 1
                first = first or occurred
                last = occurred
                progress.update()
                if progress.n % 500 == 0 or pacer.active:
                    progress.set_postfix_str(f"sim {occurred[:19]}Z", refresh=False)
        except KeyboardInterrupt:
            status = 130
        if out is not None:
            out.flush()
        if publisher is not None:
            publisher.flush()
    _summary(report, by_type, rejected, first, last, time.perf_counter() - wall, args)
    return status or (1 if rejected else 0)


def _summary(
    report: IO[str],
    by_type: Counter[str],
    rejected: int,
    first: str,
    last: str,
    seconds: float,
    args: argparse.Namespace,
) -> None:
    total = sum(by_type.values())
    rate = total / seconds if seconds > 0 else 0.0
    where = [] if args.no_publish else ["published to Kafka"]
    if args.out:
        where.append(f"written to {'stdout' if args.out == '-' else args.out}")
    print(
        f"{total} events ({', '.join(where) or 'discarded'}) in {seconds:.1f} s "
        f"({rate:,.0f} events/s); simulated {first or '-'} .. {last or '-'}",
        file=report,
    )
    for event_type, count in sorted(by_type.items()):
        print(f"  {event_type:<22} {count:>9}", file=report)
    if rejected:
        print(f"  rejected by the contract: {rejected} (a simulator bug)", file=report)
