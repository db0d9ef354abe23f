"""The OpenAPI 3.1 document, generated from the routes so it cannot drift from them."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from callcore import __version__
from callcore.api.router import Route

_REF = "#/components/schemas/{model}"


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": _REF.format(model=model.__name__)}


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


def build(routes: list[Route]) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, Any] = {}
    for r in routes:
        op: dict[str, Any] = {"summary": r.summary, "operationId": r.handler.__name__, "tags": list(r.tags)}
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in re.findall(r"{(\w+)(?::[^}]*)?}", r.path)
        ]
        if r.query is not None:
            params += _query_params(r.query)
        if params:
            op["parameters"] = params
        if r.body is not None:
            schema = {"schema": _schema(r.body, components)}
            media = ("application/x-www-form-urlencoded", "application/json") if r.form else ("application/json",)
            op["requestBody"] = {"required": True, "content": {m: schema for m in media}}
        ok: dict[str, Any] = {"description": "OK"}
        if r.response is not None:
            ok["content"] = {r.content_type: {"schema": _schema(r.response, components)}}
        err = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        responses: dict[str, Any] = {str(r.status): ok}
        if r.body is not None or r.query is not None or params:
            responses["400"] = err
        if r.body is not None:
            responses["413"] = {**err, "description": "the body is larger than the API accepts"}
        if r.auth:
            op["security"] = [{"bearer": []}]
            responses["401"] = err
            if r.roles:
                responses["403"] = err
        for code, text in r.responses.items():
            responses[str(code)] = {**err, "description": text}
        op["responses"] = responses
        path = re.sub(r"{(\w+):[^}]*}", r"{\1}", r.path)
        paths.setdefault(path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "callcore: 96881 hotline API", "version": __version__},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
