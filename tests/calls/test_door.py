"""The door against AMI events as Asterisk 16 sends them (sequences recorded from a real instance):
calls that end before the Stasis app are written, those that entered it are left to the app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from callcore.calls import events as ev
from callcore.calls import queries
from callcore.calls.door import Door, channel_variables, event_time, verdict
from callcore.calls.journal import CallJournal
from callcore.core.bus import EventBus, Subscription
from callcore.store.db import Database
from tests.polling import until

T0 = 1796104832.487645
GRACE = 0.05


def unix(offset: float) -> str:
    """How the dialplan writes a moment (STRFTIME %s.%3q): Unix seconds, milliseconds."""
    return f"{at(offset).timestamp():.3f}"


def at(offset: float = 0.0) -> datetime:
    """The UTC time, to the millisecond, of an event ``offset`` seconds after T0."""
    moment = datetime.fromtimestamp(T0 + offset, tz=timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def ami(name: str, uid: str = "1796104832.0", t: float = 0.0, *, refused: str = "", fallback: str = "",
        **headers: str) -> dict[str, str]:
    """One AMI event of a hotline channel, with the headers Asterisk 16 puts on it."""
    event = {
        "Event": name, "Privilege": "call,all", "Timestamp": f"{T0 + t:.6f}", "Channel": "PJSIP/citizen-trunk-00000000",
        "ChannelState": "4", "ChannelStateDesc": "Ring", "CallerIDNum": "13800138000", "CallerIDName": "张三",
        "ConnectedLineNum": "<unknown>", "ConnectedLineName": "<unknown>", "Language": "en", "AccountCode": "",
        "Context": "from-trunk", "Exten": "96881", "Priority": "1", "Uniqueid": uid, "Linkedid": uid,
        "ChanVariable": f"CALLCORE_REFUSED={refused}\nCALLCORE_FALLBACK={fallback}",
    }
    event.update(headers)
    return event


def up(uid: str = "1796104832.0", t: float = 0.001) -> dict[str, str]:
    return ami("Newstate", uid, t, ChannelState="6", ChannelStateDesc="Up")


def hangup(uid: str = "1796104832.0", t: float = 1.5, cause: int = 16, text: str = "Normal Clearing",
           **kw: str) -> dict[str, str]:
    return ami("Hangup", uid, t, Cause=str(cause), **{"Cause-txt": text}, **kw)


@dataclass
class Rig:
    door: Door
    journal: CallJournal
    out: Subscription

    def feed(self, *events: dict[str, str]) -> None:
        """Delivers AMI events the way the daemon does: by name, to the door's handlers."""
        handlers = self.door.handlers()
        for event in events:
            handler = handlers.get(event["Event"])
            if handler is not None:
                handler(event)

    def entered_stasis(self, channel_id: str) -> None:
        """What the Stasis app writes at StasisStart: the call's ``arrived`` with its channel id."""
        self.journal.emit(self.journal.new_call_id(), ev.ARRIVED, {"channel_id": channel_id, "direction": "inbound"})

    def written(self) -> list[list[dict[str, Any]]]:
        """The calls the door wrote, each as its events in order (the feed's items)."""
        calls: dict[str, list[dict[str, Any]]] = {}
        while not self.out.queue.empty():
            item = self.out.queue.get_nowait()
            if item.get("kind") == "call_event" and item["type"] == ev.ARRIVED and item["data"].get("via") != "door":
                continue
            calls.setdefault(item["call_id"], []).append(item)
        return list(calls.values())

    async def settle(self) -> None:
        """Past every grace: what the door decides, it has decided."""
        await asyncio.sleep(GRACE * 4)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    bus = EventBus()
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/unused.db")
    journal = CallJournal(db, tmp_path / "spool.jsonl", bus)
    door = Door(journal=journal, hotline="96881", grace=GRACE, max_age=60)
    task = asyncio.create_task(door.run(bus))
    async with bus.subscribe() as out:
        await until(lambda: bus.subscribers == 2, "the door reading the feed")
        yield Rig(door, journal, out)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await db.close()


