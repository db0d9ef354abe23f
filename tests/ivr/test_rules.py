"""Prompts that state a rule say the configured one (issue 14): the FAQ's time limits (W-7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from callcore.ivr.registry import MenuRegistry
from callcore.ivr.rules import UnknownRule, default_rules, deadline_words, render, stored_rules
from callcore.ivr.validator import PromptDirs, check
from callcore.prompts.synth import prompt_path
from callcore.store.db import Database
from callcore.tickets.models import Category
from callcore.tickets.services import ensure_categories

from tests.ivr.menus import menu

LIMITS = "投诉类在{deadline:complaint}内办结，举报类在{deadline:report}内。"
FAQ = menu(f"""
faq:
  type: play
  prompt: ["常见问题。", "{LIMITS}"]
  next: bye
bye:
  type: hangup
""").replace("start: main", "start: faq").replace("menu: t\n", "menu: main\n")


def test_deadlines_are_said_in_working_days() -> None:
    assert deadline_words(15) == "十五个工作日"
    assert deadline_words(2) == "两个工作日"
    assert deadline_words(0) == "当天"
    rules = default_rules()
    assert render(LIMITS, rules) == "投诉类在十五个工作日内办结，举报类在三十个工作日内。"
    with pytest.raises(UnknownRule):
        render("{deadline:parking}", rules)


async def test_an_unknown_rule_is_a_fault_with_its_line(tmp_path: Path) -> None:
    result = await check(FAQ.replace("{deadline:report}", "{deadline:parking}"), PromptDirs(sounds_dir=tmp_path))
    [fault] = result.faults
    line = next(n for n, text in enumerate(FAQ.splitlines(), start=1) if "deadline" in text)
    assert "unknown rule {deadline:parking}" in fault.message and fault.line == line


async def test_the_store_s_limits_are_the_ones_said(db: Database) -> None:
    await ensure_categories(db)
    async with db.session() as s:
        await s.execute(update(Category).where(Category.code == "complaint").values(limit_days=20))
    rules = await stored_rules(db)
    assert rules["deadline:complaint"] == "二十个工作日" and rules["deadline:report"] == "三十个工作日"


async def test_a_changed_limit_re_synthesizes_the_prompts_that_state_it(tmp_path: Path, db: Database) -> None:
    await ensure_categories(db)
    reg = MenuRegistry(ivr_dir=tmp_path / "ivr", dirs=PromptDirs(sounds_dir=tmp_path / "sounds"), db=db,
                       rules=lambda: stored_rules(db))
    first = await reg.propose("main", FAQ, author="admin")
    said = prompt_path("投诉类在十五个工作日内办结，举报类在三十个工作日内。", tmp_path / "sounds")
    assert first.prompts[("say", LIMITS)] == said
    assert await reg.refresh_rules() == []  # nothing changed: nothing re-synthesized

    async with db.session() as s:
        await s.execute(update(Category).where(Category.code == "complaint").values(limit_days=20))
    assert await reg.refresh_rules() == ["main"]
    now = reg.current("main")
    new = prompt_path("投诉类在二十个工作日内办结，举报类在三十个工作日内。", tmp_path / "sounds")
    assert now.prompts[("say", LIMITS)] == new and new.with_suffix(".wav").exists()
    assert now.version == first.version  # the same menu version, saying the rule in force
    assert now.prompts[("say", "常见问题。")] == first.prompts[("say", "常见问题。")]
