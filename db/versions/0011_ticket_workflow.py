"""ticket workflow: corrections, deadline pauses, instructions, first-responsible handler, calendar recomputation (issue 14)

Revision ID: 0011_ticket_workflow
Revises: 0010_survey_calls
Create Date: 2026-12-01 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import callcore.store.base  # noqa: F401


revision = '0011_ticket_workflow'
down_revision = '0010_survey_calls'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
