"""The recordings' commands reach the one command line; verify's exit status says whether the backup is whole.
The fallback mailbox's PIN: random per installation, kept, given to Asterisk, printed only on request."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from callcore import config
from callcore.asterisk.render import VOICEMAIL_PIN_FILE, read_voicemail_pin, render, voicemail_pin
from callcore.cli import build_parser, main
from callcore.config import ConfigError
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


def test_the_fallback_mailboxs_pin_is_random_kept_and_private(tmp_path: Path) -> None:
    pin = voicemail_pin(tmp_path / "a")
    assert re.fullmatch(r"[0-9]{8}", pin) and pin != "00000000"
    assert voicemail_pin(tmp_path / "a") == pin == read_voicemail_pin(tmp_path / "a")  # made once, kept
    assert (tmp_path / "a" / VOICEMAIL_PIN_FILE).stat().st_mode & 0o077 == 0
    assert len({voicemail_pin(tmp_path / str(n)) for n in range(5)}) > 1  # per installation
    assert read_voicemail_pin(tmp_path / "none") is None
    for weak in ("0000", "1234", "98765", "12ab", "7"):
        (tmp_path / "w").mkdir(exist_ok=True)
        (tmp_path / "w" / VOICEMAIL_PIN_FILE).write_text(weak + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="not a usable voicemail PIN"):
            voicemail_pin(tmp_path / "w")


async def test_render_gives_the_mailbox_its_pin_and_the_daemons_limits_and_the_command_prints_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"CALLCORE_ARI_PASSWORD": "ari-secret-xyz", "CALLCORE_AMI_SECRET": "ami-secret-xyz",
           "CALLCORE_API_TOKEN": "api-token-xyz", "CALLCORE_RUN_DIR": str(tmp_path),
           "CALLCORE_RECORDINGS_VOICEMAIL_MAX_SECONDS": "90"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert await asyncio.to_thread(main, ["voicemail", "pin"]) == 1  # nothing rendered yet
    assert "callcore asterisk render" in capsys.readouterr().err
    await render(config.load(None, env=env))
    conf = (tmp_path / "etc" / "voicemail.conf").read_text(encoding="utf-8")
    pin = read_voicemail_pin(tmp_path)
    assert pin and f"96881 => {pin},96881 热线留言" in conf and "0000," not in conf
    assert "maxsecs = 90" in conf and "maxsilence = 5" in conf and "minsecs" not in conf
    await render(config.load(None, env=env))
    assert read_voicemail_pin(tmp_path) == pin  # a re-render keeps it
    assert await asyncio.to_thread(main, ["voicemail", "pin"]) == 0
    assert capsys.readouterr().out == f"{pin}\n"
