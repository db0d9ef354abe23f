"""Every error a person can read has Chinese text, and programs keep a stable English id."""

from __future__ import annotations

import re
from pathlib import Path

from callcore.core.errors import Conflict, InvalidInput, NotFound
from callcore.core.errors_text import ERROR_TEXT, has_cjk

PACKAGE = Path(__file__).resolve().parents[2] / "callcore"


def test_every_error_id_raised_in_the_package_has_chinese_text() -> None:
    ids = {m for path in PACKAGE.rglob("*.py")
           for m in re.findall(r'error_id\s*=\s*"([a-z_]+)"', path.read_text(encoding="utf-8"))}
    assert ids and ids <= ERROR_TEXT.keys(), sorted(ids - ERROR_TEXT.keys())
    assert all(has_cjk(text) for text in ERROR_TEXT.values())


def test_an_english_message_is_read_in_chinese_and_kept_as_detail() -> None:
    body = Conflict("agent 1001 is already logged in").to_json()
    assert body == {"error_id": "conflict", "message": "当前状态不允许此操作",
                    "detail": "agent 1001 is already logged in"}


def test_the_raisers_chinese_wins() -> None:
    assert NotFound("no such code", text="没有这个查询码的工单").to_json()["message"] == "没有这个查询码的工单"
    body = NotFound("没有这个号码").to_json()
    assert body["message"] == "没有这个号码" and "detail" not in body


def test_a_field_error_names_the_field_in_its_chinese() -> None:
    err = InvalidInput("department_id: unknown department 'x'",
                       details=[{"field": "department_id", "in": "body", "message": "unknown department 'x'"}])
    assert err.to_json()["message"] == "department_id：输入有误，请检查后重试"


def test_an_unknown_id_falls_back_to_its_status() -> None:
    assert InvalidInput("x", error_id="brand_new").to_json()["message"] == "请求有误"
    assert Conflict("x", error_id="brand_new", status=418).to_json()["message"] == "请求未能完成（418）"


def test_an_english_message_quoting_chinese_input_is_still_english() -> None:
    body = NotFound("no active agent 王芳x").to_json()
    assert body["message"] == "未找到要查看或操作的对象" and body["detail"] == "no active agent 王芳x"
    assert NotFound("单位编码 abc 已被使用").to_json()["message"] == "单位编码 abc 已被使用"
