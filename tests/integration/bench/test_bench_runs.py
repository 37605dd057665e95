"""`python -m bench --quick` runs end to end against the local stack.

Proves the benchmark works (every phase reports, the ratio line comes last);
it asserts nothing about speed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]


def run_quick_bench(local_stack: Any, *options: str, timeout: float) -> list[str]:
    """`python -m bench --quick` on the test stack; its stdout lines, the ratio line last."""
    result = subprocess.run(
        [
            sys.executable, "-m", "bench", "--quick", "--no-infra",
            "--kafka", local_stack.kafka_bootstrap, "--redis", local_stack.redis_url,
            *options,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("ratio "), output
    return lines


def test_quick_benchmark_runs(local_stack: Any) -> None:
    """Every phase of the plain run reports, and the ratio line names both sides."""
    lines = run_quick_bench(local_stack, timeout=240)
    output = "\n".join(lines)
    assert "ev/s / aiokafka" in lines[-1]
    for phase in (
        "backlog written",
        "aiokafka consume+orjson.loads",
        "worker backlog",
        "exporter kpimon_events_total",
        "exporter scrape at the cap",
        "latency at",
        "redis memory at",
    ):
        assert any(phase in line for line in lines), f"no '{phase}' line:\n{output}"


def test_quick_benchmark_with_history_runs(local_stack: Any) -> None:
    """`--history`: the state filled through the worker, measured, then the timed phases
    on top of it and a restart after SIGKILL (sizes cut down: about a minute)."""
    lines = run_quick_bench(
        local_stack,
        *("--history", "1d", "--density", "1", "--order-probe", "200"),
        *("--growth", "5000", "--latency-seconds", "1"),
        timeout=300,
    )
    output = "\n".join(lines)
    for phase in (
        "empty worker: RSS",
        "history: 5,200 events (1 days x 5,200 SKU-locations x 1/day",
        "engine late none",
        "memory per SKU-location",
        "order probe: 200 orders x 2 lines",
        "growth: 5,000 inventory adjustments",
        "growth per added event vs the 48 B target",
        "worker backlog",
        "latency at",
        "restart after SIGKILL",
        "issue 14 check",
    ):
        assert any(phase in line for line in lines), f"no '{phase}' line:\n{output}"
    restart = next(line for line in lines if "restart after SIGKILL" in line)
    assert "events_replayed None" not in restart, restart  # the worker's own figures
