"""Every input model of the API (bodies and queries) shares one rule: no NUL characters in text.

PostgreSQL cannot store U+0000 in text columns (it answers "invalid byte sequence"), so a NUL
must be a 400 naming the field, never a 500 from the database.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, field_validator


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return False


class InputModel(BaseModel):
    model_config = {"extra": "forbid"}

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


def _plausible(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST.date()} and {LATEST.date()}")
    return value


EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)
# Instants and days the store can hold on every backend (year 1 in +08:00 is year 0 in UTC).
Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]
Day = Annotated[date, Field(ge=date(1970, 1, 2), le=date(2099, 12, 31))]
