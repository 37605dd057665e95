"""`kpimon dead-letters`: inspect the dead-letter topic, export it to fix and replay.

The worker copies every message it rejects, byte for byte, to `events-dlq`
(with the topic prefix) with headers `reason`, `detail`, `source_topic`,
`source_partition`, `source_offset` and `rejected_at`. This command reads that
topic from the beginning (or `--since` an offset or a time) up to the end
offsets it finds at start, so it always terminates, and:

- prints a summary: how many per reason and source topic, first and last seen
  (the dead-letter record's timestamp);
- with `--out FILE`, writes the messages as JSON Lines: the original value, one
  per line, for every value that is UTF-8 JSON (a pretty-printed value is put on
  one line; its content is not touched, so duplicate keys stay visible). Fix the
  lines and replay them with `kpimon publish FILE`. Values that are not UTF-8
  JSON (malformed, truncated, tombstones) cannot be replayed as they are; they
  are counted and left out;
- with `--with-headers`, writes one wrapper object per message instead:
  `reason`, `detail`, `source_topic`, `source_partition`, `source_offset`,
  `rejected_at`, any other header under `headers`, where it sits in the
  dead-letter topic under `dlq`, the `key`, and the `value` (the JSON itself;
  `value_text` when it is UTF-8 but not JSON, `value_base64` otherwise,
  `"tombstone": true` when there is none). Every message is written.
  `jq -c .value` turns such a file back into replayable lines.

`--reason` and `--source-topic` (repeatable) keep only the matching messages.
Exit status: 0 done, 1 stopped before the end (no progress for `--timeout`
seconds, default 30), 2 no dead-letter topic or FILE not writable, 3 Kafka
unreachable.
Nothing is committed: reading never moves a consumer group.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kafka.errors import KafkaError
from tqdm import tqdm

from streams.core.windows import parse_duration
from streams.settings import KafkaSettings, Settings

if TYPE_CHECKING:
    from streams.kafka.topics import TopicNames

# Headers the worker writes, in the order a wrapper object lists them.
KNOWN_HEADERS = (
    "reason",
    "detail",
    "source_topic",
    "source_partition",
    "source_offset",
    "rejected_at",
    "truncated",
    "original_size",
    "sha256",
    "original_key_size",
    "key_sha256",
)
_INTEGER_HEADERS = frozenset({"source_partition", "source_offset", "original_size"})
_RELATIVE = re.compile(r"(?:now)?-(.+)")
NO_PROGRESS_SECONDS = 30.0


class ReadError(Exception):
    """The topic could not be read to its end offsets (the message says why)."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record of the dead-letter topic."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    @classmethod
    def from_record(cls, record: Any) -> DeadLetter:
        headers: dict[str, str] = {}
        for name, raw in record.headers or ():
            headers[str(name)] = (raw or b"").decode("utf-8", "replace")
        return cls(
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp if record.timestamp is not None else -1,
            key=record.key,
            value=record.value,
            headers=headers,
        )

    @property
    def reason(self) -> str:
        return self.headers.get("reason", "") or "(none)"

    @property
    def source_topic(self) -> str:
        return self.headers.get("source_topic", "") or "(unknown)"

    @property
    def seen_at(self) -> float | None:
        """When it was dead-lettered: the record timestamp, else the rejected_at header."""
        if self.timestamp_ms >= 0:
            return self.timestamp_ms / 1000.0
        try:
            return float(self.headers.get("rejected_at", ""))
        except ValueError:
            return None


def json_text(value: bytes | None) -> bytes | None:
    """`value` as one line of JSON when it is UTF-8 JSON, else None.

    Raw CR/LF can only be whitespace between JSON tokens (inside strings they must
    be escaped), so turning them into spaces keeps the document exactly as it was.
    """
    if value is None:
        return None
    try:
        json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value.replace(b"\r", b" ").replace(b"\n", b" ").strip()


def replay_line(letter: DeadLetter) -> bytes | None:
    """The line `kpimon publish` takes back: the original value, or None if it is not JSON."""
    return json_text(letter.value)


def _header_value(name: str, text: str) -> Any:
    if name in _INTEGER_HEADERS and text.isdigit():
        return int(text)
    return text


