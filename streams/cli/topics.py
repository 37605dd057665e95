"""`kpimon topics create|check|list`: create the input, dead-letter and alert topics.

Topics that exist already are left as they are; the sizes the created ones take
(`max.message.bytes`) are printed, the dead-letter topic's with its headroom. Both
`create` and `check` then require the input topics keyed by location to be
co-partitioned (SPEC §4.2) and exit 2 with what to do when they are not.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from streams.kafka.topics import (
    TopicNames,
    co_partitioning_problem,
    create_topics,
    partition_counts,
    topic_configs,
)
from streams.settings import Settings


def add_command(sub: Any) -> None:
    parser = sub.add_parser("topics", help="Kafka topic administration")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("create", help="create missing topics (partitions from settings)")
    actions.add_parser("check", help="require co-partitioned input topics (SPEC §4.2)")
    actions.add_parser("list", help="print the topic names in use")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        print("\n".join(TopicNames(settings.kafka.topic_prefix).all))
        return 0
    if args.action == "create":
        created = create_topics(settings.kafka)
        print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")
        configs = topic_configs(settings.kafka)
        for name in created:
            print(f"  {name}: max.message.bytes={configs[name]['max.message.bytes']}")
    counts = partition_counts(settings.kafka)
    problem = co_partitioning_problem(counts)
    if problem is not None:
        print(f"kpimon topics: {problem}", file=sys.stderr)
        return 2
    print(f"input topics co-partitioned: {next(iter(counts.values()))} partitions each")
    return 0
