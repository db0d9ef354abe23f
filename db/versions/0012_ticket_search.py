"""ticket search: segmented full-text index over content, address and caller name; phone tail (issue 14)

Revision ID: 0012_ticket_search
Revises: 0011_ticket_workflow
Create Date: 2026-12-01 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import callcore.store.base  # noqa: F401


revision = '0012_ticket_search'
down_revision = '0011_ticket_workflow'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
