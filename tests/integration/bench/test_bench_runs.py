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


def test_quick_benchmark_runs(local_stack: Any) -> None:
    kafka = local_stack.kafka_bootstrap
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--no-infra",
            "--kafka",
            kafka,
            "--redis",
            local_stack.redis_url,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("ratio "), output
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
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--no-infra",
            "--kafka",
            local_stack.kafka_bootstrap,
            "--redis",
            local_stack.redis_url,
            "--history",
            "1d",
            "--density",
            "1",
            "--order-probe",
            "200",
            "--growth",
            "5000",
            "--latency-seconds",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("ratio "), output
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
