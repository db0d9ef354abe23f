"""callbacks: tasks to call citizens back, their attempts, and the missed calls already decided on (T-11, T-12)

Revision ID: 0008_callbacks
Revises: 0007_voicemail
Create Date: 2026-12-10 06:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callcore.store.base


revision = '0008_callbacks'
down_revision = '0007_voicemail'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A call's direction names calls the hotline places too (callback, click_to_dial).
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.alter_column('direction', existing_type=sa.String(length=8), type_=sa.String(length=16),
                              existing_nullable=False)
    op.create_table('callback_tasks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('open_number', sa.String(length=40), nullable=True),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('entered_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deadline', callcore.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('asked_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_reason', sa.String(length=32), nullable=True),
    sa.Column('agent', sa.String(length=8), nullable=True),
    sa.Column('origins', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_tasks')),
    sa.UniqueConstraint('open_number', name=op.f('uq_callback_tasks_open_number'))
    )
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_tasks_number'), ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_tasks_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_tasks_status'), ['status'], unique=False)
        batch_op.create_index('ix_callback_tasks_status_entered', ['status', 'entered_at'], unique=False)

    op.create_table('callback_attempts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('agent', sa.String(length=8), nullable=True),
    sa.Column('started_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', callcore.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('cause', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['callback_tasks.id'], name=op.f('fk_callback_attempts_task_id_callback_tasks'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_attempts'))
    )
    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_attempts_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_callback_attempts_task', ['task_id', 'n'], unique=False)

    op.create_table('callback_missed_seen',
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('decided_at', callcore.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=24), nullable=False),
    sa.PrimaryKeyConstraint('call_id', name=op.f('pk_callback_missed_seen'))
    )


def downgrade() -> None:
    op.drop_table('callback_missed_seen')
    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_callback_attempts_task')
        batch_op.drop_index(batch_op.f('ix_callback_attempts_call_id'))
    op.drop_table('callback_attempts')
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_callback_tasks_status_entered')
        batch_op.drop_index(batch_op.f('ix_callback_tasks_status'))
        batch_op.drop_index(batch_op.f('ix_callback_tasks_call_id'))
        batch_op.drop_index(batch_op.f('ix_callback_tasks_number'))
    op.drop_table('callback_tasks')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.alter_column('direction', existing_type=sa.String(length=16), type_=sa.String(length=8),
                              existing_nullable=False)
