from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from callcore import config
from callcore.asterisk.render import render
from callcore.config import ConfigError

SECRETS = {
    "CALLCORE_ARI_PASSWORD": "ari-secret-xyz",
    "CALLCORE_AMI_SECRET": "ami-secret-xyz",
    "CALLCORE_API_TOKEN": "api-token-xyz",
    "CALLCORE_AGENT_PASSWORD": "agent-pass-xyz",
}


def _ini(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, delimiters=("=", "=>"), comment_prefixes=(";",), inline_comment_prefixes=(";",))
    parser.read_string("\n".join(line for line in path.read_text().splitlines() if not line.startswith(" same")))
    return parser


async def test_rendered_configuration_binds_loopback_with_configured_secrets(tmp_path: Path) -> None:
    env = {**SECRETS, "CALLCORE_RUN_DIR": str(tmp_path), "CALLCORE_ASTERISK_HTTP_SESSION_LIMIT": "150", "CALLCORE_ASTERISK_AGENTS": "3001-3003"}
    conf = await render(config.load(None, env=env))
    etc = conf.parent
    http = _ini(etc / "http.conf")
    assert http["general"]["bindaddr"] == "127.0.0.1" and http["general"]["sessionlimit"] == "150"
    assert _ini(etc / "ari.conf")["callcore"]["password"] == "ari-secret-xyz"
    manager = _ini(etc / "manager.conf")
    assert manager["general"]["bindaddr"] == "127.0.0.1" and manager["callcore"]["secret"] == "ami-secret-xyz"
    pjsip = (etc / "pjsip.conf").read_text()
    for n in ("3001", "3002", "3003"):
        assert f"[{n}-auth]" in pjsip
    assert pjsip.count("password = agent-pass-xyz") == 3
    dialplan = (etc / "extensions.conf").read_text()
    assert "Stasis(callcore,inbound,route=${CALLCORE_ROUTE},priority=${CALLCORE_PRIORITY})" in dialplan and 'GotoIf($["${STASISSTATUS}" = "FAILED"]?fallback)' in dialplan
    assert "bench-dialplan" not in dialplan
    assert f"AGI(agi://127.0.0.1:{config.load(None, env=env).agi.port}/route)" in dialplan
    assert (etc / "asterisk.conf").read_text().count(str(tmp_path.resolve())) >= 6
    assert (etc / "ari.conf").stat().st_mode & 0o077 == 0  # secrets are not world-readable
    # Every prompt the dialplan plays exists as an 8 kHz WAV.
    for line in dialplan.splitlines():
        if "Playback(" in line:
            target = line.split("Playback(")[1].rstrip(")")
            assert Path(target + ".wav").is_file(), target


async def test_render_refuses_missing_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        await render(config.load(None, env={"CALLCORE_RUN_DIR": str(tmp_path), "CALLCORE_SECRETS_FILE": str(tmp_path / "none")}))
