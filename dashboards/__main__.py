"""`python -m dashboards [OUT_DIR]`: regenerate the board JSON (default: this package's dir)."""

from __future__ import annotations

import sys

from dashboards.build import PACKAGE_DIR, write_all

for written in write_all(sys.argv[1] if len(sys.argv) > 1 else PACKAGE_DIR):
    print(written)
