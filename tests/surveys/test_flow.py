"""The survey flow (T-14): one key 1-4, once more after a wrong key or silence, a thank-you; what
lands on the timeline and in the store, for an inbound caller and an outbound survey call."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcore.calls import events as ev
from callcore.calls.session import CallerHungUp
from callcore.prompts.synth import PromptError
from callcore.surveys.flow import SurveyFlow
from callcore.surveys.settings import SurveySettings
from callcore.surveys.types import SurveySubject
from tests.surveys.fake_session import HANGUP, FakeSession

INBOUND = SurveySubject(kind="inbound", agent="6001", queue="general")


class Store:
    def __init__(self) -> None:
        self.ratings: list[tuple[str, SurveySubject, int]] = []

    async def record(self, call_id: str, subject: SurveySubject, rating: int) -> object:
        self.ratings.append((call_id, subject, rating))
        return None


async def fake_prompt(text: str, sounds_dir: Path) -> Path:
    return sounds_dir / f"tts-{len(text)}"


def flow(tmp_path: Path, store: Store | None = None, **settings: object) -> SurveyFlow:
    return SurveyFlow(settings=SurveySettings(**settings), sounds_dir=tmp_path,  # type: ignore[arg-type]
                      store=store, prompts=fake_prompt)


@pytest.mark.parametrize("script", [[("during", "2")], ["2"]], ids=["during the prompt", "after it"])
async def test_a_key_is_the_rating_stored_and_thanked_for(tmp_path: Path, script: list[object]) -> None:
    store, session = Store(), FakeSession(script)
    assert await flow(tmp_path, store).run(session, INBOUND) == 2
    assert session.prompts == ["survey_prompt", "survey_thanks"]
    assert session.played[-1][2], "the thank-you is the last thing before the hang-up"
    [rated] = session.of(ev.SURVEY_RATED)
    assert rated == {"rating": 2, "satisfaction": "satisfied", "attempt": 1, "kind": "inbound", "agent": "6001",
                     "queue": "general"}
    assert store.ratings == [("call-1", INBOUND, 2)]
    assert session.of(ev.SURVEY_SKIPPED) == []


@pytest.mark.parametrize("first", [[("during", "7")], ["#"], [None]], ids=["wrong key", "hash", "silence"])
async def test_once_more_after_a_wrong_key_or_silence(tmp_path: Path, first: list[object]) -> None:
    store, session = Store(), FakeSession([*first, ("during", "4")])
    assert await flow(tmp_path, store).run(session, INBOUND) == 4
    assert session.prompts == ["survey_prompt", "survey_retry", "survey_thanks"]
    # The retry says why, then asks again.
    assert len(session.played[1][1]) == 2
    [rated] = session.of(ev.SURVEY_RATED)
    assert (rated["rating"], rated["satisfaction"], rated["attempt"]) == (4, "unsatisfied", 2)
    assert store.ratings == [("call-1", INBOUND, 4)]


@pytest.mark.parametrize(("script", "why"), [([None, None], "no_key"), ([("during", "9"), "0"], "wrong_key")])
async def test_no_rating_after_two_tries_is_skipped_with_a_goodbye(tmp_path: Path, script: list[object],
                                                                   why: str) -> None:
    store, session = Store(), FakeSession(script)
    assert await flow(tmp_path, store).run(session, INBOUND) is None
    assert session.prompts == ["survey_prompt", "survey_retry", "survey_goodbye"]
    assert session.of(ev.SURVEY_SKIPPED) == [{"why": why, "kind": "inbound", "agent": "6001", "queue": "general"}]
    assert store.ratings == []


async def test_a_caller_who_hangs_up_is_skipped_and_the_hang_up_propagates(tmp_path: Path) -> None:
    store, session = Store(), FakeSession([None, HANGUP])
    with pytest.raises(CallerHungUp):
        await flow(tmp_path, store).run(session, INBOUND)
    assert session.of(ev.SURVEY_SKIPPED) == [{"why": "caller_hangup", "kind": "inbound", "agent": "6001",
                                              "queue": "general"}]
    assert store.ratings == []


async def test_a_caller_who_hangs_up_during_the_thank_you_keeps_the_rating(tmp_path: Path) -> None:
    store, session = Store(), FakeSession([("during", "1"), HANGUP])
    with pytest.raises(CallerHungUp):
        await flow(tmp_path, store).run(session, INBOUND)
    assert [d["rating"] for d in session.of(ev.SURVEY_RATED)] == [1]
    assert session.of(ev.SURVEY_SKIPPED) == []
    assert store.ratings == [("call-1", INBOUND, 1)]


async def test_one_attempt_only_when_configured(tmp_path: Path) -> None:
    session = FakeSession([None, None])
    assert await flow(tmp_path, attempts=1).run(session, INBOUND) is None
    assert session.prompts == ["survey_prompt", "survey_goodbye"]


async def test_the_prompt_text_is_configurable(tmp_path: Path) -> None:
    asked: list[str] = []

    async def prompts(text: str, sounds_dir: Path) -> Path:
        asked.append(text)
        return sounds_dir / "x"

    f = SurveyFlow(settings=SurveySettings(prompt="满意请按1，不满意请按4。"), sounds_dir=tmp_path, store=None,
                   prompts=prompts)
    await f.run(FakeSession([("during", "1")]), INBOUND)
    assert asked[0] == "满意请按1，不满意请按4。"


async def test_an_outbound_survey_call_rates_its_ticket(tmp_path: Path) -> None:
    store, session = Store(), FakeSession([("during", "3")], call_id="out-1")
    subject = SurveySubject(kind="outbound", ticket_id="t-1")
    assert await flow(tmp_path, store).run(session, subject) == 3
    [rated] = session.of(ev.SURVEY_RATED)
    assert rated == {"rating": 3, "satisfaction": "basically_satisfied", "attempt": 1, "kind": "outbound",
                     "ticket_id": "t-1"}
    assert store.ratings == [("out-1", subject, 3)]


async def test_without_a_prompt_nobody_is_surveyed(tmp_path: Path) -> None:
    async def broken(text: str, sounds_dir: Path) -> Path:
        raise PromptError("espeak-ng missing")

    session = FakeSession([])
    f = SurveyFlow(settings=SurveySettings(), sounds_dir=tmp_path, store=None, prompts=broken)
    assert await f.run(session, INBOUND) is None
    assert session.played == []
    assert [d["why"] for d in session.of(ev.SURVEY_SKIPPED)] == ["no_prompt"]
    await f.prepare()  # logged, not raised


def test_a_subject_is_inbound_or_outbound() -> None:
    with pytest.raises(ValueError):
        SurveySubject(kind="sideways")
