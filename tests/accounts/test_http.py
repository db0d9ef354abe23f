"""Login, expiring hashed session tokens, users, departments and the audit log managed by admins."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from callcore.accounts.models import User, UserSession
from callcore.accounts.sessions import token_hash
from callcore.store.base import utcnow
from tests.accounts.staff import PASSWORD, Api


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


async def test_the_configuration_token_cannot_be_logged_out_and_says_so(api: Api) -> None:
    """A 204 would claim the token is revoked while it still works (issue 12)."""
    status, out = await api.call("POST", "/api/v1/auth/logout", "admin")
    assert status == 409 and out["error_id"] == "config_token" and "CALLCORE_API_TOKEN" in out["message"]
    assert (await api.call("GET", "/api/v1/auth/me", "admin"))[0] == 200


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


async def test_departments_and_audit_log_are_for_admins(api: Api) -> None:
    s, out = await api.call("POST", "/api/v1/departments", "admin", json={"code": "gas", "name": "燃气公司"})
    assert s == 201 and out["active"] is True and out["contact"] == ""
    assert (await api.call("POST", "/api/v1/departments", "admin", json={"code": "gas", "name": "x"}))[0] == 409
    s, err = await api.call("POST", "/api/v1/departments", "admin", json={"code": "bad code", "name": "x"})
    assert s == 400 and err["details"][0]["field"] == "code"
    assert (await api.call("PATCH", f"/api/v1/departments/{out['id']}", "dispatcher", json={"active": False}))[0] == 403
    s, out = await api.call("PATCH", f"/api/v1/departments/{out['id']}", "admin", json={"contact": "gas@sms"})
    assert s == 200 and (out["name"], out["contact"], out["active"]) == ("燃气公司", "gas@sms", True)
    assert (await api.call("PATCH", "/api/v1/departments/nope", "admin", json={"name": "x"}))[0] == 404
    s, deps = await api.call("GET", "/api/v1/departments", "handler_b")
    assert s == 200 and [d["code"] for d in deps] == ["a", "b", "c", "gas"]
    assert (await api.call("GET", "/api/v1/departments", "nobody"))[0] == 401
    s, log = await api.call("GET", "/api/v1/audit", "admin")
    assert s == 200 and log == []
    assert (await api.call("GET", "/api/v1/audit", "leader"))[0] == 403


async def test_guessing_a_password_is_throttled_per_account_and_per_address(api: Api) -> None:
    """25 wrong passwords used to get 25 × 401 and the right one still worked: now the sixth try in five
    minutes is refused (429 with Retry-After), even with the right password, for that account."""
    for _ in range(5):
        r = await api.client.post("/api/v1/auth/login", json={"username": "handler_a", "password": "guess"})
        assert r.status == 401
    r = await api.client.post("/api/v1/auth/login", json={"username": "handler_a", "password": PASSWORD})
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0
    assert (await r.json())["error_id"] == "too_many_requests"
    # The address is throttled too: spreading the guesses over accounts does not help.
    r = await api.client.post("/api/v1/auth/login", json={"username": "dispatcher", "password": PASSWORD})
    assert r.status == 429
