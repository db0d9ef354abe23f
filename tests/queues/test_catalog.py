"""The queue file: loaded whole or refused whole with lines and fields, edited atomically with
the other queues kept, concurrent edits refused by version, hand edits taken in by the watcher."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from callcore.ivr import format as menu_format
from callcore.ivr.loader import parse as parse_menu
from callcore.queues.catalog import (
    LocatedFault,
    QueueCatalog,
    QueueFileRejected,
    QueueVersionConflict,
    UnknownQueue,
    parse,
    render,
    version_of,
)
from callcore.queues.errors import QueueSettingsError
from callcore.queues.strategies import Member
from tests.polling import until

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
# Our queues.
# Second header line.

queues:
  - name: general
    display_name: 综合服务
    members: ["1001", {agent: "1002", penalty: 1}]   # a comment the API does not keep
  - name: complaint
    display_name: 投诉举报
    strategy: ringall
    ring_timeout: 20
"""


def write(path: Path, text: str) -> None:
    """Writes and moves the mtime on, so a poll sees the change even within one clock tick."""
    old = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    if st.st_mtime_ns <= old:
        os.utime(path, ns=(st.st_atime_ns, old + 1_000_000))


async def loaded(tmp_path: Path, text: str = GOOD) -> QueueCatalog:
    path = tmp_path / "queues.yaml"
    write(path, text)
    catalog = QueueCatalog(path)
    assert await catalog.reload() is True
    return catalog


def stray_files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name != "queues.yaml")


async def test_the_shipped_file_has_every_queue_the_shipped_menu_uses() -> None:
    catalog = QueueCatalog(ROOT / "queues" / "queues.yaml")
    await catalog.reload()
    menu, faults = parse_menu((ROOT / "ivr" / "main.yaml").read_text(encoding="utf-8"))
    assert menu is not None and not faults
    used = {n.queue for n in menu.nodes.values() if isinstance(n, menu_format.QueueNode)}
    assert used == {"general", "complaint"} and used <= set(catalog.names())
    general, complaint = catalog.get("general"), catalog.get("complaint")
    assert (general.display_name, complaint.display_name) == ("综合服务", "投诉举报")
    assert [(m.agent_id, m.penalty) for m in general.members] == [("1001", 0), ("1002", 0)]
    assert [(m.agent_id, m.penalty) for m in complaint.members] == [("1002", 0), ("1001", 1)]
    for q in (general, complaint):
        assert (q.ring_timeout, q.wrap_up, q.max_wait, q.on_max_wait, q.announce_every, q.music_class) == (
            15, 10, 300, "fallback", 45, "default")


