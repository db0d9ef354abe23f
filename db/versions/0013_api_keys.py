"""third-party API keys for Open311 and handlers' mobiles (issue 14)

Revision ID: 0013_api_keys
Revises: 0012_ticket_search
Create Date: 2026-12-01 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import callcore.store.base  # noqa: F401


revision = '0013_api_keys'
down_revision = '0012_ticket_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
