"""The voicemails API (T-10): messages listed for agents, supervisors and admins (handled or not),
marked handled once with who did it (audited), and played through the recordings' audio routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from callcore.accounts.plugin import AccountsPlugin
from callcore.calls.models import Call
from callcore.recordings.models import TOO_SHORT, VOICEMAIL, Recording
from callcore.recordings.plugin import RecordingsPlugin
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.plugin import TicketsPlugin
from tests.accounts.staff import staff_api
from tests.recordings.helpers import add_call, add_recording
from tests.recordings.test_http import BASE, RecordingsApi, audit_actions


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[RecordingsApi]:
    async with staff_api(db, tmp_path, [AccountsPlugin, TicketsPlugin, RecordingsPlugin], RecordingsApi) as staff:
        staff.directory = tmp_path / "spool" / "recording"
        yield staff


async def add_message(api: RecordingsApi, *, minutes_ago: int, quality: str | None = None) -> Recording:
    rec = await add_recording(api.db, api.directory, await add_call(api.db), seconds=4.0,
                              started_at=utcnow() - timedelta(minutes=minutes_ago))
    async with api.db.session() as s:
        row = await s.get(Recording, rec.id)
        assert row is not None
        row.kind, row.mailbox, row.agent, row.queue, row.quality = VOICEMAIL, "general", None, None, quality
    return rec


async def test_messages_are_listed_oldest_first_and_calls_recordings_are_not_messages(api: RecordingsApi) -> None:
    old = await add_message(api, minutes_ago=30)
    new = await add_message(api, minutes_ago=5, quality=TOO_SHORT)
    await add_recording(api.db, api.directory, await add_call(api.db))  # a conversation: not a message
    status, page = await api.call("GET", f"{BASE}/voicemails", "agent")
    assert status == 200 and page["total"] == 2 and [v["id"] for v in page["items"]] == [old.id, new.id]
    first = page["items"][0]
    assert (first["call_id"], first["mailbox"], first["duration"], first["quality"], first["handled_at"]) == (
        old.call_id, "general", 4.0, None, None)
    assert first["audio"] == f"{BASE}/recordings/{old.id}/audio"
    assert page["items"][1]["quality"] == TOO_SHORT
    # Who left it, masked like every number in a list.
    async with api.db.session() as s:
        call = await s.get(Call, old.call_id)
        assert call is not None
        call.caller_number = "13977778888"
    status, page = await api.call("GET", f"{BASE}/voicemails", "agent")
    assert page["items"][0]["caller_number"] == "139****8888" and "13977778888" not in str(page)
    for who in ("supervisor", "admin"):
        assert (await api.call("GET", f"{BASE}/voicemails", who))[0] == 200
    for who in ("leader", "handler_a", "dispatcher"):
        assert (await api.call("GET", f"{BASE}/voicemails", who))[0] == 403


async def test_a_message_is_marked_handled_once_audited_and_the_filter_follows(api: RecordingsApi) -> None:
    first = await add_message(api, minutes_ago=30)
    second = await add_message(api, minutes_ago=5)
    status, body = await api.call("POST", f"{BASE}/voicemails/{first.id}/handled", "agent")
    assert status == 200 and body["handled_by"] == "user-agent" and body["handled_at"]
    again = await api.call("POST", f"{BASE}/voicemails/{first.id}/handled", "supervisor")
    assert again[0] == 200 and again[1]["handled_by"] == "user-agent"  # the first mark stays
    unhandled = (await api.call("GET", f"{BASE}/voicemails?handled=false", "agent"))[1]
    handled = (await api.call("GET", f"{BASE}/voicemails?handled=true", "agent"))[1]
    assert [v["id"] for v in unhandled["items"]] == [second.id]
    assert [v["id"] for v in handled["items"]] == [first.id]
    assert await audit_actions(api.db, first.id) == [("voicemail_handled", "user-agent")]
    conversation = await add_recording(api.db, api.directory, await add_call(api.db))
    assert (await api.call("POST", f"{BASE}/voicemails/{conversation.id}/handled", "agent"))[0] == 404
    assert (await api.call("POST", f"{BASE}/voicemails/nope/handled", "agent"))[0] == 404


async def test_a_message_plays_like_a_recording_audited(api: RecordingsApi) -> None:
    rec = await add_message(api, minutes_ago=5)
    r = await api.client.get(f"{BASE}/recordings/{rec.id}/audio", headers=api.headers["agent"])
    assert r.status == 200 and await r.read() == Path(rec.path).read_bytes()
    assert await audit_actions(api.db, rec.id) == [("recording_play", "user-agent")]


async def test_a_message_the_dialplan_fallback_took_is_listed_played_and_handled_like_the_others(
        api: RecordingsApi, tmp_path: Path) -> None:
    from callcore.config import RecordingSettings
    from callcore.recordings.fallback import FallbackVoicemails
    from callcore.recordings.voicemail import Voicemail
    from tests.recordings.test_fallback import left

    call_id = await add_call(api.db)
    item = left(tmp_path / "mailbox", 0, seconds=3.0, callerid="<13922220031>")
    item = type(item)(message=item.message, call_id=call_id, mailbox=item.mailbox)
    audio_of = (tmp_path / "mailbox" / "INBOX" / "msg0000.wav").read_bytes()
    vm = Voicemail(db=api.db, directory=api.directory, sounds_dir=tmp_path,
                   settings=RecordingSettings())
    await FallbackVoicemails(db=api.db, directory=api.directory, voicemail=vm)([item])
    [found] = (await api.call("GET", f"{BASE}/voicemails?handled=false", "agent"))[1]["items"]
    assert (found["call_id"], found["mailbox"], found["duration"], found["missing"], found["quality"]) == (
        call_id, "96881@callcore", 3.0, False, None)
    r = await api.client.get(f"{BASE}{found['audio'].removeprefix(BASE)}?download=true", headers=api.headers["agent"])
    assert r.status == 200 and r.headers["Content-Disposition"] == f'attachment; filename="recording-{call_id}.wav"'
    assert await r.read() == audio_of
    assert (await api.call("POST", f"{BASE}/voicemails/{found['id']}/handled", "agent"))[0] == 200
    assert await audit_actions(api.db, found["id"]) == [("recording_download", "user-agent"),
                                                         ("voicemail_handled", "user-agent")]
