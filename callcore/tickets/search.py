"""Finding tickets by what people remember of them (issue 14): a word of the content, the address or
the caller's name, in Chinese; or the last four digits of the phone.

Chinese has no spaces, so the text is segmented with jieba (search mode: a long word and its shorter
words) before either database sees it. Segmenters disagree with themselves across contexts (jieba
reads 路灯不亮 as 路 / 灯不亮, and 路灯 alone as 路灯), so every pair of adjacent Chinese characters
is indexed as well: a query word matches a ticket holding the word, or all of the word's character
pairs. Ranking favours whole words (each adds to the score).

One row per ticket in ``ticket_search`` holds the phone's tail, the receipt time and the segmented
text (words separated by spaces), which each database indexes its own way:

- PostgreSQL: ``vector``, a tsvector of the text with the ``simple`` configuration (no stemming, no
  stop words: the words are already cut), under a GIN index; ranked by ``ts_rank``. ``terms`` stays
  empty: searches read the rows of their matches, and a row half the size is half the pages read.
- SQLite: an FTS5 table over ``terms`` (external content, kept in step by triggers), ranked by BM25;
  ``vector`` stays empty.

``reindex`` is called in the transaction of every change of the searched fields (creation,
corrections), so search never lags a ticket.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jieba
from sqlalchemy import (
    DDL,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    column,
    event,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import Select

from callcore.store.base import Base, UTCDateTime
from callcore.tickets.errors import BadTicketInput
from callcore.tickets.models import Ticket
from callcore.tickets.phones import tail

FTS_TABLE = "ticket_fts"
# What SQLite keeps for the FTS5 table besides its own name; not models (see ``UNMANAGED``).
FTS_SHADOWS = tuple(f"{FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config"))
# Tables the database derives from the models (the FTS5 index): Alembic's comparison leaves them alone.
UNMANAGED = frozenset({FTS_TABLE, *FTS_SHADOWS})
Base.metadata.info.setdefault("unmanaged_tables", set()).update(UNMANAGED)

# A query this long (characters) or with more words than this is cut: nobody remembers more.
MAX_QUERY = 100
MAX_WORDS = 12
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[0-9a-z{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
# A query's pieces: runs of letters and digits, runs of Chinese.
_PIECE = re.compile(rf"[0-9a-z]+|[{_CJK}]+")


class TicketSearch(Base):
    """What a ticket is found by: its segmented words and its phone's last four digits."""

    __tablename__ = "ticket_search"
    __table_args__ = (
        Index("ix_ticket_search_phone_tail", "phone_tail", "ticket_id"),
        # The newest matches of a frequent word: a backward range scan, stopping at the page.
        Index("ix_ticket_search_received_at", "received_at", "ticket_id"),
        Index("ix_ticket_search_vector", "vector", postgresql_using="gin"),
    )

    # An integer key: the rowid of the SQLite FTS5 index (a rowid that VACUUM never renumbers).
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    phone_tail: Mapped[str] = mapped_column(String(4), default="")
    # The ticket's receipt (never corrected): searches order and rank without reading the tickets.
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    terms: Mapped[str] = mapped_column(Text, default="")
    vector: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"), nullable=True)


# SQLite's FTS5 over ``ticket_search.terms``, the external-content pattern of https://sqlite.org/fts5.html
# (4.4.3): the triggers keep the index in step with every insert, update (upserts too) and delete.
SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(terms, content='ticket_search', content_rowid='id', "
    "tokenize='unicode61')",
    f"CREATE TRIGGER ticket_search_ai AFTER INSERT ON ticket_search BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, terms) VALUES (new.id, new.terms); END",
    f"CREATE TRIGGER ticket_search_ad AFTER DELETE ON ticket_search BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    f"CREATE TRIGGER ticket_search_au AFTER UPDATE OF terms ON ticket_search BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, terms) VALUES ('delete', old.id, old.terms); "
    f"INSERT INTO {FTS_TABLE}(rowid, terms) VALUES (new.id, new.terms); END",
)
# The FTS5 table as queries name it (not a model: SQLite makes it, see above).
_FTS = table(FTS_TABLE, column("rowid", Integer))
for _statement in SQLITE_DDL:
    event.listen(TicketSearch.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]

# -- segmentation -------------------------------------------------------------------------------------

_tokenizer: jieba.Tokenizer | None = None
_tokenizer_lock = threading.Lock()


def segmenter() -> jieba.Tokenizer:
    """jieba's tokenizer, its dictionary (shipped in the package) loaded once: ~1 s, so the plugin
    warms it up in a thread at start rather than in the first request."""
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.initialize()
            _tokenizer = tk
        return _tokenizer


