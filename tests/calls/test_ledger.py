"""The store reconciled against Asterisk's CDR (issue 12): every hotline call Asterisk handled is in
the store exactly once, whatever the daemon heard of it."""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest

from callcore.calls import events as ev
from callcore.calls import queries
from callcore.calls.journal import CallJournal
from callcore.calls.ledger import LEDGER_FIELDS, CdrLedger, parse
from callcore.store.base import utcnow
from callcore.store.db import Database
from tests.calls.journals import drain

HOTLINE = "from-trunk"


def cdr(uniqueid: str, *, ago: float = 60.0, talk: float = 5.0, answered: bool = True, context: str = HOTLINE,
        src: str = "13900001111", userfield: str = "", channel: str | None = None) -> str:
    """A line as cdr_custom.conf.j2 writes it."""
    end = utcnow() - timedelta(seconds=ago)
    start = end - timedelta(seconds=talk)
    answer = f"{start.timestamp() + 0.5:.6f}" if answered else "0.000000"
    values = [uniqueid, channel or f"PJSIP/trunk-{uniqueid[-4:]}", context, src, "96881", f"{start.timestamp():.6f}",
              answer, f"{end.timestamp():.6f}", "ANSWERED" if answered else "NO ANSWER", userfield]
    assert len(values) == len(LEDGER_FIELDS)
    return ",".join(f'"{v}"' if not v[:1].isdigit() or "." not in v else v for v in values) + "\n"


@pytest.fixture
def journal(db: Database, tmp_path: Path) -> CallJournal:
    return CallJournal(db, tmp_path / "spool.jsonl")


def ledger(db: Database, journal: CallJournal, tmp_path: Path) -> CdrLedger:
    return CdrLedger(path=tmp_path / "callcore.csv", offset_file=tmp_path / "cdr-ledger.offset", db=db,
                     journal=journal, context=HOTLINE)


def test_a_line_is_read_as_cdr_custom_writes_it_and_anything_else_is_refused() -> None:
    line = parse(cdr("1700000000.1", answered=False).rstrip("\n"))
    assert line is not None and line.channel_id == "1700000000.1" and line.answer is None
    assert line.caller_number == "13900001111" and line.start < line.end and line.end.tzinfo is timezone.utc
    assert parse('"1700000000.1","PJSIP/x"') is None                       # another format
    assert parse(cdr("1700000000.1")[:40]) is None                          # torn
    assert parse(cdr("").rstrip("\n")) is None                               # no unique id


async def test_a_call_the_daemon_never_heard_of_is_stored_once_at_asterisks_times(
        db: Database, journal: CallJournal, tmp_path: Path) -> None:
    (tmp_path / "callcore.csv").write_text(cdr("1700000000.2", ago=90, talk=4, userfield="fallback"))
    first = ledger(db, journal, tmp_path)
    assert await first.run_once() == 1
    await drain(journal)
    [call] = (await queries.list_calls(db, queries.CallFilter()))[0]
    found = await queries.get_call(db, call.id)
    assert found is not None
    row, events = found
    assert [e.type for e in events] == [ev.ARRIVED, ev.ANSWERED, ev.HANDED_OFF, ev.ENDED]
    assert events[0].data["via"] == "cdr" and row.channel_id == "1700000000.2" and row.caller_number == "13900001111"
    assert row.ended_at is not None and abs((row.ended_at - row.arrived_at).total_seconds() - 4) < 0.01
    assert row.ended_at < utcnow() - timedelta(seconds=89)
    # Read once: the same ledger again, and a restarted one (the offset is kept), add nothing.
    assert await first.run_once() == 0
    assert await ledger(db, journal, tmp_path).run_once() == 0


