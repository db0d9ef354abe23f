"""The Chinese people read and type for the ticket's coded values (status, channel, urgency, reject
reason, satisfaction, colour), and the reading of a filter value given as a code or as Chinese.

The workflow's own tables (``STATUS_TEXT``, ``REJECT_REASONS``, ``SATISFACTION``) are the source;
categories are configurable and so read from the store (``names.category_code``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic_core import PydanticCustomError

from callcore.tickets.workflow import REJECT_REASONS, SATISFACTION, STATUS_TEXT

CHANNEL_TEXT = {"phone": "电话", "web": "网站", "sms": "短信", "mail": "信件", "open311": "开放接口"}
URGENCY_TEXT = {"normal": "一般", "urgent": "紧急"}
COLOUR_TEXT = {"green": "绿", "yellow": "黄", "red": "红"}
VISIT_TEXT = {"sampled": "待回访", "done": "已回访"}


def _aliases(texts: Mapping[str, str]) -> dict[str, str]:
    """Code -> itself, Chinese -> code; a two-part status text ("已转办，待签收") answers to each part."""
    out: dict[str, str] = {}
    for code, text in texts.items():
        out[code] = code
        out[text] = code
        for part in text.split("，"):
            out.setdefault(part.strip(), code)
    return out


# What each filter is called in Chinese (for the error text) and what it accepts.
KINDS: dict[str, tuple[str, Mapping[str, str]]] = {
    "status": ("状态", STATUS_TEXT),
    "channel": ("渠道", CHANNEL_TEXT),
    "urgency": ("紧急程度", URGENCY_TEXT),
    "reason": ("不予受理原因", REJECT_REASONS),
    "satisfaction": ("满意度", SATISFACTION),
}


def code_of(kind: str, value: str) -> str:
    """The code of ``value`` (a code or its Chinese), or a validation error in Chinese listing the choices."""
    label, texts = KINDS[kind]
    code = _aliases(texts).get(value.strip())
    if code is None:
        raise PydanticCustomError("unknown_value", "没有这个{label}：{value}；可选：{choices}",
                                  {"label": label, "value": value, "choices": "、".join(texts.values())})
    return code


def codes_of(kind: str, value: str) -> tuple[str, ...]:
    """A list separated by "," or "、" (not "，", which is inside status texts) read with ``code_of``."""
    items = [v for v in value.replace("、", ",").split(",") if v.strip()]
    return tuple(dict.fromkeys(code_of(kind, v) for v in items))


def text_of(kind: str, code: str | None) -> str:
    """The Chinese of a code ("" for none; an unknown code as it is)."""
    if code is None:
        return ""
    return KINDS[kind][1].get(code, code)
