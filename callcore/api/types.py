"""Field types the API's schemas share."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import PlainSerializer


def _utc_millis(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# C-1: times leave the API in UTC with milliseconds, e.g. 2026-11-23T08:00:00.123Z.
UtcMillis = Annotated[datetime, PlainSerializer(_utc_millis, return_type=str, when_used="json")]
