"""`kpimon topics create`: create the input, dead-letter and alert topics.

Topics that exist already are left as they are; the sizes the created ones take
(`max.message.bytes`) are printed, the dead-letter topic's with its headroom.
"""

from __future__ import annotations

import argparse
from typing import Any

from streams.kafka.topics import TopicNames, create_topics, topic_configs
from streams.settings import Settings


def add_command(sub: Any) -> None:
    parser = sub.add_parser("topics", help="Kafka topic administration")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("create", help="create missing topics (partitions from settings)")
    actions.add_parser("list", help="print the topic names in use")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        print("\n".join(TopicNames(settings.kafka.topic_prefix).all))
        return 0
    created = create_topics(settings.kafka)
    print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")
    configs = topic_configs(settings.kafka)
    for name in created:
        print(f"  {name}: max.message.bytes={configs[name]['max.message.bytes']}")
    return 0
