"""ticket workflow: corrections, deadline pauses, instructions, first-responsible handler, calendar recomputation (issue 14)

Revision ID: 0011_ticket_workflow
Revises: 0010_survey_calls
Create Date: 2026-12-01 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011_ticket_workflow'
down_revision = '0010_survey_calls'
branch_labels = None
depends_on = None


COLUMNS = ('due_from', 'due_days', 'paused_days', 'due_unverified', 'approved_until', 'paused_on', 'pause_kind',
           'first_responsible_id', 'first_responsible_name')


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('due_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('paused_days', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('due_unverified', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('approved_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('paused_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('pause_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('first_responsible_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('first_responsible_name', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_tickets_due_unverified', ['due_unverified', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_due_unverified')
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
