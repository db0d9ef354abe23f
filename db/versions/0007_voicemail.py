"""voicemail: messages callers leave are recordings of kind voicemail, with a mailbox and handling (T-10)

Revision ID: 0007_voicemail
Revises: 0006_recordings
Create Date: 2026-12-09 06:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callcore.store.base


revision = '0007_voicemail'
down_revision = '0006_recordings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='call', nullable=False))
        batch_op.add_column(sa.Column('mailbox', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('quality', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('handled_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('handled_by', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_recordings_kind'), ['kind'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_kind'))
        batch_op.drop_column('handled_by')
        batch_op.drop_column('handled_at')
        batch_op.drop_column('quality')
        batch_op.drop_column('mailbox')
        batch_op.drop_column('kind')
