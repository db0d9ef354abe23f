"""recordings: one row per recording of a call's bridge (T-9)

Revision ID: 0006_recordings
Revises: 0005_queues
Create Date: 2026-12-08 06:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callcore.store.base


revision = '0006_recordings'
down_revision = '0005_queues'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recordings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('bridge_id', sa.String(length=64), nullable=False),
    sa.Column('agent', sa.String(length=8), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=True),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('missing', sa.Boolean(), nullable=False),
    sa.Column('error', sa.String(length=256), nullable=True),
    sa.Column('backed_up_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('name', name=op.f('uq_recordings_name'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_status'))
        batch_op.drop_index(batch_op.f('ix_recordings_started_at'))
        batch_op.drop_index(batch_op.f('ix_recordings_call_id'))
    op.drop_table('recordings')
