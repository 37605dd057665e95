"""Runbook and dashboard links put into alert annotations.

Dashboards have stable UIDs (`kpimon-oncall`, `kpimon-operations`); a link
selects the alert's location(s) through the board's `location` variable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

ONCALL_DASHBOARD_UID = "kpimon-oncall"
OPERATIONS_DASHBOARD_UID = "kpimon-operations"
MAX_LINKED_LOCATIONS = 20


@dataclass(frozen=True, slots=True)
class Links:
    dashboard_base_url: str = "http://127.0.0.1:3000"
    runbook_base_url: str = "https://github.com/inventory-kpi-monitor/runbooks/blob/main"

    def dashboard_url(self, locations: Iterable[str] = (), uid: str = ONCALL_DASHBOARD_UID) -> str:
        """`{base}/d/{uid}?var-location=<loc>` (one parameter per location, at most 20)."""
        base = f"{self.dashboard_base_url.rstrip('/')}/d/{uid}"
        chosen = sorted(set(locations))[:MAX_LINKED_LOCATIONS]
        if not chosen:
            return base
        return f"{base}?{urlencode([('var-location', loc) for loc in chosen])}"

    def runbook_url(self, alertname: str, runbook: str | None = None) -> str:
        path = runbook if runbook else f"alerts/runbooks/{alertname}.md"
        return f"{self.runbook_base_url.rstrip('/')}/{quote(path.lstrip('/'))}"
