"""KPI metric families from the worker's snapshot, built once per snapshot (pure).

At the default caps a snapshot holds ~220k samples of which ~73k are exported.
Building a prometheus_client Sample and label dict per series, sanitising every
label value again and letting the client re-validate and re-escape every label
on each scrape took seconds. Here a label pair is sanitised and cap-checked once
per distinct (name, value) and kept as its rendered `name="value"` piece; a
family's sample lines are rendered once and reused by every scrape of the same
snapshot (streams.exporter.exposition). Sample objects are only built when
something reads `.samples` (prometheus_client's own encoders, `?name[]=`).
"""

from __future__ import annotations

import gc
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, groupby
from math import isfinite
from operator import itemgetter
from typing import Any

import orjson
from prometheus_client.core import Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from streams.core.samples import METRICS, MetricInfo
from streams.exporter.labels import CAPPED_LABELS, cap_values, sanitise

# Names every exposition format and escaping scheme we render ourselves writes
# unchanged (a colon is legal in a metric name, but OpenMetrics' underscore
# escaping of sample names rewrites it): only such families take the fast path.
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# prometheus_client moves samples named `<family><suffix>` into families of their own.
_MOVED_SUFFIXES = ("_created", "_gsum", "_gcount")

Row = tuple[str, str, float]
"""Sample name, its label pieces in label-name order joined by commas, value. Rows hold
no containers (rows are kept per snapshot: lists would keep the cyclic GC busy)."""


class KpiFamily(Metric):
    """A KPI family whose sample lines are rendered once; `plain` allows the fast path."""

    _built: list[Sample] | None

    def __init__(self, name: str, info: MetricInfo, pieces: Mapping[str, tuple[str, str]]) -> None:
        metric_name = name[:-6] if info.kind == "counter" else name
        super().__init__(metric_name, info.help, info.kind)
        self.rows: list[Row] = []
        # Pieces of the rows (by index) whose label values may hold a comma.
        self.split: dict[int, list[str]] = {}
        self.plain = True
        self._pieces = pieces  # rendered piece -> (label name, label value), shared per snapshot
        self._body: bytes | None = None

    @property  # type: ignore[override]
    def samples(self) -> list[Sample]:
        if self._built is None:
            pieces, split = self._pieces, self.split
            self._built = [
                Sample(
                    name,
                    dict(pieces[p] for p in split.get(i) or (labels.split(",") if labels else ())),
                    value,
                )
                for i, (name, labels, value) in enumerate(self.rows)
            ]
        return self._built

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        # Metric.__init__ assigns [] here: the rows stay the source until someone reads.
        self._built = value or None

    def body(self) -> bytes:
        """The sample lines, the same in the text and OpenMetrics formats for plain names."""
        if self._body is None:
            go = _GoFloats()
            # Zeros skip the memo: 0.0 == -0.0 share a key but print differently.
            self._body = "".join(
                [
                    f"{name}{{{labels}}} {go[value] if value else repr(value)}\n"
                    if labels
                    else f"{name} {go[value] if value else repr(value)}\n"
                    for name, labels, value in self.rows
                ]
            ).encode()
        return self._body


@dataclass(frozen=True)
class KpiView:
    """What the exporter serves of one snapshot."""

    generated_at: float
    families: list[KpiFamily]
    dropped: int  # series of catalog families not exported: a label value over its cap
    locations_over_cap: int = 0  # locations the worker knows but left out (the cap)
    late: Mapping[str, int] = field(default_factory=dict)  # events the engine took as late


def build_view(
    payload: bytes, cap: int, caps: Mapping[str, int], allowlist: Sequence[str] = ()
) -> KpiView:
    """Decode a snapshot (streams.store.snapshot format) into capped, sanitised families.

    Values that are not finite numbers (none should be: the worker drops them) are
    left out and counted in `dropped`: one bad value never fails a scrape.
    """
    with _gc_paused():
        # The decoded tree dies with _decode's frame, before the GC is back on: one
        # collection over its millions of objects would cost a quarter of a second.
        return _decode(payload, cap, caps, allowlist)


def _decode(payload: bytes, cap: int, caps: Mapping[str, int], allowlist: Sequence[str]) -> KpiView:
    data: dict[str, Any] = orjson.loads(payload)
    samples: list[Any] = data["samples"]
    seen = _distinct_values(samples)
    if seen is None:
        # Not what the worker writes; str() everything as decode_snapshot would.
        samples = [[n, [[str(k), str(v)] for k, v in ls], x] for n, ls, x in samples]
        seen = _distinct_values(samples)
        assert seen is not None
    activity = data.get("activity") or {}
    builder = _Builder(seen, cap, caps, samples, activity, allowlist)
    families, dropped = builder.run(samples)
    known = data.get("locations")
    over = max(0, known - len(activity)) if isinstance(known, int) and activity else 0
    late = data.get("late") or {}
    late = {str(k): int(v) for k, v in late.items() if isinstance(v, int)}
    return KpiView(float(data["generated_at"]), families, dropped, over, late)


def _distinct_values(samples: list[Any]) -> dict[str, set[str]] | None:
    """Per label name, its raw values; None unless every name and value is a string."""
    try:
        # C-level iteration over the ~1M label pairs (of a few hundred distinct ones),
        # skipping label sets equal to the previous sample's (3 in 4 are).
        label_sets = map(itemgetter(0), groupby(map(itemgetter(1), samples)))
        pairs = set(map(tuple, chain.from_iterable(label_sets)))
    except TypeError:  # an unhashable value
        return None
    seen: defaultdict[str, set[str]] = defaultdict(set)
    for name, value in pairs:
        if type(name) is not str or type(value) is not str:
            return None
        seen[name].add(value)
    return seen


