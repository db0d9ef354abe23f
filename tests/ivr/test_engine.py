from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcore.calls import events as ev
from callcore.calls.session import CallerHungUp
from callcore.ivr.engine import IvrEngine
from callcore.ivr.registry import ActiveMenu, MenuRegistry
from callcore.ivr.types import IvrOutcome, TicketStatus
from callcore.ivr.validator import PromptDirs
from callcore.prompts.synth import ensure_digits, ensure_prompt

from tests.ivr.fake_session import HANGUP, FakeSession
from tests.ivr.menus import GOOD

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
MONDAY_22 = datetime(2026, 11, 23, 22, 0, tzinfo=SH)
SHIPPED = (Path(__file__).resolve().parents[2] / "ivr" / "main.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prompt cache for the whole session: each text is synthesized once."""
    return tmp_path_factory.mktemp("sounds")


async def activate(text: str, sounds: Path, tmp_path: Path, name: str = "main") -> ActiveMenu:
    reg = MenuRegistry(ivr_dir=tmp_path / "ivr", dirs=PromptDirs(sounds_dir=sounds), db=None)
    return await reg.propose(name, text, author="test", write_file=False)


class Lookup:
    def __init__(self, tickets: dict[str, TicketStatus]) -> None:
        self.tickets = tickets
        self.asked: list[str] = []

    async def by_query_code(self, code: str) -> TicketStatus | None:
        self.asked.append(code)
        return self.tickets.get(code)


class Everything:
    def available(self, kind: str, name: str) -> bool:
        return True


async def run(active: ActiveMenu, session: FakeSession, sounds: Path, **kw: object) -> IvrOutcome:
    kw.setdefault("clock", lambda: MONDAY_10)
    return await IvrEngine(active, sounds_dir=sounds, **kw).run(session)  # type: ignore[arg-type]


async def test_choice_sets_category_and_queue_unavailable_path(sounds: Path, tmp_path: Path) -> None:
    active = await activate(SHIPPED, sounds, tmp_path)
    s = FakeSession(["1"], attributes={"route": "normal"})
    out = await run(active, s, sounds)
    assert s.nodes == ["route", "welcome", "hours", "main", "consult", "queue_general", "not_available"]
    assert s.attributes["category"] == "consultation"
    assert (out.how, out.node, s.hung_up) == ("hangup", "not_available", "unavailable")
    # Only the goodbye before the hang-up goes without silence queued behind it.
    assert s.last_prompts == [s.played[-1][0]] and s.played[-1][0].endswith("prompt")
    assert s.of(ev.IVR_ENTERED) == [{"menu": "main", "version": 0, "label": "2026-11-23.1"}]
    left = s.of(ev.IVR_LEFT)[0]
    assert left["how"] == "hangup" and left["node"] == "not_available" and left["path"][0] == "route"


async def test_handoff_to_queue_when_it_exists(sounds: Path, tmp_path: Path) -> None:
    active = await activate(SHIPPED, sounds, tmp_path)
    s = FakeSession([("during", "2")])
    out = await run(active, s, sounds, handoffs=Everything())
    assert (out.how, out.target, out.attributes["category"]) == ("queue", "complaint", "complaint")
    assert s.hung_up is None
    assert s.of(ev.IVR_LEFT)[0]["target"] == "complaint"


async def test_invalid_then_silence_then_fallback(sounds: Path, tmp_path: Path) -> None:
    active = await activate(GOOD, sounds, tmp_path, name="t")
    s = FakeSession(["7", None, None])
    out = await run(active, s, sounds)
    names = [n for n, _ in s.played]
    assert names == ["main.prompt", "main.invalid", "main.prompt", "main.no_input", "main.prompt", "bye.prompt"]
    assert out.node == "bye" and s.hung_up == "ivr_hangup"
    assert len(s.of(ev.TIMEOUT)) == 2 and [d["digit"] for d in s.of(ev.DTMF)] == ["7"]
    retries = [d for d in s.of(ev.IVR_NODE) if "retry" in d]
    assert [(d["retry"], d["because"]) for d in retries] == [(1, "invalid"), (2, "no_input")]


async def test_sub_menu_and_back(sounds: Path, tmp_path: Path) -> None:
    active = await activate(GOOD, sounds, tmp_path, name="t")
    s = FakeSession(["1", "*", "1", None, None, None, "0"])  # sub: silence thrice, fallback back
    out = await run(active, s, sounds, handoffs=Everything())
    assert s.nodes == ["main", "sub", "main", "sub", "main", "agent"]
    assert (out.how, out.node, out.target) == ("queue", "agent", "general")


async def test_query_code_found_is_spoken_with_deadline(sounds: Path, tmp_path: Path) -> None:
    active = await activate(SHIPPED, sounds, tmp_path)
    lookup = Lookup({"20261234": TicketStatus(query_code="20261234", status="processing", status_text="办理中",
                                              due_date=date(2026, 12, 1))})
    s = FakeSession(["3", "20261234#", "0"])
    await run(active, s, sounds, lookup=lookup)
    assert lookup.asked == ["20261234"]
    assert s.nodes[-4:] == ["lookup", "after_lookup", "operator", "not_available"]
    speech = dict(s.played)["lookup.status"]
    digits = await ensure_digits(sounds)
    year = [f"sound:{digits[d]}" for d in "2026"]
    assert any(speech[i:i + 4] == year for i in range(len(speech)))
    assert f"sound:{await ensure_prompt('年', sounds)}" in speech
    assert speech[1:9] == [f"sound:{digits[d]}" for d in "20261234"]


async def test_unknown_query_code_offers_retry_or_operator(sounds: Path, tmp_path: Path) -> None:
    active = await activate(SHIPPED, sounds, tmp_path)
    lookup = Lookup({})
    s = FakeSession(["3", "999999#", "1", "12#", "12#", "12#", "0"], attributes={"route": "normal"})
    await run(active, s, sounds, lookup=lookup)
    assert lookup.asked == ["999999"]
    assert s.nodes[3:] == ["main", "query", "lookup", "not_found", "query", "not_found", "operator", "not_available"]


async def test_caller_hangs_up_in_menu_is_lost_in_ivr_with_node(sounds: Path, tmp_path: Path) -> None:
    active = await activate(SHIPPED, sounds, tmp_path)
    s = FakeSession([("during", "4"), HANGUP])
    with pytest.raises(CallerHungUp):
        await run(active, s, sounds)
    left = s.of(ev.IVR_LEFT)
    assert left == [{"how": "caller_hangup", "node": "info", "menu": "main", "version": 0,
                     "path": ["route", "welcome", "hours", "main", "info"], "lost": True}]


async def test_after_hours_goes_to_message_and_voicemail(sounds: Path, tmp_path: Path) -> None:
    active = await activate(SHIPPED, sounds, tmp_path)
    s = FakeSession([None, None, None])
    out = await run(active, s, sounds, clock=lambda: MONDAY_22, handoffs=Everything())
    assert s.nodes == ["route", "welcome", "hours", "after_hours", "after_hours_menu", "voicemail"]
    assert (out.how, out.target) == ("voicemail", "general")


async def test_routing_attributes_refuse_and_afterhours(sounds: Path, tmp_path: Path) -> None:
    active = await activate(SHIPPED, sounds, tmp_path)
    s = FakeSession([], attributes={"route": "refuse"})
    out = await run(active, s, sounds)
    assert s.nodes == ["route", "refused"] and out.how == "hangup" and s.hung_up == "refused"
    s = FakeSession(["9"], attributes={"route": "afterhours"})
    await run(active, s, sounds)
    assert s.nodes == ["route", "after_hours", "after_hours_menu", "emergency", "emergency_referral"]
    assert s.attributes["category"] == "emergency" and s.hung_up == "emergency_referral"


async def test_call_keeps_its_version(sounds: Path, tmp_path: Path) -> None:
    reg = MenuRegistry(ivr_dir=tmp_path / "ivr", dirs=PromptDirs(sounds_dir=sounds), db=None)
    v1 = await reg.propose("t", GOOD, author="a", write_file=False)
    engine = IvrEngine(reg.current("t"), sounds_dir=sounds, handoffs=Everything())
    await reg.propose("t", GOOD.replace('"0": agent', '"0": bye'), author="a", write_file=False)
    out = await engine.run(FakeSession(["0"]))  # type: ignore[arg-type]
    assert engine.active is v1 and out.how == "queue"
