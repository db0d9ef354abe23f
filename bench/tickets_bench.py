"""Ticket benchmark (issue 3) on PostgreSQL: a million tickets, ten events each on average.

Builds a scratch database (``cc_bench_tickets``) with the schema of every model, fills it with
``generate_series`` SQL (tickets, their events, lead departments, one call per ticket), then
times the real code paths:

  * the agent's screen pop: ``queries.caller_history`` (the caller's last tickets and calls);
  * a filtered list page: ``queries.page`` as a department handler (open tickets of the
    department, newest first, 50 rows and the capped total) and as a dispatcher (department +
    category + a three-month window);
  * S-1: ``stats.department_stats`` for one month and for one year.

    .venv/bin/python bench/tickets_bench.py                  # 1,000,000 tickets
    .venv/bin/python bench/tickets_bench.py --tickets 50000  # quick run
    .venv/bin/python bench/tickets_bench.py --reuse          # keep the data of the last run

Goals: lookup p99 < 20 ms, list page p99 < 50 ms, monthly S-1 < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callcore.core.identity import Principal  # noqa: E402
from callcore.store.db import Database  # noqa: E402
from callcore.plugins import load_models  # noqa: E402
from callcore.tickets import queries, stats  # noqa: E402
from callcore.tickets.deadlines import Deadlines  # noqa: E402
from callcore.tickets.settings import TicketSettings  # noqa: E402

DB_NAME = "cc_bench_tickets"
DEPARTMENTS = 40
PHONES_PER_TICKET = 0.3  # 300,000 distinct callers for a million tickets: repeat callers exist
DAYS = 730
NOW = datetime.now(timezone.utc)

TICKETS_SQL = """
INSERT INTO tickets (id, number, query_code, channel, call_id, caller_name, phone, id_card, address, category,
  title, content, urgency, received_at, created_by, status, mode, department_id, due_date, sign_by, urge_count,
  redo_count, return_count, extension_count, supervised, satisfaction, reply, closed_at, closed_on_time, last_seq,
  updated_at)
