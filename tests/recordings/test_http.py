"""The recordings API (T-9, A-1, A-2): lists with calls and tickets, audio with ranges and MP3,
deletion under retention, who hears what, and the audit log of every play, download and delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcore.accounts.models import AuditEntry
from callcore.accounts.plugin import AccountsPlugin
from callcore.recordings.plugin import RecordingsPlugin
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.tickets.plugin import TicketsPlugin
from tests.accounts.staff import staff_api
from tests.recordings.helpers import add_call, add_recording
from tests.tickets.api import TicketsApi

BASE = "/api/v1"


class RecordingsApi(TicketsApi):
    directory: Path


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[RecordingsApi]:
    async with staff_api(db, tmp_path, [AccountsPlugin, TicketsPlugin, RecordingsPlugin], RecordingsApi) as staff:
        staff.directory = tmp_path / "spool" / "recording"
        yield staff


async def audit_actions(db: Database, rec_id: str) -> list[tuple[str, str]]:
    async with db.session() as s:
        rows = await s.scalars(select(AuditEntry).where(AuditEntry.object_id == rec_id).order_by(AuditEntry.at))
        return [(r.action, r.user_id) for r in rows]


async def test_recordings_are_listed_with_their_call_and_filtered(api: RecordingsApi) -> None:
    c1, c2 = await add_call(api.db), await add_call(api.db)
    old = await add_recording(api.db, api.directory, c1, started_at=utcnow() - timedelta(days=3))
    new = await add_recording(api.db, api.directory, c2, seconds=3.0)
    status, page = await api.call("GET", f"{BASE}/recordings", "agent")
    assert status == 200 and page["total"] == 2
    assert [r["id"] for r in page["items"]] == [new.id, old.id]
    first = page["items"][0]
    assert (first["call_id"], first["agent"], first["missing"], first["duration"]) == (c2, "4001", False, 3.0)
    status, page = await api.call("GET", f"{BASE}/recordings?call_id={c1}", "supervisor")
    assert [r["id"] for r in page["items"]] == [old.id]
    since = (utcnow() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    status, page = await api.call("GET", f"{BASE}/recordings", "dispatcher", params={"from": since})
    assert status == 200 and [r["id"] for r in page["items"]] == [new.id]
    status, page = await api.call("GET", f"{BASE}/recordings", "dispatcher", params={"to": since})
    assert [r["id"] for r in page["items"]] == [old.id]
    status, body = await api.call("GET", f"{BASE}/calls/{c2}/recordings", "agent")
    assert status == 200 and [r["id"] for r in body["items"]] == [new.id]
    status, body = await api.call("GET", f"{BASE}/recordings/{new.id}", "agent")
    assert status == 200 and body["sha256"] == new.sha256
    assert (await api.call("GET", f"{BASE}/recordings/nope", "agent"))[0] == 404


async def test_a_recording_whose_file_is_missing_is_listed_as_missing_never_dropped(api: RecordingsApi) -> None:
    call = await add_call(api.db)
    rec = await add_recording(api.db, api.directory, call)
    Path(rec.path).unlink()
    status, page = await api.call("GET", f"{BASE}/recordings", "agent")
    assert status == 200 and [(r["id"], r["missing"]) for r in page["items"]] == [(rec.id, True)]
    status, body = await api.call("GET", f"{BASE}/recordings/{rec.id}/audio", "agent")
    assert (status, body["error_id"]) == (404, "recording_missing")


async def test_wav_plays_with_ranges_and_mp3_is_converted_once_every_access_audited(api: RecordingsApi) -> None:
    rec = await add_recording(api.db, api.directory, await add_call(api.db), seconds=2.0)
    wav = Path(rec.path).read_bytes()
    r = await api.client.get(f"{BASE}/recordings/{rec.id}/audio", headers=api.headers["agent"])
    assert r.status == 200 and r.headers["Content-Type"] == "audio/wav" and await r.read() == wav
    assert r.headers.get("Accept-Ranges") == "bytes"
    # The browser seeks: a later range of the same play.
    r = await api.client.get(f"{BASE}/recordings/{rec.id}/audio",
                             headers={**api.headers["agent"], "Range": "bytes=1000-1999"})
    assert r.status == 206 and r.headers["Content-Range"] == f"bytes 1000-1999/{len(wav)}"
    assert await r.read() == wav[1000:2000]
    r = await api.client.get(f"{BASE}/recordings/{rec.id}/audio?download=true", headers=api.headers["supervisor"])
    assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
    r = await api.client.get(f"{BASE}/recordings/{rec.id}/audio.mp3?download=true", headers=api.headers["dispatcher"])
    mp3 = await r.read()
    assert r.status == 200 and r.headers["Content-Type"] == "audio/mpeg" and len(mp3) > 1000
    cached = Path(rec.path).with_suffix(".mp3")
    assert cached.read_bytes() == mp3
    stamp = cached.stat().st_mtime_ns
    r = await api.client.get(f"{BASE}/recordings/{rec.id}/audio.mp3", headers=api.headers["agent"])
    assert r.status == 200 and await r.read() == mp3 and cached.stat().st_mtime_ns == stamp
    assert await audit_actions(api.db, rec.id) == [
        ("recording_play", "user-agent"), ("recording_download", "user-supervisor"),
        ("recording_download", "user-dispatcher"), ("recording_play", "user-agent")]


async def test_a_handler_hears_only_recordings_of_calls_linked_to_own_tickets(api: RecordingsApi) -> None:
    mine, theirs, none = [await add_call(api.db) for _ in range(3)]
    recs = {c: await add_recording(api.db, api.directory, c) for c in (mine, theirs, none)}
    for call, dep in ((mine, "dep-a"), (theirs, "dep-b")):
        ticket = await api.new_ticket(call_id=call)
        assert (await api.act(ticket["id"], "dispatcher", "dispatch", mode="transfer", department_id=dep))[0] == 200
    status, page = await api.call("GET", f"{BASE}/recordings", "handler_a")
    assert status == 200 and [r["call_id"] for r in page["items"]] == [mine]
    assert (await api.call("GET", f"{BASE}/recordings/{recs[theirs].id}", "handler_a"))[0] == 404
    assert (await api.call("GET", f"{BASE}/recordings/{recs[theirs].id}/audio", "handler_a"))[0] == 404
    assert (await api.call("GET", f"{BASE}/recordings/{recs[mine].id}/audio", "handler_a"))[0] == 200
    assert (await api.call("GET", f"{BASE}/calls/{none}/recordings", "handler_b"))[1]["items"] == []
    # The call centre hears all; a leader reads figures, not recordings.
    assert (await api.call("GET", f"{BASE}/recordings", "agent"))[1]["total"] == 3
    assert (await api.call("GET", f"{BASE}/recordings", "leader"))[0] == 403
    assert (await api.call("GET", f"{BASE}/recordings", "nobody"))[0] == 401


async def test_a_tickets_recordings_are_those_of_its_calls(api: RecordingsApi) -> None:
    call, other = await add_call(api.db), await add_call(api.db)
    rec = await add_recording(api.db, api.directory, call)
    await add_recording(api.db, api.directory, other)
    ticket = await api.new_ticket(call_id=call)
    status, page = await api.call("GET", f"{BASE}/recordings?ticket_id={ticket['id']}", "agent")
    assert status == 200 and [r["id"] for r in page["items"]] == [rec.id]


async def test_only_an_admin_deletes_and_only_after_the_retention_period(api: RecordingsApi) -> None:
    call = await add_call(api.db)
    young = await add_recording(api.db, api.directory, call, started_at=utcnow() - timedelta(days=179))
    old = await add_recording(api.db, api.directory, call, started_at=utcnow() - timedelta(days=181))
    await api.client.get(f"{BASE}/recordings/{old.id}/audio.mp3", headers=api.headers["agent"])
    assert (await api.call("DELETE", f"{BASE}/recordings/{old.id}", "supervisor"))[0] == 403
    status, body = await api.call("DELETE", f"{BASE}/recordings/{young.id}", "admin")
    assert (status, body["error_id"]) == (409, "retention_not_over")
    assert Path(young.path).exists()
    assert (await api.call("DELETE", f"{BASE}/recordings/{old.id}", "admin"))[0] == 204
    assert not Path(old.path).exists() and not Path(old.path).with_suffix(".mp3").exists()
    status, body = await api.call("GET", f"{BASE}/recordings/{old.id}", "agent")
    assert status == 200 and body["deleted_at"] and body["missing"] is False
    status, body = await api.call("GET", f"{BASE}/recordings/{old.id}/audio", "agent")
    assert (status, body["error_id"]) == (410, "recording_deleted")
    assert (await api.call("DELETE", f"{BASE}/recordings/{old.id}", "admin"))[0] == 410
    assert ("recording_delete", "admin-token") in await audit_actions(api.db, old.id)


async def test_the_recordings_routes_are_in_the_openapi_document(api: RecordingsApi) -> None:
    status, doc = await api.call("GET", f"{BASE}/openapi.json", "nobody")
    assert status == 200
    paths: dict[str, Any] = doc["paths"]
    assert {"/api/v1/recordings", "/api/v1/recordings/{id}", "/api/v1/recordings/{id}/audio",
            "/api/v1/recordings/{id}/audio.mp3", "/api/v1/calls/{call_id}/recordings"} <= set(paths)
    assert {"404", "409", "410"} <= set(paths["/api/v1/recordings/{id}"]["delete"]["responses"])


async def test_a_malformed_range_is_refused_and_still_audited(api: RecordingsApi) -> None:
    rec = await add_recording(api.db, api.directory, await add_call(api.db))
    r = await api.client.get(f"{BASE}/recordings/{rec.id}/audio", headers={**api.headers["agent"], "Range": "bytes=x-y"})
    assert r.status in (200, 416)
    assert await audit_actions(api.db, rec.id) == [("recording_play", "user-agent")]
