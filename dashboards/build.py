"""Generate every board: `build_all()` in memory, `write_all(out_dir)` to JSON files.

The files are committed (sorted keys, indent 2, trailing newline) so a diff
shows exactly what a code change does to a board; `python -m dashboards`
or `kpimon dashboards build` regenerates them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboards import executive, oncall, operations, pipeline

BOARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "executive.json": executive.build,
    "operations.json": operations.build,
    "oncall.json": oncall.build,
    "pipeline.json": pipeline.build,
}

# Where the committed JSON lives: next to this module.
PACKAGE_DIR = Path(__file__).resolve().parent


def build_all() -> dict[str, dict[str, Any]]:
    """Every board's dashboard JSON, keyed by its file name."""
    return {name: build() for name, build in BOARDS.items()}


def render(board: dict[str, Any]) -> str:
    """The stable text of one board: sorted keys, indent 2, trailing newline."""
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(out_dir: Path | str = PACKAGE_DIR) -> list[Path]:
    """Write every board to `out_dir/<name>.json`; return the paths written."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, board in build_all().items():
        path = directory / name
        path.write_text(render(board), encoding="utf-8")
        paths.append(path)
    return paths


def stale(out_dir: Path | str = PACKAGE_DIR) -> list[Path]:
    """Files in `out_dir` that differ from what the code generates (or are missing)."""
    directory = Path(out_dir)
    return [
        directory / name
        for name, board in build_all().items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != render(board)
    ]
