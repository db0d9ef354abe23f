"""The Open311 XML formats against the OpenAPI document, with schemathesis: generated inputs never
give a 500, and every 400 is GeoReport's ``<errors>`` document naming the field, in Chinese."""

from __future__ import annotations

import asyncio
from typing import Any
from xml.etree import ElementTree

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.tickets.api import TicketsApi

MAX_EXAMPLES = 12


def _run(doc: dict[str, Any], base_url: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_dict(doc)
    problems: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if not op.path.endswith(".xml"):
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                resp = case.call(base_url=base_url, headers=headers, timeout=10)
                where = f"{case.method} {case.formatted_path} -> {resp.status_code}"
                if resp.status_code >= 500:
                    problems.append(f"{where}: {resp.text[:300]}")
                elif resp.status_code == 400 and len(resp.request.url) <= 8190:
                    err = ElementTree.fromstring(resp.content).find("error")
                    if err is None or not err.findtext("field") or not any(
                            "\u4e00" <= ch <= "\u9fff" for ch in err.findtext("description") or ""):
                        problems.append(f"{where}: 400 without a field in Chinese: {resp.text[:200]}")

            check()
    return operations, problems


async def test_xml_formats_never_500_and_400s_name_the_field(api: TicketsApi) -> None:
    status, doc = await api.call("GET", "/api/v1/openapi.json", "nobody")
    assert status == 200
    base = str(api.client.make_url("")).rstrip("/")
    operations, problems = await asyncio.to_thread(_run, doc, base, api.headers["admin"])
    assert operations == 4 and problems == [], "\n".join(problems[:20])
