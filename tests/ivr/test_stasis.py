from __future__ import annotations

from pathlib import Path
from typing import Any

from callcore.calls import events as ev
from callcore.calls.welcome import WelcomeFlow
from callcore.ivr.stasis import ivr_flow, route_attributes
from callcore.ivr.registry import MenuRegistry
from callcore.ivr.types import IvrOutcome
from callcore.ivr.validator import PromptDirs

from tests.ivr.fake_session import FakeSession
from tests.ivr.test_engine import SHIPPED, Everything


def test_route_attributes() -> None:
    assert route_attributes(["inbound", "route=afterhours", "priority=5"]) == {"route": "afterhours", "priority": 5}
    assert route_attributes(["inbound", "route=", "priority=", "priority=x", "other=1"]) == {}


async def test_flow_answers_routes_and_hands_off(tmp_path: Path) -> None:
    reg = MenuRegistry(ivr_dir=tmp_path / "ivr", dirs=PromptDirs(sounds_dir=tmp_path / "s"), db=None)
    await reg.propose("main", SHIPPED, author="t", write_file=False)
    handed: list[IvrOutcome] = []

    async def on_handoff(session: Any, outcome: IvrOutcome) -> None:
        handed.append(outcome)

    flow = ivr_flow(reg, sounds_dir=tmp_path / "s", handoffs=Everything(), on_handoff=on_handoff)
    s = FakeSession([None, None, None], attributes={"args": ["inbound", "route=afterhours", "priority=5"]})
    await flow(s)  # type: ignore[arg-type]
    assert s.answered
    assert [(d["name"], d["value"]) for d in s.of(ev.ATTRIBUTE_SET)] == [("route", "afterhours"), ("priority", 5)]
    assert [(o.how, o.target) for o in handed] == [("voicemail", "general")]


async def test_flow_without_menu_uses_fallback(tmp_path: Path) -> None:
    reg = MenuRegistry(ivr_dir=tmp_path / "ivr", dirs=PromptDirs(sounds_dir=tmp_path / "s"), db=None)
    used: list[str] = []

    async def fallback(session: Any) -> None:
        used.append(session.call_id)

    await ivr_flow(reg, sounds_dir=tmp_path, fallback=fallback)(FakeSession([]))  # type: ignore[arg-type]
    assert used == ["call-1"]


async def test_a_resumed_caller_outside_a_queue_hears_the_apology_then_the_menu(tmp_path: Path) -> None:
    """A restarted daemon takes back a caller who was in the menu: the queue does not claim them, so
    they hear the same apology as in the welcome flow, then the menu from the top."""
    reg = MenuRegistry(ivr_dir=tmp_path / "ivr", dirs=PromptDirs(sounds_dir=tmp_path / "s"), db=None)
    await reg.propose("main", SHIPPED, author="t", write_file=False)
    asked: list[str] = []

    async def resume(session: Any) -> bool:
        asked.append(session.call_id)
        return False

    welcome = WelcomeFlow({"resumed": tmp_path / "resumed", "welcome": tmp_path / "welcome"})
    flow = ivr_flow(reg, sounds_dir=tmp_path / "s", handoffs=Everything(), on_handoff=_ignore, resume=resume,
                    apologize=welcome.apologize)
    s = FakeSession([None, None, None])
    s.resumed = True  # type: ignore[attr-defined]
    await flow(s)  # type: ignore[arg-type]
    fresh = FakeSession([None, None, None])
    await flow(fresh)  # type: ignore[arg-type]
    assert asked == ["call-1"]  # only the resumed caller is offered to the queue
    assert s.played[0] == ("resumed", [f"sound:{tmp_path / 'resumed'}"])
    # Then the same menu a new caller hears, from the top.
    assert s.played[1:] == fresh.played and fresh.played and fresh.played[0][0] != "resumed"


async def test_a_resumed_caller_the_queue_takes_back_hears_no_menu(tmp_path: Path) -> None:
    reg = MenuRegistry(ivr_dir=tmp_path / "ivr", dirs=PromptDirs(sounds_dir=tmp_path / "s"), db=None)
    await reg.propose("main", SHIPPED, author="t", write_file=False)
    apologized: list[str] = []

    async def resume(session: Any) -> bool:
        return True

    async def apologize(session: Any) -> None:
        apologized.append(session.call_id)

    s = FakeSession([])
    s.resumed = True  # type: ignore[attr-defined]
    await ivr_flow(reg, sounds_dir=tmp_path / "s", resume=resume, apologize=apologize)(s)  # type: ignore[arg-type]
    assert s.played == [] and apologized == []


async def _ignore(session: Any, outcome: IvrOutcome) -> None:
    return None
