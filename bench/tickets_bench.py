"""Ticket benchmark (issue 3) on PostgreSQL: a million tickets, ten events each on average.

Builds a scratch database (``cc_bench_tickets``) with the schema of every model, fills it with
``generate_series`` SQL (tickets, their events, lead departments, one call per ticket), then
times the real code paths:

  * the agent's screen pop: ``queries.caller_history`` (the caller's last tickets and calls);
  * a filtered list page: ``queries.page`` as a department handler (open tickets of the
    department, newest first, 50 rows and the capped total) and as a dispatcher (department +
    category + a three-month window);
  * S-1: ``stats.department_stats`` for one month and for one year;
  * search (issue 14): a word of the content, address or caller's name (``q``, segmented by jieba,
    ranked by ``ts_rank`` over the GIN-indexed tsvector), alone and with a department; the phone's
    last four digits. The ticket texts are drawn from pools of real-looking phrases, so a word
    matches a few per cent of the tickets, as in a hotline's data; the search index is built with
    the daemon's own segmenter (``search.document``) for every ticket.

    .venv/bin/python bench/tickets_bench.py                  # 1,000,000 tickets
    .venv/bin/python bench/tickets_bench.py --tickets 50000  # quick run
    .venv/bin/python bench/tickets_bench.py --reuse          # keep the data of the last run

Goals: lookup p99 < 20 ms, list page p99 < 50 ms, monthly S-1 < 1 s, full-text search p99 < 100 ms.
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
from callcore.tickets import queries, search, stats  # noqa: E402
from callcore.tickets.phones import tail  # noqa: E402
from callcore.tickets.deadlines import Deadlines  # noqa: E402
from callcore.tickets.settings import TicketSettings  # noqa: E402

DB_NAME = "cc_bench_tickets"
DEPARTMENTS = 40
PHONES_PER_TICKET = 0.3  # 300,000 distinct callers for a million tickets: repeat callers exist
DAYS = 730
# What citizens call about, where, and who: a ticket's content is place + issue + two details.
ISSUES = ("小区夜间施工噪音扰民", "楼道路灯不亮", "垃圾清运不及时", "自来水停水没有通知", "冬季暖气不热", "下水道堵塞污水外溢",
          "违章停车占用消防通道", "广场舞音响太吵", "共享单车乱停乱放", "物业费收费不合理", "电梯经常故障停运",
          "公交车随意甩站", "路面坑洼雨后积水", "流浪狗伤人", "餐馆油烟扰民", "农民工工资拖欠", "学校周边交通拥堵",
          "医保报销流程咨询", "社保关系转移咨询", "户口迁移办理咨询", "燃气管道有漏气味道", "井盖缺失存在危险",
          "绿化带树木被砍伐", "商贩占道经营", "顶楼房屋漏水", "小区门禁系统损坏", "违规搭建彩钢房", "出租车拒载绕路",
          "快递柜超时收费", "供电线路老化经常停电", "噪声超标影响高考", "宠物狗夜间吠叫", "楼上住户高空抛物",
          "菜市场卫生脏乱差", "公共厕所无人管理", "健身器材损坏", "地下车库积水", "网约车平台投诉", "养老金发放查询",
          "公租房申请条件咨询")
DETAILS = ("已经一周了", "多次反映未解决", "请尽快处理", "影响老人孩子休息", "存在安全隐患", "希望相关部门督促整改",
           "邻居意见很大", "物业不作为", "要求回复处理结果", "晚上十点以后尤其严重", "附近居民反映强烈", "已拨打过多次",
           "希望尽快恢复", "请派人现场查看", "情况越来越严重", "不知道该找哪个部门")
PLACES = ("城关区张掖路", "城关区庆阳路", "城关区东岗西路", "城关区雁滩路", "七里河区西津西路", "七里河区敦煌路",
          "安宁区北滨河路", "安宁区万新路", "西固区福利路", "西固区合水路", "红古区海石湾镇", "榆中县城关镇",
          "皋兰县石洞镇", "永登县城关镇", "城关区皋兰路", "城关区酒泉路", "七里河区建兰路", "安宁区安宁西路",
          "西固区西固中路", "城关区南昌路", "城关区五泉南路", "七里河区小西湖", "城关区盘旋路", "安宁区培黎街道")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
# What dispatchers type: words of the issues (common and rare ones).
SEARCH_WORDS = ("噪音", "路灯", "垃圾", "停水", "暖气", "下水道", "消防通道", "广场舞", "共享单车", "物业费", "电梯", "公交车",
                "积水", "流浪狗", "油烟", "工资", "医保", "社保", "户口", "燃气", "井盖", "占道经营", "漏水", "门禁",
                "违规搭建", "出租车", "快递柜", "停电", "高空抛物", "健身器材", "养老金", "公租房", "安全隐患", "现场查看")
NOW = datetime.now(timezone.utc)

TICKETS_SQL = """
INSERT INTO tickets (id, number, query_code, channel, call_id, caller_name, phone, id_card, address, category,
  title, content, urgency, received_at, created_by, status, mode, department_id, due_date, sign_by, urge_count,
  redo_count, return_count, extension_count, supervised, satisfaction, reply, closed_at, closed_on_time, last_seq,
  updated_at)
