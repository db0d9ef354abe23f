"""The keypad survey itself (T-14), as a call flow over a session: the prompt, one key 1–4, the
prompt once more after a wrong key or silence, then a thank-you.

The same ``SurveyFlow.run`` serves an inbound caller who stayed on the line after the agent hung
up (``SurveySubject(kind="inbound", agent=..., queue=...)``) and an outbound survey call about a
ticket (``SurveySubject(kind="outbound", ticket_id=...)``, W-12): whoever placed the call hands the
answered session here. The result is on the call's timeline (``survey_rated`` with the rating, or
``survey_skipped`` with why) and, once rated, in the store (``RatingStore``) before the thank-you.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from callcore.calls import events as ev
from callcore.calls.session import CallerHungUp
from callcore.prompts.synth import PromptError, ensure_prompt
from callcore.surveys.scale import SATISFACTION, rating_of
from callcore.surveys.settings import SurveySettings
from callcore.surveys.types import RatingStore, SurveySession, SurveySubject

log = logging.getLogger(__name__)

# Any key ends the prompt: a rating at once, another key earns the retry without waiting it out.
INTERRUPT = "0123456789*#"
# Why no rating came (``survey_skipped``'s ``why``).
NO_KEY = "no_key"
WRONG_KEY = "wrong_key"
CALLER_HANGUP = "caller_hangup"
NO_PROMPT = "no_prompt"

PromptMaker = Callable[[str, Path], Awaitable[Path]]


class SurveyFlow:
    def __init__(self, *, settings: SurveySettings, sounds_dir: Path, store: RatingStore | None,
                 prompts: PromptMaker = ensure_prompt) -> None:
        """``store`` None: ratings are only on the timeline (tests, a daemon without the store)."""
        self.settings = settings
        self.sounds_dir = sounds_dir
        self.store = store
        self.prompts = prompts

    async def prepare(self) -> None:
        """Synthesizes the survey's prompts ahead of the first caller (each is then a cache hit)."""
        s = self.settings
        for text in (s.prompt, s.retry_prompt, s.thanks, s.goodbye):
            if text.strip():
                try:
                    await self.prompts(text, self.sounds_dir)
                except PromptError as exc:
                    log.error("survey prompt not synthesized: %s", exc)

    async def run(self, session: SurveySession, subject: SurveySubject) -> int | None:
        """Surveys the caller on ``session``; the rating (1–4), or None when none came.

        ``CallerHungUp`` propagates (after ``survey_skipped``, or after the rating was stored when the
        caller left during the thank-you); the caller is not hung up here: that is the caller's flow's."""
        try:
            prompt = await self._media(self.settings.prompt)
        except PromptError as exc:
            log.error("call %s not surveyed, prompt not synthesized: %s", session.call_id, exc)
            session.event(ev.SURVEY_SKIPPED, why=NO_PROMPT, **subject.as_data())
            return None
        rating: int | None = None
        why = NO_KEY
        try:
            for attempt in range(1, self.settings.attempts + 1):
                media = prompt
                if attempt > 1:
                    media = await self._optional(self.settings.retry_prompt) + prompt
                digit = await session.play(media, interrupt_digits=INTERRUPT,
                                           name="survey_prompt" if attempt == 1 else "survey_retry")
                if digit is None:
                    t = self.settings.key_timeout
                    keys = await session.collect(max_digits=1, first_timeout=t, inter_timeout=t, terminator=None)
                    digit = keys.digits or None
                rating = rating_of(digit)
                if rating is not None:
                    session.event(ev.SURVEY_RATED, rating=rating, satisfaction=SATISFACTION[rating],
                                  attempt=attempt, **subject.as_data())
                    break
                why = NO_KEY if digit is None else WRONG_KEY
        except CallerHungUp:
            session.event(ev.SURVEY_SKIPPED, why=CALLER_HANGUP, **subject.as_data())
            raise
        if rating is None:
            session.event(ev.SURVEY_SKIPPED, why=why, **subject.as_data())
            await self._say(session, self.settings.goodbye, "survey_goodbye")
            return None
        if self.store is not None:
            await self.store.record(session.call_id, subject, rating)
        await self._say(session, self.settings.thanks, "survey_thanks")
        return rating

    async def _media(self, text: str) -> list[str]:
        return [f"sound:{await self.prompts(text, self.sounds_dir)}"]

    async def _optional(self, text: str) -> list[str]:
        """A prompt that may be left out (empty, or not synthesized: the question is what matters)."""
        if not text.strip():
            return []
        try:
            return await self._media(text)
        except PromptError as exc:
            log.error("survey prompt not synthesized: %s", exc)
            return []

    async def _say(self, session: SurveySession, text: str, name: str) -> None:
        media = await self._optional(text)
        if media:
            await session.play(media, name=name, last=True)
