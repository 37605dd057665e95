"""Summarise a py-spy raw profile (`--profile`, `--profile-fill`): where each process spends.

    python -m bench.profiles FILE [--top 25] [--match streams/]

Per process (py-spy `--subprocesses` records the worker and its KPI process
apart): samples (at 50 Hz one sample is 20 ms of CPU; idle threads are not
sampled), then the functions with the most samples inclusive (anywhere on the
stack) and self (the innermost frame), optionally only frames whose file
matches `--match`.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")


def split(line: str) -> tuple[str, list[str], int]:
    """A raw line: (process, frames outermost first, samples)."""
    stack, _, count = line.rstrip("\n").rpartition(" ")
    parts = stack.split(";")
    process = next((p for p in reversed(parts) if p.startswith("process ")), "")
    frames = [p for p in parts if not p.startswith(("process ", "thread "))]
    return process, frames, int(count)


def label(frame: str) -> str:
    """'func (file.py)': the line number left out, so a function's lines add up."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    return f"{match['name']} ({Path(match['file']).name})"


def summarise(path: Path, top: int, match: str | None) -> str:
    totals: Counter[str] = Counter()
    inclusive: dict[str, Counter[str]] = defaultdict(Counter)
    own: dict[str, Counter[str]] = defaultdict(Counter)
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        process, frames, count = split(line)
        name = process.split(":", 1)[-1].strip('"').rsplit("/", 1)[-1]
        totals[name] += count
        seen = set()
        for frame in frames:
            if match and match not in frame:
                continue
            key = label(frame)
            if key not in seen:
                seen.add(key)
                inclusive[name][key] += count
        if frames:
            own[name][label(frames[-1])] += count
    out = []
    for name, samples in totals.most_common():
        out.append(f"== {name}: {samples:,} samples")
        out.append("  inclusive:")
        out += [
            f"    {n * 100 / samples:5.1f}%  {key}" for key, n in inclusive[name].most_common(top)
        ]
        out.append("  self:")
        out += [f"    {n * 100 / samples:5.1f}%  {key}" for key, n in own[name].most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiles", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", help="only frames whose text contains this (e.g. streams/)")
    args = parser.parse_args(argv)
    print(summarise(args.file, args.top, args.match))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
