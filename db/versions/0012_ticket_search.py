"""ticket search: segmented full-text index over content, address and caller name; phone tail (issue 14)

Revision ID: 0012_ticket_search
Revises: 0011_ticket_workflow
Create Date: 2026-12-01 12:00:00

The index of the tickets already stored is built here, with the segmenter the daemon uses
(``callcore.tickets.search.document``), a thousand tickets at a time.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import callcore.store.base
from callcore.tickets import phones, search

revision = '0012_ticket_search'
down_revision = '0011_ticket_workflow'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.create_table('ticket_search',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('phone_tail', sa.String(length=4), nullable=False),
    sa.Column('received_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('vector', postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_search_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_search')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_ticket_search_ticket_id'))
    )
    op.create_index('ix_ticket_search_phone_tail', 'ticket_search', ['phone_tail', 'ticket_id'], unique=False)
    op.create_index('ix_ticket_search_received_at', 'ticket_search', ['received_at', 'ticket_id'], unique=False)
    op.create_index('ix_ticket_search_vector', 'ticket_search', ['vector'], unique=False, postgresql_using='gin')
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for statement in search.SQLITE_DDL:
            op.execute(statement)
    _backfill(bind)


def _backfill(bind: sa.engine.Connection) -> None:
    pg = bind.dialect.name == 'postgresql'
    insert = sa.text(
        'INSERT INTO ticket_search (ticket_id, phone_tail, received_at, terms, vector) '
        + ("VALUES (:ticket_id, :phone_tail, :received_at, '', to_tsvector('simple'::regconfig, :terms))" if pg
           else 'VALUES (:ticket_id, :phone_tail, :received_at, :terms, NULL)'))
    last = ''
    while True:
        rows = bind.execute(sa.text(
            'SELECT id, phone, received_at, caller_name, address, title, content FROM tickets WHERE id > :last '
            'ORDER BY id LIMIT :n'),
            {'last': last, 'n': BATCH}).all()
        if not rows:
            return
        bind.execute(insert, [{'ticket_id': r.id, 'phone_tail': phones.tail(r.phone or ''), 'received_at': r.received_at,
                               'terms': search.document(r.caller_name or '', r.address or '', r.title or '',
                                                        r.content or '')} for r in rows])
        last = rows[-1].id


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in ('ticket_search_ai', 'ticket_search_ad', 'ticket_search_au'):
            op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
        op.execute(f'DROP TABLE IF EXISTS {search.FTS_TABLE}')
    op.drop_index('ix_ticket_search_vector', table_name='ticket_search', postgresql_using='gin')
    op.drop_index('ix_ticket_search_received_at', table_name='ticket_search')
    op.drop_index('ix_ticket_search_phone_tail', table_name='ticket_search')
    op.drop_table('ticket_search')
