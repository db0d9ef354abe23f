"""Recordings played in the console's ``<audio>`` element: an audio ticket names one recording
the user may hear, serves its WAV with HTTP ranges through the recordings' own handler (so every
play is audited as the user's) and opens nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from callcore.accounts.models import AuditEntry
from callcore.accounts.plugin import AccountsPlugin
from callcore.console.plugin import ConsolePlugin
from callcore.console.tickets import AudioTickets, Grant
from callcore.core.identity import Principal
from callcore.recordings.plugin import RecordingsPlugin
from callcore.store.db import Database
from callcore.tickets.plugin import TicketsPlugin
from tests.accounts.staff import Api, staff_api
from tests.recordings.helpers import add_call, add_recording

BASE = "/api/v1/console"


class AudioApi(Api):
    directory: Path


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[AudioApi]:
    async with staff_api(db, tmp_path, [AccountsPlugin, TicketsPlugin, RecordingsPlugin, ConsolePlugin],
                         AudioApi) as staff:
        staff.directory = tmp_path / "spool" / "recording"
        yield staff


async def test_an_audio_ticket_plays_one_recording_with_ranges_audited_as_its_user(api: AudioApi) -> None:
    rec = await add_recording(api.db, api.directory, await add_call(api.db), seconds=2.0)
    other = await add_recording(api.db, api.directory, await add_call(api.db), seconds=1.0)
    wav = Path(rec.path).read_bytes()
    status, body = await api.call("POST", f"{BASE}/audio-tickets", "agent", json={"recording_id": rec.id})
    assert status == 201 and body["url"].startswith(f"{BASE}/recordings/{rec.id}/audio?ticket=")
    r = await api.client.get(body["url"])
    assert r.status == 200 and await r.read() == wav and r.headers["Content-Type"] == "audio/wav"
    # The player's later ranges use the same ticket; only the first request is a play in the audit.
    r = await api.client.get(body["url"], headers={"Range": "bytes=100-199"})
    assert r.status == 206 and await r.read() == wav[100:200]
    async with api.db.session() as s:
        rows = (await s.scalars(select(AuditEntry).where(AuditEntry.object_id == rec.id))).all()
    assert [(a.action, a.user_id) for a in rows] == [("recording_play", "user-agent")]
    # Not another recording, not without a ticket, not with a made-up one.
    r = await api.client.get(body["url"].replace(rec.id, other.id))
    assert r.status == 401
    assert (await api.client.get(f"{BASE}/recordings/{rec.id}/audio")).status == 400
    assert (await api.client.get(f"{BASE}/recordings/{rec.id}/audio?ticket=made-up-ticket-123")).status == 401


async def test_no_ticket_for_a_recording_the_user_may_not_hear_or_a_role_that_hears_none(api: AudioApi) -> None:
    rec = await add_recording(api.db, api.directory, await add_call(api.db))
    # A department's handler hears only calls linked to the department's tickets.
    status, body = await api.call("POST", f"{BASE}/audio-tickets", "handler_a", json={"recording_id": rec.id})
    assert status == 404, body
    status, body = await api.call("POST", f"{BASE}/audio-tickets", "leader", json={"recording_id": rec.id})
    assert status == 403, body
    status, body = await api.call("POST", f"{BASE}/audio-tickets", "agent", json={"recording_id": "nope"})
    assert status == 404
    assert (await api.call("POST", f"{BASE}/audio-tickets", "nobody", json={"recording_id": rec.id}))[0] == 401


def test_audio_tickets_must_be_used_soon_then_live_while_played_never_past_their_lifetime() -> None:
    now = [0.0]
    tickets = AudioTickets(clock=lambda: now[0], ttl=30, idle=60, lifetime=100)
    who = Grant(principal=Principal(user_id="u1", name="x", role="agent"), credential="token-of-u1")
    t = tickets.issue(who, "r1")
    now[0] = 31
    assert tickets.use(t, "r1") is None
    t = tickets.issue(who, "r1")
    assert tickets.use(t, "r2") is None
    assert tickets.use(t, "r1") == who
    now[0] = 31 + 59
    assert tickets.use(t, "r1") == who  # still playing: kept
    now[0] = 31 + 95
    assert tickets.use(t, "r1") == who
    now[0] = 31 + 101  # past its lifetime
    assert tickets.use(t, "r1") is None