class _Builder:
    def __init__(
        self,
        seen: dict[str, set[str]],
        cap: int,
        caps: Mapping[str, int],
        samples: list[Any],
        activity: Mapping[str, Any],
        allowlist: Sequence[str],
    ) -> None:
        capped: dict[str, Counter[str]] = {name: Counter() for name in CAPPED_LABELS}
        for name, values in seen.items():
            if name in capped:
                capped[name].update({sanitise(value): 1 for value in values})
        crowded = [
            name
            for name, values in capped.items()
            if name != "location" and len(values) > caps.get(name, cap)
        ]
        if crowded:  # ranked by the series carrying each value: count them (rare)
            _count_series(capped, crowded, samples)
        ranks = {
            sanitise(str(code)): int(n) if isinstance(n, int) else 0 for code, n in activity.items()
        }
        self.allowed = cap_values(capped, cap, dict(caps), ranks, [sanitise(c) for c in allowlist])
        self.pieces: dict[str, tuple[str, str]] = {}
        # Per label name, raw value -> its piece, or None when over the cap. `le` is
        # left out: a leading `le` keeps its raw value (bucket bounds like "+Inf").
        self.fast: dict[str, dict[str, str | None]] = {}
        for name, values in seen.items():
            if name == "le" or not PLAIN_NAME.fullmatch(name):
                continue
            keep = self.allowed.get(name)
            memo = self.fast[name] = {}
            for value in values:
                clean = sanitise(value)
                over = keep is not None and clean not in keep
                memo[value] = None if over else self.piece(name, clean)
        self.families: dict[str, KpiFamily] = {}

    def piece(self, name: str, value: str) -> str:
        escaped = value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
        rendered = f'{name}="{escaped}"'
        self.pieces[rendered] = (name, value)
        return rendered

    def run(self, samples: list[Any]) -> tuple[list[KpiFamily], int]:
        homes: dict[str, KpiFamily | None] = {}
        exported: list[KpiFamily] = []  # in order of their first exported sample
        fast = self.fast
        dropped = 0
        # The engine writes the families of one label set one after the other (3 in 4
        # samples repeat the previous labels): their verdict and pieces are reused.
        last: list[Any] | None = None
        joined: str | None = None  # None: over the cap
        for name, labels, value in samples:
            try:
                family = homes[name]
            except KeyError:
                family = homes[name] = self.home(name)
            if family is None:
                continue
            if labels != last:
                parts: list[str] | None = []
                last = labels
                prev = ""
                for key, raw in labels:
                    memo = fast.get(key)
                    if memo is None or key <= prev:  # `le`, odd names, unsorted or repeated
                        parts = self.general(labels, family)
                        last = None  # general() also marks the family
                        break
                    piece = memo[raw]
                    if piece is None:
                        parts = None  # read on all the same: a repeated name would override
                    elif parts is not None:
                        parts.append(piece)
                    prev = key
                joined = None if parts is None else ",".join(parts)
            if joined is None or type(value) not in _NUMBERS or not isfinite(value):
                dropped += 1
                continue
            if not family.rows:
                exported.append(family)
            family.rows.append((name, joined, float(value)))
        return exported, dropped

    def home(self, sample_name: str) -> KpiFamily | None:
        """The family a sample belongs to; None for names outside the catalog."""
        name = _family_of(sample_name)
        info = METRICS.get(name)
        if info is None:
            return None
        family = self.families.get(name)
        if family is None:
            family = self.families[name] = KpiFamily(name, info, self.pieces)
        if not PLAIN_NAME.fullmatch(sample_name) or any(
            sample_name == family.name + suffix for suffix in _MOVED_SUFFIXES
        ):
            family.plain = False
        return family

    def general(self, labels: list[list[str]], family: KpiFamily) -> list[str] | None:
        """Any label set, exactly as the per-sample path always did it; None when capped."""
        pairs = [(str(k), str(v)) for k, v in labels]
        clean = {k: sanitise(v) for k, v in pairs}
        if any(k in self.allowed and v not in self.allowed[k] for k, v in clean.items()):
            return None
        if pairs and pairs[0][0] == "le":
            clean["le"] = dict(pairs)["le"]
        if not all(PLAIN_NAME.fullmatch(k) for k in clean):
            family.plain = False
        parts = [self.piece(k, v) for k, v in sorted(clean.items())]
        if any("," in piece for piece in parts):
            family.split[len(family.rows)] = parts
        return parts


_NUMBERS = (float, int)  # `bool` is not one: a JSON true is not a sample value


def _count_series(capped: dict[str, Counter[str]], names: list[str], samples: list[Any]) -> None:
    """Count, per value of the label `names`, the samples carrying it (sanitised)."""
    for name in names:
        capped[name] = Counter()
    wanted = set(names)
    for _name, labels, _value in samples:
        for key, value in labels:
            if key in wanted:
                capped[key][sanitise(value)] += 1


def _family_of(sample_name: str) -> str:
    """The catalog name of a sample: histograms map their _bucket/_count/_sum samples home."""
    if sample_name in METRICS:
        return sample_name
    for suffix in ("_bucket", "_count", "_sum"):
        if sample_name.endswith(suffix) and sample_name[: -len(suffix)] in METRICS:
            return sample_name[: -len(suffix)]
    return sample_name


class _GoFloats(dict[float, str]):
    """floatToGoString, memoised: a snapshot repeats values (rates, counts) a lot."""

    def __missing__(self, value: float) -> str:
        text = self[value] = floatToGoString(value)
        return text


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Decoding allocates millions of lists and strings: with the cyclic GC on, its
    collections keep re-walking the growing (acyclic) tree and triple the decode time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
