from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from callcore.config import AgiSettings, Settings
from callcore.ivr.services import IvrService
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
        fake = FakeAsterisk(service.agi.port)
        await fake.run()
        assert fake.variables["CALLCORE_ROUTE"] in ("normal", "afterhours")
    finally:
        await service.stop()
        await tasks.cancel_all()
