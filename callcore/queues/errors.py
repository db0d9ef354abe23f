"""Typed errors of the queue capability, domain errors with a status and a stable ``error_id``."""

from __future__ import annotations

from dataclasses import dataclass

from callcore.core.errors import DomainError


class QueueError(DomainError):
    status = 400
    error_id = "queue_error"


class IllegalAgentTransition(QueueError):
    """The event is not allowed in the agent's state; the message names both (like a workflow)."""

    status = 409
    error_id = "illegal_agent_transition"

    def __init__(self, status_name: str, event: str, why: str = "") -> None:
        text = f"event {event!r} is not allowed for an agent in state {status_name!r}"
        super().__init__(text + (f": {why}" if why else ""))
        self.status_name = status_name
        self.event = event
        self.why = why


@dataclass(frozen=True)
class Fault:
    """One thing wrong with a configuration: the dotted path of the field and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class QueueSettingsError(QueueError, ValueError):
    """A queue configuration was refused; ``faults`` lists every fault found, not only the first."""

    error_id = "invalid_queue_settings"

    def __init__(self, faults: list[Fault]) -> None:
        super().__init__("; ".join(str(f) for f in faults))
        self.faults = list(faults)
