"""Snapshots for the exporter tests, the per-sample KPI path they must agree with, a fake Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import redis
from prometheus_client.core import Metric

from streams.core.samples import METRICS, REPLAN_BUCKETS, REPLAN_HISTOGRAM, bucket_label
from streams.exporter.labels import allowed_values, sanitise
from streams.store.snapshot import decode_snapshot

GENERATED_AT = 1_700_000_000.25
LW = "inventory_fill_rate_ratio"
SERVICE = "inventory_window_units_ordered"
AT_RISK = "inventory_at_risk_days_of_cover"
COUNTER = "inventory_units_ordered_total"


def snapshot(samples: list[list[Any]], generated_at: float = GENERATED_AT) -> bytes:
    """A payload as streams.store.snapshot.encode_snapshot writes it, from raw triples."""
    return orjson.dumps({"generated_at": generated_at, "events": 7, "samples": samples})


def typical(locations: int = 6, skus: int = 5) -> list[list[Any]]:
    """Families of every kind the engine writes, location by location (as the engine does)."""
    out: list[list[Any]] = []
    for i in range(locations):
        loc = f"L{i:03d}"
        for window in ("7d", "30d"):
            lw = [["location", loc], ["window", window]]
            out += [[LW, lw, 0.25 * i], ["inventory_otif_ratio", lw, 1.0]]
            for channel, tier, region in (("web", "key", "north"), ("b2b", "standard", "south")):
                labels = [["channel", channel], ["customer_tier", tier], ["location", loc]]
                labels += [["region", region], ["window", window]]
                out += [
                    [SERVICE, labels, 12345678.9 * (i + 1)],
                    [SERVICE[:-7] + "shipped", labels, 3],
                ]
        for s in range(skus):
            out.append([AT_RISK, [["location", loc], ["sku", f"S{s:02d}"]], float(s) - 2.5])
        out.append([COUNTER, [["location", loc]], 1e16 + i])
        for bound in (*REPLAN_BUCKETS[:3], float("inf")):
            bucket = [["le", bucket_label(bound)], ["location", loc]]
            out.append([f"{REPLAN_HISTOGRAM}_bucket", bucket, float(i)])
        out.append([f"{REPLAN_HISTOGRAM}_count", [["location", loc]], float(i)])
        out.append([f"{REPLAN_HISTOGRAM}_sum", [["location", loc]], 3600.0 * i])
    return out


# Label data the engine passes through raw, and label sets it never writes but the
# exporter must still treat exactly as the per-sample path did.
ODD: list[list[Any]] = [
    [LW, [["location", "store 12/NYC"], ["window", "7d"]], -0.0],
    [LW, [["location", 'a"b\\c\n'], ["window", "7d"]], 0.0],
    [LW, [["location", "ünïcode"], ["window", "7d"]], 1e-7],
    [LW, [["location", "x" * 80], ["window", "7d"]], 5],
    [LW, [["window", "30d"], ["location", "L001"]], 2.0],  # unsorted
    [LW, [["location", "L999"], ["window", "7d"], ["location", "L000"]], 3.0],  # repeated
    [LW, [], 4.0],
    [LW, [["location", 7], ["window", "7d"]], 6.0],  # not a string
    [AT_RISK, [["location", "L001"], ["le", "a,b"], ["sku", "S01"]], 7.0],  # `le` not first
    [f"{REPLAN_HISTOGRAM}_bucket", [["le", 'we"ird,'], ["location", "L001"]], 8.0],
    [f"{REPLAN_HISTOGRAM}_bucket", [["le", 'we"ird,'], ["location", "L001"]], 8.5],
    ["inventory_not_in_catalog", [["location", "L998"]], 9.0],
    ["inventory_otif_ratio", [["location", "L001"], ["odd-name", "v"], ["window", "7d"]], 10.0],
    [LW, [["location", "L001"], ["odd-name", "v"], ["window", "7d"]], 11.0],
]


def expected(payload: bytes, cap: int, location_cap: int) -> tuple[list[Metric], int]:
    """KPI families and dropped count as the exporter built them sample by sample."""
    snap = decode_snapshot(payload)
    allowed = allowed_values((s.labels for s in snap.samples), cap, {"location": location_cap})
    families: dict[str, Metric] = {}
    dropped = 0
    for sample in snap.samples:
        family_name = _family_of(sample.name)
        info = METRICS.get(family_name)
        if info is None:
            continue
        labels = {name: sanitise(value) for name, value in sample.labels}
        if any(name in allowed and value not in allowed[name] for name, value in labels.items()):
            dropped += 1
            continue
        if sample.labels and sample.labels[0][0] == "le":
            labels["le"] = dict(sample.labels)["le"]
        if family_name not in families:
            metric_name = family_name[:-6] if info.kind == "counter" else family_name
            families[family_name] = Metric(metric_name, info.help, info.kind)
        families[family_name].add_sample(sample.name, labels, sample.value)
    return list(families.values()), dropped


def _family_of(sample_name: str) -> str:
    if sample_name in METRICS:
        return sample_name
    for suffix in ("_bucket", "_count", "_sum"):
        if sample_name.endswith(suffix) and sample_name[: -len(suffix)] in METRICS:
            return sample_name[: -len(suffix)]
    return sample_name


class Fixed:
    """A collector of given metrics."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)


class FakeRedis:
    """The few commands the collector sends, over a dict; `down` makes every call fail."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.down = False
        self.gets: list[str] = []

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self)

    def get(self, key: str) -> bytes | None:
        self._check()
        self.gets.append(key)
        value = self.data.get(key)
        return value if isinstance(value, bytes) else None

    def strlen(self, key: str) -> int:
        value = self.data.get(key)
        return len(value) if isinstance(value, bytes) else 0

    def getrange(self, key: str, start: int, end: int) -> bytes:
        value = self.data.get(key)
        return value[start : end + 1] if isinstance(value, bytes) else b""

    def hgetall(self, key: str) -> dict[bytes, bytes]:
        value = self.data.get(key)
        return dict(value) if isinstance(value, dict) else {}

    def _check(self) -> None:
        if self.down:
            raise redis.ConnectionError("down")


class FakePipeline:
    def __init__(self, client: FakeRedis) -> None:
        self.client = client
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __enter__(self) -> FakePipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, command: str) -> Any:
        return lambda *args: self.calls.append((command, args))

    def execute(self) -> list[Any]:
        self.client._check()
        return [
            getattr(self.client, c)(*a) if c != "get" else self.client.data.get(a[0])
            for c, a in self.calls
        ]
