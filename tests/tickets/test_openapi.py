"""The ticket, account, admin, public and Open311 API against its own OpenAPI document, with
schemathesis: generated valid and invalid inputs never give a 500, and every 400 names a field.

The app runs on the test's event loop (aiohttp TestServer); schemathesis drives it with blocking
HTTP calls from a worker thread, so the loop stays free to answer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.tickets.api import TicketsApi

MINE = ("/api/v1/tickets", "/api/v1/auth", "/api/v1/admin", "/api/v1/departments", "/api/v1/categories",
        "/api/v1/calendar", "/api/v1/audit", "/api/v1/stats", "/api/v1/public", "/api/v1/open311")
MAX_EXAMPLES = 12
timings: list[tuple[float, str]] = []


def _run(doc: dict[str, Any], base_url: str, headers: dict[str, str]) -> list[str]:
    schema = schemathesis.openapi.from_dict(doc)
    problems: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if not op.path.startswith(MINE) or op.path == "/api/v1/auth/logout" or op.path.endswith(".xml"):
            continue  # logging the admin token out would end the run early (static token: no-op anyway);
            # the XML formats answer XML: tests/tickets/test_open311_schema.py
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            started = time.monotonic()
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                resp = case.call(base_url=base_url, headers=headers, timeout=10)
                where = f"{case.method} {case.formatted_path} -> {resp.status_code}"
                if resp.status_code >= 500:
                    problems.append(f"{where}: {resp.text[:300]}")
                elif resp.status_code == 400:
                    try:
                        body = resp.json()
                    except ValueError:
                        # aiohttp's HTTP parser refuses a request line over 8190 bytes before the app runs.
                        if len(resp.request.url) <= 8190:
                            problems.append(f"{where}: 400 not from the app: {resp.text[:200]}")
                        return
                    if not body.get("message") or not body.get("details") or not body["details"][0].get("field"):
                        problems.append(f"{where}: 400 without a field: {body}")

            check()
            timings.append((time.monotonic() - started, f"{op.method.upper()} {op.path} {mode.value}"))
    return problems


async def test_no_server_errors_and_400s_name_the_field(api: TicketsApi) -> None:
    t = await api.new_ticket()
    await api.act(t["id"], "dispatcher", "dispatch", mode="transfer", department_id="dep-a")
    status, doc = await api.call("GET", "/api/v1/openapi.json", "nobody")
    assert status == 200
    base = str(api.client.make_url("")).rstrip("/")
    problems = await asyncio.to_thread(_run, doc, base, api.headers["admin"])
    slow = sorted(timings, reverse=True)[:8]
    print("slowest operations:", *(f"{t:.1f}s {name}" for t, name in slow), sep="\n  ")
    assert problems == [], "\n".join(problems[:20])