async def test_calls_the_store_knows_other_contexts_and_unsettled_lines_are_left(
        db: Database, journal: CallJournal, tmp_path: Path) -> None:
    cid = journal.new_call_id("1700000001.1")
    journal.emit(cid, ev.ARRIVED, {"channel_id": "1700000001.1", "caller_number": "13900001111"})
    fallback = journal.new_call_id()  # the fallback import names the channel, not its unique id
    journal.emit(fallback, ev.ARRIVED, {"channel_id": "PJSIP/trunk-0009", "caller_number": "13900002222"})
    await drain(journal)
    path = tmp_path / "callcore.csv"
    path.write_text(cdr("1700000001.1") + cdr("1700000001.2", channel="PJSIP/trunk-0009")
                    + cdr("1700000001.3", context="agents") + cdr("1700000001.4", ago=1.0, answered=False))
    first = ledger(db, journal, tmp_path)
    assert await first.run_once() == 0  # known, known by name, not the hotline's, not settled yet
    assert len((await queries.list_calls(db, queries.CallFilter()))[0]) == 2
    # Settled later (here: a ledger that settles at once), the last one is written, and only it.
    assert await CdrLedger(path=path, offset_file=tmp_path / "cdr-ledger.offset", db=db, journal=journal,
                           context=HOTLINE, settle=0.0).run_once() == 1
    await drain(journal)
    rows = (await queries.list_calls(db, queries.CallFilter()))[0]
    assert sorted(r.channel_id for r in rows) == ["1700000001.1", "1700000001.4", "PJSIP/trunk-0009"]
    unanswered = next(r for r in rows if r.channel_id == "1700000001.4")
    assert unanswered.answered_at is None and unanswered.status == "ended"


async def test_two_lines_of_one_channel_make_one_call_and_a_refusal_is_stored_as_such(
        db: Database, journal: CallJournal, tmp_path: Path) -> None:
    (tmp_path / "callcore.csv").write_text(
        cdr("1700000002.1", ago=70, talk=3, answered=False, userfield="refused:channel_limit")
        + cdr("1700000002.2", ago=80, talk=10) + cdr("1700000002.2", ago=60, talk=20))
    assert await ledger(db, journal, tmp_path).run_once() == 2
    await drain(journal)
    rows = {r.channel_id: r for r in (await queries.list_calls(db, queries.CallFilter()))[0]}
    assert rows["1700000002.1"].outcome == "refused"
    forked = rows["1700000002.2"]
    assert forked.ended_at is not None and forked.ended_at > utcnow() - timedelta(seconds=61)


async def test_nothing_is_read_while_the_journal_holds_events_not_yet_stored(
        db: Database, journal: CallJournal, tmp_path: Path) -> None:
    """They may be the very calls the CDR shows: read after they are stored."""
    cid = journal.new_call_id("1700000003.1")
    journal.emit(cid, ev.ARRIVED, {"channel_id": "1700000003.1", "caller_number": "13900001111"})
    (tmp_path / "callcore.csv").write_text(cdr("1700000003.1"))
    the_ledger = ledger(db, journal, tmp_path)
    assert await the_ledger.run_once() == 0 and not (tmp_path / "cdr-ledger.offset").exists()
    await drain(journal)
    assert await the_ledger.run_once() == 0  # now read: the call is the store's already
    assert (tmp_path / "cdr-ledger.offset").read_text().split()[1] == str((tmp_path / "callcore.csv").stat().st_size)


async def test_a_line_being_written_waits_and_a_rotated_file_is_read_from_its_start(
        db: Database, journal: CallJournal, tmp_path: Path) -> None:
    path = tmp_path / "callcore.csv"
    whole = cdr("1700000004.1")
    path.write_text(whole + cdr("1700000004.2")[:30])  # Asterisk is writing the second line
    the_ledger = ledger(db, journal, tmp_path)
    assert await the_ledger.run_once() == 1
    await drain(journal)
    assert int((tmp_path / "cdr-ledger.offset").read_text().split()[1]) == len(whole.encode())
    path.rename(tmp_path / "callcore.csv.1")  # rotated by an admin: a new file in its place
    path.write_text(cdr("1700000004.3"))
    assert await the_ledger.run_once() == 1
    await drain(journal)
    assert len((await queries.list_calls(db, queries.CallFilter()))[0]) == 2


def test_the_ledgers_fields_are_the_ones_asterisk_is_told_to_write() -> None:
    template = (Path(__file__).resolve().parents[2] / "asterisk-conf" / "cdr_custom.conf.j2").read_text()
    mapping = next(line for line in template.splitlines() if line.startswith("callcore.csv =>"))
    fields = [part.split("CDR(")[1].split(")")[0].split(",")[0] for part in mapping.split("=>", 1)[1].split("},")]
    assert tuple(fields) == LEDGER_FIELDS
