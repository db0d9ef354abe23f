"""call outcomes on the call rows

Revision ID: 0004_call_outcomes
Revises: 0002_tickets
Create Date: 2026-12-01 09:00:00

Every ended call gets its one outcome (C-2) and the facts the figures need (C-3), written by the
journal when the call ends (issue 9). Nullable: calls still active have none, and calls stored
before this revision keep the old ``loss_stage`` and no outcome.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callcore.store.base


revision = '0004_call_outcomes'
down_revision = '0002_tickets'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('queue', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('agent', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('waited', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('queue_entered_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('agent_answered_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('talk_ended_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('wrap_up_seconds', sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f('ix_calls_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_queue'), ['queue'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_agent'), ['agent'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_agent'))
        batch_op.drop_index(batch_op.f('ix_calls_queue'))
        batch_op.drop_index(batch_op.f('ix_calls_outcome'))
        batch_op.drop_column('wrap_up_seconds')
        batch_op.drop_column('talk_ended_at')
        batch_op.drop_column('agent_answered_at')
        batch_op.drop_column('queue_entered_at')
        batch_op.drop_column('waited')
        batch_op.drop_column('position')
        batch_op.drop_column('agent')
        batch_op.drop_column('queue')
        batch_op.drop_column('outcome')
