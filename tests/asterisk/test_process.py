"""The process is invoked as the installation the configuration was rendered for says."""

from __future__ import annotations

from pathlib import Path

from callcore.asterisk import process
from callcore.asterisk.installation import Installation, record


async def test_cli_runs_the_recorded_installation(tmp_path: Path) -> None:
    # A stand-in "loader" that prints how it was invoked.
    loader = tmp_path / "ld.so"
    loader.write_text('#!/bin/sh\necho "$@"\n')
    loader.chmod(0o755)
    etc = tmp_path / "etc"
    etc.mkdir()
    record(etc, Installation(name="22", binary="/root22/usr/sbin/asterisk", modules_dir="/m", data_dir="/d",
                             sbin_dir="/root22/usr/sbin", loader=str(loader), library_path="/root22/usr/lib"))
    out = await process.cli(etc / "asterisk.conf", "core show version")
    assert out.split() == ["--library-path", "/root22/usr/lib", "/root22/usr/sbin/asterisk",
                           "-C", str(etc / "asterisk.conf"), "-rx", "core", "show", "version"]
    assert await process.version(etc / "asterisk.conf") == out.strip()
