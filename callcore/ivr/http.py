"""IVR menus over HTTP (T-2), admin role: read the menu in service, its versions, replace it, roll it back,
and upload recorded prompts (WAV/MP3, converted to 8 kHz mono 16-bit).

The IVR plugin provides its ``MenuRegistry`` in the context; a daemon without it answers 503.
A refused menu is a 400 whose ``details`` list every fault with its line.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from callcore.core.errors import InvalidInput, NotFound, ServiceUnavailable
from callcore.api.router import ApiRequest, Link, Router
from callcore.api.validation import InputModel, Serial, parse_serial
from callcore.core.identity import ADMINS
from callcore.ivr import versions
from callcore.ivr.registry import MenuRegistry, MenuRejected, UnknownMenu
from callcore.ivr.validator import RECORDED_SUBDIR
from callcore.store.db import OUTAGE_ERRORS
from callcore.prompts.audio import MAX_UPLOAD_SECONDS, AudioError, convert_upload

router = Router("/api/v1")
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
MAX_UPLOAD_BYTES = 8 * 1024 * 1024


class MenuOut(BaseModel):
    name: str
    version: int
    label: str
    author: str
    changed_at: datetime
    source: str


class VersionOut(BaseModel):
    version: int
    label: str
    author: str
    origin: str
    comment: str
    based_on: int | None
    created_at: datetime


class VersionDetail(VersionOut):
    source: str


class VersionList(BaseModel):
    items: list[VersionOut]


class MenuList(BaseModel):
    items: list[MenuOut]


class MenuPut(InputModel):
    source: str = Field(min_length=1, max_length=512 * 1024, description="the menu file (YAML, format 1)")
    comment: str = Field(default="", max_length=256)


class Rollback(InputModel):
    version: Serial


class PromptUploadOut(BaseModel):
    name: str
    prompt: dict[str, str] = Field(description="what a menu node plays it with")


def _registry(req: ApiRequest[Any, Any]) -> MenuRegistry:
    return req.ctx.get(MenuRegistry)


def _author(req: ApiRequest[Any, Any]) -> str:
    return f"{req.user.name} ({req.user.user_id})"


def _menu_out(reg: MenuRegistry, name: str) -> MenuOut:
    try:
        a = reg.current(name)
    except UnknownMenu:
        raise NotFound(f"no menu {name!r} in service") from None
    return MenuOut(name=a.name, version=a.version, label=a.menu.label, author=a.author, changed_at=a.changed_at,
                   source=a.menu.source)


def _rejected(exc: MenuRejected) -> InvalidInput:
    details = [{"line": f.line, "message": f.message} for f in exc.faults]
    lines = sorted({f.line for f in exc.faults if f.line})
    # The admin reads where to look (the editor marks each line from ``details``).
    text = f"菜单校验未通过：共{len(exc.faults)}处错误，见第{'、'.join(map(str, lines[:5]))}行" if lines else "菜单校验未通过"
    return InvalidInput(f"menu refused: {exc.faults[0]}" if exc.faults else "menu refused", details=details,
                        error_id="invalid_menu", text=text)


@router.get("/ivr/menus", summary="List the menus in service", tags=("ivr",), response=MenuList, roles=ADMINS)
async def list_menus(req: ApiRequest[Any, Any]) -> MenuList:
    reg = _registry(req)
    return MenuList(items=[_menu_out(reg, n) for n in reg.names()])


@router.get("/ivr/menus/{name}", summary="Get the menu in service", tags=("ivr",), response=MenuOut, roles=ADMINS,
            responses={404: "no such menu"})
async def get_menu(req: ApiRequest[Any, Any]) -> MenuOut:
    return _menu_out(_registry(req), req.path["name"])


@router.put("/ivr/menus/{name}", summary="Replace a menu", tags=("ivr",), body=MenuPut, response=MenuOut,
            roles=ADMINS, responses={400: "the menu is invalid: details give each fault's line and message"},
            links={"menu": Link(method="GET", path="/ivr/menus/{name}", parameters={"name": "$request.path.name"}),
                   "versions": Link(method="GET", path="/ivr/menus/{name}/versions",
                                    parameters={"name": "$request.path.name"})})
async def put_menu(req: ApiRequest[MenuPut, Any]) -> MenuOut:
    reg = _registry(req)
    name = req.path["name"]
    if not NAME.match(name):
        raise InvalidInput(f"bad menu name {name!r}")
    try:
        await reg.propose(name, req.body.source, author=_author(req), origin="api", comment=req.body.comment)
    except MenuRejected as exc:
        raise _rejected(exc) from None
    except OUTAGE_ERRORS:
        raise ServiceUnavailable("the store is unavailable: the menu was not changed") from None
    return _menu_out(reg, name)


@router.get("/ivr/menus/{name}/versions", summary="List a menu's versions", tags=("ivr",),
            response=VersionList, roles=ADMINS)
async def list_versions(req: ApiRequest[Any, Any]) -> VersionList:
    reg = _registry(req)
    if reg.db is None:
        raise ServiceUnavailable("no store")
    rows = await versions.list_versions(reg.db, req.path["name"])
    return VersionList(items=[VersionOut.model_validate(r, from_attributes=True) for r in rows])


@router.get("/ivr/menus/{name}/versions/{version}", summary="Get one version of a menu", tags=("ivr",),
            response=VersionDetail, roles=ADMINS, responses={404: "no such version"})
async def get_version(req: ApiRequest[Any, Any]) -> VersionDetail:
    reg = _registry(req)
    if reg.db is None:
        raise ServiceUnavailable("no store")
    version = parse_serial(req.path["version"])
    if version is None:
        raise NotFound("no such version")
    row = await versions.get(reg.db, req.path["name"], version)
    if row is None:
        raise NotFound(f"menu {req.path['name']!r} has no version {req.path['version']}")
    return VersionDetail.model_validate(row, from_attributes=True)


@router.post("/ivr/menus/{name}/rollback", summary="Put an earlier version back in service", tags=("ivr",),
             body=Rollback, response=MenuOut, roles=ADMINS,
             responses={404: "no such version", 400: "that version is no longer valid"})
async def rollback(req: ApiRequest[Rollback, Any]) -> MenuOut:
    reg = _registry(req)
    name = req.path["name"]
    try:
        await reg.rollback(name, req.body.version, author=_author(req))
    except UnknownMenu:
        raise NotFound(f"menu {name!r} has no version {req.body.version}") from None
    except MenuRejected as exc:
        raise _rejected(exc) from None
    except OUTAGE_ERRORS:
        raise ServiceUnavailable("the store is unavailable: the menu was not changed") from None
    return _menu_out(reg, name)


class UploadQuery(InputModel):
    format: Literal["wav", "mp3"] | None = Field(
        default=None, description="the audio's format, over what Content-Type says (without it: audio/mpeg is "
                                  "MP3, anything else WAV)")


@router.put("/ivr/recordings/{name}", summary="Upload a recorded prompt (WAV or MP3)", tags=("ivr",),
            response=PromptUploadOut, roles=ADMINS, upload=("audio/wav", "audio/mpeg"), query=UploadQuery,
            responses={400: "not a readable WAV/MP3, or too long"})
async def put_recording(req: ApiRequest[Any, UploadQuery]) -> PromptUploadOut:
    """The body is the audio; ``Content-Type: audio/mpeg`` (or ``?format=mp3``) for MP3."""
    reg = _registry(req)
    name = req.path["name"]
    if not NAME.match(name) or name.endswith((".wav", ".mp3")):
        raise InvalidInput(f"bad recording name {name!r}: letters, digits, _ . - and no extension")
    ctype = req.raw.content_type.lower()
    fmt = req.query.format or ("mp3" if "mpeg" in ctype or "mp3" in ctype else "wav")
    if req.raw.content_length and req.raw.content_length > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"the recording is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    data = await req.raw.read()
    if not data:
        raise InvalidInput("empty body: send the audio")
    try:
        await asyncio.to_thread(convert_upload, data, fmt, reg.dirs.sounds_dir / RECORDED_SUBDIR / name)
    except AudioError as exc:
        raise InvalidInput(f"{exc} (at most {MAX_UPLOAD_SECONDS} s)") from None
    return PromptUploadOut(name=name, prompt={"file": name})
