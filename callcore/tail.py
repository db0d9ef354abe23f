"""``callcore tail``: reads the API's live event stream and prints one line per event (C-4)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

import aiohttp


def format_line(item: dict[str, Any]) -> str:
    """``2026-11-23T10:00:00.123Z  <call id>  <caller>  <type>  k=v ...`` — greppable, one event a line."""
    data = item.get("data") or {}
    details = " ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", [], {}))
    if item.get("kind") == "call_event":
        return f"{item.get('at', '')}  {item.get('call_id', '')[:8]}  {item.get('caller') or '-':>13}  {item.get('type', ''):<16} {details}".rstrip()
    return f"{item.get('at', '-')}  asterisk  {item.get('type', '')} {details}".rstrip()


async def tail(
    base_url: str, token: str, *, caller: str | None = None, call_id: str | None = None, types: str | None = None,
    raw: bool = False, out: TextIO = sys.stdout, reconnect: bool = True,
) -> int:
    params = {k: v for k, v in {"caller": caller, "call_id": call_id, "type": types}.items() if v}
    url = f"{base_url.rstrip('/')}/api/v1/events/stream"
    headers = {"Authorization": f"Bearer {token}"}
    delay = 0.5
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            try:
                async with session.ws_connect(url, params=params, heartbeat=20) as ws:
                    delay = 0.5
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        item = json.loads(msg.data)
                        out.write((msg.data if raw else format_line(item)) + "\n")
                        out.flush()
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (401, 403):
                    print(f"callcore tail: the API refused the token ({exc.status})", file=sys.stderr)
                    return 2
            except (aiohttp.ClientError, OSError) as exc:
                print(f"callcore tail: {exc}; retrying in {delay:.1f} s", file=sys.stderr)
            if not reconnect:
                return 0
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