def types(call: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in call]


def of(call: list[dict[str, Any]], type_: str) -> dict[str, Any]:
    [event] = [e for e in call if e["type"] == type_]
    return event


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_caller_hanging_up_during_the_routing_step_is_written_as_a_call(rig: Rig) -> None:
    # Answered by the dialplan, then the caller's BYE while the routing AGI runs (no Stasis).
    rig.feed(ami("Newchannel"), up(), ami("HangupRequest", t=1.5, Cause="16"), ami("SoftHangupRequest", t=1.5, Cause="16"),
             hangup(t=1.5))
    await rig.settle()
    [call] = rig.written()
    assert types(call) == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]
    arrived = of(call, ev.ARRIVED)
    assert arrived["data"] == {"channel_id": "1796104832.0", "caller_number": "13800138000", "caller_name": "张三",
                               "dialed": "96881", "direction": "inbound", "via": "door"}
    # Asterisk's times, not the moment the door wrote them.
    assert [e["at"] for e in call] == [iso(at()), iso(at(0.001)), iso(at(1.5))]
    assert of(call, ev.ANSWERED)["data"] == {"by": "dialplan"}
    assert of(call, ev.ENDED)["data"] == {"by": "caller", "cause": 16, "cause_text": "Normal Clearing"}
    assert rig.door.tracked == 0


async def test_a_call_that_entered_the_stasis_app_is_left_to_it(rig: Rig) -> None:
    rig.feed(ami("Newchannel"), up())
    rig.entered_stasis("1796104832.0")
    await rig.settle()
    rig.feed(ami("HangupRequest", t=9, Cause="16"), hangup(t=9))
    await rig.settle()
    assert rig.written() == []
    assert rig.door.tracked == 0


async def test_stasis_start_arriving_after_the_ami_hangup_within_the_grace_wins(rig: Rig) -> None:
    # ARI and AMI are two sockets: the hang-up may be read first.
    rig.feed(ami("Newchannel"), up(), ami("HangupRequest", t=0.2, Cause="16"), hangup(t=0.2))
    rig.entered_stasis("1796104832.0")
    await rig.settle()
    assert rig.written() == []


async def test_stasis_start_read_before_the_ami_newchannel_is_remembered(rig: Rig) -> None:
    rig.entered_stasis("1796104832.0")
    await asyncio.sleep(0.01)  # the door reads its feed
    rig.feed(ami("Newchannel"), up(), ami("HangupRequest", t=3, Cause="16"), hangup(t=3))
    await rig.settle()
    assert rig.written() == []
    assert rig.door.tracked == 0


async def test_refused_at_the_channel_limit(rig: Rig) -> None:
    # Never answered: the busy message plays as early media, then Hangup(34).
    rig.feed(ami("Newchannel"),
             ami("SoftHangupRequest", t=5.6, Cause="16", refused=f"channel_limit@{unix(0.001)}"),
             hangup(t=5.6, cause=34, text="Circuit/channel congestion", refused=f"channel_limit@{unix(0.001)}"))
    await rig.settle()
    [call] = rig.written()
    assert types(call) == [ev.ARRIVED, ev.REFUSED, ev.ENDED]
    assert of(call, ev.REFUSED)["data"] == {"reason": "channel_limit"}
    assert of(call, ev.REFUSED)["at"] == iso(at(0.001))
    assert of(call, ev.ENDED)["data"] == {"by": "system", "cause": 34, "cause_text": "Circuit/channel congestion"}


async def test_a_caller_leaving_during_the_busy_message_is_still_refused(rig: Rig) -> None:
    verdict_ = f"channel_limit@{unix(0.001)}"
    rig.feed(ami("Newchannel"), ami("HangupRequest", t=2, Cause="16", refused=verdict_),
             hangup(t=2, refused=verdict_))
    await rig.settle()
    [call] = rig.written()
    assert types(call) == [ev.ARRIVED, ev.REFUSED, ev.ENDED]
    assert of(call, ev.ENDED)["data"]["by"] == "caller"


