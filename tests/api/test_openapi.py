"""The OpenAPI document the router builds (``callcore/api/openapi.py``): every operation says what its
success carries, links point at operations that exist, one name is one schema, and the framework's
own refusals (405) answer as the document says."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from pydantic import BaseModel

from callcore.api.openapi import build
from callcore.api.router import ApiRequest, Link, Reply, Route
from callcore.daemon import build_plugins
from tests.accounts.staff import Api
from tests.apps import context

METHODS = ("get", "put", "post", "delete", "patch")


def _described(media: dict[str, Any]) -> bool:
    """A media type of an answer with a schema: a model (a reference, an array, an object...), text, or a file."""
    schema = media.get("schema") or {}
    return bool(schema.get("$ref") or schema.get("type"))


def _undocumented_success(op: dict[str, Any]) -> str | None:
    """Why the operation's success is not documented, or None: a 2xx with a schema for each of its
    media types (JSON a model, text a string, a file ``format: binary``), a 204 with no body at all,
    or a WebSocket's upgrade (101) with the schema of its messages."""
    responses = op["responses"]
    ok = {code: r for code, r in responses.items() if code.startswith("2")}
    if "101" in responses:
        return None if not ok and "x-websocket-message" in op else "a WebSocket: its messages, and no 2xx"
    if set(ok) == {"204"}:
        return None if "content" not in ok["204"] else "a 204 with a body"
    media = [m for r in ok.values() for m in r.get("content", {}).values()]
    if not media:
        return "no 2xx with a body"
    return None if all(_described(m) for m in media) else "a 2xx media type without a schema"


