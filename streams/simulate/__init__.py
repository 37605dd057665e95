"""Deterministic supply-chain simulator: a realistic event stream for the monitor.

`generate(SimulationConfig(seed=...))` yields contract-valid event dicts in
event-time order; `write_jsonl` stores them; `Pacer` releases them in wall-clock
time (see `streams.simulate.clock`). `kpimon simulate` is the command line.
"""

from streams.simulate.clock import Pacer, SimClock
from streams.simulate.config import SimulationConfig, run_tag
from streams.simulate.generator import build_world, generate, write_jsonl

__all__ = [
    "Pacer",
    "SimClock",
    "SimulationConfig",
    "build_world",
    "generate",
    "run_tag",
    "write_jsonl",
]