async def test_refused_by_asterisk_itself_is_written_as_overload(rig: Rig) -> None:
    # maxcalls/maxload: chan_pjsip made the channel, the dialplan never started, cause 42, nothing between.
    rig.feed(ami("Newchannel", t=0), hangup(t=0.0004, cause=42, text="Switching equipment congestion"))
    await rig.settle()
    [call] = rig.written()
    assert types(call) == [ev.ARRIVED, ev.REFUSED, ev.ENDED]
    assert of(call, ev.REFUSED)["data"] == {"reason": "overload"}
    assert of(call, ev.ENDED)["data"] == {"by": "system", "cause": 42, "cause_text": "Switching equipment congestion"}


async def test_cause_42_after_the_dialplan_ran_is_not_taken_for_asterisks_refusal(rig: Rig) -> None:
    rig.feed(ami("Newchannel"), up(), ami("SoftHangupRequest", t=1, Cause="42"),
             hangup(t=1, cause=42, text="Switching equipment congestion"))
    await rig.settle()
    [call] = rig.written()
    assert types(call) == [ev.ARRIVED, ev.ANSWERED, ev.ENDED]


async def test_a_call_the_fallback_took_is_written_as_handed_off(rig: Rig) -> None:
    # The daemon's ARI was away: Stasis() failed and the dialplan apologised and took a message.
    taken = f"fallback@{unix(0.51)}"
    rig.feed(ami("Newchannel"), up(), ami("HangupRequest", t=20, Cause="16", fallback=taken),
             hangup(t=20, fallback=taken))
    await rig.settle()
    [call] = rig.written()
    assert types(call) == [ev.ARRIVED, ev.ANSWERED, ev.HANDED_OFF, ev.ENDED]
    handed = of(call, ev.HANDED_OFF)
    assert handed["at"] == iso(at(0.51))
    assert handed["data"]["label"] == "fallback" and handed["data"]["context"] == "from-trunk"


async def test_refused_by_policy_while_the_stasis_app_was_away(rig: Rig) -> None:
    refused = f"policy@{unix(0.6)}"
    rig.feed(ami("Newchannel"), up(), ami("SoftHangupRequest", t=7, Cause="16", refused=refused),
             hangup(t=7, cause=21, text="Call Rejected", refused=refused))
    await rig.settle()
    [call] = rig.written()
    assert types(call) == [ev.ARRIVED, ev.ANSWERED, ev.REFUSED, ev.ENDED]
    assert of(call, ev.REFUSED)["data"] == {"reason": "policy"}


async def test_channels_of_other_contexts_and_numbers_are_not_followed(rig: Rig) -> None:
    rig.feed(ami("Newchannel", "a1", Context="from-agents", Exten="1001"), hangup("a1"),
             ami("Newchannel", "w1", Exten="12345"), hangup("w1"),
             hangup("never-seen"))
    await rig.settle()
    assert rig.written() == []
    assert rig.door.tracked == 0


async def test_unknown_caller_id_is_stored_empty(rig: Rig) -> None:
    rig.feed(ami("Newchannel", CallerIDNum="<unknown>", CallerIDName="<unknown>"), hangup(cause=42))
    await rig.settle()
    [call] = rig.written()
    assert of(call, ev.ARRIVED)["data"]["caller_number"] == ""
    assert of(call, ev.ARRIVED)["data"]["caller_name"] == ""


async def test_a_second_hangup_of_the_same_channel_changes_nothing(rig: Rig) -> None:
    rig.feed(ami("Newchannel"), up(), ami("HangupRequest", t=1, Cause="16"), hangup(t=1), hangup(t=1.1))
    await rig.settle()
    [call] = rig.written()
    assert types(call).count(ev.ENDED) == 1


