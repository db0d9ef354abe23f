"""The OpenAPI 3.1 document, generated from the routes so it cannot drift from them."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from callcore import __version__
from callcore.api.router import MAX_BODY_BYTES, Reply, Route, answers_xml

_REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")


def _schema(tp: Any, components: dict[str, Any], mode: JsonSchemaMode) -> dict[str, Any]:
    """The JSON Schema of a pydantic model (a component, referenced) or of a type pydantic describes
    (inline, the models inside it components). Requests are described as validated, answers as
    serialised (their computed fields too)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        schema = tp.model_json_schema(ref_template=_REF, mode=mode)
        _add(components, schema.pop("$defs", {}))
        _add(components, {tp.__name__: schema})
        return {"$ref": _REF.format(model=tp.__name__)}
    schema = TypeAdapter(tp).json_schema(ref_template=_REF, mode=mode)
    _add(components, schema.pop("$defs", {}))
    return schema


def _add(components: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Components are named by the class: two classes of one name would document each other."""
    for name, schema in schemas.items():
        if components.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas named {name!r} in the OpenAPI document: rename one model")


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


_ERROR = {
    "type": "object",
    "required": ["error_id", "message"],
    "properties": {
        "error_id": {"type": "string", "description": "stable, for programs"},
        "message": {"type": "string", "description": "what people read, in Chinese"},
        "detail": {"type": "string", "description": "the English detail, for developers"},
        "details": {"description": "per field: field, in, message (Chinese), type, detail"},
    },
}
# ``callcore.api.xml.errors``: GeoReport's error list, with the error id and the faulty field.
_XML_ERRORS = {
    "type": "array",
    "xml": {"name": "errors", "wrapped": True},
    "items": {
        "type": "object",
        "xml": {"name": "error"},
        "required": ["code", "description", "error_id"],
        "properties": {
            "code": {"type": "integer", "description": "the HTTP status"},
            "description": {"type": "string", "description": "what people read, in Chinese"},
            "error_id": {"type": "string", "description": "stable, for programs"},
            "field": {"type": "string", "description": "the faulty field, when there is one"},
        },
    },
}
_BINARY = {"type": "string", "format": "binary"}
# What the framework answers on every path, beside what each operation lists.
_EVERYWHERE = ("Errors carry a stable `error_id`, a Chinese `message`, the English `detail` and per-field `details` "
               "(GeoReport XML on the Open311 `.xml` paths). Every path answers a method it does not list with "
               "405 and an `Allow` header naming those it does; a path the API does not have is a 404; a body "
               f"over {MAX_BODY_BYTES // 2**20} MiB is a 413 on every operation that reads one (listed with each).")


def _media(content_type: str, route: Route, model: Any, components: dict[str, Any]) -> dict[str, Any]:
    """What one media type of an answer carries: JSON its model, XML its model as elements, text a
    string, anything else a binary file."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return {"schema": _schema(model, components, "serialization")} if model is not None else {}
    if kind == "application/xml" and model is not None:
        schema = _schema(model, components, "serialization")
        if route.xml_elements is not None:
            root, item = route.xml_elements
            schema = {**schema, "xml": {"name": root, "wrapped": True}}
            schema["items"] = {**schema["items"], "xml": {"name": item}}
        return {"schema": schema}
    if kind.startswith("text/"):
        return {"schema": {"type": "string"}}
    return {"schema": _BINARY}


def _answer(description: str, content_types: tuple[str, ...], route: Route, model: Any,
            components: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    content = {c: _media(c, route, model, components) for c in content_types}
    if any(content.values()):
        out["content"] = content
    return out


def _pointer(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def _plain(path: str) -> str:
    """The path as the document writes it: parameters without their patterns."""
    return re.sub(r"{(\w+):[^}]*}", r"{\1}", path)


def _links(route: Route, routes: list[Route]) -> dict[str, Any]:
    """The route's links to the operations this app serves (an app of some capabilities only, as tests
    build, leaves out those to the others; the whole API's test checks that none is left out there),
    each checked here against its target's parameters."""
    out: dict[str, Any] = {}
    for name, link in route.links.items():
        target = next((r for r in routes if r.method == link.method and _plain(r.path) == _plain(link.path)), None)
        if target is None:
            continue
        known = set(_PARAM.findall(target.path)) | set(target.query.model_fields if target.query else ())
        unknown = set(link.parameters) - known
        if unknown:
            raise ValueError(f"link {name!r} of {route.method} {route.path}: {target.method} {target.path} "
                             f"has no parameter {sorted(unknown)}")
        out[name] = {"operationRef": f"#/paths/{_pointer(_plain(target.path))}/{target.method.lower()}",
                     "parameters": dict(link.parameters)}
    return out


def build(routes: list[Route]) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR, "XmlErrors": _XML_ERRORS}
    paths: dict[str, Any] = {}
    operations: dict[str, Route] = {}
    for r in routes:
        # OpenAPI requires unique operationIds: clients name their methods by them.
        seen = operations.setdefault(r.operation, r)
        if seen is not r:
            raise ValueError(f"two operations named {r.operation!r} in the OpenAPI document ({seen.method} {seen.path}, "
                             f"{r.method} {r.path}): give one an operation_id")
        op: dict[str, Any] = {"summary": r.summary, "operationId": r.operation, "tags": list(r.tags)}
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in _PARAM.findall(r.path)
        ]
        if r.query is not None:
            params += _query_params(r.query)
        if params:
            op["parameters"] = params
        if r.body is not None:
            schema = {"schema": _schema(r.body, components, "validation")}
            media = ("application/x-www-form-urlencoded", "application/json") if r.form else ("application/json",)
            op["requestBody"] = {"required": True, "content": {m: schema for m in media}}
        elif r.upload:
            op["requestBody"] = {"required": True, "content": {m: {"schema": _BINARY} for m in r.upload}}
        if r.websocket:
            # No HTTP body: the upgrade, then one JSON text message per item (described beside it).
            ok: dict[str, Any] = {"description": "Switching Protocols: a WebSocket of JSON text messages"}
            if r.response is not None:
                op["x-websocket-message"] = _schema(r.response, components, "serialization")
        else:
            ok = _answer("OK", r.content_types, r, r.response, components)
        links = _links(r, routes)
        if links:
            ok["links"] = links
        error_media = ("application/xml", "XmlErrors") if answers_xml(r.path) else ("application/json", "Error")
        err = {"description": "error",
               "content": {error_media[0]: {"schema": {"$ref": _REF.format(model=error_media[1])}}}}
        responses: dict[str, Any] = {str(101 if r.websocket else r.status): ok}
        if r.body is not None or r.query is not None or params:
            responses["400"] = err
        if r.websocket:
            responses["400"] = {**err, "description": "bad input, or not a WebSocket upgrade"}
        if r.body is not None or r.upload:
            responses["413"] = {**err, "description": "the body is larger than the API accepts"}
        if r.auth:
            op["security"] = [{"bearer": []}]
            responses["401"] = err
            if r.roles:
                responses["403"] = err
        for code, said in r.responses.items():
            if isinstance(said, Reply):
                responses[str(code)] = _answer(said.description, (said.content_type,), r, said.model, components)
            else:
                responses[str(code)] = {**err, "description": said}
        op["responses"] = responses
        paths.setdefault(_plain(r.path), {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "callcore: 96881 hotline API", "version": __version__, "description": _EVERYWHERE},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
