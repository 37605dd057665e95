"""`kpimon alerts check LOG`: dry-run the alert rules over a JSON Lines event log.

Replays the log through the KPI engine and the alert evaluator offline, with
event time as the clock, and prints every alert that would fire or resolve and
when. Evaluates each time event time enters a new `--step` (default 1h), or
every `--every` events, and once at the end. Nothing is sent anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from alerts.conditions import NETWORK
from alerts.evaluator import Evaluation
from alerts.links import Links
from alerts.model import AlertState, Transition, isoformat
from alerts.pipeline import EngineSource, evaluate_engine
from alerts.rules import RulesError, RuleSet, load_rules, window_seconds
from alerts.views import DispatchView
from streams.events.decode import Rejection, decode_event
from streams.events.wire import Event
from streams.settings import Settings

IDENTITY_LABELS = ("location", "sku", "window", "customer_tier", "shipment_id", "disruption_id")


def add_command(sub: Any) -> None:
    parser = sub.add_parser("alerts", help="alert rules tools")
    commands = parser.add_subparsers(dest="alerts_command", required=True, metavar="COMMAND")
    check = commands.add_parser("check", help="dry-run the alert rules over a JSON Lines event log")
    check.add_argument(
        "log", type=Path, metavar="LOG", help="JSON Lines file of events ('-': stdin)"
    )
    check.add_argument("--rules", type=Path, help="rules file (default: settings, else shipped)")
    pace = check.add_mutually_exclusive_group()
    pace.add_argument(
        "--step",
        default="1h",
        help="evaluate when event time enters a new step (e.g. 15m, 1h; 0s: each new time)",
    )
    pace.add_argument("--every", type=int, metavar="N", help="evaluate every N events instead")
    check.add_argument("--json", action="store_true", help="print transitions as JSON lines")
    check.set_defaults(func=run)


class ReplayEngine(EngineSource, Protocol):
    """The KPI engine as the replay drives it."""

    def add(self, event: Event) -> Any: ...

    def locations(self) -> Iterable[str]: ...


@dataclass
class Replay:
    """Engine + alert states advanced through a log."""

    rules: RuleSet
    engine: ReplayEngine
    links: Links
    states: dict[str, AlertState] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    dispatches: list[DispatchView] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)

    def evaluate(self) -> Evaluation:
        locations = set(self.touched) | set(self.engine.locations())
        result = evaluate_engine(
            self.rules, self.engine, self.states, locations, self.links, self.dispatches
        )
        self.states = result.states
        self.transitions.extend(result.transitions)
        self.dispatches.clear()
        self.touched.clear()
        return result


def _events(stream: TextIO, rejected: list[str]) -> Iterator[Event]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        decoded = decode_event(line.encode(), max_bytes=1 << 30)
        if isinstance(decoded, Rejection):
            rejected.append(f"line {number}: {decoded.reason}: {decoded.detail}")
            continue
        yield decoded


def _parse_step(text: str) -> float:
    if text.strip() in {"0", "0s"}:
        return 0.0
    return window_seconds(text.strip())


def _describe(transition: Transition) -> str:
    labels = transition.labels
    ident = " ".join(f"{k}={labels[k]}" for k in IDENTITY_LABELS if k in labels)
    summary = transition.annotations.get("summary", "")
    return (
        f"{isoformat(transition.at)}  {transition.status.upper():8} "
        f"{transition.alertname:30} {transition.severity:8} {ident}  {summary}"
    ).rstrip()


def replay(
    stream: TextIO,
    rules: RuleSet,
    engine: ReplayEngine,
    links: Links,
    *,
    step_seconds: float | None = 3600.0,
    every: int | None = None,
    out: TextIO | None = None,
    as_json: bool = False,
) -> tuple[Replay, list[str]]:
    """Feed the log to `engine`, evaluating the rules as event time advances."""
    state = Replay(rules, engine, links)
    rejected: list[str] = []
    latest: float | None = None

    def flush() -> None:
        for transition in state.evaluate().transitions:
            if out is not None:
                text = json.dumps(transition.to_dict()) if as_json else _describe(transition)
                print(text, file=out)

    for count, event in enumerate(_events(stream, rejected), start=1):
        occurred = event.occurred_at.timestamp()
        if every is None and latest is not None and occurred > latest:
            step = step_seconds or 0.0
            if step <= 0 or occurred // step > latest // step:
                flush()
        engine.add(event)
        location = getattr(event, "location", None)
        state.touched.add(location if isinstance(location, str) else NETWORK)
        if event.event_type == "shipment.dispatched":
            state.dispatches.append(event)
        latest = occurred if latest is None else max(latest, occurred)
        if every is not None and count % every == 0:
            flush()
    flush()
    return state, rejected


def run(args: argparse.Namespace, settings: Settings) -> int:
    from streams.core.engine import KpiEngine

    try:
        rules = load_rules(args.rules or settings.alerts.rules_file)
        rules.check_windows(settings.kpi.windows)
        step = None if args.every else _parse_step(args.step)
    except (RulesError, ValueError) as error:
        print(f"kpimon alerts check: {error}", file=sys.stderr)
        return 2
    if args.every is not None and args.every < 1:
        print("kpimon alerts check: --every must be at least 1", file=sys.stderr)
        return 2
    links = Links(settings.alerts.dashboard_base_url, settings.alerts.runbook_base_url)
    engine = KpiEngine(settings.kpi)
    try:
        stream: TextIO = sys.stdin if str(args.log) == "-" else args.log.open(encoding="utf-8")
    except OSError as error:
        print(f"kpimon alerts check: cannot read {args.log}: {error.strerror}", file=sys.stderr)
        return 2
    with stream:
        result, rejected = replay(
            stream,
            rules,
            engine,
            links,
            step_seconds=step,
            every=args.every,
            out=sys.stdout,
            as_json=args.json,
        )
    fired = sum(1 for t in result.transitions if t.status == "firing")
    resolved = len(result.transitions) - fired
    still = sum(1 for s in result.states.values() if s.status == "firing")
    summary = (
        f"{fired} fired, {resolved} resolved, {still} still firing at the end of the log"
        f"{f'; {len(rejected)} invalid lines skipped' if rejected else ''}"
    )
    print(summary, file=sys.stderr if args.json else sys.stdout)
    for line in rejected[:20]:
        print(f"  skipped {line}", file=sys.stderr)
    return 0
