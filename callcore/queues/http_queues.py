"""Queue settings over HTTP (T-5): the staff read them, admins change them.

The catalog (``QueueCatalog``, provided by the queues plugin) owns the file; these handlers only
translate. A change names the version it started from in ``If-Match`` and is refused with 409 if
the queue changed meanwhile; an invalid queue is a 400 whose ``details`` name every fault by field.
Nothing changes on either. Every change is written to the audit log with who made it.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from callcore.accounts import audit
from callcore.api.router import ApiRequest, Link, Router
from callcore.api.validation import has_nul
from callcore.core.errors import InvalidInput, ServiceUnavailable
from callcore.core.identity import ADMINS, FLOOR_MANAGERS, READ_ALL
from callcore.queues.catalog import LocatedFault, QueueCatalog, settings_dict, version_of
from callcore.queues.errors import QueueSettingsError
from callcore.queues.settings import QueueSettings
from callcore.store.db import OUTAGE_ERRORS

log = logging.getLogger(__name__)
router = Router("/api/v1")
READERS = READ_ALL | FLOOR_MANAGERS


class MemberOut(BaseModel):
    agent: str
    penalty: int


class QueueOut(BaseModel):
    name: str
    display_name: str
    strategy: str
    ring_timeout: float
    retry_delay: float
    wrap_up: float
    max_wait: float
    on_max_wait: str
    announce_every: float
    weight: int
    music_class: str
    members: list[MemberOut]
    version: str = Field(description="send it back in If-Match to change this queue")


class QueueList(BaseModel):
    items: list[QueueOut]
    version: str = Field(description="the file in service")
    faults: list[dict[str, Any]] = Field(
        description="why the file on disk was refused (the queues above are then older than it)")


class QueueIn(BaseModel):
    """The queue's settings; omitted keys take their defaults. Checked by the catalog, which names
    every fault, so the fields are documented here but not typed (a wrong type is one of its faults)."""

    model_config = ConfigDict(extra="allow")

    display_name: Any = Field(default=None, description="what people read, e.g. 综合服务 (required)")
    strategy: Any = Field(default=None, description="ringall, rrmemory, leastrecent, fewestcalls, random, linear")
    ring_timeout: Any = Field(default=None, description="seconds an agent's phone rings")
    retry_delay: Any = Field(default=None, description="seconds between rounds without answer")
    wrap_up: Any = Field(default=None, description="seconds after a call before the agent is rung again")
    max_wait: Any = Field(default=None, description="seconds a caller waits at most; 0: no maximum")
    on_max_wait: Any = Field(default=None, description="fallback, voicemail or callback")
    announce_every: Any = Field(default=None, description="seconds between position announcements; 0: none")
    weight: Any = Field(default=None, description="priority between queues sharing agents")
    music_class: Any = Field(default=None, description="Asterisk music-on-hold class")
    members: Any = Field(default=None, description='[{"agent": "1001", "penalty": 0}, ...]')


def _catalog(req: ApiRequest[Any, Any]) -> QueueCatalog:
    return req.ctx.get(QueueCatalog)


def _out(q: QueueSettings) -> QueueOut:
    return QueueOut(**settings_dict(q), version=version_of(q))


def _author(req: ApiRequest[Any, Any]) -> str:
    return f"{req.user.name} ({req.user.user_id})"


def _if_match(req: ApiRequest[Any, Any]) -> str | None:
    """The version an edit started from: ``If-Match: "v"`` (a weak ``W/`` is taken as is), ``*``, or none."""
    value = req.raw.headers.get("If-Match", "").strip()
    if not value:
        return None
    return value.removeprefix("W/").strip('"')


def _refused(exc: QueueSettingsError) -> InvalidInput:
    details = [f.to_json() if isinstance(f, LocatedFault) else {"field": f.field, "message": f.message}
               for f in exc.faults]
    return InvalidInput(f"queue refused: {exc.faults[0]}" if exc.faults else "queue refused", details=details,
                        error_id=exc.error_id)


async def _audit(req: ApiRequest[Any, Any], action: str, name: str, detail: dict[str, Any]) -> None:
    """The change is made: an audit row the store cannot take is logged, not turned into an error."""
    try:
        async with req.ctx.db.session() as s:
            audit.record(s, req.user, action=action, object_type="queue", object_id=name, detail=detail)
    except OUTAGE_ERRORS as exc:
        log.error("queue %s %s by %s (%s) not in the audit log (store unavailable: %s)", name, action,
                  req.user.name, req.user.user_id, exc)


@router.get("/queues", summary="List the queues in service", tags=("queues",), response=QueueList, roles=READERS)
async def list_queues(req: ApiRequest[Any, Any]) -> QueueList:
    catalog = _catalog(req)
    return QueueList(items=[_out(q) for q in catalog.all()], version=catalog.version,
                     faults=[f.to_json() for f in catalog.faults])


@router.get("/queues/{name}", summary="Get a queue's settings and version", tags=("queues",), response=QueueOut,
            roles=READERS, responses={404: "no such queue"})
async def get_queue(req: ApiRequest[Any, Any]) -> QueueOut:
    return _out(_catalog(req).get(req.path["name"]))


@router.put("/queues/{name}", summary="Add or replace a queue", tags=("queues",), body=QueueIn, response=QueueOut,
            roles=ADMINS, responses={400: "the queue is invalid: details name each field and fault",
                                     409: "the queue changed since the If-Match version"},
            links={"queue": Link(method="GET", path="/queues/{name}", parameters={"name": "$response.body#/name"}),
                   "remove": Link(method="DELETE", path="/queues/{name}", parameters={"name": "$response.body#/name"})})
async def put_queue(req: ApiRequest[QueueIn, Any]) -> QueueOut:
    name = req.path["name"]
    raw = req.body.model_dump(exclude_unset=True)
    if has_nul(raw):
        raise InvalidInput("body: must not contain NUL characters")
    expected = _if_match(req)
    try:
        q = await _catalog(req).replace(name, raw, author=_author(req), expected_version=expected)
    except QueueSettingsError as exc:
        raise _refused(exc) from None
    except OSError as exc:
        raise ServiceUnavailable(f"the queue file could not be written ({exc.strerror}): nothing changed") from None
    await _audit(req, "queue_put", name, {"if_match": expected, "version": version_of(q), "settings": settings_dict(q)})
    return _out(q)


@router.delete("/queues/{name}", summary="Remove a queue", tags=("queues",), status=204, roles=ADMINS,
               responses={404: "no such queue", 409: "the queue changed since the If-Match version"})
async def delete_queue(req: ApiRequest[Any, Any]) -> None:
    name = req.path["name"]
    expected = _if_match(req)
    try:
        q = await _catalog(req).remove(name, author=_author(req), expected_version=expected)
    except OSError as exc:
        raise ServiceUnavailable(f"the queue file could not be written ({exc.strerror}): nothing changed") from None
    # The settings removed, so the audit log is enough to put the queue back.
    await _audit(req, "queue_delete", name,
                 {"if_match": expected, "version": version_of(q), "settings": settings_dict(q)})
