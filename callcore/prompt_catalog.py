"""Every text the hotline speaks as shipped, and ``callcore prompts check`` over them.

The texts live with the capability that says them (menus under ``ivr/``, the system prompts, the
self-service lookup's sentences, the queues' announcements and callback offer, voicemail, callbacks,
the survey as configured); this module only gathers them, so the pronunciation check
(``callcore.prompts.pronunciation``) sees what callers hear. Texts built from values are sampled
with values that cover their wording (every ticket status, waits with and without a time, …).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from callcore import config as config_mod
from callcore.config import Settings
from callcore.ivr.rules import RuleValues, UnknownRule, default_rules, render, stored_rules
from callcore.prompts.pronunciation import Finding, check_texts
from callcore.prompts.synth import DEFAULT_VOICE, DIGIT_WORDS, PINYIN_VOICES, PromptError

# (where it is shipped, the text)
Text = tuple[str, str]


def menu_texts(ivr_dir: Path, rules: RuleValues) -> list[Text]:
    """The ``say`` prompts of every menu file under ``ivr_dir`` read by a pinyin voice, rules rendered."""
    from callcore.ivr.loader import parse

    out: list[Text] = []
    for path in sorted(ivr_dir.glob("*.yaml")):
        if path.name.startswith("."):
            continue
        menu, _faults = parse(path.read_text(encoding="utf-8"))
        if menu is None or menu.voice.split("+")[0] not in PINYIN_VOICES:
            continue  # ``callcore ivr check`` reports a broken menu; other voices get no pinyin
        for role, prompt in menu.all_prompts():
            for item in prompt:
                if item.kind != "say":
                    continue
                try:
                    out.append((f"{path.name}:{item.line} {role}", render(item.value, rules)))
                except UnknownRule:
                    continue  # a fault of ``callcore ivr check``
    return out


def lookup_texts() -> list[Text]:
    """What the self-service lookup (T-4) says around the query code."""
    from callcore.ivr.engine import QUERY_CODE_LEAD, deadline_sentence, status_sentence
    from callcore.tickets.workflow import STATUS_TEXT

    out: list[Text] = [("ivr lookup", QUERY_CODE_LEAD)]
    out += [(f"ivr lookup status {code}", status_sentence(text)) for code, text in STATUS_TEXT.items()]
    out += [("ivr lookup deadline", deadline_sentence(day)) for day in (date(2026, 12, 31), date(2027, 2, 8))]
    out += [(f"digit {d}", word) for d, word in DIGIT_WORDS.items()]
    return out


def system_texts() -> list[Text]:
    from callcore.prompts.system import SYSTEM_PROMPTS

    return [(f"system {name}", text) for name, text in SYSTEM_PROMPTS.items()]


def queue_texts() -> list[Text]:
    """The waiting caller's announcements, the callback offer and the agent's greeting."""
    from callcore.queues import stasis
    from callcore.queues.estimate import announcement_text
    from callcore.queues.speech import agent_intro_text, phone_digits

    out: list[Text] = [(f"queues {name}", getattr(stasis, name)) for name in (
        "OFFER_TEXT", "ASK_NUMBER_TEXT", "BAD_NUMBER_TEXT", "BOOKED_TEXT", "NOBODY_TEXT", "MAX_WAIT_TEXT",
        "MAX_WAIT_VOICEMAIL_TEXT")]
    out.append(("queues CONFIRM_TEXT", stasis.CONFIRM_TEXT.format(tail=phone_digits("1234"))))
    out += [(f"queues announcement {p}", announcement_text(p, wait))
            for p in (1, 2, 3, 12) for wait in (None, 60.0, 110.0, 600.0)]
    out.append(("queues agent greeting", agent_intro_text("1001")))
    return out


def other_texts(settings: Settings) -> list[Text]:
    """Voicemail, the callback dialer's words to the agent, and the survey as configured."""
    from callcore.callbacks.dialer import DIALLING_TEXT, NOT_REACHED_TEXT
    from callcore.recordings.voicemail import FAILED_TEXT, THANKS_TEXT

    survey = settings.surveys
    return [("voicemail thanks", THANKS_TEXT), ("voicemail failed", FAILED_TEXT),
            ("callbacks dialling", DIALLING_TEXT), ("callbacks not reached", NOT_REACHED_TEXT),
            ("survey prompt", survey.prompt), ("survey retry", survey.retry_prompt),
            ("survey thanks", survey.thanks), ("survey goodbye", survey.goodbye)]


def shipped_texts(settings: Settings, rules: RuleValues | None = None) -> list[Text]:
    """Every spoken text of this configuration, each once (the first place it is shipped names it)."""
    texts = [*menu_texts(settings.ivr_dir, default_rules() if rules is None else rules), *lookup_texts(),
             *system_texts(), *queue_texts(), *other_texts(settings)]
    seen: set[str] = set()
    out: list[Text] = []
    for source, text in texts:
        if text.strip() and text not in seen:
            seen.add(text)
            out.append((source, text))
    return out


async def _configured_rules(settings: Settings) -> RuleValues:
    """The store's category limits; the shipped ones when there is no store to read (yet)."""
    from sqlalchemy.exc import SQLAlchemyError

    from callcore.store.db import OUTAGE_ERRORS, Database

    unreadable: tuple[type[BaseException], ...] = (*OUTAGE_ERRORS, SQLAlchemyError)
    db = Database(settings.database_url)
    try:
        return await stored_rules(db)
    except unreadable as exc:
        print(f"callcore prompts check: category limits from the defaults (store not readable: {exc})",
              file=sys.stderr)
        return default_rules()
    finally:
        await db.close()


async def check(settings: Settings) -> list[Finding]:
    texts = shipped_texts(settings, await _configured_rules(settings))
    return await check_texts(texts, voice=DEFAULT_VOICE)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    prompts = sub.add_parser("prompts", help="the spoken prompts")
    psub = prompts.add_subparsers(dest="prompts_command", required=True)
    chk = psub.add_parser("check", help="list what espeak-ng would misread in the shipped prompts (exit 1 if any)")
    chk.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    settings = config_mod.load(args.config)
    try:
        findings = asyncio.run(check(settings))
    except PromptError as exc:
        print(f"callcore prompts check: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} pronunciation problem(s) in the shipped prompts", file=sys.stderr)
        return 1
    print("every shipped prompt is read as expected")
    return 0
