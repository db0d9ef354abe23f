"""What every input of the API shares: no NUL or control characters in text, instants and days the
store can hold, integers a column can hold, JSON bodies of bounded depth, and field errors in Chinese.

PostgreSQL cannot store U+0000 in text columns (it answers "invalid byte sequence"), SQLite and
Python overflow on a year 0 or 10000 instant (year 1 in +08:00 is year 0 in UTC), an integer past
64 bits overflows every driver: each must be a 400 naming the field, never a 500 from the database.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated, Any

import pydantic_core
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from callcore.core.errors import InvalidInput

EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)
FIRST_DAY = date(1970, 1, 2)
LAST_DAY = date(2099, 12, 31)
# Serial numbers (versions, counts) fit a 32-bit column on every backend; any integer a 64-bit one.
MAX_SERIAL = 2**31 - 1
_INT64 = 2**63


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return False


# C0 control characters but tab, line feed and carriage return: never typed by a person, and neither
# XML (Open311), XLSX cells nor a terminal (``callcore tail``) can carry them.
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_CONTROL.search(value))
    if isinstance(value, (list, tuple)):
        return any(has_control(v) for v in value)
    if isinstance(value, dict):
        return any(has_control(k) or has_control(v) for k, v in value.items())
    return False


def _out_of_store(value: Any) -> str | None:
    """Why a value cannot be stored, in Chinese, or None."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if not EARLIEST <= aware <= LATEST:
            return f"时间须在 {EARLIEST.date()} 至 {LATEST.date()} 之间"
    elif isinstance(value, date):
        if not FIRST_DAY <= value <= LAST_DAY:
            return f"日期须在 {FIRST_DAY} 至 {LAST_DAY} 之间"
    elif isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        return "数值超出范围"
    elif isinstance(value, (list, tuple)):
        return next((why for v in value if (why := _out_of_store(v))), None)
    return None


class InputModel(BaseModel):
    model_config = {"extra": "forbid"}

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if has_nul(value):
            raise PydanticCustomError("nul_character", "不能包含 NUL 字符")
        if has_control(value):
            raise PydanticCustomError("control_character", "不能包含控制字符")
        why = _out_of_store(value)
        if why:
            raise PydanticCustomError("out_of_range", why)
        return value


def _plausible(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError("out_of_range", "时间须在 {earliest} 至 {latest} 之间",
                                  {"earliest": str(EARLIEST.date()), "latest": str(LATEST.date())})
    return value


# Instants and days the store can hold on every backend.
Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
Serial = Annotated[int, Field(ge=1, le=MAX_SERIAL)]

# Chinese for pydantic's error types ({name} takes the error's context, e.g. min_length).
_TYPE_TEXT: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不认识的字段",
    "string_type": "应为文本", "string_too_short": "至少 {min_length} 个字符", "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确", "string_unicode": "应为有效的文本",
    "int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数", "int_parsing_size": "数值超出范围",
    "float_type": "应为数字", "float_parsing": "应为数字", "finite_number": "应为有限的数字",
    "bool_type": "应为是或否（true/false）", "bool_parsing": "应为是或否（true/false）",
    "greater_than": "应大于 {gt}", "greater_than_equal": "不能小于 {ge}",
    "less_than": "应小于 {lt}", "less_than_equal": "不能大于 {le}", "multiple_of": "应为 {multiple_of} 的倍数",
    "literal_error": "应为以下之一：{expected}", "enum": "应为以下之一：{expected}",
    "date_type": "应为日期（YYYY-MM-DD）", "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）", "date_from_datetime_inexact": "应为日期（YYYY-MM-DD）",
    "datetime_type": "应为时间（ISO 8601，带时区）", "datetime_parsing": "应为时间（ISO 8601，带时区）",
    "datetime_from_date_parsing": "应为时间（ISO 8601，带时区）", "timezone_aware": "时间须带时区（如 +08:00）",
    "list_type": "应为列表", "tuple_type": "应为列表", "set_type": "应为列表",
    "too_short": "至少 {min_length} 项", "too_long": "最多 {max_length} 项",
    "dict_type": "应为对象", "model_type": "应为对象", "model_attributes_type": "应为对象",
    "json_invalid": "不是有效的 JSON", "json_type": "不是有效的 JSON",
    "uuid_type": "应为 UUID", "uuid_parsing": "应为 UUID", "url_parsing": "应为网址", "url_type": "应为网址",
    "union_tag_invalid": "类型不正确", "union_tag_not_found": "缺少类型字段",
}


def _chinese(err: Any) -> str:
    """The Chinese of one pydantic error; a validator's own Chinese (a custom error) as it is."""
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", ""))
    if kind in _TYPE_TEXT:
        try:
            return _TYPE_TEXT[kind].format(**{k: v for k, v in (err.get("ctx") or {}).items()})
        except (KeyError, IndexError, ValueError):
            return _TYPE_TEXT[kind].split("{")[0].rstrip("：: ") or "取值无效"
    if any("\u3400" <= ch <= "\u9fff" for ch in msg):
        return msg.removeprefix("Value error, ")
    return "取值无效"


def format_validation_error(exc: ValidationError, where: str) -> InvalidInput:
    """A 400 naming every faulty field, each with its Chinese text (``message``) and pydantic's
    English (``detail``) and error type (``type``) for programs."""
    fields = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or where
        fields.append({"field": loc, "in": where, "message": _chinese(err), "type": err["type"], "detail": err["msg"]})
    first = fields[0]
    return InvalidInput(f"{first['field']}: {first['detail']}", details=fields,
                        text=f"{first['field']}：{first['message']}")


def field_error(field: str, where: str, text: str, detail: str = "") -> InvalidInput:
    """A 400 for one field checked by hand (a path segment, a header), in the same shape as pydantic's."""
    return InvalidInput(f"{field}: {detail or text}", text=f"{field}：{text}",
                        details=[{"field": field, "in": where, "message": text, "detail": detail or text}])


# JSON bodies nest at most this deep (a 100,000-deep array would exhaust the parser's recursion).
MAX_JSON_DEPTH = 64


def parse_json(raw: bytes) -> Any:
    """A request body as JSON, strictly (no NaN, no lone surrogates) and of bounded depth; an
    ``InvalidInput`` naming ``body`` otherwise."""
    if not raw.strip():
        return None
    try:
        data = pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError:
        raise field_error("body", "body", "不是有效的 JSON", "not valid JSON") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise field_error("body", "body", f"嵌套层数不能超过 {MAX_JSON_DEPTH}", "nested too deep")
    return data


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk is what the limit protects against)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, d)
            if d <= MAX_JSON_DEPTH:
                stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def parse_day(raw: str, field: str = "day") -> date:
    """A day in a path (``YYYY-MM-DD``) the store can hold."""
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise field_error(field, "path", "应为日期（YYYY-MM-DD）", "expected YYYY-MM-DD")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise field_error(field, "path", f"日期须在 {FIRST_DAY} 至 {LAST_DAY} 之间",
                          f"must be between {FIRST_DAY} and {LAST_DAY}")
    return day


def parse_serial(raw: str) -> int | None:
    """A positive serial number in a path (ASCII digits, at most ``MAX_SERIAL``), or None."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    n = int(raw)
    return n if 1 <= n <= MAX_SERIAL else None
