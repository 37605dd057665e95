"""The README's configuration table is exactly what `kpimon config --markdown` prints."""

from __future__ import annotations

from pathlib import Path

from streams.cli.config import markdown_table
from streams.settings import Settings

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_lists_every_setting_with_its_default() -> None:
    """A setting added or changed in code without updating the README fails this test."""
    text = README.read_text()
    start = text.index("<!-- settings-table:start -->") + len("<!-- settings-table:start -->")
    end = text.index("<!-- settings-table:end -->")
    assert text[start:end].strip() == markdown_table(Settings.model_construct())


def test_readme_quick_start_is_two_commands() -> None:
    """The quick start is `make demo` then `make test`, first in the README."""
    text = README.read_text()
    quick = text[text.index("## Quick start") :]
    block = quick[quick.index("```") : quick.index("```", quick.index("```") + 3)]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make demo", "make test"]
