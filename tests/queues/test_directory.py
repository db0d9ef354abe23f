"""The agent directory: numbers, names, user links and per-agent SIP passwords (only digests
stored), the agents file Asterisk reads, and the reload that follows every change."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import select

from callcore.accounts.models import AuditEntry, User
from callcore.ami.client import AmiClient
from callcore.ami.errors import AmiError, AmiNotConnected
from callcore.asterisk.render import AGENTS_CONF, SipAgent, sip_md5
from callcore.config import Settings
from callcore.core.errors import Conflict, InvalidInput, NotFound
from callcore.core.identity import Principal
from callcore.queues.directory import AgentDirectory, ami_reload, cli_reload, stored_sip_agents
from callcore.queues.models import Agent
from callcore.store.base import Base
from callcore.store.db import Database

ADMIN = Principal(user_id="u-admin", name="管理员", role="admin")


class Reloads:
    """Stands in for Asterisk: counts reloads, and fails them when told to."""

    def __init__(self) -> None:
        self.count = 0
        self.fail: Exception | None = None

    async def __call__(self) -> None:
        self.count += 1
        if self.fail is not None:
            raise self.fail


@pytest.fixture
def reloads() -> Reloads:
    return Reloads()


@pytest.fixture
def directory(db: Database, tmp_path: Path, reloads: Reloads) -> AgentDirectory:
    return AgentDirectory(db, Settings(run_dir=tmp_path), reloads)


def conf(tmp_path: Path) -> str:
    return (tmp_path / "etc" / AGENTS_CONF).read_text(encoding="utf-8")


async def stored(db: Database) -> list[tuple[str, str, str, bool, str | None]]:
    async with db.session() as s:
        rows = await s.scalars(select(Agent).order_by(Agent.number))
        return [(a.number, a.name, a.sip_md5, a.active, a.user_id) for a in rows]


async def add_user(db: Database, user_id: str, role: str = "agent") -> None:
    async with db.session() as s:
        s.add(User(id=user_id, username=f"name-{user_id}", name=user_id, role=role, password_hash="x", active=True))


async def test_an_agent_gets_a_password_once_and_only_its_digest_is_kept(
    directory: AgentDirectory, db: Database, tmp_path: Path, reloads: Reloads,
) -> None:
    issued = await directory.create("1001", "王芳")
    password = issued.password
    assert len(password) >= 24 and password.replace("-", "").replace("_", "").isalnum()
    [(number, name, digest, active, user)] = await stored(db)
    assert (number, name, active, user) == ("1001", "王芳", True, None)
    assert digest == hashlib.md5(f"1001:callcore:{password}".encode()).hexdigest()
    assert issued.agent.number == "1001" and issued.agent.created_at is not None
    text = conf(tmp_path)
    assert "[1001-auth]" in text and f"md5_cred = {digest}" in text and "realm = callcore" in text
    assert "auth_type = md5" in text and '"王芳" <1001>' in text and password not in text
    assert (tmp_path / "etc" / AGENTS_CONF).stat().st_mode & 0o077 == 0
    assert reloads.count == 1
    assert (await directory.create("1002", "李雷")).password != password


@pytest.mark.parametrize(("number", "name", "field"), [
    ("12", "甲", "number"), ("123456789", "甲", "number"), ("10a1", "甲", "number"), ("١٢٣٤", "甲", "number"),
    (" 1001", "甲", "number"), ("1001\n", "甲", "number"), ("1001", "", "name"), ("1001", "   ", "name"), ("1001", 'a"b', "name"),
    ("1001", "a;b", "name"), ("1001", "a\nb", "name"), ("1001", "<x>", "name"), ("1001", "名" * 65, "name"),
])
async def test_bad_input_is_refused_with_the_field_and_changes_nothing(
    directory: AgentDirectory, db: Database, reloads: Reloads, number: str, name: str, field: str,
) -> None:
    with pytest.raises(InvalidInput) as err:
        await directory.create(number, name)
    assert err.value.details[0]["field"] == field
    assert await stored(db) == [] and reloads.count == 0


async def test_numbers_are_unique(directory: AgentDirectory, db: Database, reloads: Reloads) -> None:
    await directory.create("1001", "王芳")
    before = await stored(db)
    with pytest.raises(Conflict, match="1001 is taken"):
        await directory.create("1001", "李雷")
    assert await stored(db) == before and reloads.count == 1


async def test_an_agent_may_be_a_user_of_role_agent_and_only_one(directory: AgentDirectory, db: Database) -> None:
    await add_user(db, "u1")
    await add_user(db, "u2", role="dispatcher")
    with pytest.raises(InvalidInput, match="user_id: no user nobody"):
        await directory.create("1001", "王芳", user_id="nobody")
    with pytest.raises(InvalidInput, match="not 'agent'"):
        await directory.create("1001", "王芳", user_id="u2")
    assert await stored(db) == []
    a = await directory.create("1001", "王芳", user_id="u1")
    assert (a.agent.user_id, a.agent.username) == ("u1", "name-u1")
    with pytest.raises(Conflict, match="already agent 1001"):
        await directory.create("1002", "李雷", user_id="u1")
    assert (await directory.for_user("u1")).number == "1001"
    with pytest.raises(NotFound):
        await directory.for_user("u2")
    assert await directory.user_id_of("name-u1") == "u1"
    with pytest.raises(InvalidInput, match="no user 'ghost'"):
        await directory.user_id_of("ghost")
    await directory.create("1002", "李雷")
    with pytest.raises(Conflict):
        await directory.link_user("1002", "u1")
    assert (await directory.link_user("1001", None)).user_id is None
    assert (await directory.link_user("1002", "u1")).username == "name-u1"


async def test_rotation_replaces_the_digest_and_is_audited(
    directory: AgentDirectory, db: Database, tmp_path: Path, reloads: Reloads,
) -> None:
    first = (await directory.create("1001", "王芳")).password
    second = await directory.rotate_password("1001", by=ADMIN)
    assert second.password != first and second.agent.number == "1001"
    [(_, _, digest, _, _)] = await stored(db)
    assert digest == sip_md5("1001", second.password) and digest != sip_md5("1001", first)
    assert f"md5_cred = {digest}" in conf(tmp_path) and reloads.count == 2
    async with db.session() as s:
        [entry] = await s.scalars(select(AuditEntry))
    assert (entry.user_id, entry.action, entry.object_type, entry.object_id) == (
        "u-admin", "sip_password_rotated", "agent", "1001")
    with pytest.raises(NotFound):
        await directory.rotate_password("1999", by=ADMIN)
    with pytest.raises(NotFound):
        await directory.rotate_password("x'; --", by=ADMIN)


async def test_rename_deactivate_reactivate_rewrite_the_endpoints(
    directory: AgentDirectory, db: Database, tmp_path: Path, reloads: Reloads,
) -> None:
    await directory.create("1001", "王芳")
    await directory.create("1002", "李雷")
    assert (await directory.rename("1001", " 王芳芳 ")).name == "王芳芳"
    assert '"王芳芳" <1001>' in conf(tmp_path)
    await directory.deactivate("1002")
    assert "[1002]" not in conf(tmp_path) and "[1001]" in conf(tmp_path)
    assert [(a.number, a.active) for a in await directory.list_agents()] == [("1001", True), ("1002", False)]
    assert [a.number for a in await directory.list_agents(active=True)] == ["1001"]
    assert [a.number for a in await directory.sip_agents()] == ["1001"]
    await directory.reactivate("1002")
    assert "[1002-auth]" in conf(tmp_path)
    count = reloads.count
    await directory.update("1001")  # nothing to change: no reload
    assert reloads.count == count
    before = await stored(db)
    with pytest.raises(InvalidInput):  # one bad field: the good ones are not applied either
        await directory.update("1001", name="a;b", active=False)
    await add_user(db, "u9", role="leader")
    with pytest.raises(InvalidInput):
        await directory.update("1001", name="新名字", user_id="u9", active=False)
    assert await stored(db) == before and reloads.count == count
    with pytest.raises(NotFound):
        await directory.get("1003")
    assert (await directory.get("1002")).name == "李雷"


async def test_a_failed_reload_keeps_the_change_and_says_so(
    directory: AgentDirectory, db: Database, tmp_path: Path, reloads: Reloads, caplog: pytest.LogCaptureFixture,
) -> None:
    reloads.fail = AmiNotConnected("no AMI session")
    with caplog.at_level(logging.WARNING, logger="callcore.queues.directory"):
        issued = await directory.create("1001", "王芳")
    assert issued.password and "[1001]" in conf(tmp_path)  # Asterisk reads the file when it comes back
    assert "not reloaded" in caplog.text
    reloads.fail = None
    assert await directory.publish() is True


class FakeAmi:
    def __init__(self, answers: list[str | None]) -> None:
        self.answers = answers
        self.sent: list[dict[str, str]] = []

    async def action(self, action: dict[str, str], *, timeout: float | None = None) -> list[dict[str, str]]:
        self.sent.append(dict(action))
        message = self.answers.pop(0)
        if message is not None:
            raise AmiError(f"AMI action Reload failed: {message}", response={"Response": "Error", "Message": message})
        return [{"Response": "Success", "Message": "Module Reloaded"}]


async def test_the_ami_reload_retries_while_another_reload_runs() -> None:
    ami = FakeAmi(["A reload is in progress", None])
    await ami_reload(cast(AmiClient, ami), pause=0)()
    assert ami.sent == [{"Action": "Reload", "Module": "res_pjsip.so"}] * 2
    with pytest.raises(AmiError, match="No such module"):
        await ami_reload(cast(AmiClient, FakeAmi(["No such module"])), pause=0)()
    with pytest.raises(AmiError, match="in progress"):
        await ami_reload(cast(AmiClient, FakeAmi(["A reload is in progress"] * 3)), attempts=3, pause=0)()


async def test_the_cli_reload_does_nothing_without_a_running_asterisk(tmp_path: Path) -> None:
    await cli_reload(Settings(run_dir=tmp_path))()


async def test_render_time_reads_the_agents_from_the_store_when_there_is_one(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cc.db"
    assert await stored_sip_agents(url) is None  # no database file: nothing is created either
    assert not (tmp_path / "cc.db").exists()
    db = Database(url)
    try:
        async with db.engine.begin() as c:
            await c.run_sync(lambda sync: Base.metadata.create_all(sync, tables=[Base.metadata.tables["users"]]))
        assert await stored_sip_agents(url) is None  # not migrated to the agents table
        async with db.engine.begin() as c:
            await c.run_sync(Base.metadata.create_all)
        directory = AgentDirectory(db, Settings(run_dir=tmp_path))
        password = (await directory.create("1001", "王芳")).password
        await directory.create("1002", "李雷")
        await directory.deactivate("1002")
    finally:
        await db.close()
    assert await stored_sip_agents(url) == [SipAgent(number="1001", name="王芳", md5=sip_md5("1001", password))]
