from __future__ import annotations

from pathlib import Path

import pytest

from callcore.ivr import versions
from callcore.ivr.registry import MenuRegistry, MenuRejected, UnknownMenu
from callcore.ivr.validator import PromptDirs
from callcore.store.db import Database

from tests.ivr.menus import GOOD

GOOD_MAIN = GOOD.replace("menu: t\n", "menu: main\n")
V2 = GOOD_MAIN.replace('version: "1"', 'version: "2"').replace("咨询请按1", "咨询服务请按1")
BROKEN = GOOD_MAIN.replace('"0": agent', '"0": nowhere')


def registry(tmp_path: Path, db: Database | None) -> MenuRegistry:
    return MenuRegistry(ivr_dir=tmp_path / "ivr", dirs=PromptDirs(sounds_dir=tmp_path / "sounds"), db=db)


async def test_propose_validates_stores_and_writes_file(tmp_path: Path, db: Database) -> None:
    reg = registry(tmp_path, db)
    with pytest.raises(UnknownMenu):
        reg.current("main")
    active = await reg.propose("main", GOOD_MAIN, author="admin")
    assert reg.current("main") is active and active.version == 1
    assert (tmp_path / "ivr" / "main.yaml").read_text(encoding="utf-8") == GOOD_MAIN
    row = await versions.latest(db, "main")
    assert row is not None and row.author == "admin" and row.source == GOOD_MAIN and row.created_at.tzinfo


async def test_invalid_change_is_refused_and_the_menu_in_service_stays(tmp_path: Path, db: Database) -> None:
    reg = registry(tmp_path, db)
    first = await reg.propose("main", GOOD_MAIN, author="admin")
    with pytest.raises(MenuRejected) as info:
        await reg.propose("main", BROKEN, author="admin")
    assert [(f.line, "unknown target 'nowhere'" in f.message) for f in info.value.faults] == [(16, True)]
    assert reg.current("main") is first
    assert [v.version for v in await versions.list_versions(db, "main")] == [1]
    assert (tmp_path / "ivr" / "main.yaml").read_text(encoding="utf-8") == GOOD_MAIN


async def test_wrong_menu_name_is_refused(tmp_path: Path) -> None:
    reg = registry(tmp_path, None)
    with pytest.raises(MenuRejected, match="declares menu 't'"):
        await reg.propose("main", GOOD, author="admin")


async def test_calls_keep_their_version_and_rollback_adds_one(tmp_path: Path, db: Database) -> None:
    reg = registry(tmp_path, db)
    v1 = await reg.propose("main", GOOD_MAIN, author="admin")
    in_call = reg.current("main")
    v2 = await reg.propose("main", V2, author="ops", comment="wording")
    assert in_call is v1 and in_call.menu.label == "1"
    assert reg.current("main") is v2 and v2.version == 2
    back = await reg.rollback("main", 1, author="admin")
    assert back.version == 3 and back.menu.label == "1"
    rows = await versions.list_versions(db, "main")
    assert [(r.version, r.origin, r.based_on) for r in rows] == [(3, "rollback", 1), (2, "api", None), (1, "api", None)]
    with pytest.raises(UnknownMenu):
        await reg.rollback("main", 42, author="admin")


async def test_files_are_picked_up_without_restart(tmp_path: Path, db: Database) -> None:
    (tmp_path / "ivr").mkdir()
    path = tmp_path / "ivr" / "main.yaml"
    path.write_text(GOOD_MAIN, encoding="utf-8")
    reg = registry(tmp_path, db)
    await reg.load()
    assert reg.current("main").version == 1
    # A restart with the same file adds no version.
    again = registry(tmp_path, db)
    await again.load()
    assert again.current("main").version == 1 and again.current("main").sha256 == versions.sha256(GOOD_MAIN)
    # An invalid edit is refused, a valid one goes into service.
    path.write_text(BROKEN, encoding="utf-8")
    assert await reg.scan() == []
    assert reg.current("main").version == 1
    path.write_text(V2, encoding="utf-8")
    assert await reg.scan() == ["main"]
    assert reg.current("main").version == 2 and reg.current("main").author == "file:main.yaml"
    assert await reg.scan() == []


async def test_start_with_invalid_file_keeps_stored_version(tmp_path: Path, db: Database) -> None:
    reg = registry(tmp_path, db)
    await reg.propose("main", GOOD_MAIN, author="admin")
    (tmp_path / "ivr" / "main.yaml").write_text(BROKEN, encoding="utf-8")
    restarted = registry(tmp_path, db)
    await restarted.load()
    assert restarted.current("main").version == 1


async def test_store_down_at_start_serves_the_file_and_stores_it_later(tmp_path: Path, db: Database) -> None:
    (tmp_path / "ivr").mkdir()
    (tmp_path / "ivr" / "main.yaml").write_text(GOOD_MAIN, encoding="utf-8")
    down = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    reg = registry(tmp_path, down)
    try:
        await reg.load()
        assert reg.current("main").version == 0 and reg.current("main").menu.label == "1"
        with pytest.raises(OSError):
            await reg.propose("main", V2, author="admin")  # an API change needs the store
        assert reg.current("main").version == 0
    finally:
        await down.close()
    reg.db = db  # the store is back
    assert await reg.scan() == []
    assert reg.current("main").version == 1
    assert [v.origin for v in await versions.list_versions(db, "main")] == ["file"]


async def test_saving_the_same_menu_again_makes_no_new_version(tmp_path: Path, db: Database) -> None:
    """Issue 12: 26 identical saves in 3 s made 26 versions."""
    reg = registry(tmp_path, db)
    first = await reg.propose("main", GOOD_MAIN, author="admin")
    for _ in range(3):
        assert await reg.propose("main", GOOD_MAIN, author="admin") is first
    second = await reg.propose("main", V2, author="admin")
    assert second.version == 2
    assert (await reg.propose("main", GOOD_MAIN, author="admin")).version == 3  # back to the first text: a change
    assert sorted(v.version for v in await versions.list_versions(db, "main")) == [1, 2, 3]
