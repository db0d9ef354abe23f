"""Users' mobiles (issue 14): where a department's SMS go; checked in Chinese, masked on output."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from callcore.accounts.models import User
from callcore.accounts.plugin import AccountsPlugin
from callcore.store.db import Database
from tests.accounts.staff import Api, staff_api


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[Api]:
    async with staff_api(db, tmp_path, [AccountsPlugin], Api) as staff:
        yield staff


async def test_mobile_is_stored_whole_and_shown_masked(api: Api) -> None:
    status, user = await api.call("POST", "/api/v1/admin/users", json={
        "username": "li", "password": "long enough pw", "role": "handler", "department_id": "dep-a",
        "mobile": "13912345678"})
    assert status == 201 and user["mobile"] == "139****5678", user
    async with api.db.session() as s:
        assert await s.scalar(select(User.mobile).where(User.id == user["id"])) == "13912345678"
    status, listed = await api.call("GET", "/api/v1/admin/users")
    assert "13912345678" not in str(listed) and any(u["mobile"] == "139****5678" for u in listed)
    status, changed = await api.call("PATCH", f"/api/v1/admin/users/{user['id']}", json={"mobile": "13700001111"})
    assert status == 200 and changed["mobile"] == "137****1111"
    status, changed = await api.call("PATCH", f"/api/v1/admin/users/{user['id']}", json={"mobile": ""})
    assert status == 200 and changed["mobile"] == ""


@pytest.mark.parametrize("mobile", ["0931-8888888", "1391234567", "23912345678", "139123456789"])
async def test_a_bad_mobile_says_so_in_chinese(api: Api, mobile: str) -> None:
    status, body = await api.call("POST", "/api/v1/admin/users", json={
        "username": "li", "password": "long enough pw", "role": "agent", "mobile": mobile})
    assert status == 400 and body["details"][0]["field"] == "mobile"
    assert "手机号码" in body["message"] and "[" not in body["message"]
    async with api.db.session() as s:
        assert await s.scalar(select(User).where(User.username == "li")) is None
