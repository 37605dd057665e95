"""Which failures of Redis and Kafka the worker waits out, and which make it give up.

The verdict feeds `streams.retry.retry`: transient failures (a connection refused, a
timeout, a failover in progress, a broker without a leader) are retried until the
step has stalled for `worker.max_stall_seconds`; suspect ones (a Lua script error, a
permission refused, a broker refusing a record for good) a few times in a row, in
case they were a failover's hiccup; anything else is a bug and is raised at once.
Chaos tests kill Redis and Kafka for seconds: those outages must stay transient.
"""

from __future__ import annotations

from redis import exceptions as redis_errors

from streams.kafka.errors import send_failure
from streams.retry import Fatal, Verdict

# Redis errors that heal by themselves: a replica promoted, a dataset loading, a
# cluster slot moving (ConnectionError and TimeoutError cover the rest).
_REDIS_TRANSIENT: tuple[type[BaseException], ...] = (
    redis_errors.ReadOnlyError,
    redis_errors.BusyLoadingError,
    redis_errors.TryAgainError,
    redis_errors.ClusterDownError,
    redis_errors.AskError,
    redis_errors.OutOfMemoryError,  # until pruning or eviction frees memory: the bound decides
    redis_errors.RedisClusterException,
)
# Errors a reconnect cannot cure: a refused login, a missing permission.
_REDIS_SUSPECT: tuple[type[BaseException], ...] = (
    redis_errors.AuthenticationError,
    redis_errors.AuthorizationError,
    redis_errors.NoPermissionError,
)


def worker_verdict(error: BaseException) -> Verdict:
    """The verdict on a failed worker step (a batch, a start, a rebuild)."""
    if isinstance(error, Fatal):
        return "fatal"  # an inner step gave up already
    if isinstance(error, _REDIS_SUSPECT):
        return "suspect"
    if isinstance(error, _REDIS_TRANSIENT):
        return "transient"
    if isinstance(error, redis_errors.ResponseError):
        return "suspect"  # a script error, a wrong type: the same request fails again
    if isinstance(error, redis_errors.DataError):
        return "fatal"  # a request the client refused to send: a bug
    if isinstance(error, redis_errors.RedisError):
        return "transient"  # connection errors, timeouts, protocol hiccups
    failure = send_failure(error)
    if failure == "transient":
        return "transient"
    if failure is not None:
        return "suspect"
    return "fatal"
