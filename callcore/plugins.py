"""The ordered list of capabilities the daemon runs: a new capability is one line here.

Order matters: a plugin's ``build`` may use what an earlier one provided (the call journal and
Stasis app first, the IVR last), and ``stop`` runs in reverse.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from callcore.plugin import Plugin
from callcore.store.base import Base

PLUGINS: tuple[str, ...] = (
    "callcore.calls.plugin:CallsPlugin",
    "callcore.accounts.plugin:AccountsPlugin",
    "callcore.tickets.plugin:TicketsPlugin",
    "callcore.routing.plugin:RoutingPlugin",
    "callcore.ivr.plugin:IvrPlugin",
    "callcore.recordings.plugin:RecordingsPlugin",
    "callcore.queues.plugin:QueuesPlugin",
    "callcore.callbacks.plugin:CallbacksPlugin",
    "callcore.surveys.plugin:SurveysPlugin",
    "callcore.console.plugin:ConsolePlugin",
)


def plugin_classes() -> list[type[Plugin]]:
    out = []
    for spec in PLUGINS:
        module, _, name = spec.partition(":")
        cls = getattr(importlib.import_module(module), name)
        if not (isinstance(cls, type) and issubclass(cls, Plugin)):
            raise TypeError(f"{spec} is not a Plugin")
        out.append(cls)
    return out


def load_models() -> MetaData:
    """Imports every capability's models so ``Base.metadata`` is complete (Alembic, tests)."""
    for cls in plugin_classes():
        for name in cls.models:
            importlib.import_module(name)
    return Base.metadata
