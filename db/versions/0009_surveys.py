"""surveys: one rating per surveyed call (T-14, W-12)

Revision ID: 0009_surveys
Revises: 0008_callbacks
Create Date: 2026-12-11 06:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callcore.store.base


revision = '0009_surveys'
down_revision = '0008_callbacks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_ratings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=True),
    sa.Column('agent', sa.String(length=8), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 4', name=op.f('ck_survey_ratings_rating')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_ratings')),
    sa.UniqueConstraint('call_id', name=op.f('uq_survey_ratings_call_id'))
    )
    with op.batch_alter_table('survey_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_ratings_agent'), ['agent'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_ratings_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_ratings_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('survey_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_ratings_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_survey_ratings_at'))
        batch_op.drop_index(batch_op.f('ix_survey_ratings_agent'))
    op.drop_table('survey_ratings')
