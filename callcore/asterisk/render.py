"""``callcore asterisk render``: the shipped templates rendered into a run folder.

Everything Asterisk writes (spool, logs, control socket, astdb) lives under the run folder, so
a developer, CI and the test fixtures each run their own instance on their own ports.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydub.generators import Sine

from callcore.asterisk import installation, quirks
from callcore.config import ConfigError, Settings
from callcore.prompts.audio import join, to_asterisk_wav, write_wav
from callcore.prompts.system import system_prompts

TEMPLATES = Path(os.environ.get("CALLCORE_ASTERISK_TEMPLATES") or Path(__file__).resolve().parents[2] / "asterisk-conf")
SUBDIRS = ("etc", "var/lib", "spool", "run", "log", "log/cdr-custom", "agi-bin", "moh", "sounds")
# The agents' endpoints, written from the store (``pjsip.conf`` includes it): at render time and
# after every change to an agent, so it is the one place an agent's SIP account is spelled.
AGENTS_CONF = "pjsip_agents.conf"
# The digest realm of every agent's credential: ``md5_cred`` is md5("number:realm:password"), so the
# realm Asterisk challenges with must be the one the digest was made with, and never change.
SIP_REALM = "callcore"
# What a quoted caller-id name cannot carry in Asterisk's config syntax (";" starts a comment).
CALLERID_UNSAFE = re.compile(r'["\\;<>\x00-\x1f\x7f]')
_MD5 = re.compile(r"[0-9a-f]{32}")
# The PIN of the dialplan fallback's mailbox (voicemail.conf), made once per installation and kept
# here, readable by the owner only: ``callcore voicemail pin`` shows it to an admin who asks.
VOICEMAIL_PIN_FILE = "voicemail-pin"
PIN_DIGITS = 8
_PIN = re.compile(r"[0-9]{4,16}")


@dataclass(frozen=True, kw_only=True)
class SipAgent:
    """An agent's SIP account as Asterisk needs it: the endpoint name (工号), caller-id name, digest."""

    number: str
    name: str
    md5: str


def sip_md5(number: str, password: str) -> str:
    """PJSIP's ``md5_cred`` for ``number``: only this digest is stored, never the password."""
    return hashlib.md5(f"{number}:{SIP_REALM}:{password}".encode()).hexdigest()


def agents_conf(agents: Iterable[SipAgent]) -> str:
    """The text of ``pjsip_agents.conf``: an endpoint, an auth and an AOR per agent.

    An agent whose number or digest is malformed is left out (and named in a comment) rather than
    written: one bad section makes Asterisk refuse that object, and the include must stay loadable.
    """
    out = ["; Rendered by callcore from the store's agents (callcore agents / the admin API): do not edit.\n"]
    for a in sorted(agents, key=lambda a: a.number):
        if not (a.number.isdigit() and a.number.isascii() and _MD5.fullmatch(a.md5)):
            out.append(f"; left out: agent {a.number!r} has no valid number or SIP credential\n")
            continue
        name = CALLERID_UNSAFE.sub("", a.name).strip() or a.number
        n = a.number
        out.append(f"""
[{n}]
type = endpoint
transport = transport-udp
context = from-agents
disallow = all
allow = alaw,ulaw
direct_media = no
dtmf_mode = rfc4733
rtp_symmetric = yes
rewrite_contact = yes
auth = {n}-auth
aors = {n}
callerid = "{name}" <{n}>

[{n}-auth]
type = auth
auth_type = md5
username = {n}
realm = {SIP_REALM}
md5_cred = {a.md5}

[{n}]
type = aor
max_contacts = 1
remove_existing = yes
qualify_frequency = 30
""")
    return "".join(out)


def _write_private(target: Path, text: str) -> None:
    """Atomically (a reader sees the old file or the new one, never half) and readable by us only.

    The temporary file's name is unique, so two writers (the daemon and ``callcore agents``) never
    interleave in it; the last rename wins, and each writes the whole set it read.
    """
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_agents_conf(etc: Path, agents: Iterable[SipAgent]) -> Path:
    """Writes ``<etc>/pjsip_agents.conf`` for these (active) agents; Asterisk reads it at its next
    start or ``res_pjsip`` reload. The one writer of the file: render time and every agent change."""
    etc.mkdir(parents=True, exist_ok=True)
    target = etc / AGENTS_CONF
    _write_private(target, agents_conf(agents))
    return target


