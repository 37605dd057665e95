"""`kpimon dashboards build` writes the boards and `--check` spots stale files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboards.build import build_all, render
from streams.cli.main import main


def test_build_writes_every_board(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command writes one JSON file per board, byte-identical to the rendered code."""
    assert main(["dashboards", "build", "--out-dir", str(tmp_path)]) == 0
    boards = build_all()
    assert sorted(p.name for p in tmp_path.glob("*.json")) == sorted(boards)
    for name, board in boards.items():
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text == render(board)
        assert json.loads(text)["uid"] == board["uid"]
    assert "wrote" in capsys.readouterr().out


def test_check_reports_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--check` exits 0 on fresh files, 1 when one was edited or is missing."""
    assert main(["dashboards", "build", "--out-dir", str(tmp_path)]) == 0
    assert main(["dashboards", "build", "--check", "--out-dir", str(tmp_path)]) == 0
    (tmp_path / "oncall.json").write_text("{}\n")
    (tmp_path / "pipeline.json").unlink()
    capsys.readouterr()
    assert main(["dashboards", "build", "--check", "--out-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "oncall.json" in out and "pipeline.json" in out


def test_build_requires_a_subcommand() -> None:
    """`kpimon dashboards` alone is a usage error."""
    with pytest.raises(SystemExit) as exit_info:
        main(["dashboards"])
    assert exit_info.value.code == 2
