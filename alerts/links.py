"""Runbook and dashboard links put into alert annotations.

Dashboards have stable UIDs (`kpimon-oncall`, `kpimon-operations`); a link
selects the alert's location(s) through the board's `location` variable.

Runbooks ship in `alerts/runbooks/<alertname>.md`. `runbook_base_url` is the
URL of that directory: by default the exporter, which serves the shipped files
at `/runbooks/<alertname>.md` (`streams.exporter.exposition.make_app`), or a
copy of the repository, e.g. `https://github.com/<org>/<repo>/blob/main/alerts/runbooks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

ONCALL_DASHBOARD_UID = "kpimon-oncall"
OPERATIONS_DASHBOARD_UID = "kpimon-operations"
MAX_LINKED_LOCATIONS = 20

RUNBOOKS_DIR = Path(__file__).resolve().parent / "runbooks"
# The exporter's default address (ExporterSettings) and the path it serves runbooks on.
DEFAULT_RUNBOOK_BASE_URL = "http://127.0.0.1:9464/runbooks"
_RUNBOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.md", re.ASCII)


def shipped_runbook(name: str, directory: Path = RUNBOOKS_DIR) -> Path | None:
    """The file of runbook `name` ("InventoryStockout.md") in `directory`, or None.

    Only a plain file name directly inside the directory qualifies: no separators,
    no "..", no hidden files, no symlink that leads elsewhere.
    """
    if not _RUNBOOK_NAME.fullmatch(name) or ".." in name:
        return None
    root = directory.resolve()
    path = (root / name).resolve()
    if path.parent != root or not path.is_file():
        return None
    return path


@dataclass(frozen=True, slots=True)
class Links:
    dashboard_base_url: str = "http://127.0.0.1:3000"
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL

    def dashboard_url(self, locations: Iterable[str] = (), uid: str = ONCALL_DASHBOARD_UID) -> str:
        """`{base}/d/{uid}?var-location=<loc>` (one parameter per location, at most 20)."""
        base = f"{self.dashboard_base_url.rstrip('/')}/d/{uid}"
        chosen = sorted(set(locations))[:MAX_LINKED_LOCATIONS]
        if not chosen:
            return base
        return f"{base}?{urlencode([('var-location', loc) for loc in chosen])}"

    def runbook_url(self, alertname: str, runbook: str | None = None) -> str:
        """`{runbook_base_url}/<alertname>.md`, or the rule's own `runbook` path under the base."""
        path = runbook if runbook else f"{alertname}.md"
        return f"{self.runbook_base_url.rstrip('/')}/{quote(path.lstrip('/'))}"