def _weak_pin(pin: str) -> bool:
    """A PIN a person tries first (``0000``, ``1234``, ``9876``...): refused when read, never made."""
    return len(set(pin)) == 1 or pin in "01234567890" or pin in "09876543210"


def read_voicemail_pin(run_dir: Path) -> str | None:
    """The fallback mailbox's PIN kept in ``<run_dir>/voicemail-pin``, or None before the first render.
    ``ConfigError`` for a file that holds no usable PIN (4 to 16 digits, not a well-known one such
    as ``0000``): a PIN is never replaced silently, since an admin may have handed it out."""
    path = run_dir / VOICEMAIL_PIN_FILE
    try:
        pin = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not _PIN.fullmatch(pin) or _weak_pin(pin):
        raise ConfigError(f"{path}: not a usable voicemail PIN (4 to 16 digits, not a well-known one); "
                          "delete the file to have a new one made at the next render")
    return pin


def voicemail_pin(run_dir: Path) -> str:
    """The fallback mailbox's PIN, made at random the first time (never ``0000``) and kept.

    Made here, at render time, so that every installation has its own without a setup step; kept in
    the run folder (mode 600, beside ``secrets.env``) so that a re-render keeps it. Never logged.
    """
    found = read_voicemail_pin(run_dir)
    if found is not None:
        return found
    pin = ""
    while not pin or _weak_pin(pin):
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(run_dir / VOICEMAIL_PIN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another render made it meanwhile: theirs is the one
        return voicemail_pin(run_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(pin + "\n")
    return pin


def etc_dir(settings: Settings) -> Path:
    return settings.run_dir / "etc"


def asterisk_conf(settings: Settings) -> Path:
    return etc_dir(settings) / "asterisk.conf"


def _write_moh(path: Path) -> None:
    """A soft two-tone pattern: music on hold that needs no extra package."""
    if path.exists():
        return
    tones = [Sine(f).to_audio_segment(duration=400, volume=-22) for f in (523, 659, 784, 659)]
    write_wav(to_asterisk_wav(join(tones * 6)), path)


async def render(settings: Settings, *, agi_routing: bool = True, agents: Sequence[SipAgent] | None = None) -> Path:
    """Writes the configuration; returns the path of asterisk.conf. Needs the secrets set.

    ``agents`` are the store's active agents; None (no store to read yet) keeps the agents file
    the last change wrote, or writes an empty one, so an agent is never lost by a re-render.
    """
    settings.check_secrets()
    inst = installation.selected(settings)
    run_dir = settings.run_dir.resolve()
    for sub in SUBDIRS:
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    prompts = await system_prompts(settings.sounds_dir)
    await asyncio.to_thread(_write_moh, run_dir / "moh" / "callcore-hold.wav")
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    context = {
        "run_dir": run_dir,
        "etc_dir": run_dir / "etc",
        "sounds_dir": settings.sounds_dir.resolve(),
        "ast": settings.asterisk,
        "agi": settings.agi,
        "agi_routing": agi_routing,
        "api_host": settings.api.host,
        "api_port": settings.api.port,
        "prompts": {name: str(path) for name, path in prompts.items()},
        "max_calls": 2000,
        "recordings": settings.recordings,
        "voicemail_pin": voicemail_pin(run_dir),
        # The Asterisk this is rendered for: its folders, and the choices its version needs.
        "install": inst,
        "asterisk": quirks.quirks(await asyncio.to_thread(inst.version)),
        # Versions with ARI's outbound websockets (22 here) ship res_websocket_client and res_ari needs
        # it; older ones (16) have none: loaded where the installation ships it.
        "websocket_client": (Path(inst.modules_dir) / "res_websocket_client.so").exists(),
        # Likewise the engine 22.5+ runs cdr_custom on (loaded first, else cdr_custom fails to load).
        "cdrel_custom": (Path(inst.modules_dir) / "res_cdrel_custom.so").exists(),
    }
    for template in sorted(TEMPLATES.glob("*.j2")):
        target = run_dir / "etc" / template.name.removesuffix(".j2")
        _write_private(target, env.get_template(template.name).render(**context))
    if agents is not None or not (run_dir / "etc" / AGENTS_CONF).exists():
        write_agents_conf(run_dir / "etc", agents or ())
    installation.record(run_dir / "etc", inst)
    return run_dir / "etc" / "asterisk.conf"
