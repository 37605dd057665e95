"""The adaptive-rollout scenario read by the KPI engine moves the §4.3 signals as the seed
predicts: a 28d window on the model's buffers against the 28d before, on blanket ones."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.core.engine import KpiEngine
from streams.core.samples import Sample
from streams.events.decode import Rejection, decode_event
from streams.settings import KpiSettings
from streams.simulate import generate
from tests.unit.simulate.replay import START
from tests.unit.simulate.test_sim_rollout import DAY, HALF_DAYS, LONG


@pytest.fixture(scope="module")
def readings() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The engine's samples after both halves (the tail after day 56 left out)."""
    end = START.timestamp() + 2 * HALF_DAYS * DAY
    engine = KpiEngine(KpiSettings.model_validate({"windows": ["28d"]}))
    raw: dict[str, Any]
    for raw in generate(LONG):
        event = decode_event(orjson.dumps(raw))
        assert not isinstance(event, Rejection), event
        if event.occurred_at.timestamp() < end:
            engine.add(event)
    samples: list[Sample] = engine.samples()
    return {(s.name, s.labels): s.value for s in samples}


def _get(readings: dict[Any, float], name: str, **labels: str) -> float | None:
    return readings.get((name, tuple(sorted({**labels, "window": "28d"}.items()))))


@pytest.mark.parametrize("location", ["DC-EAST", "DC-WEST"])
def test_turns_up_without_stockouts(readings: dict[Any, float], location: str) -> None:
    """Turns rise on the prior window with less inventory, fill rate holds, and the insight
    `turns_without_stockouts` holds."""
    turns = _get(readings, "inventory_kpi_change_ratio", kpi="turns", location=location)
    value = _get(
        readings, "inventory_kpi_change_ratio", kpi="average_inventory_value", location=location
    )
    fill = _get(readings, "inventory_kpi_change_ratio", kpi="fill_rate", location=location)
    assert turns is not None and turns > 0.05, turns
    assert value is not None and value < -0.05, value
    assert fill is not None and abs(fill) < 0.01, fill
    insight = _get(
        readings, "inventory_insight", insight="turns_without_stockouts", location=location
    )
    assert insight == 1.0


@pytest.mark.parametrize("location", ["DC-EAST", "DC-WEST"])
def test_the_model_cohort_turns_faster_at_the_same_service(
    readings: dict[Any, float], location: str
) -> None:
    """SKU-locations on the model's policies turn their stock faster than the planners' at a
    fill rate as high."""

    def cohort(name: str, source: str) -> float:
        found = _get(readings, name, location=location, policy_source=source)
        assert found is not None, (name, source)
        return found

    turns = {
        source: cohort("inventory_cohort_cogs_dollars", source)
        / cohort("inventory_cohort_average_value_dollars", source)
        for source in ("model", "planner")
    }
    fill = {
        source: cohort("inventory_cohort_units_shipped", source)
        / cohort("inventory_cohort_units_ordered", source)
        for source in ("model", "planner")
    }
    assert turns["model"] > turns["planner"] * 1.03, turns
    assert fill["model"] >= 0.99, fill
