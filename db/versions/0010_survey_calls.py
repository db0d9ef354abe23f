"""survey calls: the automatic survey calls about tickets sampled for a satisfaction callback (W-12)

Revision ID: 0010_survey_calls
Revises: 0009_surveys
Create Date: 2026-12-10 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callcore.store.base


revision = '0010_survey_calls'
down_revision = '0009_surveys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_calls',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('started_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_calls'))
    )
    with op.batch_alter_table('survey_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_calls_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('survey_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_calls_ticket_id'))
    op.drop_table('survey_calls')
