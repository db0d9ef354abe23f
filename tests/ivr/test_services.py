from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from callcore.config import AgiSettings, Settings
from callcore.ivr.services import IvrService
from callcore.routing.hours import is_open
from callcore.store.base import utcnow
from callcore.store.db import Database
from callcore.core.tasks import TaskSet

from tests.agi.fake_asterisk import FakeAsterisk

SHIPPED = Path(__file__).resolve().parents[2] / "ivr" / "main.yaml"


async def test_build_start_route_stop(db: Database, tmp_path: Path) -> None:
    ivr_dir = tmp_path / "ivr"
    ivr_dir.mkdir()
    (ivr_dir / "main.yaml").write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    settings = replace(Settings(run_dir=tmp_path, ivr_dir=ivr_dir), agi=AgiSettings(port=0))
    service = IvrService.build(settings, db)
    tasks = TaskSet("test")
    await service.start(tasks)
    try:
        assert service.registry.current("main").version == 1
        # The shipped menu's hours decide; read them on each side of the call (the route may not
        # depend on a clock that moved across opening time in between).
        hours = service.registry.current("main").menu.hours
        assert hours is not None
        before = "normal" if is_open(hours, utcnow()) else "afterhours"
        fake = FakeAsterisk(service.agi.port)
        await fake.run()
        after = "normal" if is_open(hours, utcnow()) else "afterhours"
        assert fake.variables["CALLCORE_ROUTE"] in {before, after}  # one value unless opening time fell in between
    finally:
        await service.stop()
        await tasks.cancel_all()
