"""CallSession's digit buffer against a fake ARI: a key is never lost between a prompt and the next wait."""

from __future__ import annotations

import asyncio
from typing import Any

from callcore.calls import events as ev
from callcore.calls.session import CallSession

ALL_KEYS = "0123456789*#"


class FakeAri:
    def __init__(self) -> None:
        self.playbacks: list[str] = []
        self.stopped: list[str] = []
        # Every request in order, to check what is queued behind a prompt.
        self.requests: list[str] = []

    async def play(self, channel_id: str, media: list[str], *, playback_id: str) -> None:
        self.playbacks.append(playback_id)
        self.requests.append(f"play {playback_id}")

    async def start_silence(self, channel_id: str) -> None:
        self.requests.append(f"silence {channel_id}")

    async def stop_playback(self, playback_id: str) -> None:
        self.stopped.append(playback_id)


class Timeline:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, call_id: str, type_: str, data: dict[str, Any] | None = None) -> None:
        self.events.append((type_, data or {}))


def session() -> tuple[CallSession, FakeAri, Timeline]:
    ari, timeline = FakeAri(), Timeline()
    s = CallSession(ari=ari, journal=timeline, call_id="call-1", channel_id="chan-1",  # type: ignore[arg-type]
                    caller_number="13800138000")
    return s, ari, timeline


async def playing(s: CallSession, ari: FakeAri, **kw: Any) -> asyncio.Task[str | None]:
    task = asyncio.create_task(s.play(["sound:x"], name="menu.prompt", **kw))
    while not ari.requests or not ari.requests[-1].startswith("silence"):
        await asyncio.sleep(0)
    await asyncio.sleep(0)  # play() now waits on the playback, the digits and the hang-up
    return task


async def test_a_key_interrupts_the_prompt() -> None:
    s, ari, timeline = session()
    task = await playing(s, ari, interrupt_digits=ALL_KEYS)
    s.on_dtmf("1")
    assert await task == "1"
    assert ari.stopped == ari.playbacks
    assert timeline.events[-1][1]["interrupted_by"] == "1"


async def test_silence_is_queued_behind_every_prompt() -> None:
    # What keeps Asterisk 16 from waiting 200 ms before the flow's next command (see CallSession.play).
    s, ari, _ = session()
    for _ in range(2):
        task = await playing(s, ari)
        s.on_playback_finished(ari.playbacks[-1])
        await task
    assert ari.requests == [f"play {ari.playbacks[0]}", "silence chan-1", f"play {ari.playbacks[1]}", "silence chan-1"]


async def test_the_prompt_records_when_asterisk_started_it_and_the_key_when_asterisk_heard_it() -> None:
    s, ari, timeline = session()
    task = await playing(s, ari, interrupt_digits=ALL_KEYS)
    s.on_playback_started(ari.playbacks[-1], "2026-11-24T02:00:00.120+0000")
    s.on_playback_started("someone-else", "2026-11-24T02:00:00.130+0000")
    s.on_dtmf("5", "2026-11-24T02:00:01.000+0000")
    assert await task == "5"
    by_type = dict(timeline.events)
    assert by_type[ev.PROMPT_FINISHED]["started_at"] == "2026-11-24T02:00:00.120+0000"
    assert by_type[ev.DTMF] == {"digit": "5", "heard_at": "2026-11-24T02:00:01.000+0000"}


async def test_a_key_arriving_with_the_end_of_the_prompt_is_the_answer() -> None:
    # ChannelDtmfReceived and PlaybackFinished in one read of the ARI event stream.
    s, ari, timeline = session()
    task = await playing(s, ari, interrupt_digits=ALL_KEYS)
    s.on_dtmf("1")
    s.on_playback_finished(ari.playbacks[0])
    assert await task == "1"
    assert [t for t, _ in timeline.events] == [ev.PROMPT_STARTED, ev.DTMF, ev.PROMPT_FINISHED]


async def test_a_key_during_an_uninterruptible_prompt_waits_in_the_buffer() -> None:
    s, ari, _ = session()
    task = await playing(s, ari, interrupt_digits=None)
    s.on_dtmf("5")
    s.on_playback_finished(ari.playbacks[0])
    assert await task is None
    got = await s.collect(max_digits=1, first_timeout=0.5, inter_timeout=0.5, terminator=None)
    assert (got.digits, got.ended_by) == ("5", "max_digits")
