"""The Stasis app against a fake ARI: dispatch by the first Stasis argument, the call's end, hangups
and hand-offs to the dialplan's fallback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from callcore.ari.client import AriClient
from callcore.ari.errors import AriError
from callcore.calls import events as ev
from callcore.calls import stasis as stasis_module
from callcore.calls.session import CallSession, CollectResult
from callcore.calls.stasis import StasisApp
from tests.polling import until
from tests.ari.fake_ari import FakeAri

FALLBACK = ("from-trunk", "96881", "fallback")
FALLBACK_PARAMS = {"context": "from-trunk", "extension": "96881", "label": "fallback"}


class Timeline:
    """The journal as the app uses it: call ids, and events kept in memory."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self._n = 0

    def new_call_id(self, channel_id: str | None = None) -> str:
        self._n += 1
        return f"call-{self._n}"

    def emit(self, call_id: str, type_: str, data: dict[str, Any] | None = None) -> None:
        self.events.append((call_id, type_, dict(data or {})))

    def of(self, call_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(t, d) for c, t, d in self.events if c == call_id]

    def types(self, call_id: str) -> list[str]:
        return [t for t, _ in self.of(call_id)]

    def only(self, call_id: str, type_: str) -> dict[str, Any]:
        [data] = [d for t, d in self.of(call_id) if t == type_]
        return data


class Gate:
    """A flow that records its sessions and waits until released (or cancelled at shutdown)."""

    def __init__(self) -> None:
        self.sessions: list[CallSession] = []
        self.release = asyncio.Event()
        self.cancelled = 0

    async def __call__(self, session: CallSession) -> None:
        self.sessions.append(session)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise



def client_for(fake: FakeAri, **kw: Any) -> AriClient:
    return AriClient(f"http://127.0.0.1:{fake.port}/ari", "callcore", "s3cret-pass", "callcore", **kw)


def start(fake: FakeAri, channel_id: str, args: list[str] | None, *, state: str = "Up", number: str = "13800138000",
          name: str = "张三") -> dict[str, Any]:
    """The StasisStart of a channel, now live in the fake ARI; ``args`` None: entered with no argument."""
    channel = fake.add_channel(channel_id, state=state, number=number, name=name,
                               app_data=",".join(["callcore", *(args or [])]))
    event: dict[str, Any] = {"type": "StasisStart", "application": "callcore", "channel": channel,
                             "timestamp": "2026-11-24T02:00:00.000+0000"}
    if args is not None:
        event["args"] = args
    return event


def channel_event(type_: str, channel_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "application": "callcore", "channel": {"id": channel_id}, **fields}


@pytest.fixture
async def fake() -> AsyncIterator[FakeAri]:
    server = FakeAri()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def ari(fake: FakeAri) -> AsyncIterator[AriClient]:
    client = client_for(fake)
    yield client
    await client.close()


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


@pytest.fixture
async def app(ari: AriClient, timeline: Timeline) -> AsyncIterator[StasisApp]:
    stasis = StasisApp(ari=ari, journal=timeline, fallback=FALLBACK)  # type: ignore[arg-type]
    yield stasis
    await stasis.shutdown(hand_off=False)


# -- dispatch by kind ----------------------------------------------------------------------


async def test_an_inbound_channel_opens_a_session_and_runs_the_inbound_flow(
    app: StasisApp, fake: FakeAri, timeline: Timeline
) -> None:
    inbound, callback = Gate(), Gate()
    app.handle("inbound", inbound)
    app.handle("callback", callback)
    app.on_event(start(fake, "c1", ["inbound", "route=normal"]))
    await until(lambda: bool(inbound.sessions), "the inbound flow")
    [s] = inbound.sessions
    assert app.sessions == {"c1": s} and callback.sessions == []
    assert (s.call_id, s.channel_id, s.caller_number, s.caller_name, s.dialed) == ("call-1", "c1", "13800138000", "张三", "96881")
    assert s.answered and s.attributes == {"args": ["inbound", "route=normal"]}
    assert timeline.of("call-1") == [
        (ev.ARRIVED, {"channel_id": "c1", "caller_number": "13800138000", "caller_name": "张三", "dialed": "96881",
                      "direction": "inbound", "args": ["inbound", "route=normal"]}),
        (ev.ANSWERED, {"by": "dialplan"}),
    ]
    # The dialplan answered: the app asks Asterisk nothing.
    assert fake.sent("POST") == []


