"""The recordings' commands reach the one command line; verify's exit status says whether the backup is whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcore.cli import build_parser, main
from callcore.recordings.audio import sha256_of
from callcore.recordings.backup import MANIFEST
from tests.recordings.helpers import write_wav


def test_backup_and_verify_are_commands() -> None:
    parser = build_parser()
    assert parser.parse_args(["recordings", "backup", "/tmp/x"]).recordings_command == "backup"
    assert parser.parse_args(["recordings", "verify", "/tmp/x"]).recordings_command == "verify"


def test_verify_exits_1_when_a_file_differs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_wav(tmp_path / "2026" / "a.wav", 1.0)
    (tmp_path / MANIFEST).write_text(f"{sha256_of(tmp_path / '2026' / 'a.wav')}  2026/a.wav\n", encoding="utf-8")
    assert main(["recordings", "verify", str(tmp_path)]) == 0
    (tmp_path / MANIFEST).write_text(f"{'0' * 64}  2026/a.wav\n", encoding="utf-8")
    assert main(["recordings", "verify", str(tmp_path)]) == 1
    assert "checksum differs: 2026/a.wav" in capsys.readouterr().err
