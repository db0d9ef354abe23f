"""Runs one call through one menu version (T-2, T-4, C-1, C-2).

The engine walks the nodes of an ``ActiveMenu`` taken when the call entered the IVR, so a menu
change mid-call never reaches it. Every node passed is an ``ivr_node`` event; keys and silences are
recorded by the session (``dtmf``, ``timeout``); leaving writes ``ivr_left`` with how, where and the
path. A caller who hangs up in the menus leaves ``ivr_left how=caller_hangup node=...`` and
``CallerHungUp`` propagates to the Stasis app, which records the end (the journal then counts the call
as lost in the IVR).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from callcore.calls import events as ev
from callcore.ivr import format as f
from callcore.routing.hours import is_open
from callcore.ivr.registry import ActiveMenu
from callcore.ivr.types import Handoffs, IvrOutcome, IvrSession, NoHandoffs, TicketLookup, TicketStatus
from callcore.prompts.numbers import spoken_date
from callcore.prompts.synth import PromptError, digit_media, ensure_prompt
from callcore.store.base import utcnow

log = logging.getLogger(__name__)

ALL_KEYS = "0123456789*#"
MAX_STEPS = 300
MAX_PATH = 100
LOOKUP_TIMEOUT = 4.0
QUERY_CODE_LEAD = "查询码"


def status_sentence(status_text: str) -> str:
    """What the self-service lookup says of a ticket's status (after the query code)."""
    return f"对应的工单，目前状态为：{status_text}。"


def deadline_sentence(day: date) -> str:
    """The deadline in force, said as a date: 办理期限为二零二六年十二月三十一日。"""
    return f"办理期限为{spoken_date(day)}。"


def _caller_hung_up() -> tuple[type[BaseException], ...]:
    """The session's hang-up exception (imported late: the engine is unit-tested without ARI)."""
    try:
        from callcore.calls.session import CallerHungUp
    except ImportError:  # pragma: no cover - only while the session module is absent
        return ()
    return (CallerHungUp,)


class _Leave(Exception):
    def __init__(self, outcome: IvrOutcome) -> None:
        self.outcome = outcome


