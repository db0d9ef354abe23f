"""The fixed prompts the daemon and the shipped dialplan play outside the editable IVR menus.

Numbers are written as they are said (the hotline's number digit by digit, 1 as 幺): espeak-ng reads
digits as an amount (``callcore.prompts.numbers``); ``callcore prompts check`` covers these texts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from callcore.prompts.synth import ensure_prompt

SYSTEM_PROMPTS: dict[str, str] = {
    "welcome": "您好，欢迎致电九六八八幺区民服务热线。",
    "fallback": "您好，这里是九六八八幺热线。系统正在维护，请在提示音后留言，我们会尽快给您回电。",
    "goodbye": "感谢您的来电，再见。",
    "refused": "对不起，您的来电暂时无法受理。感谢您的理解，再见。",
    "wrong_number": "您拨打的号码有误，请拨打九六八八幺。",
    "resumed": "对不起，刚才系统出现故障，现在为您继续服务。",
    # C-2: a call over the hotline's channel limit hears this unanswered (early media), then is refused.
    "busy": "您好，现在来电较多，线路繁忙，请稍后再拨。",
}


async def system_prompts(sounds_dir: Path) -> dict[str, Path]:
    """Synthesizes (once, cached) every system prompt; returns name -> path without extension."""
    names = list(SYSTEM_PROMPTS)
    paths = await asyncio.gather(*(ensure_prompt(SYSTEM_PROMPTS[n], sounds_dir) for n in names))
    return dict(zip(names, paths, strict=True))
