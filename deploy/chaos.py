"""`make chaos`: fault injection against the real stack; exact KPIs required after every run.

For each seed a simulator log streams through a real worker (`kpimon publish` running
concurrently) while the worker is SIGKILLed at random points, a private Redis (AOF,
appendfsync always) is SIGKILLed and restarted, and a private Kafka broker (KRaft, same
jars as the stack) is SIGKILLed and restarted. The KPIs served afterwards must equal a
clean single pass of the same log exactly (and the batch reference). The clean pass runs
on the shared local stack, which is started (`deploy/stack.sh up-infra`) when needed and
never disturbed. Last line:

    chaos: runs=R kills=K events=E mismatches=M (worker=.. redis=.. broker=..) in S s

Exit status 0 only when every run matched.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.chaos.scenario import run_chaos  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--worker-kills", type=int, default=6)
    parser.add_argument("--redis-kills", type=int, default=1)
    parser.add_argument("--stream-seconds", type=float, default=40, help="publish the log over")
    parser.add_argument("--no-broker", action="store_true", help="skip the broker restart")
    parser.add_argument("--timeout", type=float, default=900, help="per run, seconds")
    args = parser.parse_args(argv)

    up = subprocess.run(
        ["bash", str(REPO / "deploy" / "stack.sh"), "up-infra"], cwd=REPO, check=False
    )
    if up.returncode != 0:
        print("chaos: the local stack did not come up", file=sys.stderr)
        return 2
    kafka = f"127.0.0.1:{os.environ.get('KPIMON_STACK_KAFKA_PORT', '9092')}"
    redis_url = f"redis://127.0.0.1:{os.environ.get('KPIMON_STACK_REDIS_PORT', '6379')}/0"

    began = time.monotonic()
    runs = kills = events = mismatches = failures = 0
    by_kind = {"worker": 0, "redis": 0, "broker": 0}
    with tempfile.TemporaryDirectory(prefix="kpimon-chaos-") as tmp:
        for seed in args.seeds:
            try:
                result = run_chaos(
                    seed=seed,
                    events=args.events,
                    work=Path(tmp) / str(seed),
                    kafka_bootstrap=kafka,
                    clean_redis_url=redis_url,
                    worker_kills=args.worker_kills,
                    redis_kills=args.redis_kills,
                    broker_restart=not args.no_broker,
                    stream_seconds=args.stream_seconds,
                    timeout=args.timeout,
                )
            except Exception as error:  # a run that could not finish counts as a failure
                failures += 1
                print(f"chaos: seed {seed} FAILED: {error}", file=sys.stderr)
                continue
            runs += 1
            events += result.events
            by_kind["worker"] += result.worker_kills
            by_kind["redis"] += result.redis_kills
            by_kind["broker"] += result.broker_restarts
            kills += result.worker_kills + result.redis_kills + result.broker_restarts
            mismatches += result.mismatches
            for line in result.log:
                print(f"  seed {seed}: {line}")
            for line in (result.clean_mismatches + result.reference_mismatches)[:20]:
                print(f"  seed {seed} MISMATCH {line}")
            print(
                f"seed {seed}: {result.events} events, {result.mismatches} mismatches, "
                f"{result.duplicates} duplicates, {result.seconds:.0f} s",
                flush=True,
            )
    detail = " ".join(f"{k}={v}" for k, v in by_kind.items())
    print(
        f"chaos: runs={runs} kills={kills} events={events} mismatches={mismatches} "
        f"failed_runs={failures} ({detail}) in {time.monotonic() - began:.0f} s"
    )
    return 0 if mismatches == 0 and failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