async def test_every_operation_documents_what_its_success_carries(app: Api) -> None:
    status, doc = await app.call("GET", "/api/v1/openapi.json", "nobody")
    assert status == 200
    wrong = [f"{method.upper()} {path}: {why}" for path, ops in doc["paths"].items() for method, op in ops.items()
             if (why := _undocumented_success(op)) is not None]
    assert len(doc["paths"]) > 60 and wrong == []
    # Files say what they are: the slip is HTML or a PDF, recordings are audio, exports are spreadsheets.
    slip = doc["paths"]["/api/v1/tickets/{ref}/slip"]["get"]["responses"]["200"]["content"]
    assert slip["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert slip["text/html"]["schema"] == {"type": "string"}
    wav = doc["paths"]["/api/v1/recordings/{id}/audio"]["get"]["responses"]
    assert wav["200"]["content"]["audio/wav"]["schema"]["format"] == "binary" and "206" in wav and "416" in wav
    export = doc["paths"]["/api/v1/tickets/export"]["get"]["responses"]["200"]["content"]
    assert set(export) == {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    # Bodies: a 413 wherever one is read, an uploaded file is a binary body.
    upload = doc["paths"]["/api/v1/ivr/recordings/{name}"]["put"]
    assert upload["requestBody"]["content"]["audio/mpeg"]["schema"]["format"] == "binary"
    [fmt] = [p for p in upload["parameters"] if p["in"] == "query"]
    assert fmt["name"] == "format" and not fmt["required"] and "mp3" in json.dumps(fmt["schema"])
    assert all("413" in op["responses"] for ops in doc["paths"].values() for op in ops.values() if "requestBody" in op)
    # The XML formats answer their errors in XML.
    assert set(doc["paths"]["/api/v1/open311/v2/requests.xml"]["get"]["responses"]["400"]["content"]) == {
        "application/xml"}


async def test_every_link_declared_is_in_the_whole_apis_document(app: Api, tmp_path: Path) -> None:
    status, doc = await app.call("GET", "/api/v1/openapi.json", "nobody")
    ctx = context(app.db, tmp_path / "again")
    declared = {(route.method.lower(), re.sub(r"{(\w+):[^}]*}", r"{\1}", route.path), name)
                for plugin in build_plugins(ctx) for router in plugin.routers() for route in router.routes
                for name in route.links}
    documented = {(method, path, name) for path, ops in doc["paths"].items() for method, op in ops.items()
                  for answer in op["responses"].values() for name in answer.get("links", {})}
    assert len(declared) > 30 and declared == documented


async def test_every_path_answers_a_method_it_does_not_list_with_405_and_what_it_allows(app: Api) -> None:
    status, doc = await app.call("GET", "/api/v1/openapi.json", "nobody")
    assert "405" in doc["info"]["description"]
    wrong = []
    for path, ops in doc["paths"].items():
        url = re.sub(r"{\w+}", "1", path)
        method = next(m for m in METHODS if m not in ops)
        r = await app.client.request(method.upper(), url, headers=app.headers["admin"])
        text = await r.text()
        error_id = (ElementTree.fromstring(text).findtext("error/error_id") if url.endswith(".xml")
                    else json.loads(text)["error_id"])
        allowed = set(r.headers.get("Allow", "").split(","))
        if r.status != 405 or allowed != {m.upper() for m in ops} or error_id != "method_not_allowed":
            wrong.append(f"{method.upper()} {url}: {r.status} Allow={sorted(allowed)}")
    assert wrong == []


class Thing(BaseModel):
    id: str


async def _handler(req: ApiRequest[Any, Any]) -> None:
    return None


def _route(method: str, path: str, **kw: Any) -> Route:
    """A route of the one handler, named by its method and path unless told (``None``: the handler's name)."""
    kw.setdefault("operation_id", f"{method.lower()}_{path}")
    return Route(method=method, path=path, handler=_handler, summary="x", **kw)


def test_links_point_at_an_operation_and_its_parameters() -> None:
    made = _route("POST", "/things", response=Thing, status=201,
                  links={"read": Link(method="GET", path="/things/{thing_id}",
                                      parameters={"thing_id": "$response.body#/id"})})
    doc = build([made, _route("GET", "/things/{thing_id}", response=Thing)])
    link = doc["paths"]["/things"]["post"]["responses"]["201"]["links"]["read"]
    assert link == {"operationRef": "#/paths/~1things~1{thing_id}/get",
                    "parameters": {"thing_id": "$response.body#/id"}}
    # An app without the target (a test's, of some capabilities) leaves the link out.
    assert "links" not in build([made])["paths"]["/things"]["post"]["responses"]["201"]
    wrong = _route("POST", "/things", links={"read": Link(method="GET", path="/things/{thing_id}",
                                                         parameters={"id": "$response.body#/id"})})
    with pytest.raises(ValueError, match=r"has no parameter \['id'\]"):
        build([wrong, _route("GET", "/things/{thing_id}", response=Thing)])


def test_two_models_of_one_name_are_refused_not_documented_as_each_other() -> None:
    other = type("Thing", (BaseModel,), {"__annotations__": {"name": str}})
    with pytest.raises(ValueError, match="two different schemas named 'Thing'"):
        build([_route("GET", "/a", response=Thing), _route("GET", "/b", response=other)])


def test_one_operation_id_for_one_operation() -> None:
    with pytest.raises(ValueError, match="two operations named '_handler'"):
        build([_route("GET", "/a", operation_id=None), _route("POST", "/a", operation_id=None)])
    doc = build([_route("GET", "/a", operation_id=None), _route("POST", "/a", operation_id="make_a")])
    assert [op["operationId"] for op in doc["paths"]["/a"].values()] == ["_handler", "make_a"]


async def test_every_operation_id_of_the_whole_api_is_its_own(app: Api) -> None:
    status, doc = await app.call("GET", "/api/v1/openapi.json", "nobody")
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) > 60 and len(set(ids)) == len(ids)
    # The two capabilities' log-ins keep names of their own; links reach them by operationRef.
    assert doc["paths"]["/api/v1/auth/login"]["post"]["operationId"] == "login"
    assert doc["paths"]["/api/v1/agents/{number}/login"]["post"]["operationId"] == "agent_login"


def test_answers_beside_the_success_say_what_they_carry() -> None:
    doc = build([_route("GET", "/health", response=Thing, responses={503: Reply(description="down", model=Thing),
                                                                       302: Reply(description="elsewhere"),
                                                                       404: "no such thing"}),
                 _route("GET", "/feed", websocket=True, response=Thing)])
    responses = doc["paths"]["/health"]["get"]["responses"]
    assert responses["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Thing"}
    assert "content" not in responses["302"]
    assert responses["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    feed = doc["paths"]["/feed"]["get"]
    assert set(feed["responses"]) == {"101", "400", "401"}
    assert feed["x-websocket-message"] == {"$ref": "#/components/schemas/Thing"}