SELECT 'bench-' || lpad(i::text, 10, '0'),
  to_char(rcv AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || lpad(i::text, 7, '0'),
  lpad(((i::bigint * 7919 + 12345) % 100000000)::text, 8, '0'),
  'phone', 'call-' || i, '市民', '13' || lpad(((i::bigint * 37) % $2)::text, 9, '0'), '', '幸福路' || (i % 500) || '号',
  (ARRAY['consultation','help','suggestion','criticism','complaint','report','praise','emergency'])
    [1 + abs(hashtext('c' || i)) % 8],
  '', '诉求内容：小区噪音扰民，路灯不亮，垃圾清运不及时 ' || i, 'normal', rcv, 'bench',
  (ARRAY['dispatched','processing','replied','closed','closed','closed','closed','closed','archived','archived'])
    [1 + i % 10],
  'transfer', 'dep-' || lpad((abs(hashtext('d' || i)) % $3)::text, 2, '0'), (rcv + interval '21 days')::date,
  (rcv + interval '1 day')::date, (i % 13 = 0)::int, 0, 0, (i % 17 = 0)::int, false,
  CASE WHEN i % 10 < 3 THEN NULL WHEN i % 5 = 0 THEN 'unsatisfied' ELSE 'satisfied' END, '',
  CASE WHEN i % 10 >= 3 THEN rcv + interval '10 days' END,
  CASE WHEN i % 10 >= 3 THEN i % 7 <> 0 END,
  6 + (i % 9), rcv
FROM (SELECT i, $4::timestamptz - (i::float8 / $1) * interval '1 day' * $5 AS rcv
      FROM generate_series(1, $1) i) s
"""

CALLS_SQL = """
INSERT INTO calls (id, channel_id, direction, caller_number, caller_name, dialed, status, stage, arrived_at,
  answered_at, ended_at, attributes)
SELECT 'call-' || i, 'chan-' || i, 'inbound', '13' || lpad(((i::bigint * 37) % $2)::text, 9, '0'), '', '96881',
  'ended', 'ended', rcv - interval '5 minutes', rcv - interval '4 minutes', rcv, '{}'::json
FROM (SELECT i, $3::timestamptz - (i::float8 / $1) * interval '1 day' * $4 AS rcv
      FROM generate_series(1, $1) i) s
"""

# 6..14 events per ticket (10 on average); the actions follow a plausible life.
EVENTS_SQL = """
INSERT INTO ticket_events (id, ticket_id, seq, at, action, actor_id, actor_name, role, actor_department_id,
  department_id, from_status, to_status, note, data)
SELECT md5(t.id || '/' || k), t.id, k, t.received_at + k * interval '7 hours',
  (ARRAY['create','dispatch','sign','note','request_extension','approve_extension','urge','reply','close',
         'note','urge','note','note','note'])[k],
  'bench', '', CASE WHEN k IN (3, 5, 8) THEN 'handler' ELSE 'dispatcher' END, NULL, t.department_id, NULL,
  t.status, '', '{"today": "2026-01-01"}'::json
FROM tickets t CROSS JOIN LATERAL generate_series(1, t.last_seq) k
"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


async def build(admin_dsn: str, url: str, n: int) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await conn.close()
    db = Database(url)
    async with db.engine.begin() as c:
        await c.run_sync(load_models().create_all)
    await db.close()
    pg = await asyncpg.connect(admin_dsn.rsplit("/", 1)[0] + "/" + DB_NAME)
    try:
        await pg.execute("SET synchronous_commit = off; SET maintenance_work_mem = '512MB'; SET work_mem = '64MB'")
        # Indexes and foreign keys are built after the bulk load: faster than row by row.
        tables = "('tickets','ticket_events','calls','ticket_departments')"
        fks = await pg.fetch("SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def "
                             f"FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text IN {tables}")
        for r in fks:
            await pg.execute(f'ALTER TABLE {r["tbl"]} DROP CONSTRAINT "{r["conname"]}"')
        idx = await pg.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                             f"{tables} AND indexname NOT LIKE 'pk_%'")
        for r in idx:
            if r["indexname"].startswith(("uq_",)):
                await pg.execute(f'ALTER TABLE {r["indexdef"].split(" ON ")[1].split()[0]} '
                                 f'DROP CONSTRAINT "{r["indexname"]}"')
            else:
                await pg.execute(f'DROP INDEX "{r["indexname"]}"')
        await pg.execute("INSERT INTO ticket_categories (code, name, limit_days, active) VALUES "
                         "('consultation','咨询',5,true),('help','求助',5,true),('suggestion','建议',15,true),"
                         "('criticism','批评',15,true),('complaint','投诉',15,true),('report','举报',30,true),"
                         "('praise','表扬',15,true),('emergency','应急',0,true)")
        await pg.execute("INSERT INTO departments (id, code, name, active, contact, created_at) "
                         "SELECT 'dep-' || lpad(i::text, 2, '0'), 'd' || i, '单位' || i, true, '', now() "
                         f"FROM generate_series(0, {DEPARTMENTS - 1}) i")
        phones = max(1, int(n * PHONES_PER_TICKET))
        steps = [("calls", CALLS_SQL, (n, phones, NOW, DAYS)),
                 ("tickets", TICKETS_SQL, (n, phones, DEPARTMENTS, NOW, DAYS)),
                 ("ticket_departments", "INSERT INTO ticket_departments (ticket_id, department_id, role, status, "
                                        "received_at, category) SELECT id, department_id, 'lead', status, "
                                        "received_at, category FROM tickets", ()),
                 ("ticket_events", EVENTS_SQL, ())]
        for name, sql, args in steps:
            t0 = time.perf_counter()
            await pg.execute(sql, *args)
            print(f"  loaded {name:<19} in {time.perf_counter() - t0:6.1f} s", flush=True)
        t0 = time.perf_counter()
        for r in idx:
            if r["indexname"].startswith("uq_"):
                table = r["indexdef"].split(" ON ")[1].split()[0]
                cols = r["indexdef"].split("(", 1)[1].rsplit(")", 1)[0]
                await pg.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{r["indexname"]}" UNIQUE ({cols})')
            else:
                await pg.execute(r["indexdef"])
        for r in fks:
            await pg.execute(f'ALTER TABLE {r["tbl"]} ADD CONSTRAINT "{r["conname"]}" {r["def"]}')
        await pg.execute("VACUUM ANALYZE")
        print(f"  indexes + analyze         in {time.perf_counter() - t0:6.1f} s", flush=True)
        counts = await pg.fetchrow("SELECT (SELECT count(*) FROM tickets) t, (SELECT count(*) FROM ticket_events) e,"
                                   " (SELECT count(*) FROM calls) c, pg_size_pretty(pg_database_size(current_database())) s")
        print(f"  {counts['t']:,} tickets, {counts['e']:,} events, {counts['c']:,} calls, database {counts['s']}")
    finally:
        await pg.close()


