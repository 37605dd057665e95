"""Which SKU-locations of one location a disruption covers (SPEC §4, coverage).

The test itself is `DisruptionRecord.covers` (every filter a disruption carries
must match; an unknown supplier is not covered). This module applies it to all
the SKU-locations of a location at once, with a supplier index built once per
report, so working capital at risk and time-to-replan do not test every
SKU-location against every disruption one by one.

The SKU-locations of a location are those the engine holds for it: SKUs named
there by an inventory, order, shipment or receipt event. A disruption *covers
a location* when it covers at least one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from streams.core.planning import DisruptionRecord
from streams.core.sku_location import SkuLocation


class LocationCoverage:
    """The SKU-locations of one location, indexed for coverage tests."""

    def __init__(self, code: str, skus: Mapping[str, SkuLocation]) -> None:
        self.code = code
        self._skus = skus
        self._by_supplier: dict[str, set[str]] = {}
        for sku, sl in skus.items():
            supplier = sl.supplier
            if supplier is not None:
                self._by_supplier.setdefault(supplier, set()).add(sku)

    def covered(self, record: DisruptionRecord) -> frozenset[str]:
        """SKUs of the location the disruption covers (empty when it covers none)."""
        if not record.names_location(self.code):
            return frozenset()
        if record.supplier_id is not None:
            candidates: Iterable[str] = self._by_supplier.get(record.supplier_id, ())
        else:
            candidates = self._skus.keys()
        if record.skus:
            wanted = set(record.skus)
            return frozenset(sku for sku in candidates if sku in wanted)
        return frozenset(candidates)

    def disrupted(self, active: Iterable[DisruptionRecord]) -> frozenset[str]:
        """SKUs of the location covered by at least one of the `active` disruptions."""
        found: set[str] = set()
        for record in active:
            found |= self.covered(record)
        return frozenset(found)
