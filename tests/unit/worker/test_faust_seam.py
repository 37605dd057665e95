"""The faust internals streams/worker/faust_bulk.py relies on are where it expects them.

faust-streaming is pinned exactly; these checks make an upgrade fail here, loudly and
by name, instead of in a worker that stops consuming at runtime.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import faust
import pytest
from faust.sensors.monitor import Monitor
from faust.transport.consumer import Consumer, Fetcher
from mode import Service

PINNED = "0.15.3"


def test_the_installed_faust_is_the_pinned_one() -> None:
    """The version the seam was written against (pyproject.toml pins it exactly)."""
    assert version("faust-streaming") == PINNED


@pytest.mark.parametrize(
    ("owner", "name", "parameters"),
    [
        (faust.App, "_new_consumer", ["self"]),
        (Consumer, "_drain_messages", ["self", "fetcher"]),
        (Consumer, "_wait_next_records", ["self", "timeout"]),
    ],
)
def test_the_private_methods_the_seam_calls_exist_with_their_parameters(
    owner: type, name: str, parameters: list[str]
) -> None:
    """Each private method the bulk drain calls or replaces keeps its name and parameters."""
    method = getattr(owner, name, None)
    assert method is not None, f"{owner.__name__}.{name} is gone"
    assert list(inspect.signature(method).parameters) == parameters


@pytest.mark.parametrize(
    ("owner", "assignment"),
    [
        (Consumer, "self._acked = defaultdict(list)"),
        (Consumer, "self._read_offset = defaultdict(lambda: None)"),
    ],
)
def test_the_offset_bookkeeping_the_seam_writes_is_set_up_as_expected(
    owner: type, assignment: str
) -> None:
    """`mark_applied` extends `_acked[tp]` and moves `_read_offset[tp]`: their shapes hold."""
    assert assignment in inspect.getsource(owner.__init__)  # type: ignore[misc]


def test_the_stop_events_and_the_monitor_clock_exist() -> None:
    """Services stop on `_stopped`; the stall detector reads `stream_inbound_time`."""
    assert "_stopped" in inspect.getsource(Service.__init__)
    assert issubclass(Fetcher, Service)
    assert "stream_inbound_time" in inspect.getsource(Monitor.__init__)