async def test_flush_decides_the_hangups_still_in_their_grace(tmp_path: Path) -> None:
    bus = EventBus()
    journal = CallJournal(Database(f"sqlite+aiosqlite:///{tmp_path}/unused.db"), tmp_path / "spool.jsonl", bus)
    door = Door(journal=journal, hotline="96881", grace=3600)
    async with bus.subscribe() as out:
        handlers = door.handlers()
        handlers["Newchannel"](ami("Newchannel"))
        handlers["HangupRequest"](ami("HangupRequest", t=1))
        handlers["Hangup"](hangup(t=1))
        assert out.queue.empty()
        door.flush()
        assert [out.queue.get_nowait()["type"] for _ in range(out.queue.qsize())] == [ev.ARRIVED, ev.ENDED]
    assert door.tracked == 0


async def test_a_channel_whose_hangup_never_came_is_forgotten(tmp_path: Path) -> None:
    journal = CallJournal(Database(f"sqlite+aiosqlite:///{tmp_path}/unused.db"), tmp_path / "spool.jsonl")
    door = Door(journal=journal, hotline="96881", max_age=0.01)
    door.on_Newchannel(ami("Newchannel", "lost"))
    await asyncio.sleep(0.02)
    door.on_Newchannel(ami("Newchannel", "next"))
    assert door.tracked == 1


def test_event_time_is_utc_to_the_millisecond_and_now_without_a_timestamp() -> None:
    assert event_time({"Timestamp": "1796104832.487645"}) == datetime(2026, 12, 1, 6, 0, 32, 487000, tzinfo=timezone.utc)
    before = datetime.now(timezone.utc)
    assert event_time({}) >= before.replace(microsecond=before.microsecond // 1000 * 1000)
    assert event_time({"Timestamp": "garbage"}).tzinfo is timezone.utc
    assert event_time({"Timestamp": "1796104832"}) == datetime(2026, 12, 1, 6, 0, 32, tzinfo=timezone.utc)


def test_channel_variables_and_verdicts() -> None:
    event = {"ChanVariable": "CALLCORE_REFUSED=channel_limit@1796104832.488\nCALLCORE_FALLBACK="}
    assert channel_variables(event) == {"CALLCORE_REFUSED": "channel_limit@1796104832.488"}
    assert channel_variables({}) == {}
    default = at(9)
    assert verdict("channel_limit@1796104832.488", default) == (at(0.0004), "channel_limit")
    assert verdict("fallback@1796104832.997", default) == (at(0.51), "fallback")
    assert verdict("policy", default) == (default, "policy")
    assert verdict(None, default) is None


async def test_the_calls_the_door_writes_are_classified_like_any_other(db: Database, tmp_path: Path) -> None:
    """Through the journal into the store: lost in the IVR, refused at the door, refused by Asterisk."""
    journal = CallJournal(db, tmp_path / "spool.jsonl")
    door = Door(journal=journal, hotline="96881", grace=0)
    handlers = door.handlers()
    for event in (ami("Newchannel", "lost"), up("lost"), ami("HangupRequest", "lost", 1.5), hangup("lost", 1.5),
                  ami("Newchannel", "busy", 2), hangup("busy", 7.6, 34, "Circuit/channel congestion",
                                                       refused=f"channel_limit@{unix(2.001)}"),
                  ami("Newchannel", "over", 3), hangup("over", 3, 42, "Switching equipment congestion")):
        handlers[event["Event"]](event)
    door.flush()
    writer = asyncio.create_task(journal.run())
    try:
        await asyncio.wait_for(journal.wait_idle(), 10)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
    stored = {}
    for channel_id in ("lost", "busy", "over"):
        call = await queries.find_by_channel(db, channel_id)
        assert call is not None, channel_id
        stored[channel_id] = (call.status, call.hangup_by, call.hangup_cause, call.outcome, call.loss_stage)
    assert stored == {
        "lost": ("ended", "caller", 16, "lost_in_ivr", "ivr"),
        "busy": ("ended", "system", 34, "refused", "refused"),
        "over": ("ended", "system", 42, "refused", "refused"),
    }
