"""The Chinese people read for each stable error id, and for each HTTP status as a last resort.

A capability that adds an error id adds its text here, so that no person ever reads a bare English
sentence or an id; ``tests/core/test_errors.py`` checks every id raised under ``callcore/`` has one.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

ERROR_TEXT: dict[str, str] = {
    "bad_request": "请求有误",
    "invalid_input": "输入有误，请检查后重试",
    "unauthorized": "未登录或登录已失效，请重新登录",
    "forbidden": "无权执行此操作",
    "not_found": "未找到要查看或操作的对象",
    "conflict": "当前状态不允许此操作",
    "unavailable": "服务暂不可用，请稍后重试",
    "too_many_requests": "操作过于频繁，请稍后再试",
    "internal_error": "服务器内部错误，请稍后重试或联系管理员",
    "request_entity_too_large": "提交的内容过大",
    "method_not_allowed": "不支持此请求方式",
    "unsupported_media_type": "不支持此内容格式",
    # Capabilities' own ids.
    "ticket_not_found": "工单不存在或不在您的权限范围内",
    "illegal_transition": "工单当前状态不允许此操作（可能已被他人处理，请刷新）",
    "not_permitted": "您的角色无权对该工单执行此操作",
    "urge_not_found": "没有找到这次催办记录",
    "invalid_menu": "菜单校验未通过",
    "unknown_queue": "没有这个队列",
    "queue_version_conflict": "队列已被他人修改，请刷新后重试",
    "queue_error": "队列操作失败",
    "invalid_queue_settings": "队列设置有误",
    "invalid_queue_file": "队列文件有误",
    "illegal_agent_transition": "坐席当前状态不允许此操作",
    "number_refused": "该号码不能外呼",
    "number_mismatch": "号码与回拨任务的号码不一致",
    "no_outbound_trunk": "没有可用的外线，无法外呼",
    "call_not_ended": "通话尚未结束",
    "recording_missing": "录音文件缺失",
    "recording_deleted": "录音已删除",
    "recording_in_progress": "录音尚未结束",
    "retention_not_over": "录音尚在保存期内，不能删除",
    "invalid_api_key": "接口密钥无效或已吊销",
    "config_token": "配置文件中的管理令牌不能注销：请更换 CALLCORE_API_TOKEN 并重启服务",
}

STATUS_TEXT: dict[int, str] = {
    400: ERROR_TEXT["bad_request"],
    401: ERROR_TEXT["unauthorized"],
    403: ERROR_TEXT["forbidden"],
    404: ERROR_TEXT["not_found"],
    405: ERROR_TEXT["method_not_allowed"],
    409: ERROR_TEXT["conflict"],
    413: ERROR_TEXT["request_entity_too_large"],
    415: ERROR_TEXT["unsupported_media_type"],
    429: ERROR_TEXT["too_many_requests"],
    503: ERROR_TEXT["unavailable"],
}


def has_cjk(text: str) -> bool:
    """Whether ``text`` reads as Chinese: some Chinese characters, and no more Latin letters than
    them (an English sentence quoting a Chinese name is still English)."""
    cjk = len(_CJK.findall(text))
    return cjk > 0 and cjk >= len(_LATIN.findall(text))


def text_for(error_id: str, status: int) -> str:
    """The Chinese of an error id; of its status when the id has none; a generic sentence at worst."""
    return ERROR_TEXT.get(error_id) or STATUS_TEXT.get(status) or (
        ERROR_TEXT["internal_error"] if status >= 500 else f"请求未能完成（{status}）")
