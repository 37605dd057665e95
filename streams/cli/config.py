"""`kpimon config`: the effective settings as KPIMON_ variables (secrets masked).

Secret settings print as `********`; credentials inside any value that holds a
URL (`redis://user:pass@host`, `https://TOKEN@host`, `?token=...`) are masked
with `streams.logs.mask_credentials`, so the output can be pasted into a ticket.
`--markdown` prints the reference table that the README carries.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr

from streams.logs import mask_credentials
from streams.settings import Settings


def variables(settings: Settings) -> Iterator[tuple[str, Any, str]]:
    """(variable name, value, description) for every setting, nested groups flattened."""
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            for sub_name, sub_field in type(value).model_fields.items():
                yield (
                    f"KPIMON_{name.upper()}__{sub_name.upper()}",
                    getattr(value, sub_name),
                    sub_field.description or "",
                )
        else:
            yield f"KPIMON_{name.upper()}", value, field.description or ""


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "********"
    if value is None:
        return ""
    if isinstance(value, list):
        return "[" + ", ".join(f'"{mask_credentials(str(item))}"' for item in value) + "]"
    return mask_credentials(str(value))


def markdown_table(settings: Settings) -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [
        f"| `{name}` | `{_shown(value)}` | {description} |"
        if _shown(value)
        else f"| `{name}` | | {description} |"
        for name, value, description in variables(settings)
    ]
    return "\n".join(rows)


def add_command(sub: Any) -> None:
    parser = sub.add_parser("config", help="print the effective settings (secrets masked)")
    parser.add_argument("--markdown", action="store_true", help="the defaults as a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.markdown:
        print(markdown_table(Settings.model_construct()))
        return 0
    for name, value, _description in variables(settings):
        print(f"{name}={_shown(value)}")
    return 0
