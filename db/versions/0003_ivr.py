"""ivr menu versions and blocked numbers

Revision ID: 0003_ivr
Revises: 0001_calls
Create Date: 2026-11-23 23:32:00

Chained after 0001_calls because no 0002 existed when it was written; a tickets migration added
later must chain after 0003_ivr (or this one re-pointed) so there is one head.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callcore.store.base


revision = '0003_ivr'
down_revision = '0001_calls'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ivr_menu_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('menu', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('author', sa.String(length=128), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.String(length=256), nullable=False),
    sa.Column('based_on', sa.Integer(), nullable=True),
    sa.Column('created_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ivr_menu_versions')),
    sa.UniqueConstraint('menu', 'version', name='uq_ivr_menu_versions_menu_version')
    )
    with op.batch_alter_table('ivr_menu_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ivr_menu_versions_menu'), ['menu'], unique=False)

    op.create_table('blocked_numbers',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=256), nullable=False),
    sa.Column('added_by', sa.String(length=128), nullable=False),
    sa.Column('added_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('until', callcore.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_blocked_numbers'))
    )


def downgrade() -> None:
    op.drop_table('blocked_numbers')
    with op.batch_alter_table('ivr_menu_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ivr_menu_versions_menu'))
    op.drop_table('ivr_menu_versions')
