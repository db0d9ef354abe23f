"""The application context: one service per kind, a missing capability is a clear 503."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcore.config import Settings
from callcore.core.context import AppContext
from callcore.core.errors import ServiceUnavailable
from callcore.store.db import Database


class Clock:
    pass


class OtherClock(Clock):
    pass


def ctx(tmp_path: Path) -> AppContext:
    return AppContext(settings=Settings(run_dir=tmp_path), db=Database(f"sqlite+aiosqlite:///{tmp_path}/x.db"))


async def test_provide_then_get_by_class_or_declared_kind(tmp_path: Path) -> None:
    c = ctx(tmp_path)
    clock = c.provide(Clock())
    assert c.get(Clock) is clock and c.has(Clock) and not c.has(OtherClock)
    other = c.provide(OtherClock())
    assert c.get(OtherClock) is other and c.get(Clock) is clock
    await c.db.close()


async def test_a_second_service_of_a_kind_is_refused(tmp_path: Path) -> None:
    c = ctx(tmp_path)
    c.provide(Clock())
    with pytest.raises(RuntimeError, match="already provided"):
        c.provide(OtherClock(), kind=Clock)
    await c.db.close()


async def test_a_service_nobody_provides_is_503(tmp_path: Path) -> None:
    c = ctx(tmp_path)
    with pytest.raises(ServiceUnavailable) as err:
        c.get(Clock)
    assert err.value.status == 503 and err.value.error_id == "unavailable" and "Clock" in err.value.message
    await c.db.close()
