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