async def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def measure(url: str, n: int, samples: int) -> dict[str, str]:
    db = Database(url)
    rng = random.Random(7)
    phones = max(1, int(n * PHONES_PER_TICKET))
    agent = Principal(user_id="bench-agent", name="bench", role="agent")
    dl = await Deadlines.load(db, TicketSettings())
    today = NOW.date()
    results: dict[str, str] = {}
    try:
        # Warm the pool and the caches the way a running daemon has them warm.
        for _ in range(20):
            await queries.caller_history(db, agent, f"13{rng.randrange(phones):09d}")

        async def lookup() -> None:
            h = await queries.caller_history(db, agent, f"13{rng.randrange(phones):09d}")
            assert h.tickets

        async def handler_page() -> None:
            dep = f"dep-{rng.randrange(DEPARTMENTS):02d}"
            who = Principal(user_id="bench-h", name="h", role="handler", department_id=dep)
            f = queries.TicketFilter(status=("dispatched", "processing"), limit=50,
                                     offset=rng.choice((0, 0, 0, 50)))
            await queries.page(db, who, f, dl, today)

        async def dispatcher_page() -> None:
            dep = f"dep-{rng.randrange(DEPARTMENTS):02d}"
            start = NOW - timedelta(days=rng.randrange(90, DAYS))
            f = queries.TicketFilter(department_id=dep, category=rng.choice(["help", "complaint", "report"]),
                                     since=start, until=start + timedelta(days=90), limit=50)
            await queries.page(db, agent, f, dl, today)

        for name, fn in (("screen pop lookup (tickets + calls by phone)", lookup),
                         ("list page, handler: open tickets of the department", handler_page),
                         ("list page, dispatcher: department + category + 90 days", dispatcher_page)):
            ms = await timed(fn, samples)
            results[name] = f"p50 {statistics.median(ms):.1f} ms, p99 {pct(ms, 99):.1f} ms ({samples} runs)"
            print(f"  {name:<55} {results[name]}", flush=True)

        month_start = (NOW - timedelta(days=60)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        month_end = (month_start + timedelta(days=32)).replace(day=1)
        year_start = month_end - timedelta(days=365)
        for name, (a, b) in (("S-1 report, one month (all departments)", (month_start, month_end)),
                             ("S-1 report, one year (all departments)", (year_start, month_end))):
            ms = await timed(lambda a=a, b=b: stats.department_stats(db, a, b, today), 3)
            rows = await stats.department_stats(db, a, b, today)
            total = sum(r.received for r in rows)
            results[name] = f"{min(ms):.0f} ms best, {statistics.median(ms):.0f} ms median of 3 ({total:,} receipts)"
            print(f"  {name:<55} {results[name]}", flush=True)
    finally:
        await db.close()
    return results


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=os.environ.get("CALLCORE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
                    help="an administrative DSN (the scratch database is created next to it)")
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=500, help="timed runs per query")
    ap.add_argument("--reuse", action="store_true", help="measure the existing scratch database")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = ap.parse_args()
    url = args.dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + DB_NAME
    print(f"tickets benchmark: {args.tickets:,} tickets on PostgreSQL", flush=True)
    if not args.reuse:
        t0 = time.perf_counter()
        await build(args.dsn, url, args.tickets)
        print(f"  data generated in {time.perf_counter() - t0:.0f} s", flush=True)
    await measure(url, args.tickets, args.samples)
    if not args.keep and not args.reuse:
        conn = await asyncpg.connect(args.dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        finally:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
