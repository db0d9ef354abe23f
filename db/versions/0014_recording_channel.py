"""recordings.channel_id: the channel MixMonitor records (issue 10: recording moves off the bridge)

Revision ID: 0014_recording_channel
Revises: 0013_api_keys
Create Date: 2026-12-01 20:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014_recording_channel'
down_revision = '0013_api_keys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_id', sa.String(length=64), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_column('channel_id')
