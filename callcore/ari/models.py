"""The parts of ARI's data model callcore reads, parsed once at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str
    state: str
    caller_number: str
    caller_name: str
    exten: str
    context: str
    app_name: str
    app_data: str

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Channel:
        caller = raw.get("caller") or {}
        plan = raw.get("dialplan") or {}
        return cls(
            id=str(raw.get("id", "")),
            name=str(raw.get("name", "")),
            state=str(raw.get("state", "")),
            caller_number=str(caller.get("number", "")),
            caller_name=str(caller.get("name", "")),
            exten=str(plan.get("exten", "")),
            context=str(plan.get("context", "")),
            app_name=str(plan.get("app_name", "")),
            app_data=str(plan.get("app_data", "")),
        )

    @property
    def stasis_args(self) -> list[str]:
        """The arguments after the app name of a parked ``Stasis(app, arg1, ...)``, e.g. ``["inbound", "route=normal"]``."""
        return [a.strip() for a in self.app_data.split(",")[1:]]

    def in_stasis_app(self, app: str) -> bool:
        """Whether the dialplan has this channel parked in ``Stasis(app, ...)``."""
        return self.app_name.lower() == "stasis" and self.app_data.split(",", 1)[0].strip() == app
