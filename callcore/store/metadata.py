"""Imports every capability's models so ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from callcore.store.base import Base

MODEL_MODULES = (
    "callcore.calls.models",
    "callcore.tickets.models",
    "callcore.accounts.models",
    "callcore.ivr.models",
    "callcore.routing.models",
)


def load_all() -> MetaData:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