async def test_a_ringing_channel_is_answered_by_the_flow(app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    async def answering(session: CallSession) -> None:
        assert not session.answered
        await session.answer()
        await asyncio.Event().wait()

    app.handle("inbound", answering)
    app.on_event(start(fake, "c1", ["inbound"], state="Ring"))
    await until(lambda: ev.ANSWERED in timeline.types("call-1"), "the flow's answer")
    assert timeline.types("call-1") == [ev.ARRIVED, ev.ANSWERED]
    assert timeline.only("call-1", ev.ANSWERED) == {}  # answered by the app, not the dialplan
    assert [r.path for r in fake.sent("POST")] == ["channels/c1/answer"]


async def test_each_kind_runs_its_own_flow_and_no_argument_is_inbound(
    app: StasisApp, fake: FakeAri, timeline: Timeline
) -> None:
    inbound, callback = Gate(), Gate()
    app.handle("inbound", inbound)
    app.handle("callback", callback)
    app.on_event(start(fake, "c1", ["callback", "ticket=42"], number="13900000001"))
    app.on_event(start(fake, "c2", None, number="13900000002"))
    await until(lambda: bool(callback.sessions and inbound.sessions), "both flows")
    assert [s.channel_id for s in callback.sessions] == ["c1"]
    assert [s.channel_id for s in inbound.sessions] == ["c2"]
    first, second = timeline.only("call-1", ev.ARRIVED), timeline.only("call-2", ev.ARRIVED)
    assert (first["direction"], first["args"], first["caller_number"]) == ("callback", ["callback", "ticket=42"], "13900000001")
    assert (second["direction"], second["args"], second["caller_number"]) == ("inbound", [], "13900000002")
    assert callback.sessions[0].attributes == {"args": ["callback", "ticket=42"]}
    assert inbound.sessions[0].attributes == {}


async def test_flows_given_to_the_constructor_dispatch_too(ari: AriClient, fake: FakeAri, timeline: Timeline) -> None:
    agent = Gate()
    stasis = StasisApp(ari=ari, journal=timeline, fallback=FALLBACK, flows={"agent": agent})  # type: ignore[arg-type]
    try:
        stasis.on_event(start(fake, "c1", ["agent"]))
        await until(lambda: bool(agent.sessions), "the agent flow")
    finally:
        await stasis.shutdown(hand_off=False)


async def test_a_kind_without_a_flow_goes_to_the_dialplan_fallback(app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    inbound = Gate()
    app.handle("inbound", inbound)
    app.on_event(start(fake, "c1", ["agent", "x=1"]))
    await until(lambda: ev.ENDED in timeline.types("call-1"), "the call's end")
    [request] = fake.sent("POST")
    assert (request.path, request.params) == ("channels/c1/continue", FALLBACK_PARAMS)
    assert timeline.types("call-1") == [ev.ARRIVED, ev.ANSWERED, ev.HANDED_OFF, ev.ENDED]
    assert timeline.only("call-1", ev.ARRIVED)["direction"] == "agent"
    assert timeline.only("call-1", ev.HANDED_OFF) == FALLBACK_PARAMS
    assert timeline.only("call-1", ev.ENDED) == {"by": "system", "cause": None, "cause_text": "handed to the dialplan"}
    assert app.sessions == {} and inbound.sessions == []
    assert fake.sent("DELETE") == []  # handed back, never hung up
    assert fake.live["c1"]["dialplan"]["app_name"] == ""  # the channel left the app


async def test_a_leg_answered_after_its_call_let_go_goes_to_its_resumer_not_to_a_call_of_its_own(
        app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    """Under load an agent's phone answered a ring the daemon had already given up: its StasisStart is
    no call (it was sent to the dialplan's fallback, where the agent heard the citizens' apology)."""
    resumed: list[str] = []

    async def resume(channel: Any) -> None:
        resumed.append(channel.id)

    app.handle_leg("agent", resume)
    app.on_event(start(fake, "leg-1", ["agent", "call-9"]))
    await until(lambda: resumed == ["leg-1"], "the leg's resumer")
    assert app.sessions == {} and timeline.types("call-1") == [] and fake.sent("POST") == []


async def test_a_kind_has_one_flow(ari: AriClient, timeline: Timeline) -> None:
    first, second = Gate(), Gate()
    stasis = StasisApp(ari=ari, journal=timeline, fallback=FALLBACK, flows={"callback": first})  # type: ignore[arg-type]
    stasis.handle("inbound", first)
    with pytest.raises(ValueError, match="inbound"):
        stasis.handle("inbound", second)
    with pytest.raises(ValueError, match="callback"):
        stasis.handle("callback", second)
    assert stasis.flows == {"inbound": first, "callback": first}


async def test_a_duplicate_stasis_start_is_ignored(app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    inbound = Gate()
    app.handle("inbound", inbound)
    event = start(fake, "c1", ["inbound"])
    app.on_event(event)
    app.on_event(event)
    assert len(app.tasks) == 1  # one flow spawned, synchronously
    await until(lambda: bool(inbound.sessions), "the inbound flow")
    assert len(inbound.sessions) == 1 and list(app.sessions) == ["c1"]
    assert [c for c, t, _ in timeline.events if t == ev.ARRIVED] == ["call-1"]


async def test_unknown_events_and_events_of_unknown_channels_are_ignored(app: StasisApp, timeline: Timeline) -> None:
    app.on_event({"type": "ChannelVarset", "channel": {"id": "c1"}})
    app.on_event({"type": "NoSuchEvent"})
    app.on_event({})
    for type_ in ("ChannelDtmfReceived", "ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"):
        app.on_event(channel_event(type_, "nobody", digit="1", cause=16))
    app.on_event({"type": "PlaybackFinished", "playback": {"id": "p", "target_uri": "bridge:b1"}})
    assert timeline.events == [] and app.sessions == {}


# -- events reaching the session -----------------------------------------------------------


async def test_dtmf_reaches_the_session(app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    got: list[CollectResult] = []

    async def collecting(session: CallSession) -> None:
        got.append(await session.collect(max_digits=4, first_timeout=10, inter_timeout=10))

    app.handle("inbound", collecting)
    app.on_event(start(fake, "c1", ["inbound"]))
    for digit in "42#":
        app.on_event(channel_event("ChannelDtmfReceived", "c1", digit=digit, duration_ms=120,
                                   timestamp=f"2026-11-24T02:00:0{digit if digit.isdigit() else 9}.000+0000"))
    await until(lambda: bool(got), "the collected digits")
    assert (got[0].digits, got[0].ended_by) == ("42", "terminator")
    assert [d for t, d in timeline.of("call-1") if t == ev.DTMF] == [
        {"digit": "4", "heard_at": "2026-11-24T02:00:04.000+0000"},
        {"digit": "2", "heard_at": "2026-11-24T02:00:02.000+0000"},
        {"digit": "#", "heard_at": "2026-11-24T02:00:09.000+0000"},
    ]


async def test_playback_events_reach_the_session(app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    played: list[str | None] = []

    async def playing(session: CallSession) -> None:
        played.append(await session.play(["sound:welcome"], name="welcome"))
        await asyncio.Event().wait()

    app.handle("inbound", playing)
    app.on_event(start(fake, "c1", ["inbound"]))
    await until(lambda: bool(fake.sent("POST", "channels/c1/silence")), "the prompt and its silence")
    [play] = [r for r in fake.sent("POST") if r.path.startswith("channels/c1/play/")]
    playback_id = play.path.rsplit("/", 1)[1]
    assert play.params == {"media": "sound:welcome"}
    playback = {"id": playback_id, "target_uri": "channel:c1", "media_uri": "sound:welcome"}
    app.on_event({"type": "PlaybackStarted", "playback": playback, "timestamp": "2026-11-24T02:00:00.120+0000"})
    app.on_event({"type": "PlaybackFinished", "playback": playback, "timestamp": "2026-11-24T02:00:03.000+0000"})
    await until(lambda: bool(played), "the end of the prompt")
    assert played == [None]
    assert timeline.only("call-1", ev.PROMPT_FINISHED) == {
        "prompt": "welcome", "playback_id": playback_id, "started_at": "2026-11-24T02:00:00.120+0000"}


# -- the call's end ------------------------------------------------------------------------


def captured_close_timers(monkeypatch: pytest.MonkeyPatch, app: StasisApp) -> list[Callable[[], None]]:
    """The app's own timers (StasisEnd's delayed close), kept for the test to fire instead of waiting a second."""
    loop = asyncio.get_running_loop()
    real = loop.call_later
    timers: list[Callable[[], None]] = []

    def call_later(delay: float, callback: Callable[..., Any], *args: Any, context: Any = None) -> asyncio.TimerHandle:
        if getattr(callback, "__self__", None) is app:
            timers.append(lambda: callback(*args))
            handle = real(3600.0, lambda: None)
            handle.cancel()
            return handle
        return real(delay, callback, *args, context=context)

    monkeypatch.setattr(loop, "call_later", call_later)
    return timers


async def test_channel_destroyed_after_stasis_end_closes_the_call_once_with_its_cause(
    app: StasisApp, fake: FakeAri, timeline: Timeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    timers = captured_close_timers(monkeypatch, app)
    ended_flow: list[str] = []

    async def waiting(session: CallSession) -> None:
        try:
            await session.collect(max_digits=1, first_timeout=30, inter_timeout=30)
        except BaseException as exc:
            ended_flow.append(type(exc).__name__)
            raise

    app.handle("inbound", waiting)
    app.on_event(start(fake, "c1", ["inbound"]))
    await until(lambda: len(app.tasks) == 1 and "c1" in app.sessions, "the flow")
    session = app.sessions["c1"]
    app.on_event(channel_event("ChannelHangupRequest", "c1", cause=17, soft=False))
    app.on_event(channel_event("StasisEnd", "c1"))
    assert session.gone and ev.ENDED not in timeline.types("call-1") and len(timers) == 1
    app.on_event(channel_event("ChannelDestroyed", "c1", cause=16, cause_txt="Normal Clearing"))
    assert timeline.only("call-1", ev.ENDED) == {"by": "caller", "cause": 16, "cause_text": "Normal Clearing"}
    assert app.sessions == {}
    timers[0]()  # StasisEnd's delayed close, a second later
    app.on_event(channel_event("ChannelDestroyed", "c1", cause=16, cause_txt="Normal Clearing"))
    assert timeline.types("call-1").count(ev.ENDED) == 1
    await until(lambda: len(app.tasks) == 0, "the flow's end")
    assert ended_flow == ["CallerHungUp"]
    assert fake.sent("DELETE") == []  # the caller left: nothing to hang up


async def test_stasis_end_without_channel_destroyed_closes_the_call_later(
    app: StasisApp, fake: FakeAri, timeline: Timeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    timers = captured_close_timers(monkeypatch, app)
    app.handle("inbound", Gate())
    app.on_event(start(fake, "c1", ["inbound"]))
    app.on_event(channel_event("ChannelHangupRequest", "c1", cause=17))
    app.on_event(channel_event("StasisEnd", "c1"))
    assert ev.ENDED not in timeline.types("call-1")
    [close] = timers
    close()
    assert timeline.only("call-1", ev.ENDED) == {"by": "caller", "cause": 17, "cause_text": None}
    assert app.sessions == {}


async def test_channel_destroyed_alone_closes_the_call(app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    app.handle("inbound", Gate())
    app.on_event(start(fake, "c1", ["inbound"]))
    app.on_event(channel_event("ChannelDestroyed", "c1", cause=19, cause_txt="No user responding"))
    app.on_event(channel_event("StasisEnd", "c1"))  # late: the session is gone already
    assert timeline.types("call-1") == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]
    assert timeline.only("call-1", ev.ENDED) == {"by": "caller", "cause": 19, "cause_text": "No user responding"}


class Boom(Exception):
    pass


async def _returns(session: CallSession) -> None:
    return None


async def _ari_error(session: CallSession) -> None:
    raise AriError(500, "Internal Server Error", method="POST", path="channels/x/play")


async def _crashes(session: CallSession) -> None:
    raise Boom("a bug in the flow")


@pytest.mark.parametrize("flow", [_returns, _ari_error, _crashes], ids=["returns", "ari-error", "crashes"])
async def test_a_call_whose_flow_ended_is_hung_up(
    app: StasisApp, fake: FakeAri, timeline: Timeline, flow: Callable[[CallSession], Awaitable[None]]
) -> None:
    app.handle("inbound", flow)
    app.on_event(start(fake, "c1", ["inbound"]))
    await until(lambda: len(app.tasks) == 0 and bool(fake.sent("DELETE")), "the hangup")
    [hangup] = fake.sent("DELETE")
    assert (hangup.path, hangup.params) == ("channels/c1", {"reason": "normal"})
    assert "c1" not in fake.live
    assert timeline.types("call-1") == [ev.ARRIVED, ev.ANSWERED, ev.HANGUP_REQUESTED]
    assert timeline.only("call-1", ev.HANGUP_REQUESTED) == {"reason": "normal"}
    # Asterisk then reports the channel destroyed: the call ends, hung up by the system.
    app.on_event(channel_event("ChannelDestroyed", "c1", cause=16, cause_txt="Normal Clearing"))
    assert timeline.only("call-1", ev.ENDED) == {"by": "system", "cause": 16, "cause_text": "Normal Clearing"}


async def test_a_hangup_answered_503_is_retried(
    app: StasisApp, fake: FakeAri, timeline: Timeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stasis_module, "HANGUP_RETRY_DELAYS", (0.001, 0.001, 0.001))
    fake.refuse("DELETE", "channels/c1", 503, times=2)
    app.handle("inbound", _returns)
    app.on_event(start(fake, "c1", ["inbound"]))
    await until(lambda: len(app.tasks) == 0, "the flow's end")
    assert [r.path for r in fake.sent("DELETE")] == ["channels/c1"] * 3, "two refusals, then the hangup Asterisk accepts"
    assert "c1" not in fake.live
    assert timeline.types("call-1").count(ev.HANGUP_REQUESTED) == 1


async def test_a_hangup_asterisk_does_not_answer_is_retried(fake: FakeAri, timeline: Timeline,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stasis_module, "HANGUP_RETRY_DELAYS", (0.001, 0.001, 0.001))
    fake.stall("DELETE", "channels/c1", times=2)
    ari = client_for(fake, timeout=0.1)
    stasis = StasisApp(ari=ari, journal=timeline, fallback=FALLBACK, flows={"inbound": _returns})  # type: ignore[arg-type]
    try:
        stasis.on_event(start(fake, "c1", ["inbound"]))
        await until(lambda: len(stasis.tasks) == 0, "the flow's end")
        assert [r.path for r in fake.sent("DELETE")] == ["channels/c1"] * 3
        assert "c1" not in fake.live
        assert timeline.types("call-1").count(ev.HANGUP_REQUESTED) == 1
    finally:
        await stasis.shutdown(hand_off=False)
        await ari.close()


async def test_a_hangup_is_given_up_after_the_last_retry(fake: FakeAri, timeline: Timeline,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stasis_module, "HANGUP_RETRY_DELAYS", (0.001, 0.001))
    fake.stall("DELETE", "channels/c1", times=None)
    ari = client_for(fake, timeout=0.1)
    stasis = StasisApp(ari=ari, journal=timeline, fallback=FALLBACK, flows={"inbound": _returns})  # type: ignore[arg-type]
    try:
        stasis.on_event(start(fake, "c1", ["inbound"]))
        await until(lambda: len(stasis.tasks) == 0, "the flow's end")
        # The client gives up on a try after 0.1 s; on a busy machine the fake may log it only then.
        await until(lambda: len(fake.sent("DELETE")) >= 3, "the third try reaching Asterisk")
        assert len(fake.sent("DELETE")) == 3  # the first try and one per delay, no more
        assert "c1" in stasis.sessions and not stasis.sessions["c1"].gone  # parked, for the reconciler
    finally:
        await stasis.shutdown(hand_off=False)
        await ari.close()


# -- shutdown ------------------------------------------------------------------------------


async def test_shutdown_hands_every_call_still_up_to_the_fallback(app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    async def playing(session: CallSession) -> None:
        await session.play(["sound:long-announcement"], name="announcement")

    callback = Gate()
    app.handle("inbound", playing)
    app.handle("callback", callback)
    app.on_event(start(fake, "c1", ["inbound"]))        # call-1: in a prompt
    app.on_event(start(fake, "c2", ["callback"]))       # call-2: waiting in its flow
    app.on_event(start(fake, "c3", ["callback"]))       # call-3: the caller left, not destroyed yet
    app.on_event(start(fake, "c4", ["callback"]))       # call-4: over before the shutdown
    await until(lambda: len(callback.sessions) == 3 and bool(fake.sent("POST", "channels/c1/silence")), "the flows")
    app.on_event(channel_event("StasisEnd", "c3"))
    app.on_event(channel_event("ChannelDestroyed", "c4", cause=16, cause_txt="Normal Clearing"))
    [play] = [r for r in fake.sent("POST") if r.path.startswith("channels/c1/play/")]
    playback_id = play.path.rsplit("/", 1)[1]

    await app.shutdown(hand_off=True)

    assert callback.cancelled == 3
    handed = [(r.path, r.params) for r in fake.sent("POST") if r.path.endswith("/continue")]
    assert sorted(handed) == [("channels/c1/continue", FALLBACK_PARAMS), ("channels/c2/continue", FALLBACK_PARAMS)]
    # The prompt is cut before the hand-off, not left to play on in the dialplan.
    paths = [r.path for r in fake.requests]
    assert paths.index(f"playbacks/{playback_id}") < paths.index("channels/c1/continue")
    assert [r.path for r in fake.sent("DELETE")] == [f"playbacks/{playback_id}"]  # nobody hung up
    for call_id in ("call-1", "call-2"):
        assert timeline.types(call_id)[-2:] == [ev.HANDED_OFF, ev.ENDED]
        assert timeline.only(call_id, ev.HANDED_OFF) == FALLBACK_PARAMS
        assert timeline.only(call_id, ev.ENDED) == {
            "by": "system", "cause": None, "cause_text": "handed to the dialplan at shutdown"}
    assert ev.HANDED_OFF not in timeline.types("call-3") + timeline.types("call-4")
    assert timeline.types("call-4").count(ev.ENDED) == 1
    assert list(app.sessions) == ["c3"]


async def test_shutdown_goes_on_when_asterisk_refuses_a_hand_off(app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    app.handle("inbound", Gate())
    app.on_event(start(fake, "c1", ["inbound"]))
    app.on_event(start(fake, "c2", ["inbound"]))
    fake.refuse("POST", "channels/c1/continue", 409)
    await app.shutdown(hand_off=True)
    assert len(fake.sent("POST", "channels/c1/continue")) == 1
    assert ev.HANDED_OFF not in timeline.types("call-1") and ev.ENDED not in timeline.types("call-1")
    assert timeline.types("call-2")[-2:] == [ev.HANDED_OFF, ev.ENDED]


async def test_shutdown_without_hand_off_leaves_the_calls_parked(app: StasisApp, fake: FakeAri, timeline: Timeline) -> None:
    inbound = Gate()
    app.handle("inbound", inbound)
    app.on_event(start(fake, "c1", ["inbound"]))
    app.on_event(start(fake, "c2", ["inbound"]))
    await until(lambda: len(inbound.sessions) == 2, "the flows")
    await app.shutdown(hand_off=False)
    assert inbound.cancelled == 2 and len(app.tasks) == 0
    assert fake.sent("POST") == [] and fake.sent("DELETE") == []
    assert {t for _, t, _ in timeline.events} == {ev.ARRIVED, ev.ANSWERED}
    assert set(app.sessions) == {"c1", "c2"} and set(fake.live) == {"c1", "c2"}
