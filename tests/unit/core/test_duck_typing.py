"""The engine reads events by duck typing: any object with the models' attributes will do.

The worker decodes into msgspec structs that mirror the pydantic models (same class
names, fields and `event_type`); the engine picks a handler by `event.event_type`
and reads attributes only, so plain namespaces built from the models give the same
outputs.
"""

from __future__ import annotations

from types import SimpleNamespace

from pydantic import BaseModel

from streams.core.engine import KpiEngine
from tests.unit.core.factories import settings
from tests.unit.core.helpers import run
from tests.unit.core.simlog import simulated_events
from tests.unit.core.test_order_independence import hand_logs, outputs


def mirror(value: object) -> object:
    """A model as a plain namespace of the same attributes (nested models and lists too)."""
    if isinstance(value, BaseModel):
        return SimpleNamespace(
            **{name: mirror(getattr(value, name)) for name in type(value).model_fields}
        )
    if isinstance(value, list):
        return [mirror(item) for item in value]
    return value


def test_namespaces_with_the_models_attributes_give_identical_outputs() -> None:
    """Every event kind, as a namespace instead of a model: the same samples and views."""
    logs = [*hand_logs(), simulated_events(1500, seed=5, locations=2, skus=10, days=15.0)]
    for log in logs:
        engine = KpiEngine(settings())
        for event in log:
            engine.add(mirror(event))
        assert outputs(engine) == outputs(run(log))
