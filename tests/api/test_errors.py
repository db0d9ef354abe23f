"""What people read when something is refused: Chinese, with a stable English id for programs and
the English detail for developers, whatever refused it (a service, validation, aiohttp itself, a bug)."""

from __future__ import annotations

import io

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callcore.api.router import error_middleware
from tests.accounts.staff import Api


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_validation_errors_are_chinese_per_field(app: Api) -> None:
    status, body = await app.call("POST", "/api/v1/admin/users", json={"username": "a b", "password": "short",
                                                                       "role": "king"})
    assert status == 400 and body["error_id"] == "invalid_input"
    fields = {d["field"]: d for d in body["details"]}
    assert fields["password"]["message"] == "至少 10 个字符" and fields["password"]["type"] == "string_too_short"
    assert fields["username"]["message"] == "格式不正确"
    assert fields["role"]["message"].startswith("应为以下之一") and "admin" in fields["role"]["message"]
    assert all(_chinese(d["message"]) and d["detail"] for d in body["details"])
    assert body["message"] == f"{body['details'][0]['field']}：{body['details'][0]['message']}"
    status, body = await app.call("POST", "/api/v1/admin/users", json={})
    assert status == 400 and {d["message"] for d in body["details"]} == {"必填"}


async def test_sign_in_refusals_are_chinese(app: Api) -> None:
    status, body = await app.call("GET", "/api/v1/auth/me", "nobody")
    assert status == 401 and body["error_id"] == "unauthorized" and body["message"] == "未登录，请先登录"
    status, body = await app.call("GET", "/api/v1/auth/me", headers={"Authorization": "Bearer nope"})
    assert status == 401 and body["message"] == "登录已失效，请重新登录" and body["detail"] == "invalid or expired token"
    status, body = await app.call("GET", "/api/v1/admin/users", "agent")
    assert status == 403 and body["error_id"] == "forbidden" and _chinese(body["message"]) and "agent" in body["detail"]


async def test_aiohttp_refusals_are_chinese(app: Api) -> None:
    status, body = await app.call("GET", "/api/v1/no-such-thing")
    assert status == 404 and body == {"error_id": "not_found", "message": "未找到要查看或操作的对象", "detail": "Not Found"}
    r = await app.client.request("PATCH", "/api/v1/auth/login")
    body = await r.json()
    assert r.status == 405 and body["error_id"] == "method_not_allowed" and _chinese(body["message"])
    assert "POST" in r.headers["Allow"]


async def test_an_unforeseen_failure_is_a_chinese_500_without_internals() -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals 13912345678")

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/boom", broken)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/boom")
        body = await r.json()
    assert r.status == 500 and body["error_id"] == "internal_error" and _chinese(body["message"])
    assert "secret" not in str(body)


async def test_a_failed_sign_in_and_its_throttle_are_chinese(app: Api) -> None:
    status, body = await app.call("POST", "/api/v1/auth/login", "nobody", json={"username": "agent", "password": "wrong"})
    assert status == 401 and body["message"] == "用户名或密码错误"
    for _ in range(5):
        status, body = await app.call("POST", "/api/v1/auth/login", "nobody",
                                      json={"username": "agent", "password": "wrong"})
    assert status == 429 and body["error_id"] == "too_many_requests"
    assert body["message"].startswith("操作过于频繁，请 ") and body["details"]["retry_after"] > 0


async def test_a_body_too_large_is_a_chinese_413(app: Api) -> None:
    status, body = await app.call("POST", "/api/v1/tickets", "agent", data=io.BytesIO(b"x" * (9 * 1024 * 1024)),
                                  headers={"Content-Type": "application/json"})
    assert status == 413 and body["message"] == "提交的内容过大" and body["error_id"]
