"""The plugin puts the survey in the queues' after-talk step (unless disabled), runs it on the
caller's session with the agent and queue, and stores the rating."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from callcore.calls import events as ev
from callcore.calls.session import CallSession
from callcore.calls.stasis import StasisApp
from callcore.core.context import AppContext
from callcore.ivr.types import HandoffTarget
from callcore.queues.services import QueueService
from callcore.queues.settings import QueueSettings
from callcore.queues.stasis import QueueHandoff
from callcore.store.db import Database
from callcore.surveys.flow import SurveyFlow
from callcore.surveys.plugin import SurveysPlugin
from callcore.surveys.services import SurveyFilter, SurveyService
from callcore.surveys.settings import SurveySettings
from tests.apps import context
from tests.surveys.fake_session import FakeSession
from tests.surveys.helpers import add_call


def with_handoff(ctx: AppContext, tmp_path: Path, *, as_itself: bool = True) -> QueueHandoff:
    """The queues' caller flow as the queues plugin provides it: as ``HandoffTarget`` (for the IVR)
    and, with ``as_itself``, as ``QueueHandoff`` (for the capabilities above the queues)."""
    handoff = QueueHandoff(cast(QueueService, object()), stasis=cast(StasisApp, object()), sounds_dir=tmp_path)
    ctx.provide(handoff, kind=HandoffTarget)
    if as_itself:
        ctx.provide(handoff)
    return handoff


async def fake_prompt(text: str, sounds_dir: Path) -> Path:
    return sounds_dir / "p"


@pytest.mark.parametrize("as_itself", [True, False])
async def test_the_survey_runs_after_the_agent_hung_up(db: Database, tmp_path: Path, as_itself: bool) -> None:
    ctx = context(db, tmp_path)
    handoff = with_handoff(ctx, tmp_path, as_itself=as_itself)
    plugin = SurveysPlugin(ctx)
    plugin.build()
    assert handoff.after_talk == plugin.after_talk
    plugin.flow.prompts = fake_prompt
    await add_call(db, "call-1")
    session = FakeSession([("during", "1")])
    assert handoff.after_talk is not None
    await handoff.after_talk(cast(CallSession, cast(Any, session)), "6001",
                             QueueSettings(name="general", display_name="综合服务"))
    [rated] = session.of(ev.SURVEY_RATED)
    assert (rated["agent"], rated["queue"], rated["kind"]) == ("6001", "general", "inbound")
    rows, _ = await ctx.get(SurveyService).page(SurveyFilter(call_id="call-1"))
    assert [r.row.rating for r in rows] == [1]
    assert ctx.get(SurveyFlow) is plugin.flow


async def test_disabled_leaves_the_caller_hung_up_at_once(db: Database, tmp_path: Path) -> None:
    ctx = context(db, tmp_path, surveys=SurveySettings(enabled=False))
    handoff = with_handoff(ctx, tmp_path)
    plugin = SurveysPlugin(ctx)
    plugin.build()
    assert handoff.after_talk is None
    assert plugin.settings == SurveySettings(enabled=False)


def test_without_the_queues_the_service_still_lists(db: Database, tmp_path: Path) -> None:
    ctx = context(db, tmp_path)
    SurveysPlugin(ctx).build()
    assert ctx.has(SurveyService)
