"""Checks a parsed menu before it may serve a call (T-2): graph faults and prompt faults, each with its line.

Graph faults: unknown target, unreachable node, loop without exit (nodes from which no hang-up or
hand-off can be reached, or a cycle that never waits for a key), missing prompt, ``back`` with nowhere
to go, a lookup reading a variable nothing collects, an ``hours`` node without business hours.
Prompt faults (``check_prompts``, async): a ``say`` text espeak-ng cannot speak or naming a rule the
configuration does not have (``rules.py``), a recording that is missing or not playable. Both return
faults; an empty list means the menu may go into service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from callcore.config import Settings
from callcore.ivr import format as f
from callcore.ivr.format import Fault, Menu, PromptItem
from callcore.ivr.loader import parse
from callcore.ivr.rules import RuleValues, UnknownRule, default_rules, render
from callcore.prompts.audio import is_playable
from callcore.prompts.synth import PromptError, ensure_prompt

# Attributes a ``switch`` may read besides collected variables: set by the routing AGI or a ``set`` node.
RECORDED_SUBDIR = "recorded"
SWITCH_ATTRIBUTES = frozenset({"route", "priority", "category", "language"})


def _targets(node: f.Node) -> list[f.Edge]:
    return [e for e in node.edges() if e.target and e.target != f.BACK]


def validate(menu: Menu) -> list[Fault]:
    """The graph faults of ``menu`` (prompt files are checked by ``check_prompts``)."""
    faults: list[Fault] = []
    nodes = menu.nodes
    for edge in ([menu.start] if menu.start.target else []):
        if edge.target not in nodes:
            faults.append(Fault(line=edge.line, message=f"start: unknown target {edge.target!r}"))
    for node in nodes.values():
        for edge in node.edges():
            if edge.target and edge.target != f.BACK and edge.target not in nodes:
                faults.append(Fault(line=edge.line, message=f"node {node.id}, {edge.label}: unknown target {edge.target!r}"))
    faults += _missing_prompts(menu)
    faults += _semantic(menu)
    if menu.start.target not in nodes:
        return faults
    reachable = _reachable(menu)
    for node in nodes.values():
        if node.id not in reachable:
            faults.append(Fault(line=node.line, message=f"node {node.id} is unreachable from the start node"))
    faults += _back_edges(menu, reachable)
    faults += _loops(menu, reachable)
    return sorted(faults, key=lambda x: x.line)


def _reachable(menu: Menu) -> set[str]:
    seen = {menu.start.target}
    todo = [menu.start.target]
    while todo:
        for edge in _targets(menu.nodes[todo.pop()]):
            if edge.target in menu.nodes and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


def _predecessors(menu: Menu) -> dict[str, set[str]]:
    preds: dict[str, set[str]] = {nid: set() for nid in menu.nodes}
    for node in menu.nodes.values():
        for edge in _targets(node):
            if edge.target in preds:
                preds[edge.target].add(node.id)
    return preds


def _menus_before(menu: Menu, nid: str, preds: dict[str, set[str]]) -> set[str]:
    """Menu nodes from which ``nid`` can be reached through at least one edge: where ``back`` may return."""
    seen: set[str] = set()
    todo = list(preds[nid])
    while todo:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.add(cur)
        todo.extend(preds[cur])
    return {n for n in seen if isinstance(menu.nodes[n], f.MenuNode)}


def _back_edges(menu: Menu, reachable: set[str]) -> list[Fault]:
    preds = _predecessors(menu)
    faults = []
    for node in menu.nodes.values():
        for edge in node.edges():
            if edge.target == f.BACK and node.id in reachable:
                before = _menus_before(menu, node.id, preds) - ({node.id} if isinstance(node, f.MenuNode) else set())
                if not before:
                    faults.append(Fault(line=edge.line, message=f"node {node.id}, {edge.label}: 'back' has no earlier menu to return to"))
    return faults


def _loops(menu: Menu, reachable: set[str]) -> list[Fault]:
    """Nodes that can never reach an exit, and cycles that spin without waiting for the caller."""
    nodes = menu.nodes
    preds = _predecessors(menu)
    can_exit = {nid for nid, n in nodes.items() if n.exits}
    changed = True
    while changed:
        changed = False
        for nid, node in nodes.items():
            if nid in can_exit:
                continue
            ok = any(e.target in can_exit for e in _targets(node))
            if not ok and any(e.target == f.BACK for e in node.edges()):
                ok = any(m in can_exit for m in _menus_before(menu, nid, preds) if m != nid)
            if ok:
                can_exit.add(nid)
                changed = True
    faults: list[Fault] = []
    stuck = sorted((nodes[n] for n in reachable - can_exit), key=lambda n: n.line)
    if stuck:
        names = ", ".join(n.id for n in stuck)
        faults.append(Fault(line=stuck[0].line,
                            message=f"loop without exit: from {names} no path leads to a hang-up, queue, voicemail or callback"))
    faults += _busy_cycles(menu, reachable)
    return faults


def _busy_cycles(menu: Menu, reachable: set[str]) -> list[Fault]:
    """Cycles made only of nodes that do not wait for a key: the call would loop forever."""
    busy = {nid for nid in reachable if not menu.nodes[nid].waits}
    faults: list[Fault] = []
    color: dict[str, int] = {}
    stack: list[str] = []
    reported: set[frozenset[str]] = set()

    def visit(nid: str) -> None:
        color[nid] = 1
        stack.append(nid)
        for edge in _targets(menu.nodes[nid]):
            t = edge.target
            if t not in busy:
                continue
            if color.get(t) == 1:
                cycle = stack[stack.index(t):]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    path = " -> ".join([*cycle, t])
                    faults.append(Fault(line=edge.line, message=f"loop without exit: {path} repeats without waiting for a key"))
            elif t not in color:
                visit(t)
        stack.pop()
        color[nid] = 2

    for nid in sorted(busy):
        if nid not in color:
            visit(nid)
    return faults


def _missing_prompts(menu: Menu) -> list[Fault]:
    faults = []
    for node in menu.nodes.values():
        if isinstance(node, (f.PlayNode, f.MenuNode, f.CollectNode)) and not node.prompt:
            faults.append(Fault(line=node.line, message=f"node {node.id}: missing prompt"))
    return faults


def _semantic(menu: Menu) -> list[Fault]:
    faults = []
    collected = {n.into for n in menu.nodes.values() if isinstance(n, f.CollectNode) and n.into}
    for node in menu.nodes.values():
        if isinstance(node, f.LookupNode) and node.input and node.input not in collected:
            faults.append(Fault(line=node.line, message=f"node {node.id}: input {node.input!r} is not collected by any collect node"))
        if isinstance(node, f.SwitchNode) and node.attribute and node.attribute not in SWITCH_ATTRIBUTES | collected:
            faults.append(Fault(line=node.line, message=f"node {node.id}: unknown attribute {node.attribute!r}"))
        if isinstance(node, f.HoursNode) and menu.hours is None:
            faults.append(Fault(line=node.line, message=f"node {node.id}: the menu has no 'hours' section to branch on"))
        if isinstance(node, f.MenuNode) and not node.choices:
            faults.append(Fault(line=node.line, message=f"node {node.id}: a menu needs at least one choice"))
    return faults


# -- prompts --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PromptDirs:
    """Where prompts live: the synthesis cache and the folders searched for recordings, in order."""

    sounds_dir: Path
    recordings: tuple[Path, ...] = ()

    def find_recording(self, name: str) -> Path | None:
        for d in self.recordings:
            wav = d / f"{name}.wav"
            if wav.exists():
                return (d / name).resolve()
        return None


def prompt_dirs(settings: Settings, *, extra: Iterable[Path] = ()) -> PromptDirs:
    """The prompt folders of a configuration: uploads under ``sounds_dir/recorded``, then ``ivr/sounds``."""
    return PromptDirs(
        sounds_dir=settings.sounds_dir,
        recordings=(settings.sounds_dir / RECORDED_SUBDIR, settings.ivr_dir / "sounds", *extra),
    )


# (kind, value) -> path without extension; the engine plays from this table.
PromptTable = dict[tuple[str, str], Path]


async def check_prompts(menu: Menu, dirs: PromptDirs, *, rules: RuleValues | None = None,
                        concurrency: int = 4) -> tuple[PromptTable, list[Fault]]:
    """Synthesizes every ``say`` text (cached), its rules said with their configured values (``rules``,
    default: the shipped categories), and checks every recording; faults for those that fail."""
    values = default_rules() if rules is None else rules
    items: dict[tuple[str, str], PromptItem] = {}
    for _role, prompt in menu.all_prompts():
        for item in prompt:
            items.setdefault((item.kind, item.value), item)
    table: PromptTable = {}
    faults: list[Fault] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(key: tuple[str, str], item: PromptItem) -> None:
        if item.kind == "say":
            try:
                text = render(item.value, values)
            except UnknownRule as exc:
                known = ", ".join("{" + k + "}" for k in sorted(values)) or "none"
                faults.append(Fault(line=item.line, message=f"prompt {item.value!r}: unknown rule {{{exc.name}}} (known: {known})"))
                return
            try:
                async with gate:
                    table[key] = await ensure_prompt(text, dirs.sounds_dir, voice=menu.voice)
            except PromptError as exc:
                faults.append(Fault(line=item.line, message=f"prompt {item.value!r} cannot be synthesized: {exc}"))
            return
        path = dirs.find_recording(item.value)
        if path is None:
            where = ", ".join(str(d) for d in dirs.recordings) or "no recordings folder configured"
            faults.append(Fault(line=item.line, message=f"missing prompt: recording {item.value!r} not found ({where})"))
        elif not await asyncio.to_thread(is_playable, path.with_suffix(".wav")):
            faults.append(Fault(line=item.line, message=f"broken prompt: recording {item.value!r} is not an 8 kHz mono 16-bit WAV"))
        else:
            table[key] = path

    await asyncio.gather(*(one(k, v) for k, v in items.items()))
    return table, sorted(faults, key=lambda x: x.line)


@dataclass(kw_only=True)
class CheckResult:
    menu: Menu | None
    faults: list[Fault] = field(default_factory=list)
    prompts: PromptTable = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.menu is not None and not self.faults


async def check(text: str, dirs: PromptDirs | None, *, rules: RuleValues | None = None) -> CheckResult:
    """Parse, validate and (when ``dirs`` is given) check the prompts of a menu file's text, its rules
    said with ``rules`` (default: the shipped categories)."""
    menu, faults = parse(text)
    if menu is None:
        return CheckResult(menu=None, faults=faults)
    faults = faults + validate(menu)
    table: PromptTable = {}
    if dirs is not None:
        table, prompt_faults = await check_prompts(menu, dirs, rules=rules)
        faults += prompt_faults
    return CheckResult(menu=menu, faults=_dedupe(sorted(faults, key=lambda x: x.line)), prompts=table)


def _dedupe(faults: Sequence[Fault]) -> list[Fault]:
    seen: set[tuple[int, str]] = set()
    out = []
    for fault in faults:
        if (fault.line, fault.message) not in seen:
            seen.add((fault.line, fault.message))
            out.append(fault)
    return out


def format_faults(faults: Iterable[Fault], source: str) -> str:
    """``FILE:LINE: message`` lines, as compilers print them."""
    return "\n".join(f"{source}:{x.line}: {x.message}" for x in faults)
