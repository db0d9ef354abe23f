"""``GET /api/v1/health``: is every component connected (readiness for ops and tests)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from callcore.api.router import ApiRequest, Reply, Router

router = Router("/api/v1")


class Health(BaseModel):
    status: str
    components: dict[str, bool]
    spooled_events: bool
    queued_events: int
    warnings: dict[str, str]


@router.get("/health", summary="Health of the daemon and its connections", tags=("ops",), auth=False, response=Health,
            responses={503: Reply(description="a component is down", model=Health)})
async def health(req: ApiRequest[Any, Any]) -> web.Response:
    ctx = req.ctx
    names = list(ctx.health)
    results = await asyncio.gather(*(ctx.health[n]() for n in names), return_exceptions=True)
    components = {n: r is True for n, r in zip(names, results, strict=True)}
    ok = all(components.values())
    notes = list(ctx.warnings)
    said = await asyncio.gather(*(ctx.warnings[n]() for n in notes), return_exceptions=True)
    warnings = {n: str(w) for n, w in zip(notes, said, strict=True) if w is not None}
    body = Health(
        status="ok" if ok else "degraded",
        components=components,
        spooled_events=ctx.journal.spooled if ctx.journal else False,
        queued_events=ctx.journal.backlog if ctx.journal else 0,
        warnings=warnings,
    )
    return web.json_response(body.model_dump(), status=200 if ok else 503)