SELECT 'bench-' || lpad(i::text, 10, '0'),
  to_char(rcv AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || lpad(i::text, 7, '0'),
  lpad(((i::bigint * 7919 + 12345) % 100000000)::text, 8, '0'),
  'phone', 'call-' || i,
  substr($6, 1 + abs(hashtext('n' || i)) % length($6), 1) || (CASE WHEN i % 2 = 0 THEN '先生' ELSE '女士' END),
  '13' || lpad(((i::bigint * 37) % $2)::text, 9, '0'), '',
  ($7::text[])[1 + abs(hashtext('p' || i)) % array_length($7::text[], 1)] || (i % 500) || '号',
  (ARRAY['consultation','help','suggestion','criticism','complaint','report','praise','emergency'])
    [1 + abs(hashtext('c' || i)) % 8],
  '', ($7::text[])[1 + abs(hashtext('p' || i)) % array_length($7::text[], 1)]
      || ($8::text[])[1 + abs(hashtext('i' || i)) % array_length($8::text[], 1)] || '，'
      || ($9::text[])[1 + abs(hashtext('a' || i)) % array_length($9::text[], 1)] || '，'
      || ($9::text[])[1 + abs(hashtext('b' || i)) % array_length($9::text[], 1)] || '。',
  'normal', rcv, 'bench',
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
        tables = "('tickets','ticket_events','calls','ticket_departments','ticket_search')"
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
                 ("tickets", TICKETS_SQL, (n, phones, DEPARTMENTS, NOW, DAYS, SURNAMES, list(PLACES), list(ISSUES),
                                           list(DETAILS))),
                 ("ticket_departments", "INSERT INTO ticket_departments (ticket_id, department_id, role, status, "
                                        "received_at, category) SELECT id, department_id, 'lead', status, "
                                        "received_at, category FROM tickets", ()),
                 ("ticket_events", EVENTS_SQL, ())]
        for name, sql, args in steps:
            t0 = time.perf_counter()
            await pg.execute(sql, *args)
            print(f"  loaded {name:<19} in {time.perf_counter() - t0:6.1f} s", flush=True)
        await index_for_search(pg)
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


async def index_for_search(pg: asyncpg.Connection) -> None:
    """The search rows of every ticket, segmented by ``search.document`` as the daemon does on create,
    copied in, then the tsvectors computed by PostgreSQL (its indexes are built with the others)."""
    t0 = time.perf_counter()
    rows: list[tuple[str, str, datetime, str]] = []
    async with pg.transaction():
        cur = pg.cursor("SELECT id, phone, received_at, caller_name, address, title, content FROM tickets",
                        prefetch=5000)
        async for r in cur:
            rows.append((r["id"], tail(r["phone"]), r["received_at"],
                         search.document(r["caller_name"], r["address"], r["title"], r["content"])))
    t1 = time.perf_counter()
    print(f"  segmented {len(rows):,} tickets  in {t1 - t0:6.1f} s", flush=True)
    await pg.execute("CREATE TEMP TABLE search_load (ticket_id text, phone_tail text, received_at timestamptz, "
                     "terms text)")
    await pg.copy_records_to_table("search_load", records=rows)
    await pg.execute("INSERT INTO ticket_search (ticket_id, phone_tail, received_at, terms, vector) "
                     "SELECT ticket_id, phone_tail, received_at, '', to_tsvector('simple'::regconfig, terms) "
                     "FROM search_load ORDER BY received_at")
    await pg.execute("DROP TABLE search_load")
    print(f"  loaded ticket_search       in {time.perf_counter() - t1:6.1f} s", flush=True)


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

        def words() -> str:
            kind = rng.randrange(10)
            if kind < 5:  # a word of the issue
                return rng.choice(SEARCH_WORDS)
            if kind < 7:  # two words
                return f"{rng.choice(SEARCH_WORDS)} {rng.choice(SEARCH_WORDS[:12])}"
            if kind < 9:  # a street or a town, without its district
                return rng.choice(PLACES).split("区")[-1].split("县")[-1]
            return rng.choice(SURNAMES) + "先生"  # a caller's name

        async def search_page() -> None:
            await queries.page(db, agent, queries.TicketFilter(text=words(), sort=queries.RELEVANCE, limit=50), dl,
                               today)

        async def search_newest() -> None:
            await queries.page(db, agent, queries.TicketFilter(text=words(), limit=50), dl, today)

        async def search_department() -> None:
            dep = f"dep-{rng.randrange(DEPARTMENTS):02d}"
            await queries.page(db, agent, queries.TicketFilter(text=words(), department_id=dep, sort=queries.RELEVANCE,
                                                               limit=50), dl, today)

        async def phone_tail_page() -> None:
            await queries.page(db, agent, queries.TicketFilter(phone_tail=f"{rng.randrange(10_000):04d}", limit=50),
                               dl, today)

        for name, fn in (("screen pop lookup (tickets + calls by phone)", lookup),
                         ("list page, handler: open tickets of the department", handler_page),
                         ("list page, dispatcher: department + category + 90 days", dispatcher_page),
                         ("search: words, by relevance, 50 rows + total", search_page),
                         ("search: words, newest first, 50 rows + total", search_newest),
                         ("search: words + department, by relevance", search_department),
                         ("search: phone's last 4 digits, newest first", phone_tail_page)):
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
