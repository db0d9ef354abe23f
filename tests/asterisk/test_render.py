from __future__ import annotations

import configparser
import json
import hashlib
from pathlib import Path

import pytest

from callcore import config
from callcore.asterisk.render import AGENTS_CONF, SipAgent, agents_conf, render, sip_md5
from callcore.config import ConfigError

SECRETS = {
    "CALLCORE_ARI_PASSWORD": "ari-secret-xyz",
    "CALLCORE_AMI_SECRET": "ami-secret-xyz",
    "CALLCORE_API_TOKEN": "api-token-xyz",
}


def _ini(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, delimiters=("=", "=>"), comment_prefixes=(";",), inline_comment_prefixes=(";",))
    parser.read_string("\n".join(line for line in path.read_text().splitlines() if not line.startswith(" same")))
    return parser


async def test_rendered_configuration_binds_loopback_with_configured_secrets(tmp_path: Path) -> None:
    env = {**SECRETS, "CALLCORE_RUN_DIR": str(tmp_path), "CALLCORE_ASTERISK_HTTP_SESSION_LIMIT": "150"}
    agents = [SipAgent(number=n, name=f"话务员{n}", md5=sip_md5(n, f"pw-{n}")) for n in ("3001", "3002", "3003")]
    conf = await render(config.load(None, env=env), agents=agents)
    etc = conf.parent
    http = _ini(etc / "http.conf")
    assert http["general"]["bindaddr"] == "127.0.0.1" and http["general"]["sessionlimit"] == "150"
    assert _ini(etc / "ari.conf")["callcore"]["password"] == "ari-secret-xyz"
    manager = _ini(etc / "manager.conf")
    assert manager["general"]["bindaddr"] == "127.0.0.1" and manager["callcore"]["secret"] == "ami-secret-xyz"
    pjsip = (etc / "pjsip.conf").read_text()
    assert "#tryinclude pjsip_agents.conf" in pjsip and "password" not in pjsip
    endpoints = _ini(etc / AGENTS_CONF)
    for n in ("3001", "3002", "3003"):
        auth = endpoints[f"{n}-auth"]
        assert (auth["auth_type"], auth["username"], auth["realm"]) == ("md5", n, "callcore")
        assert auth["md5_cred"] == hashlib.md5(f"{n}:callcore:pw-{n}".encode()).hexdigest()
        assert endpoints[n]["callerid"] == f'"话务员{n}" <{n}>'
    assert "password" not in (etc / AGENTS_CONF).read_text()
    assert (etc / AGENTS_CONF).stat().st_mode & 0o077 == 0
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


def test_the_agents_file_has_each_agents_endpoint_auth_and_aor() -> None:
    text = agents_conf([SipAgent(number="1001", name="王芳", md5="a" * 32)])
    sections = [line for line in text.splitlines() if line.startswith("[")]
    assert sections == ["[1001]", "[1001-auth]", "[1001]"]
    for option in ("context = from-agents", "allow = alaw,ulaw", "dtmf_mode = rfc4733", "rewrite_contact = yes",
                   "max_contacts = 1", "remove_existing = yes", "qualify_frequency = 30", "auth = 1001-auth",
                   "aors = 1001", "auth_type = md5", "realm = callcore", "md5_cred = " + "a" * 32):
        assert option in text.splitlines(), option


def test_the_agents_file_leaves_out_what_asterisk_could_not_load() -> None:
    good = SipAgent(number="1001", name='王"芳;\n', md5="a" * 32)
    text = agents_conf([good, SipAgent(number="10x1", name="x", md5="a" * 32), SipAgent(number="1002", name="x", md5=""), SipAgent(number="1003", name="x", md5="a" * 32 + "\n")])
    assert 'callerid = "王芳" <1001>' in text
    assert "[10x1]" not in text and "[1002]" not in text and "[1003]" not in text and text.count("left out") == 3


async def test_a_render_keeps_the_agents_file_unless_given_the_agents(tmp_path: Path) -> None:
    s = config.load(None, env={**SECRETS, "CALLCORE_RUN_DIR": str(tmp_path)})
    etc = (await render(s)).parent
    assert "type = endpoint" not in (etc / AGENTS_CONF).read_text()  # written, empty: the include finds a file
    await render(s, agents=[SipAgent(number="1001", name="王芳", md5="b" * 32)])
    await render(s)  # no store to read: the agents the last change wrote stay
    assert "[1001-auth]" in (etc / AGENTS_CONF).read_text()
    await render(s, agents=[])
    assert "[1001" not in (etc / AGENTS_CONF).read_text()


@pytest.mark.parametrize(("version", "playtones"), [("Asterisk 16.28.0~dfsg-0+deb11u4", True), ("Asterisk 22.10.1+dfsg", False)])
async def test_the_configuration_follows_the_version_it_is_rendered_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, playtones: bool,
) -> None:
    from tests.asterisk.test_installation import fake_root

    monkeypatch.delenv("CALLCORE_ASTERISK", raising=False)
    root = fake_root(tmp_path / "root", version=version)
    if not playtones:  # 22 ships the module its res_ari needs
        (root / "usr/lib/x86_64-linux-gnu/asterisk/modules/res_websocket_client.so").touch()
    env = {**SECRETS, "CALLCORE_RUN_DIR": str(tmp_path / "run"), "CALLCORE_ASTERISK_WHICH": str(root / "usr/sbin/asterisk")}
    etc = (await render(config.load(None, env=env))).parent
    directories = _ini(etc / "asterisk.conf")["directories"]
    assert directories["astmoddir"].lstrip("> ") == str(root / "usr/lib/x86_64-linux-gnu/asterisk/modules")
    assert directories["astdatadir"].lstrip("> ") == str(root / "usr/share/asterisk")
    # asterisk/asterisk#363: the wake-up workaround is for 16 only.
    assert ("Playtones(!0/1000)" in (etc / "extensions.conf").read_text()) is playtones
    assert ("load => res_websocket_client.so" in (etc / "modules.conf").read_text()) is not playtones
    assert (etc / "websocket_client.conf").exists()
    assert json.loads((etc / "callcore-asterisk.json").read_text())["binary"] == str(root / "usr/sbin/asterisk")


async def test_asterisk_asks_for_real_time_priority_unless_switched_off(tmp_path: Path) -> None:
    env = {**SECRETS, "CALLCORE_RUN_DIR": str(tmp_path)}
    conf = await render(config.load(None, env=env))
    assert _ini(conf)["options"]["highpriority"] == "yes"
    conf = await render(config.load(None, env={**env, "CALLCORE_ASTERISK_REALTIME": "false"}))
    assert _ini(conf)["options"]["highpriority"] == "no"