class IvrEngine:
    """One run of a menu for one call: ``outcome = await IvrEngine(active, ...).run(session)``."""

    def __init__(
        self, active: ActiveMenu, *, sounds_dir: Path, lookup: TicketLookup | None = None,
        handoffs: Handoffs | None = None, clock: Callable[[], datetime] = utcnow,
        hangup_errors: tuple[type[BaseException], ...] | None = None,
    ) -> None:
        self.active = active
        self.menu = active.menu
        self.sounds_dir = sounds_dir
        self.lookup = lookup
        self.handoffs = handoffs or NoHandoffs()
        self.clock = clock
        self.hangup_errors = hangup_errors if hangup_errors is not None else _caller_hung_up()
        self.variables: dict[str, str] = {}
        self.path: list[str] = []
        self.stack: list[str] = []
        self.node_id = ""

    # -- running ----------------------------------------------------------------------------------

    async def run(self, session: IvrSession) -> IvrOutcome:
        self.session = session
        session.event(ev.IVR_ENTERED, menu=self.active.name, version=self.active.version, label=self.menu.label)
        target = self.menu.start.target
        try:
            for _ in range(MAX_STEPS):
                node = self.menu.nodes[target]
                self.node_id = node.id
                if len(self.path) < MAX_PATH:
                    self.path.append(node.id)
                session.event(ev.IVR_NODE, node=node.id, kind=node.kind)
                handler = getattr(self, f"_on_{node.kind}")
                target = self._resolve(await handler(node))
            log.error("call %s: menu %s ran %d steps without leaving; hanging up", getattr(session, "call_id", "?"),
                      self.active.name, MAX_STEPS)
            await self._play(self.menu.system.goodbye, "goodbye", last=True)
            return await self._hangup("ivr_step_limit")
        except _Leave as leave:
            return leave.outcome
        except self.hangup_errors:
            self._left("caller_hangup", lost=True)
            raise

    def _resolve(self, target: str) -> str:
        if target != f.BACK:
            return target
        if self.stack and self.stack[-1] == self.node_id:
            self.stack.pop()
        return self.stack[-1] if self.stack else self.menu.start.target

    def _left(self, how: str, **data: Any) -> IvrOutcome:
        outcome = IvrOutcome(how=how, node=self.node_id, target=str(data.get("target", "")), path=tuple(self.path),
                             attributes=dict(self.session.attributes), variables=dict(self.variables))
        self.session.event(ev.IVR_LEFT, how=how, node=self.node_id, menu=self.active.name,
                           version=self.active.version, path=list(self.path), **data)
        return outcome

    async def _hangup(self, reason: str) -> IvrOutcome:
        outcome = self._left("hangup", reason=reason)
        if reason == "refused":
            # C-2 counts callers refused by policy apart from those lost in the menus.
            self.session.event(ev.REFUSED, node=self.node_id)
        await self.session.hangup(reason)
        return outcome

    # -- media ------------------------------------------------------------------------------------

    def _media(self, prompt: f.Prompt) -> list[str]:
        out = []
        for item in prompt:
            path = self.active.prompts.get((item.kind, item.value))
            if path is None:  # validated menus have every prompt; be safe rather than silent
                log.error("menu %s v%s: prompt %r not prepared", self.active.name, self.active.version, item.value)
                continue
            out.append(f"sound:{path}")
        return out

    async def _play(self, prompt: f.Prompt, name: str, *, keys: str | None = None, last: bool = False) -> str | None:
        media = self._media(prompt)
        if not media:
            return None
        return await self.session.play(media, interrupt_digits=keys, name=f"{self.node_id}.{name}", last=last)

    async def _say(self, texts: list[str | list[str]]) -> list[str]:
        """Media for spoken text: strings are synthesized (cached), lists are media URIs already."""
        out: list[str] = []
        for t in texts:
            if isinstance(t, list):
                out.extend(t)
            else:
                out.append(f"sound:{await ensure_prompt(t, self.sounds_dir, voice=self.menu.voice)}")
        return out

    # -- nodes ------------------------------------------------------------------------------------

    async def _on_play(self, node: f.PlayNode) -> str:
        await self._play(node.prompt, "prompt")
        return node.next.target

    async def _on_menu(self, node: f.MenuNode) -> str:
        if self.node_id in self.stack:
            del self.stack[self.stack.index(self.node_id) + 1:]
        else:
            self.stack.append(self.node_id)
        for attempt in range(node.retries + 1):
            digit = await self._play(node.prompt, "prompt", keys=ALL_KEYS)
            if digit is None:
                got = await self.session.collect(max_digits=1, first_timeout=node.timeout,
                                                 inter_timeout=node.timeout, terminator=None)
                digit = got.digits or None
            if digit is not None and digit in node.choices:
                return node.choices[digit].target
            if attempt == node.retries:
                break
            retry = (node.invalid or self.menu.system.invalid) if digit else (node.no_input or self.menu.system.no_input)
            self.session.event(ev.IVR_NODE, node=node.id, kind=node.kind, retry=attempt + 1,
                               because="invalid" if digit else "no_input")
            await self._play(retry, "invalid" if digit else "no_input")
        return node.fallback.target

    async def _on_collect(self, node: f.CollectNode) -> str:
        for attempt in range(node.retries + 1):
            first = await self._play(node.prompt, "prompt", keys=ALL_KEYS)
            got = await self.session.collect(max_digits=node.max_digits, first_timeout=node.timeouts.first,
                                             inter_timeout=node.timeouts.inter, terminator=node.terminator or None,
                                             first=first)
            digits = got.digits
            if digits.isdigit() and node.min_digits <= len(digits) <= node.max_digits:
                self.variables[node.into] = digits
                return node.next.target
            if attempt == node.retries:
                break
            self.session.event(ev.IVR_NODE, node=node.id, kind=node.kind, retry=attempt + 1,
                               because="invalid" if digits else "no_input")
            await self._play((node.invalid or self.menu.system.invalid) if digits else self.menu.system.no_input,
                             "invalid" if digits else "no_input")
        return node.fallback.target

    async def _on_hours(self, node: f.HoursNode) -> str:
        assert self.menu.hours is not None  # the validator refuses an hours node without hours
        return node.open.target if is_open(self.menu.hours, self.clock()) else node.closed.target

    async def _on_switch(self, node: f.SwitchNode) -> str:
        value = self.session.attributes.get(node.attribute, self.variables.get(node.attribute))
        edge = node.cases.get(str(value)) if value is not None else None
        return (edge or node.default).target

    async def _on_set(self, node: f.SetNode) -> str:
        for name, value in node.attributes.items():
            self.session.set_attribute(name, value)
        return node.next.target

    async def _on_lookup(self, node: f.LookupNode) -> str:
        code = self.variables.get(node.input, "")
        status: TicketStatus | None = None
        if self.lookup is not None and code:
            try:
                async with asyncio.timeout(LOOKUP_TIMEOUT):
                    status = await self.lookup.by_query_code(code)
            except (TimeoutError, OSError, ConnectionError) as exc:
                log.warning("ticket lookup failed (%s): treated as not found", exc)
            except Exception as exc:  # noqa: BLE001 - the store's errors vary; the caller must hear something
                log.exception("ticket lookup failed: %s", exc)
        self.session.event(ev.IVR_NODE, node=node.id, kind=node.kind, found=status is not None,
                           status=status.status if status else None)
        if status is None:
            return node.not_found.target
        try:
            media = await self._say(await self._status_speech(status))
        except PromptError as exc:
            log.error("cannot speak ticket status: %s", exc)
            return node.not_found.target
        await self.session.play(media, interrupt_digits=None, name=f"{node.id}.status")
        return node.found.target

    async def _status_speech(self, status: TicketStatus) -> list[str | list[str]]:
        """查询码 <the code digit by digit> 对应的工单，目前状态为：办理中。办理期限为二零二六年十二月八日。

        The code is played from the cached digit prompts (codes are unbounded, dates and statuses few)."""
        parts: list[str | list[str]] = [QUERY_CODE_LEAD, await digit_media(status.query_code, self.sounds_dir,
                                                                            voice=self.menu.voice)]
        parts.append(status_sentence(status.status_text))
        if status.due_date is not None and not status.closed:
            parts.append(deadline_sentence(status.due_date))
        return parts

    async def _handoff(self, node: f.HandoffNode, target: str) -> str:
        if self.handoffs.available(node.kind, target):
            await self._play(node.prompt, "prompt")
            raise _Leave(self._left(node.kind, target=target))
        self.session.event(ev.IVR_NODE, node=node.id, kind=node.kind, unavailable=True, target=target)
        if node.unavailable is not None:
            return node.unavailable.target  # that node tells the caller
        await self._play(self.menu.system.unavailable, "unavailable")
        await self._play(self.menu.system.goodbye, "goodbye", last=True)
        raise _Leave(await self._hangup(f"{node.kind}_unavailable"))

    async def _on_queue(self, node: f.QueueNode) -> str:
        return await self._handoff(node, node.queue)

    async def _on_voicemail(self, node: f.VoicemailNode) -> str:
        return await self._handoff(node, node.mailbox)

    async def _on_callback(self, node: f.CallbackNode) -> str:
        return await self._handoff(node, "callback")

    async def _on_hangup(self, node: f.HangupNode) -> str:
        await self._play(node.prompt or self.menu.system.goodbye, "prompt", last=True)
        raise _Leave(await self._hangup(node.reason))
