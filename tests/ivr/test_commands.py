from __future__ import annotations

from pathlib import Path

import pytest

from callcore.cli import main

from tests.ivr.menus import GOOD

SHIPPED = Path(__file__).resolve().parents[2] / "ivr" / "main.yaml"


def test_check_valid_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLCORE_RUN_DIR", str(tmp_path))
    assert main(["ivr", "check", str(SHIPPED)]) == 0
    assert "is valid" in capsys.readouterr().out


def test_check_prints_every_fault_with_its_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace('"0": agent', '"0": nowhere') + "  lonely: {type: hangup}\n", encoding="utf-8")
    assert main(["ivr", "check", "--no-prompts", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{bad}:16: node main, choice 0: unknown target 'nowhere'",
        f"{bad}:30: node lonely is unreachable from the start node",
    ]
    assert "2 fault(s)" in captured.err


def test_check_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["ivr", "check", str(tmp_path / "none.yaml")]) == 2
