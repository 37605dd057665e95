"""`kpimon schema`: JSON Schemas of every event contract, named by `event_type`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from streams.events.models import MODELS
from streams.settings import Settings


def event_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per event type, generated from the pydantic models."""
    schemas: dict[str, dict[str, Any]] = {}
    for event_type, model in MODELS.items():
        schema = model.model_json_schema(mode="validation")
        schema["$id"] = f"urn:kpimon:event:{event_type}"
        schema["title"] = event_type
        schemas[event_type] = schema
    return schemas


def add_command(sub: Any) -> None:
    parser = sub.add_parser("schema", help="print the JSON Schemas of the event contracts")
    parser.add_argument("--out-dir", type=Path, help="write one <event_type>.json per contract")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    schemas = event_schemas()
    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for event_type, schema in schemas.items():
            (args.out_dir / f"{event_type}.json").write_text(json.dumps(schema, indent=2) + "\n")
        print(f"wrote {len(schemas)} schemas to {args.out_dir}")
    else:
        print(json.dumps(schemas, indent=2))
    return 0