def _pairs(text: str) -> list[str]:
    return [run[i:i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]


def document(*fields: str) -> str:
    """The indexed words of a ticket's fields: jieba's search-mode words and every pair of adjacent
    Chinese characters, lowercased, separated by spaces (punctuation dropped)."""
    text = " ".join(f for f in fields if f).lower()
    if not text.strip():
        return ""
    words = [w for w in segmenter().cut_for_search(text) if _WORD.fullmatch(w)]
    alnum = [p for p in _PIECE.findall(text) if not _CJK_RUN.fullmatch(p) and p not in words]
    return " ".join(words + alnum + _pairs(text))


@dataclass(frozen=True)
class Clause:
    """One word of a query, matched by any of its alternatives, each a set of indexed words that must
    all be there: the word itself; for a Chinese word of 3+ characters all its pairs; for a single
    character, the pair it forms with a neighbour in the query (jieba cuts 杨先生 as 杨 / 先生 in a query
    but keeps it whole in a ticket, where its pairs are 杨先 and 先生)."""

    word: str
    alternatives: tuple[tuple[str, ...], ...] = ()

    @property
    def options(self) -> tuple[tuple[str, ...], ...]:
        return ((self.word,), *self.alternatives)


def parse(query: str) -> list[Clause]:
    """The words of a query (runs of letters and digits; jieba's precise cut of each run of Chinese), each a
    ``Clause``."""
    clauses: dict[str, Clause] = {}
    for run in _PIECE.findall(query.lower()[:MAX_QUERY]):
        if not _CJK_RUN.fullmatch(run):
            clauses.setdefault(run, Clause(run))
            continue
        at = 0
        for w in segmenter().cut(run):
            start, at = at, at + len(w)
            if len(w) >= 3:
                alternatives: tuple[tuple[str, ...], ...] = (tuple(_pairs(w)),)
            elif len(w) == 1:
                alternatives = tuple((run[i:i + 2],) for i in (start - 1, start) if 0 <= i and i + 2 <= len(run))
            else:
                alternatives = ()
            clauses.setdefault(w, Clause(w, alternatives))
    return list(clauses.values())[:MAX_WORDS]


def _boolean(clauses: Iterable[Clause], *, quote: str, and_: str, or_: str) -> str:
    """Every clause must match; a clause matches one of its options; an option is all of its words."""
    def group(parts: list[str], op: str) -> str:
        return parts[0] if len(parts) == 1 else "(" + op.join(parts) + ")"

    return and_.join(group([group([f"{quote}{w}{quote}" for w in o], and_) for o in c.options], or_) for c in clauses)


def fts5_query(clauses: Iterable[Clause]) -> str:
    """An FTS5 MATCH expression (tokens quoted; they hold only letters, digits and CJK)."""
    return _boolean(clauses, quote='"', and_=" AND ", or_=" OR ")


def ts_query(clauses: Iterable[Clause]) -> str:
    """A ``to_tsquery('simple', ...)`` expression (lexemes quoted)."""
    return _boolean(clauses, quote="'", and_=" & ", or_=" | ")


# -- the index ----------------------------------------------------------------------------------------

def _simple() -> ColumnElement[str]:
    # A literal, not a parameter: a parameter cast to regconfig is evaluated again for every row.
    return literal_column("'simple'::regconfig", REGCONFIG)


def _tsquery(clauses: Iterable[Clause]) -> ColumnElement[Any]:
    """The query as a tsquery literal: a parameter would be parsed again for every row a plan filters
    (PostgreSQL folds it only in custom plans). Safe to inline: lexemes hold only letters, digits and
    Chinese characters, and the quotes are doubled."""
    return literal_column("'" + ts_query(clauses).replace("'", "''") + "'::tsquery", TSQUERY)


async def reindex(s: AsyncSession, t: Ticket) -> None:
    """Brings the ticket's search row up to date with its searched fields (content, address, caller name,
    title) and phone: call it in the transaction that changed any of them (after a flush of the ticket)."""
    values = {"ticket_id": t.id, "phone_tail": tail(t.phone or ""), "received_at": t.received_at,
              "terms": document(t.caller_name or "", t.address or "", t.title or "", t.content or "")}
    if s.get_bind().dialect.name == "postgresql":
        pg = pg_insert(TicketSearch).values(**{**values, "terms": ""},
                                            vector=func.to_tsvector(_simple(), values["terms"]))
        await s.execute(pg.on_conflict_do_update(index_elements=["ticket_id"], set_={
            "phone_tail": pg.excluded.phone_tail, "received_at": pg.excluded.received_at, "terms": pg.excluded.terms,
            "vector": pg.excluded.vector}))
    else:
        lite = sqlite_insert(TicketSearch).values(**values)
        await s.execute(lite.on_conflict_do_update(index_elements=["ticket_id"], set_={
            "phone_tail": lite.excluded.phone_tail, "received_at": lite.excluded.received_at,
            "terms": lite.excluded.terms}))


def _clauses(query: str) -> list[Clause]:
    clauses = parse(query)
    if not clauses:
        raise BadTicketInput("q", f"搜索词中没有可查找的文字：{query[:MAX_QUERY]}")
    return clauses


def pg_match(query: str) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
    """PostgreSQL's condition on a ``TicketSearch`` row and its rank, for plans that join the rows themselves."""
    tsq = _tsquery(_clauses(query))
    return TicketSearch.vector.op("@@")(tsq), func.ts_rank(TicketSearch.vector, tsq)


def hits(dialect: str, query: str) -> Select[Any]:
    """(ticket_id, received_at, rank) of the tickets matching ``query`` (a higher rank is a better match);
    a query without a searchable word is a 400."""
    ts = TicketSearch
    if dialect == "postgresql":
        match, rank = pg_match(query)
        return select(ts.ticket_id, ts.received_at, rank.label("rank")).where(match)
    clauses = _clauses(query)
    fts: ColumnElement[Any] = literal_column(FTS_TABLE)
    return (select(ts.ticket_id, ts.received_at, (-func.bm25(fts)).label("rank"))
            .select_from(ts).join(_FTS, _FTS.c.rowid == ts.id)
            .where(fts.op("MATCH")(fts5_query(clauses))))


def by_phone_tail(digits: str) -> Select[Any]:
    return select(TicketSearch.ticket_id).where(TicketSearch.phone_tail == digits)
