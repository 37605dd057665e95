"""Nothing lost, nothing doubled: SIGKILLed worker and Redis mid-stream, exact KPIs after.

Reduced version of `make chaos` (deploy/chaos.py): one seed, a 1,500-event simulator log
streamed over ~20 s into `kpimon publish -` while the worker is SIGKILLed three times at
random points and a private Redis (AOF, appendfsync always) is SIGKILLed once; both are
restarted. Every KPI
served must equal a clean single pass of the same log exactly, and the batch reference.
The Kafka broker restart runs only in `make chaos` (a private broker costs ~35 s here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.chaos.scenario import run_chaos

pytestmark = pytest.mark.integration


def test_kills_of_worker_and_redis_neither_lose_nor_double(local_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_chaos(
        seed=11,
        events=1500,
        work=tmp_path,
        kafka_bootstrap=local_stack.kafka_bootstrap,
        clean_redis_url=local_stack.redis_url,
        worker_kills=3,
        redis_kills=1,
        timeout=400,
    )
    report = "\n".join(result.log)
    assert result.worker_kills == 3 and result.redis_kills == 1, report
    assert not result.clean_mismatches, report + "\n" + "\n".join(result.clean_mismatches[:30])
    assert not result.reference_mismatches, "\n".join(result.reference_mismatches[:30])
    # Offsets already applied are skipped: a redelivered batch is not even a duplicate.
    assert result.duplicates == 0, report