def _binary(name: str, raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {name: None}
    try:
        return {name: raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {f"{name}_base64": base64.b64encode(raw).decode("ascii")}


def wrapped_line(letter: DeadLetter, topic: str) -> bytes:
    """One wrapper object: the headers, where the record sits, the key and the value."""
    document: dict[str, Any] = {
        name: _header_value(name, letter.headers[name])
        for name in KNOWN_HEADERS
        if name in letter.headers
    }
    others = {k: v for k, v in letter.headers.items() if k not in KNOWN_HEADERS}
    if others:
        document["headers"] = others
    document["dlq"] = {
        "topic": topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "timestamp": _iso(letter.seen_at),
    }
    document.update(_binary("key", letter.key))
    raw = json_text(letter.value)
    if letter.value is None:
        document["tombstone"] = True
    elif raw is None:
        try:
            document["value_text"] = letter.value.decode("utf-8")
        except UnicodeDecodeError:
            document["value_base64"] = base64.b64encode(letter.value).decode("ascii")
    head = json.dumps(document, separators=(",", ":")).encode()
    if raw is None:
        return head
    # The value spliced in as it is, not re-serialised: nothing in it changes.
    return head[:-1] + b',"value":' + raw + b"}"


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    stamp = datetime.fromtimestamp(seconds, UTC)
    text = stamp.isoformat(timespec="milliseconds" if stamp.microsecond else "seconds")
    return text.replace("+00:00", "Z")


@dataclass
class Group:
    count: int = 0
    first: float | None = None
    last: float | None = None

    def add(self, at: float | None) -> None:
        self.count += 1
        if at is not None:
            self.first = at if self.first is None else min(self.first, at)
            self.last = at if self.last is None else max(self.last, at)


@dataclass
class Summary:
    """Counts per (reason, source topic), first and last seen; what --out left out."""

    groups: dict[tuple[str, str], Group] = field(default_factory=dict)
    total: Group = field(default_factory=Group)
    not_replayable: Counter[str] = field(default_factory=Counter)
    written: int = 0

    def add(self, letter: DeadLetter, source_topic: str) -> None:
        at = letter.seen_at
        self.total.add(at)
        self.groups.setdefault((letter.reason, source_topic), Group()).add(at)

    def render(self, topic: str, partitions: int, filters: Sequence[str]) -> str:
        scope = f" matching {' and '.join(filters)}" if filters else ""
        if not self.total.count:
            return f"{topic}: no dead letters{scope} (read {partitions} partition(s) to the end)"
        lines = [
            f"{topic}: {self.total.count} dead letter(s){scope} in {partitions} partition(s)",
            f"first seen {_iso(self.total.first) or '-'}, last seen {_iso(self.total.last) or '-'}",
            "",
        ]
        width = max(len("reason"), *(len(reason) for reason, _ in self.groups))
        topic_width = max(len("source topic"), *(len(source) for _, source in self.groups))
        lines.append(
            f"{'count':>7}  {'reason':<{width}}  {'source topic':<{topic_width}}  "
            f"{'first seen':<24}  last seen"
        )
        ordered = sorted(self.groups.items(), key=lambda item: (-item[1].count, item[0]))
        for (reason, source), group in ordered:
            lines.append(
                f"{group.count:>7}  {reason:<{width}}  {source:<{topic_width}}  "
                f"{_iso(group.first) or '-':<24}  {_iso(group.last) or '-'}"
            )
        by_reason: Counter[str] = Counter()
        for (reason, _source), group in self.groups.items():
            by_reason[reason] += group.count
        lines += ["", "by reason: " + ", ".join(f"{r} {n}" for r, n in sorted(by_reason.items()))]
        return "\n".join(lines)


def parse_since(text: str) -> int | datetime:
    """An offset (digits: that offset of every partition) or a time.

    A time is RFC 3339 (naive = UTC), or relative to now: `now-2h` (or `--since=-2h`).
    """
    if text.isdigit():
        return int(text)
    relative = _RELATIVE.fullmatch(text)
    if relative:
        try:
            return datetime.now(UTC) - timedelta(seconds=parse_duration(relative[1]))
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an offset or a time: {text!r} (e.g. 1200, 2026-11-27T10:00:00Z, now-2h)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def consumer_config(kafka: KafkaSettings, timeout_seconds: float) -> dict[str, Any]:
    """A group-less, non-committing consumer able to fetch the largest dead letter."""
    from streams.kafka.client import client_config

    # The dead-letter topic allows twice the input limit (streams.kafka.topics).
    largest = max(1 << 20, 2 * kafka.max_message_bytes + (64 << 10))
    return {
        **client_config(kafka),
        "client_id": "kpimon-dead-letters",
        "bootstrap_timeout_ms": int(timeout_seconds * 1000),
        "group_id": None,
        "enable_auto_commit": False,
        "allow_auto_create_topics": False,
        "max_partition_fetch_bytes": largest,
        "fetch_max_bytes": max(50 << 20, largest),
    }


class DeadLetterReader:
    """Reads one topic from start offsets to the end offsets taken when it opens."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        since: int | datetime | None,
        timeout_seconds: float = NO_PROGRESS_SECONDS,
    ) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self.topic = topic
        config = consumer_config(kafka, timeout_seconds)
        # Options older kafka-python releases do not know (it refuses unknown ones).
        known = {k: v for k, v in config.items() if k in KafkaConsumer.DEFAULT_CONFIG}
        self._consumer = KafkaConsumer(**known)
        try:
            if topic not in self._consumer.topics():
                raise ReadError(f"no topic {topic} on the broker")
            partitions = sorted(self._consumer.partitions_for_topic(topic) or ())
            self.partitions = [TopicPartition(topic, p) for p in partitions]
            self._consumer.assign(self.partitions)
            first = self._consumer.beginning_offsets(self.partitions)
            self.end: dict[Any, int] = self._consumer.end_offsets(self.partitions)
            self.start = self._starts(since, first)
        except BaseException:
            self._consumer.close()
            raise

    def _starts(self, since: int | datetime | None, first: dict[Any, int]) -> dict[Any, int]:
        if since is None:
            return dict(first)
        if isinstance(since, int):
            return {tp: min(max(since, first[tp]), self.end[tp]) for tp in self.partitions}
        millis = int(since.timestamp() * 1000)
        found = self._consumer.offsets_for_times(dict.fromkeys(self.partitions, millis))
        return {
            tp: found[tp].offset if found.get(tp) is not None else self.end[tp]
            for tp in self.partitions
        }

    @property
    def total(self) -> int:
        """Offsets between the start and the end (records, plus any compaction gaps)."""
        return sum(self.end[tp] - self.start[tp] for tp in self.partitions)

    def read(
        self, progress: tqdm[Any] | None = None, idle_seconds: float = NO_PROGRESS_SECONDS
    ) -> Iterator[DeadLetter]:
        """Every record up to the end offsets, partition by partition as fetched."""
        consumer = self._consumer
        positions = dict(self.start)
        remaining = {tp for tp in self.partitions if self.start[tp] < self.end[tp]}
        for tp in self.partitions:
            consumer.seek(tp, self.start[tp])
        done = [tp for tp in self.partitions if tp not in remaining]
        if done:
            consumer.pause(*done)
        last_progress = time.monotonic()
        while remaining:
            batch = consumer.poll(timeout_ms=500, max_records=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < self.end[tp]:
                        yield DeadLetter.from_record(record)
            for tp in list(remaining):
                position = consumer.position(tp)
                if position is not None and position > positions[tp]:
                    advanced = min(position, self.end[tp]) - positions[tp]
                    positions[tp] = position
                    last_progress = time.monotonic()
                    if progress is not None and advanced > 0:
                        progress.update(advanced)
                if positions[tp] >= self.end[tp]:
                    remaining.discard(tp)
                    consumer.pause(tp)
            if remaining and time.monotonic() - last_progress > idle_seconds:
                behind = sum(self.end[tp] - positions[tp] for tp in remaining)
                raise ReadError(
                    f"no progress for {idle_seconds:.0f} s with {behind} offset(s) of "
                    f"{len(remaining)} partition(s) still to read"
                )

    def close(self) -> None:
        self._consumer.close()


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "dead-letters",
        help="summarise the dead-letter topic; export its messages to fix and replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--since",
        type=parse_since,
        help="start at this offset of every partition (digits), or at this time "
        "(RFC 3339, or relative: now-2h, now-7d); default: the beginning",
    )
    parser.add_argument(
        "--reason", action="append", default=[], help="only this reason (repeatable)"
    )
    parser.add_argument(
        "--source-topic",
        action="append",
        default=[],
        help="only messages rejected from this topic, with or without the prefix (repeatable)",
    )
    parser.add_argument(
        "--out", metavar="FILE", help="write the messages as JSON Lines ('-' for stdout)"
    )
    parser.add_argument(
        "--with-headers",
        action="store_true",
        help="with --out: one wrapper object per message (headers, key, value)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=NO_PROGRESS_SECONDS,
        help="give up when the broker does not answer, or the read makes no progress, "
        "for this many seconds",
    )
    parser.set_defaults(func=run)


def _filters(args: argparse.Namespace) -> list[str]:
    parts = []
    if args.reason:
        parts.append("reason " + "/".join(args.reason))
    if args.source_topic:
        parts.append("source topic " + "/".join(args.source_topic))
    return parts


def _open_out(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdout.buffer
    return Path(path).open("wb")


def export(
    letters: Iterable[DeadLetter],
    summary: Summary,
    names: TopicNames,
    topic: str,
    args: argparse.Namespace,
    out: IO[bytes] | None,
) -> None:
    """Summarise (and write) the letters that pass the filters."""
    wanted_topics = {names.short(t) for t in args.source_topic}
    for letter in letters:
        source = names.short(letter.source_topic)
        if args.reason and letter.reason not in args.reason:
            continue
        if wanted_topics and source not in wanted_topics:
            continue
        summary.add(letter, source)
        if out is None:
            continue
        line = wrapped_line(letter, topic) if args.with_headers else replay_line(letter)
        if line is None:
            summary.not_replayable[letter.reason] += 1
            continue
        out.write(line + b"\n")
        summary.written += 1


def run(args: argparse.Namespace, settings: Settings) -> int:
    from streams.kafka.topics import TopicNames

    names = TopicNames(settings.kafka.topic_prefix)
    topic = names.dlq
    report = sys.stderr if args.out == "-" else sys.stdout
    try:
        reader = DeadLetterReader(settings.kafka, topic, args.since, args.timeout)
    except ReadError as error:
        print(
            f"kpimon dead-letters: {error} (nothing rejected yet, or another "
            "KPIMON_KAFKA__TOPIC_PREFIX; `kpimon topics create` creates it)",
            file=sys.stderr,
        )
        return 2
    except KafkaError as error:
        print(
            f"kpimon dead-letters: cannot read {topic} from Kafka at "
            f"{settings.kafka.bootstrap_servers}: {error}",
            file=sys.stderr,
        )
        return 3
    try:
        out = _open_out(args.out) if args.out else None
    except OSError as error:
        reader.close()
        print(f"kpimon dead-letters: cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return 2
    summary = Summary()
    status = 0
    progress = tqdm(
        total=reader.total,
        unit="msg",
        desc="dead-letters",
        file=sys.stderr,
        disable=None,
        delay=1.0,
    )
    try:
        export(reader.read(progress, args.timeout), summary, names, topic, args, out)
    except ReadError as error:
        progress.write(f"kpimon dead-letters: stopped early: {error}", file=sys.stderr)
        status = 1
    except KafkaError as error:
        progress.write(f"kpimon dead-letters: Kafka failed: {error}", file=sys.stderr)
        status = 3
    finally:
        progress.close()
        reader.close()
        if out is not None and out is not sys.stdout.buffer:
            out.close()
        elif out is not None:
            out.flush()
    print(summary.render(topic, len(reader.partitions), _filters(args)), file=report)
    if args.out:
        where = "stdout" if args.out == "-" else args.out
        print(f"\nwrote {summary.written} line(s) to {where}", file=report)
        if summary.not_replayable:
            left = ", ".join(f"{r} {n}" for r, n in sorted(summary.not_replayable.items()))
            print(
                f"left out {sum(summary.not_replayable.values())} whose value is not UTF-8 "
                f"JSON ({left}); --with-headers exports them too",
                file=report,
            )
    return status
