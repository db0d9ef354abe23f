"""Finding tickets (issue 14): Chinese full text (segmented, ranked) on SQLite's FTS5 and PostgreSQL's
tsvector, the phone's last four digits, the list filters, sorting and paging with a total."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from callcore.store.base import utcnow
from callcore.tickets import search
from callcore.tickets.models import Ticket
from callcore.tickets.search import TicketSearch
from tests.tickets.api import TicketsApi


async def _ids(api: TicketsApi, query: str, who: str = "dispatcher") -> list[str]:
    status, out = await api.call("GET", f"/api/v1/tickets?{query}", who)
    assert status == 200, out
    return [t["id"] for t in out["items"]]


def test_documents_hold_words_and_character_pairs() -> None:
    terms = search.document("张先生", "城关区张掖路", "", "路灯不亮已经一周了！")
    words = set(terms.split())
    assert {"城关区", "城关", "张掖", "先生", "路灯", "不亮"} <= words
    assert "！" not in terms and terms == terms.lower()
    assert search.document("", "   ") == ""


def test_queries_match_a_word_or_all_its_pairs() -> None:
    assert search.parse("城关区 噪音") == [search.Clause("城关区", (("城关", "关区"),)), search.Clause("噪音")]
    assert [c.word for c in search.parse("3号楼")] == ["3", "号楼"]
    assert search.parse("，。！  ") == []
    clauses = search.parse("城关区噪音")
    assert search.fts5_query(clauses) == '("城关区" OR ("城关" AND "关区")) AND "噪音"'
    assert search.ts_query(clauses) == "('城关区' | ('城关' & '关区')) & '噪音'"
    # A single character also matches the pair it makes with its neighbour in the query.
    assert search.ts_query(search.parse("ABC路灯不亮")) == "'abc' & ('路' | '路灯') & ('灯不亮' | ('灯不' & '不亮'))"


def test_a_name_is_found_however_jieba_cuts_it() -> None:
    """jieba keeps 杨先生 whole in a ticket and cuts it 杨 / 先生 in a query."""
    indexed = set(search.document("杨先生", "", "", "噪音").split())
    for query in ("杨先生", "杨先生 噪音"):
        for clause in search.parse(query):
            assert any(set(option) <= indexed for option in clause.options), (query, clause)


async def test_dispatcher_finds_by_a_word_and_the_phone_tail_and_dispatches_by_code(api: TicketsApi) -> None:
    """The acceptance journey of issue 14."""
    noise = await api.new_ticket(content="小区夜间施工噪音扰民，凌晨两点还在打桩", phone="139-3100-5678",
                                 address="城关区张掖路3号楼")
    lamp = await api.new_ticket(content="楼道路灯不亮已经一周了", phone="13700001234", caller_name="李女士")
    assert await _ids(api, "q=噪音") == [noise["id"]]
    assert await _ids(api, "q=路灯") == [lamp["id"]]  # jieba cuts 路灯不亮 as 路 / 灯不亮: the pairs find it
    assert await _ids(api, "q=张掖路") == [noise["id"]]  # the address
    assert await _ids(api, "q=李女士") == [lamp["id"]]  # the caller's name
    assert await _ids(api, "q=噪音 路灯") == []  # every word must match
    assert await _ids(api, "phone_tail=5678") == [noise["id"]]
    status, out = await api.call("GET", "/api/v1/tickets?phone_tail=5678", "dispatcher")
    assert "13931005678" not in str(out) and out["items"][0]["phone"] == "139****5678"
    s, done = await api.act(noise["number"], "dispatcher", "dispatch", mode="transfer", department_id="a")
    assert s == 200 and done["department_id"] == "dep-a" and done["department_name"] == "a单位", done
    assert done["history"][-1]["department_name"] == "a单位"
    s, done = await api.act(lamp["id"], "dispatcher", "dispatch", mode="cohandle", department_id="b单位",
                            assist_ids=["c"])
    assert s == 200 and (done["department_id"], done["assist_ids"]) == ("dep-b", ["dep-c"]), done
    assert done["assist_names"] == ["c单位"] and done["history"][-1]["assist_names"] == ["c单位"]
    s, err = await api.act(lamp["id"], "dispatcher", "dispatch", mode="transfer", department_id="没有的单位")
    assert s == 400 and err["details"][0]["field"] == "department_id" and "没有这个单位" in err["details"][0]["message"]
    assert await _ids(api, "department_id=a") == [noise["id"]]
    assert await _ids(api, "department_id=b单位") == [lamp["id"]]
    s, err = await api.call("GET", "/api/v1/tickets?department_id=zzz", "dispatcher")
    assert s == 400 and err["details"][0]["field"] == "department_id" and "没有这个单位" in err["details"][0]["message"]


async def test_ranked_by_relevance_and_paged_with_a_total(api: TicketsApi) -> None:
    once = await api.new_ticket(content="门口的垃圾桶满了")
    twice = await api.new_ticket(content="垃圾没人清运，垃圾桶满了，垃圾堆在路边", address="垃圾站旁")
    other = await api.new_ticket(content="自来水停水")
    status, out = await api.call("GET", "/api/v1/tickets?q=垃圾", "agent")
    assert [t["id"] for t in out["items"]] == [twice["id"], once["id"]] and out["total"] == 2
    status, out = await api.call("GET", "/api/v1/tickets?q=垃圾&limit=1&offset=1", "agent")
    assert [t["id"] for t in out["items"]] == [once["id"]] and out["total"] == 2
    assert await _ids(api, "q=垃圾&sort=received_at") == [once["id"], twice["id"]]
    assert other["id"] not in await _ids(api, "q=垃圾桶")
    s, err = await api.call("GET", "/api/v1/tickets?sort=relevance", "agent")
    assert s == 400 and err["details"][0]["field"] and "搜索词" in err["details"][0]["message"]
    s, err = await api.call("GET", "/api/v1/tickets?q=%EF%BC%8C%EF%BC%8C", "agent")  # "，，": nothing to look for
    assert s == 400 and err["details"][0]["field"] == "q"


async def test_the_index_follows_changes_of_the_searched_fields(api: TicketsApi) -> None:
    """What a correction (another module's) does: change the fields, then ``search.reindex``."""
    t = await api.new_ticket(content="下水道堵塞", address="东岗西路")
    assert await _ids(api, "q=下水道") == [t["id"]]
    async with api.db.session() as s:
        row = await s.get(Ticket, t["id"])
        assert row is not None
        row.content, row.address, row.phone = "暖气不热", "雁滩路", "09318888888"
        await s.flush()
        await search.reindex(s, row)
    assert await _ids(api, "q=下水道") == [] and await _ids(api, "q=东岗") == []
    assert await _ids(api, "q=暖气") == [t["id"]] and await _ids(api, "q=雁滩") == [t["id"]]
    assert await _ids(api, "phone_tail=8888") == [t["id"]] and await _ids(api, "phone_tail=5678") == []
    async with api.db.session() as s:
        assert len(list(await s.scalars(select(TicketSearch).where(TicketSearch.ticket_id == t["id"])))) == 1


async def test_filters(api: TicketsApi) -> None:
    a = await api.new_ticket(content="甲", urgency="urgent")
    b = await api.new_ticket(content="乙", channel="web")
    c = await api.new_ticket(content="丙", category="emergency", received_at=(utcnow() - timedelta(days=3)).isoformat())
    await api.act(b["id"], "dispatcher", "dispatch", mode="transfer", department_id="a")
    await api.act(b["id"], "handler_a", "sign")
    s, out = await api.act(b["id"], "handler_a", "request_extension", days=5, reason="需要现场勘查")
    assert s == 200, out
    assert await _ids(api, "pending_extension=true") == [b["id"]]
    assert set(await _ids(api, "pending_extension=false")) == {a["id"], c["id"]}
    assert await _ids(api, "channel=web") == [b["id"]] == await _ids(api, "channel=网站")
    assert await _ids(api, "urgency=紧急") == [a["id"]] == await _ids(api, "urgency=urgent")
    assert await _ids(api, "overdue=true") == [c["id"]]  # an emergency received three days ago
    assert await _ids(api, "status=办理中") == [b["id"]] == await _ids(api, "status=processing")
    assert set(await _ids(api, "status=已受理")) == {a["id"], c["id"]}
    assert await _ids(api, "category=应急") == [c["id"]]
    assert await _ids(api, "mine=true", "handler_a") == [b["id"]]
    assert set(await _ids(api, "mine=true", "agent")) == {a["id"], b["id"], c["id"]}
    assert await _ids(api, "mine=true", "dispatcher") == []
    s, out = await api.act(c["id"], "dispatcher", "supervise")
    assert s == 409  # a new ticket is not under way yet
    s, out = await api.act(b["id"], "supervisor", "supervise")
    assert s == 200, out
    assert await _ids(api, "supervised=true") == [b["id"]]
    s, err = await api.call("GET", "/api/v1/tickets?status=不存在", "agent")
    assert s == 400 and err["details"][0]["field"] == "status" and "没有这个状态" in err["details"][0]["message"]
    s, err = await api.call("GET", "/api/v1/tickets?category=没有", "agent")
    assert s == 400 and err["details"][0]["field"] == "category"


async def test_awaiting_callback_reason_and_satisfaction_filters(api: TicketsApi) -> None:
    done = await api.new_ticket(content="咨询社保")
    s, out = await api.act(done["id"], "agent", "answer", reply="已解答", satisfaction="satisfied")
    assert s == 200, out
    rejected = await api.new_ticket(content="外区的事")
    s, out = await api.act(rejected["id"], "dispatcher", "reject", reason="out_of_jurisdiction")
    assert s == 200, out
    s, out = await api.act(done["id"], "dispatcher", "sample")
    assert s == 200, out
    assert await _ids(api, "awaiting_callback=true") == [done["id"]]
    assert await _ids(api, "reason=不属本辖区管辖") == [rejected["id"]]
    assert await _ids(api, "satisfaction=满意") == [done["id"]] == await _ids(api, "satisfaction=satisfied")
    s, out = await api.act(done["id"], "agent", "rate", rating="satisfied")
    assert s == 200, out
    assert await _ids(api, "awaiting_callback=true") == []


@pytest.mark.parametrize("query", ["phone_tail=123", "phone_tail=abcd", "q=", "q=" + "字" * 101])
async def test_bad_search_input_is_a_400_naming_the_field(api: TicketsApi, query: str) -> None:
    s, err = await api.call("GET", f"/api/v1/tickets?{query}", "agent")
    assert s == 400 and err["details"][0]["field"] == query.split("=")[0], err


async def test_export_takes_the_same_filters(api: TicketsApi) -> None:
    await api.new_ticket(content="噪音扰民")
    await api.new_ticket(content="停水")
    s, body = await api.call("GET", "/api/v1/tickets/export?q=噪音&format=csv", "dispatcher")
    text: Any = body.decode("utf-8-sig")
    assert s == 200 and "噪音扰民" in text and "停水" not in text
    assert "投诉" in text and "电话" in text  # category and channel in Chinese


async def test_a_common_word_is_ranked_among_its_newest_matches(api: TicketsApi,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``EXACT_UP_TO`` matches the receipt index is walked backwards, relevance ranks the newest
    ``RANK_WINDOW`` matches and the total is "more than EXACT_UP_TO"; up to it, every match is ranked and
    counted (here 3 and 2 instead of 5,000 and 500; a total capped at ``COUNT_CAP``, here 4)."""
    from callcore.tickets import queries

    start = utcnow() - timedelta(hours=5)
    made = []
    for i, content in enumerate(["积水积水积水积水", "积水", "路面积水", "积水严重", "门口积水"]):
        made.append(await api.new_ticket(content=content, received_at=(start + timedelta(hours=i)).isoformat()))
    status, out = await api.call("GET", "/api/v1/tickets?q=积水", "agent")
    assert out["items"][0]["id"] == made[0]["id"] and (out["total"], out["total_is_lower_bound"]) == (5, False)
    monkeypatch.setattr(queries, "COUNT_CAP", 4)
    status, out = await api.call("GET", "/api/v1/tickets?q=积水&limit=2", "agent")
    assert (out["total"], out["total_is_lower_bound"]) == (4, True)
    monkeypatch.setattr(queries, "RANK_WINDOW", 2)
    monkeypatch.setattr(queries, "EXACT_UP_TO", 3)
    status, out = await api.call("GET", "/api/v1/tickets?q=积水", "agent")
    assert {t["id"] for t in out["items"]} == {made[3]["id"], made[4]["id"]}  # the best of the two newest
    assert (out["total"], out["total_is_lower_bound"]) == (3, True)
    assert await _ids(api, "q=积水&sort=-received_at&limit=3") == [made[4]["id"], made[3]["id"], made[2]["id"]]
    assert await _ids(api, "q=积水严重") == [made[3]["id"]]  # a rare word: every match, exactly


@pytest.mark.parametrize("exact_up_to", [5_000, 1])
async def test_words_with_a_department(api: TicketsApi, monkeypatch: pytest.MonkeyPatch, exact_up_to: int) -> None:
    """Few matches are read and then filtered; common ones (past ``EXACT_UP_TO``, here also 1) walk the
    department's inbox on PostgreSQL. Either way: only the department's matching tickets, in order."""
    from callcore.tickets import queries

    monkeypatch.setattr(queries, "EXACT_UP_TO", exact_up_to)
    start = utcnow() - timedelta(hours=5)
    made = []
    for i, (content, dep) in enumerate([("积水积水积水", "a"), ("积水", "a"), ("积水", "b"), ("停电", "a"),
                                        ("门口积水", "a")]):
        t = await api.new_ticket(content=content, received_at=(start + timedelta(hours=i)).isoformat())
        s, out = await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id=dep)
        assert s == 200, out
        made.append(t)
    assert await _ids(api, "q=积水&department_id=a&sort=-received_at") == [made[4]["id"], made[1]["id"], made[0]["id"]]
    assert (await _ids(api, "q=积水&department_id=a"))[0] == made[0]["id"]
    assert await _ids(api, "q=积水&sort=-received_at", "handler_b") == [made[2]["id"]]
    assert await _ids(api, "q=积水&status=dispatched&department_id=a&limit=2&sort=-received_at") == [
        made[4]["id"], made[1]["id"]]
    assert await _ids(api, "q=停电&department_id=b") == []
