"""Every operation of the whole API (all capabilities) against its OpenAPI document, with
schemathesis (issue 12): generated valid and invalid inputs never give a 5xx, and every refusal
carries its stable error id and a Chinese text.

The app runs on the test's event loop (aiohttp TestServer); schemathesis drives it with blocking
HTTP calls from a worker thread, so the loop stays free to answer. Capabilities may test their own
operations harder (``tests/tickets/test_openapi.py``); this is the floor for all of them.
"""

from __future__ import annotations

import asyncio
from typing import Any
from xml.etree import ElementTree

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.accounts.staff import Api

MAX_EXAMPLES = 6
SKIP = {"/api/v1/auth/logout"}  # logging the admin token out would end the run early


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _refusal(resp: Any) -> tuple[str, str] | None:
    """The error id and the Chinese text of a refusal, from JSON or GeoReport XML; None if neither."""
    if resp.content.startswith(b"<?xml"):
        err = ElementTree.fromstring(resp.content).find("error")
        return None if err is None else (err.findtext("error_id") or "", err.findtext("description") or "")
    try:
        body = resp.json()
    except ValueError:
        return None
    return (body.get("error_id", ""), body.get("message", "")) if isinstance(body, dict) else None


def _run(doc: dict[str, Any], base_url: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_dict(doc)
    problems: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path in SKIP:
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                resp = case.call(base_url=base_url, headers=headers, timeout=30)
                where = f"{case.method} {case.formatted_path} -> {resp.status_code}"
                if resp.status_code >= 500:
                    problems.append(f"{where}: {resp.text[:300]}")
                elif resp.status_code >= 400 and len(resp.request.url) <= 8190:
                    # (aiohttp's HTTP parser refuses a request line over 8190 bytes before the app runs)
                    said = _refusal(resp)
                    if said is None or not said[0] or not _chinese(said[1]):
                        problems.append(f"{where}: a refusal without an id and Chinese text: {resp.text[:200]}")

            try:
                check()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise  # a negative case may not exist (free-text path segments): a valid one must
    return operations, problems


async def test_no_server_errors_and_every_refusal_in_chinese(app: Api) -> None:
    status, doc = await app.call("GET", "/api/v1/openapi.json", "nobody")
    assert status == 200
    base = str(app.client.make_url("")).rstrip("/")
    operations, problems = await asyncio.to_thread(_run, doc, base, app.headers["admin"])
    assert operations > 80 and problems == [], "\n".join(problems[:20])
