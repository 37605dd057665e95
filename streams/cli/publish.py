"""`kpimon publish FILE`: validate a JSON Lines file and publish its events.

Every rejected line is reported with its line number, field and reason and is
not sent; the exit status is 1 when any line was rejected, 2 when the file
cannot be read, 3 when Kafka cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from kafka.errors import KafkaError
from tqdm import tqdm

from streams.events.limits import Limits, latest_allowed
from streams.events.publisher import EventPublisher, RejectedEvent
from streams.settings import Settings


def add_command(sub: Any) -> None:
    parser = sub.add_parser("publish", help="validate a JSONL file and publish it to Kafka")
    parser.add_argument("file", help="JSON Lines file, one event per line; '-' for stdin")
    parser.add_argument("--dry-run", action="store_true", help="validate only, send nothing")
    parser.set_defaults(func=run)


def connect_failure(settings: Settings, error: Exception) -> str:
    """One line for a broker that could not be reached (no traceback, no secret).

    With SASL, a refused login often reaches kafka-python only as a dropped
    connection (the broker closes it right after its error reply), so the hint
    names the credentials whatever the error says.
    """
    kafka = settings.kafka
    line = f"kpimon publish: cannot connect to Kafka at {kafka.bootstrap_servers}: {error}"
    if kafka.sasl_mechanism:
        line += (
            f" (a {kafka.sasl_mechanism} authentication failure can look like this: "
            "check KPIMON_KAFKA__SASL_USERNAME and KPIMON_KAFKA__SASL_PASSWORD)"
        )
    return line


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=1):
        line = line.strip()
        if line:
            yield number, line


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.file == "-":
        source: IO[bytes] = sys.stdin.buffer
        total = None
    else:
        path = Path(args.file)
        if not path.is_file():
            print(f"kpimon publish: cannot read {path}: no such file", file=sys.stderr)
            return 2
        source = path.open("rb")
        total = path.stat().st_size
    rejected = 0
    by_type: Counter[str] = Counter()
    event_type: str
    publisher = None
    if not args.dry_run:
        try:
            publisher = EventPublisher(settings.kafka, Limits.from_settings(settings))
        except KafkaError as error:
            print(connect_failure(settings, error), file=sys.stderr)
            return 3
    progress = tqdm(
        total=total, unit="B", unit_scale=True, desc="publish", file=sys.stderr, disable=None
    )
    try:
        from streams.events.decode import Rejection, decode_event

        limits = Limits.from_settings(settings)

        for number, line in _lines(source):
            progress.update(len(line) + 1)
            try:
                if publisher is None:
                    decoded = decode_event(
                        line,
                        limits=limits,
                        not_after=latest_allowed(limits, time.time()),
                    )
                    if isinstance(decoded, Rejection):
                        raise RejectedEvent(decoded)
                    event_type = decoded.event_type
                else:
                    event_type = publisher.publish_raw(line).event_type  # type: ignore[attr-defined]
            except RejectedEvent as error:
                rejected += 1
                progress.write(
                    f"line {number}: rejected ({error.rejection.reason}) {error.rejection.detail}",
                    file=sys.stderr,
                )
                continue
            by_type[event_type] += 1
        if publisher is not None:
            publisher.flush()
    finally:
        progress.close()
        if publisher is not None:
            publisher.close()
        if source is not sys.stdin.buffer:
            source.close()
    accepted = sum(by_type.values())
    verb = "validated" if args.dry_run else "published"
    print(f"{verb} {accepted} event(s), rejected {rejected}")
    for event_type, count in sorted(by_type.items()):
        print(f"  {event_type}: {count}")
    return 1 if rejected else 0
