"""``callcore asterisk render``: the shipped templates rendered into a run folder.

Everything Asterisk writes (spool, logs, control socket, astdb) lives under the run folder, so
a developer, CI and the test fixtures each run their own instance on their own ports.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydub.generators import Sine

from callcore.config import Settings
from callcore.prompts.audio import join, to_asterisk_wav, write_wav
from callcore.prompts.system import system_prompts

TEMPLATES = Path(os.environ.get("CALLCORE_ASTERISK_TEMPLATES") or Path(__file__).resolve().parents[2] / "asterisk-conf")
SUBDIRS = ("etc", "var/lib", "spool", "run", "log", "agi-bin", "moh", "sounds")


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


async def render(settings: Settings, *, agi_routing: bool = True) -> Path:
    """Writes the configuration; returns the path of asterisk.conf. Needs the secrets set."""
    settings.check_secrets()
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
    }
    for template in sorted(TEMPLATES.glob("*.j2")):
        target = run_dir / "etc" / template.name.removesuffix(".j2")
        text = env.get_template(template.name).render(**context)
        tmp = target.with_suffix(target.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    return run_dir / "etc" / "asterisk.conf"
