"""Login with Argon2 passwords, expiring hashed session tokens, users managed by admins."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from callcore.accounts.models import User, UserSession
from callcore.accounts.passwords import hash_password, verify_password
from callcore.accounts.sessions import token_hash
from callcore.store.base import utcnow
from tests.api.ticketing import PASSWORD, Api, api  # noqa: F401  (fixture)


def test_password_hashing() -> None:
    h = hash_password("s3cret-password")
    assert h.startswith("$argon2id$") and verify_password(h, "s3cret-password")
    assert not verify_password(h, "wrong") and not verify_password("garbage", "x")


async def test_login_me_logout(api: Api) -> None:
    r = await api.client.post("/api/v1/auth/login", json={"username": "handler_a", "password": PASSWORD})
    assert r.status == 200
    body = await r.json()
    token = body["token"]
    assert body["role"] == "handler" and body["department_id"] == "dep-a"
    async with api.db.session() as s:
        stored = list(await s.scalars(select(UserSession.token_hash)))
    assert token_hash(token) in stored and token not in stored
    h = {"Authorization": f"Bearer {token}"}
    r = await api.client.get("/api/v1/auth/me", headers=h)
    assert (await r.json())["department_id"] == "dep-a"
    r = await api.client.post("/api/v1/auth/logout", headers=h)
    assert r.status == 204
    assert (await api.client.get("/api/v1/auth/me", headers=h)).status == 401
    for bad in ({"username": "handler_a", "password": "nope"}, {"username": "ghost", "password": PASSWORD}):
        r = await api.client.post("/api/v1/auth/login", json=bad)
        assert r.status == 401
    r = await api.client.post("/api/v1/auth/login", json={"username": "handler_a"})
    assert r.status == 400 and (await r.json())["details"][0]["field"] == "password"


async def test_tokens_expire(api: Api) -> None:
    async with api.db.session() as s:
        await s.execute(update(UserSession).where(UserSession.user_id == "user-agent")
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    s_, out = await api.call("GET", "/api/v1/auth/me", "agent")
    assert s_ == 401


async def test_admin_manages_users(api: Api) -> None:
    s, out = await api.call("POST", "/api/v1/admin/users", "admin", json={
        "username": "zhang", "password": "long enough password", "role": "handler", "department_id": "dep-c"})
    assert s == 201 and out["department_id"] == "dep-c"
    s, dup = await api.call("POST", "/api/v1/admin/users", "admin", json={
        "username": "zhang", "password": "long enough password", "role": "agent"})
    assert s == 409
    s, bad = await api.call("POST", "/api/v1/admin/users", "admin", json={
        "username": "li", "password": "long enough password", "role": "handler"})
    assert s == 400 and bad["details"][0]["field"] == "department_id"
    s, bad = await api.call("POST", "/api/v1/admin/users", "admin", json={
        "username": "li", "password": "long enough password", "role": "pope"})
    assert s == 400 and bad["details"][0]["field"] == "role"
    assert (await api.call("POST", "/api/v1/admin/users", "dispatcher", json={
        "username": "li", "password": "long enough password", "role": "agent"}))[0] == 403
    r = await api.client.post("/api/v1/auth/login", json={"username": "zhang", "password": "long enough password"})
    token = (await r.json())["token"]
    s, out = await api.call("PATCH", f"/api/v1/admin/users/{out['id']}", "admin", json={"active": False})
    assert s == 200 and out["active"] is False
    assert (await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).status == 401
    s, users = await api.call("GET", "/api/v1/admin/users", "admin")
    assert "zhang" in [u["username"] for u in users] and all("password" not in str(u) for u in users)
    assert (await api.call("PATCH", "/api/v1/admin/users/nope", "admin", json={"name": "x"}))[0] == 404
    async with api.db.session() as s_:
        assert (await s_.scalar(select(User.password_hash).where(User.username == "zhang"))).startswith("$argon2id$")