async def test_load_get_all_names(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    assert catalog.names() == ["general", "complaint"]
    assert [q.name for q in catalog.all()] == ["general", "complaint"]
    general = catalog.get("general")
    assert general.members == (Member(agent_id="1001", penalty=0, order=0), Member(agent_id="1002", penalty=1, order=1))
    assert catalog.get("complaint").ring_timeout == 20 and len(catalog.version) == 16
    assert catalog.version_of("general") == version_of(general)
    with pytest.raises(UnknownQueue):
        catalog.get("nope")
    assert await catalog.reload() is False  # the same file again changes nothing


async def test_an_invalid_file_is_refused_with_lines_and_fields_and_the_queues_stay(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    before = catalog.all()
    bad = """\
queues:
  - name: general
    display_name: 综合服务
    ring_timeout: -1
    ring_timout: 20
    members: ["1001", "1001"]
  - name: general
    display_name: 又一个
  - display_name: 无名
    wrap_up: 10
    wrap_up: 12
"""
    write(catalog.path, bad)
    with pytest.raises(QueueFileRejected) as info:
        await catalog.reload()
    got = [(f.line, f.field) for f in info.value.faults if isinstance(f, LocatedFault)]
    assert got == [
        (4, "queues[0].ring_timeout"),
        (5, "queues[0].ring_timout"),
        (6, "queues[0].members[1].agent"),
        (9, "queues[2].name"),
        (11, "queues[2].wrap_up"),
    ], info.value.faults
    assert "given twice (first on line 10)" in str(info.value.faults[-1])
    assert "line 4: queues[0].ring_timeout: must be more than 0 seconds" in str(info.value)
    assert catalog.all() == before and catalog.faults == info.value.faults


@pytest.mark.parametrize(("text", "line", "words"), [
    ("queues:\n  - name: a\n    display_name: [unclosed\n", 4, "not valid YAML"),
    ("", 1, "the file is empty"),
    ("queues: []\n---\nqueues: []\n", 3, "one YAML document per file"),
    ("queues:\n  - {name: a, display_name: x}\n  - {name: a, display_name: y}\n", 3, "already defined"),
    ("queue:\n  - name: a\n", 1, "must be a list of queue tables"),
])
def test_syntax_and_shape_faults_name_their_line(text: str, line: int, words: str) -> None:
    with pytest.raises(QueueFileRejected) as info:
        parse(text)
    faults = [f for f in info.value.faults if isinstance(f, LocatedFault)]
    assert any(f.line == line and words in f.message for f in faults), faults


def test_load_at_start_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "queues.yaml"
    write(path, GOOD.replace("ring_timeout: 20", "ring_timeout: -1"))
    catalog = QueueCatalog(path)
    catalog.load()
    assert catalog.names() == [] and catalog.faults[0].line == 11
    assert "line 11: queues[1].ring_timeout: must be more than 0 seconds" in caplog.text
    write(path, GOOD)
    catalog.load()
    assert catalog.names() == ["general", "complaint"] and catalog.faults == []


async def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    catalog.path.write_bytes("queues: []\n# 综合".encode("gbk"))
    with pytest.raises(QueueFileRejected, match="not UTF-8"):
        await catalog.reload()
    assert catalog.names() == ["general", "complaint"]


async def test_replace_writes_the_whole_file_keeping_the_others(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    untouched = catalog.get("general")
    old = catalog.version_of("complaint")
    q = await catalog.replace("complaint", {"display_name": "投诉举报专席", "strategy": "linear", "ring_timeout": 12.5,
                                            "members": [{"agent": "1003", "penalty": 2}, "1004"]}, author="管理员")
    assert q.display_name == "投诉举报专席" and catalog.get("complaint") == q and catalog.version_of("complaint") != old
    text = catalog.path.read_text(encoding="utf-8")
    assert text.startswith("# Our queues.\n# Second header line.\n") and "a comment the API does not keep" not in text
    assert "display_name: 投诉举报专席" in text and '- {agent: "1003", penalty: 2}' in text
    # The other queue as it was written (not expanded with defaults), and the file reads back the same.
    assert "strategy" not in text.split("- name:")[1] and catalog.get("general") == untouched
    fresh = QueueCatalog(catalog.path)
    await fresh.reload()
    assert fresh.all() == catalog.all() and fresh.version == catalog.version
    assert stray_files(tmp_path) == []
    added = await catalog.replace("night", {"name": "night", "display_name": "夜间", "max_wait": 0}, author="管理员")
    assert catalog.names() == ["general", "complaint", "night"] and added.max_wait == 0


async def test_an_invalid_change_changes_nothing(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    before, text = catalog.all(), catalog.path.read_text(encoding="utf-8")
    with pytest.raises(QueueSettingsError) as info:
        await catalog.replace("general", {"display_name": "", "strategy": "loudest", "members": [{"agent": "1001",
                                          "penalty": -1}], "colour": "red"}, author="管理员")
    assert sorted(f.field for f in info.value.faults) == [
        "colour", "display_name", "members[0].penalty", "strategy"]
    with pytest.raises(QueueSettingsError, match="must be the queue's name"):
        await catalog.replace("general", {"name": "other", "display_name": "x"}, author="管理员")
    with pytest.raises(QueueSettingsError, match="name"):
        await catalog.replace("Bad Name!", {"display_name": "x"}, author="管理员")
    assert catalog.all() == before and catalog.path.read_text(encoding="utf-8") == text


async def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = await loaded(tmp_path)
    before, text = catalog.all(), catalog.path.read_text(encoding="utf-8")

    def full_disk(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        await catalog.replace("general", {"display_name": "改名"}, author="管理员")
    monkeypatch.undo()
    assert catalog.all() == before and catalog.path.read_text(encoding="utf-8") == text
    assert stray_files(tmp_path) == []


async def test_the_file_keeps_its_mode(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    os.chmod(catalog.path, 0o640)
    await catalog.replace("general", {"display_name": "改名"}, author="管理员")
    assert catalog.path.stat().st_mode & 0o777 == 0o640


async def test_remove(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    gone = await catalog.remove("general", author="管理员", expected_version=catalog.version_of("general"))
    assert gone.name == "general" and catalog.names() == ["complaint"]
    with pytest.raises(UnknownQueue):
        await catalog.remove("general", author="管理员")
    await catalog.remove("complaint", author="管理员")
    assert catalog.names() == [] and "queues: []" in catalog.path.read_text(encoding="utf-8")
    assert await catalog.reload() is False


async def test_a_stale_version_is_refused(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    seen = catalog.version_of("general")
    await catalog.replace("general", {"display_name": "一"}, author="甲", expected_version=seen)
    text = catalog.path.read_text(encoding="utf-8")
    with pytest.raises(QueueVersionConflict) as info:
        await catalog.replace("general", {"display_name": "二"}, author="乙", expected_version=seen)
    assert info.value.status == 409 and info.value.details == {"current_version": catalog.version_of("general")}
    with pytest.raises(QueueVersionConflict):
        await catalog.remove("general", author="乙", expected_version=seen)
    with pytest.raises(QueueVersionConflict, match="no longer exists"):
        await catalog.replace("night", {"display_name": "夜间"}, author="乙", expected_version="*")
    assert catalog.get("general").display_name == "一" and catalog.path.read_text(encoding="utf-8") == text
    # A change to another queue does not move this one's version.
    now = catalog.version_of("general")
    await catalog.replace("complaint", {"display_name": "投诉"}, author="甲")
    assert catalog.version_of("general") == now


async def test_two_edits_from_the_same_version_one_wins(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    seen = catalog.version_of("general")
    results = await asyncio.gather(
        catalog.replace("general", {"display_name": "甲改"}, author="甲", expected_version=seen),
        catalog.replace("general", {"display_name": "乙改"}, author="乙", expected_version=seen),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["QueueSettings", "QueueVersionConflict"]
    winner = next(r for r in results if not isinstance(r, BaseException))
    assert catalog.get("general") == winner


async def test_a_hand_edit_not_yet_polled_is_not_written_over(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    write(catalog.path, GOOD.replace("ring_timeout: 20", "ring_timeout: 25"))
    await catalog.replace("general", {"display_name": "改名"}, author="管理员")
    assert catalog.get("complaint").ring_timeout == 25
    write(catalog.path, GOOD.replace("ring_timeout: 20", "ring_timeout: -5"))
    with pytest.raises(QueueVersionConflict, match="changed by hand and is invalid") as info:
        await catalog.replace("general", {"display_name": "再改"}, author="管理员")
    assert "ring_timeout" in str(info.value.details)
    assert "ring_timeout: -5" in catalog.path.read_text(encoding="utf-8")
    assert catalog.get("general").display_name == "改名"


async def test_writing_a_new_file(tmp_path: Path) -> None:
    catalog = QueueCatalog(tmp_path / "queues.yaml")
    catalog.load()  # missing: logged, no queues
    assert catalog.names() == []
    await catalog.replace("general", {"display_name": "综合服务", "members": ["1001"]}, author="管理员")
    assert catalog.path.read_text(encoding="utf-8").startswith("# The hotline's queues.")
    fresh = QueueCatalog(catalog.path)
    await fresh.reload()
    assert fresh.all() == catalog.all()


async def test_watch_takes_in_a_change_and_refuses_a_bad_one(tmp_path: Path) -> None:
    catalog = await loaded(tmp_path)
    task = asyncio.create_task(catalog.watch(interval=0.01))
    try:
        write(catalog.path, GOOD.replace("ring_timeout: 20", "ring_timeout: 30"))
        await until(lambda: catalog.get("complaint").ring_timeout == 30, "the watcher to take in the edit")
        write(catalog.path, GOOD.replace("ring_timeout: 20", "ring_timeout: nope"))
        await until(lambda: bool(catalog.faults), "the watcher to refuse the bad edit")
        assert catalog.get("complaint").ring_timeout == 30 and catalog.faults[0].line == 11
        write(catalog.path, GOOD)
        await until(lambda: catalog.get("complaint").ring_timeout == 20 and not catalog.faults, "the fix")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("value", ["普通\u2028文字", 'quote " and \\ backslash', "yes", "1001", "null", "a: b",
                                   "- x", "#x", "综合 服务", "2026-01-01", "~", "0x1F", ".inf", "bell\x07"])
def test_render_reads_back_any_text(value: str) -> None:
    raw = [{"name": "a", "display_name": value, "ring_timeout": 0.00001, "members": [{"agent": "0123", "penalty": 0}]}]
    got = parse(render("# h", raw))
    q = got.queues["a"]
    assert (q.display_name, q.ring_timeout, q.members[0].agent_id) == (value, 0.00001, "0123")
