"""Every operation of the whole API (all capabilities) against its OpenAPI document, with
schemathesis (issue 12): generated valid and invalid inputs, one operation at a time and then in
sequences that follow the document's links (the stateful phase: a ticket created, then read, acted
on and printed; an agent made, then logged in and paused...). Never a 5xx, never an answer the
document does not describe (its status, its media type, its body's schema), and every refusal
carries its stable error id and a Chinese text.

The app runs on the test's event loop (aiohttp TestServer); schemathesis drives it with blocking
HTTP calls from a worker thread, so the loop stays free to answer. Both runs are reproducible for CI:
derandomized one operation at a time, fixed seeds for the sequences. Capabilities may test their own
operations harder
(``tests/tickets/test_openapi.py``); this is the floor for all of them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from xml.etree import ElementTree

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from tests.accounts.staff import Api

MAX_EXAMPLES = 6
# The stateful phase: this many scenarios of at most STEPS calls, each step following a link when one applies.
SCENARIOS = 60
STEPS = 10
SEED = 96881
# Scenarios run in runs of at most RUN_SCENARIOS, each on a seed of its own. A run that meets a
# server whose answers moved under a prefix Hypothesis drew before (its "flaky" data generation: a
# name an earlier scenario took, a ticket a step moved on) ends there, as in schemathesis' own
# runner, and the next run goes on with the scenarios left.
RUN_SCENARIOS = 10
MAX_RUNS = 3 * SCENARIOS // RUN_SCENARIOS
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# In sequences also: what was just made can be read, what was deleted is gone.
STATEFUL_CHECKS = [*CHECKS, ensure_resource_availability, use_after_free]
# Positive cases the store refuses by design whatever the schema says (a category it does not have, a
# phone number that is not one, a user or call that does not exist): given values it has, so that
# scenarios get past creating things and on to what the links lead to.
KNOWN: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/tickets"): {"category": "complaint", "phone": "13812345678", "call_id": None,
                                  "received_at": None},
    ("POST", "/api/v1/open311/v2/requests.json"): {"service_code": "complaint"},
    ("POST", "/api/v1/agents"): {"user_id": None},
    ("POST", "/api/v1/admin/users"): {"department_id": None},
}
# What the stateful phase must have made and then followed links from, with the values they carry:
# the scenarios reach past creation (and this many different links at least).
FOLLOWED_FROM = {"POST /api/v1/tickets", "POST /api/v1/agents", "POST /api/v1/open311/v2/requests.json",
                 "POST /api/v1/departments", "POST /api/v1/admin/api-keys"}
FOLLOWED_LINKS = 12

# An uploaded recording (``PUT /ivr/recordings/{name}``) goes as the bytes generated, like any binary body.
schemathesis.serializer.alias(["audio/wav", "audio/mpeg"], "application/octet-stream")


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


Problems = dict[str, str]


def _problems(case: Any, resp: Any, found: Problems, checks: list[Any] = CHECKS, recorder: Any = None) -> None:
    """What is wrong with one answer, once per operation, status and kind (with the first example):
    what schemathesis' checks find (a 5xx, a status, media type or body the document does not
    describe), and a refusal without its error id and Chinese text."""
    kind = f"{case.method} {case.operation.path} -> {resp.status_code}"
    example = f"{case.method} {case.formatted_path}"
    # aiohttp's HTTP parser refuses a request line over 8190 bytes (a plain-text 400) before the app runs.
    app_answered = len(resp.request.url) <= 8190
    try:
        case.validate_response(resp, checks=checks if app_answered else [not_a_server_error], recorder=recorder)
    except FailureGroup as group:
        for f in group.exceptions:
            found.setdefault(f"{kind}: {f.title}", f"{example}: {f.message[:300]}")
    # (a 416 is FileResponse's answer to a range outside the file: no body)
    if 400 <= resp.status_code < 500 and resp.status_code != 416 and app_answered:
        said = _refusal(resp)
        if said is None or not said[0] or not _chinese(said[1]):
            found.setdefault(f"{kind}: a refusal without an id and Chinese text", f"{example}: {resp.text[:200]}")


def _report(found: Problems) -> str:
    return "\n".join(f"{kind}\n    {example}" for kind, example in sorted(found.items()))


def _one_by_one(doc: dict[str, Any], base_url: str, headers: dict[str, str]) -> tuple[int, Problems]:
    schema = schemathesis.openapi.from_dict(doc)
    problems: Problems = {}
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                _problems(case, case.call(base_url=base_url, headers=headers, timeout=30), problems)

            try:
                check()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise  # a negative case may not exist (free-text path segments): a valid one must
    return operations, problems


def _stateful(doc: dict[str, Any], base_url: str, headers: dict[str, str]) -> tuple[int, Counter[str], Problems]:
    """Scenarios along the document's links: how many ran, the links followed with values (how often
    each) and the problems found."""
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"mode": "positive"},
        # Only the document's own links: inferred ones would change with schemathesis' heuristics.
        "phases": {"stateful": {"inference": {"algorithms": []}}},
    })
    schema = schemathesis.openapi.from_dict(doc, config=config)
    problems: Problems = {}
    followed: Counter[str] = Counter()
    scenarios = [0]

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def teardown(self) -> None:
            scenarios[0] += 1
            super().teardown()

        def step(self, input: StepInput) -> StepOutput:
            output: StepOutput = super().step(input)
            if input.transition is not None and input.is_applied:
                followed[input.transition.id] += 1
            return output

        def before_call(self, case: Any) -> None:
            known = KNOWN.get((case.method.upper(), case.operation.path))
            if known is not None and isinstance(case.body, dict):
                case.body.update(known)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "headers": headers, "timeout": 30}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            _problems(case, response, problems, STATEFUL_CHECKS, self.recorder)

    for run in range(MAX_RUNS):
        left = SCENARIOS - scenarios[0]
        if left <= 0:
            break
        try:
            seed(SEED + run)(Scenarios).run(settings=settings(
                max_examples=min(left, RUN_SCENARIOS), stateful_step_count=STEPS, phases=[Phase.generate],
                deadline=None, database=None, suppress_health_check=list(HealthCheck)))
        except Flaky:
            pass
    return scenarios[0], followed, problems


async def _document(app: Api) -> tuple[dict[str, Any], str]:
    status, doc = await app.call("GET", "/api/v1/openapi.json", "nobody")
    assert status == 200
    return doc, str(app.client.make_url("")).rstrip("/")


async def test_each_operation_answers_as_documented_and_every_refusal_in_chinese(app: Api) -> None:
    doc, base = await _document(app)
    operations, problems = await asyncio.to_thread(_one_by_one, doc, base, app.headers["admin"])
    assert operations > 80 and problems == {}, _report(problems)


async def test_sequences_along_the_links_answer_as_documented(app: Api) -> None:
    doc, base = await _document(app)
    scenarios, followed, problems = await asyncio.to_thread(_stateful, doc, base, app.headers["admin"])
    print(f"{scenarios} scenarios; links followed:", *(f"{n:3} {link}" for link, n in followed.most_common()),
          sep="\n  ")
    assert problems == {}, _report(problems)
    assert scenarios >= SCENARIOS
    assert FOLLOWED_FROM <= {link.split(" -> ")[0] for link in followed}, sorted(followed)
    assert len(followed) >= FOLLOWED_LINKS, sorted(followed)
