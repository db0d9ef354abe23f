"""Reads a menu file into ``format.Menu``, collecting every fault with its line instead of stopping at the first.

PyYAML's compose step keeps each node's start mark, so the file is composed (not loaded) and walked
by hand: that gives line numbers for every value and lets us see duplicate keys, which ``yaml.safe_load``
silently folds into the last one (a digit used twice would otherwise vanish).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from callcore.ivr import format as f
from callcore.ivr.format import Edge, Fault, PromptItem
from callcore.routing.hours import BusinessHours, DayHours

NODE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Y:
    """A composed YAML value with its 1-based line; maps also keep each key's line."""

    value: Any
    line: int
    keys: dict[str, int] = field(default_factory=dict)
    # Keys given twice: (key, line, line of the first one). The parser words the fault for the context.
    dups: list[tuple[str, int, int]] = field(default_factory=list)


_scalars = SafeConstructor()


def _located(node: yaml.Node, faults: list[Fault]) -> Y:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Y] = {}
        keys: dict[str, int] = {}
        dups: list[tuple[str, int, int]] = []
        for k, v in node.value:
            key_line = k.start_mark.line + 1
            if not isinstance(k, yaml.ScalarNode):
                faults.append(Fault(line=key_line, message="keys must be plain words or digits"))
                continue
            raw = _scalars.construct_object(k)
            key = "null" if raw is None else str(raw).lower() if isinstance(raw, bool) else str(raw)
            if key in keys:
                dups.append((key, key_line, keys[key]))
                continue
            keys[key] = key_line
            out[key] = _located(v, faults)
        return Y(out, line, keys, dups)
    if isinstance(node, yaml.SequenceNode):
        return Y([_located(v, faults) for v in node.value], line)
    return Y(_scalars.construct_object(node), line)


def compose(text: str) -> tuple[Y | None, list[Fault]]:
    """The located tree of a YAML document, or the syntax fault."""
    faults: list[Fault] = []
    try:
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        return None, [Fault(line=line, message=f"not valid YAML: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return None, [Fault(line=0, message=f"not valid YAML: {exc}")]
    if not docs or docs[0] is None:
        return None, [Fault(line=1, message="the file is empty")]
    if len(docs) > 1:
        faults.append(Fault(line=docs[1].start_mark.line + 1, message="one menu per file: a second YAML document"))
    return _located(docs[0], faults), faults


class _Parser:
    """Turns the located tree into a ``Menu``; every problem becomes a ``Fault``, parsing goes on."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.defaults = f.Defaults()

    def fault(self, line: int, message: str) -> None:
        self.faults.append(Fault(line=line, message=message))

    # -- primitives -------------------------------------------------------------------------------

    def mapping(self, y: Y | None, where: str, *, dup: str = "{key!r} is given twice") -> dict[str, Y] | None:
        if y is None:
            return None
        if not isinstance(y.value, dict):
            self.fault(y.line, f"{where}: expected a mapping of names to values")
            return None
        for key, line, first in y.dups:
            self.fault(line, f"{where}: {dup.format(key=key)} (first on line {first})")
        return y.value

    def known(self, y: Y, allowed: set[str], where: str) -> None:
        for key, line in y.keys.items():
            if key not in allowed:
                self.fault(line, f"{where}: unknown field {key!r} (expected one of {', '.join(sorted(allowed))})")

    def text(self, m: dict[str, Y], key: str, where: str, *, default: str | None = None, line: int = 0) -> str:
        y = m.get(key)
        if y is None:
            if default is None:
                self.fault(line, f"{where}: missing {key!r}")
                return ""
            return default
        if isinstance(y.value, bool) or not isinstance(y.value, (str, int)) or str(y.value).strip() == "":
            self.fault(y.line, f"{where}.{key}: expected a non-empty text")
            return default or ""
        return str(y.value)

    def number(self, m: dict[str, Y], key: str, where: str, default: float, lo: float, hi: float) -> float:
        y = m.get(key)
        if y is None:
            return default
        if isinstance(y.value, bool) or not isinstance(y.value, (int, float)):
            self.fault(y.line, f"{where}.{key}: expected a number of seconds")
            return default
        if not lo <= y.value <= hi:
            self.fault(y.line, f"{where}.{key}: {y.value} is out of range ({lo:g} to {hi:g} seconds)")
            return default
        return float(y.value)

    def integer(self, m: dict[str, Y], key: str, where: str, default: int, lo: int, hi: int) -> int:
        y = m.get(key)
        if y is None:
            return default
        if isinstance(y.value, bool) or not isinstance(y.value, int):
            self.fault(y.line, f"{where}.{key}: expected a whole number")
            return default
        if not lo <= y.value <= hi:
            self.fault(y.line, f"{where}.{key}: {y.value} is out of range ({lo} to {hi})")
            return default
        return y.value

    def edge(self, m: dict[str, Y], key: str, where: str, line: int, *, required: bool = True) -> Edge | None:
        y = m.get(key)
        if y is None:
            if required:
                self.fault(line, f"{where}: missing {key!r} (the node to go to)")
                return Edge(label=key, target="", line=line)
            return None
        if not isinstance(y.value, str) or not y.value:
            self.fault(y.line, f"{where}.{key}: expected a node name")
            return Edge(label=key, target="", line=y.line)
        return Edge(label=key, target=y.value, line=y.line)

    def prompt(self, y: Y | None, where: str) -> f.Prompt:
        if y is None or y.value is None:
            return ()
        items = y.value if isinstance(y.value, list) else [y]
        out: list[PromptItem] = []
        for item in items:
            if isinstance(item.value, str):
                out.append(PromptItem(kind="say", value=item.value, line=item.line))
                continue
            if isinstance(item.value, dict) and len(item.value) == 1:
                (kind, val), = item.value.items()
                if kind in ("say", "file") and isinstance(val.value, str) and val.value.strip():
                    if kind == "file" and not FILE_NAME.match(val.value):
                        self.fault(val.line, f"{where}: bad recording name {val.value!r} (letters, digits, _ . - only)")
                        continue
                    out.append(PromptItem(kind=kind, value=val.value, line=val.line))
                    continue
            self.fault(item.line, f"{where}: a prompt is a text, {{say: TEXT}}, {{file: NAME}} or a list of them")
        return tuple(out)

    # -- sections ---------------------------------------------------------------------------------

    def parse(self, root: Y, source: str) -> f.Menu | None:
        top = self.mapping(root, "menu file")
        if top is None:
            return None
        self.known(root, {"format", "menu", "version", "voice", "start", "hours", "defaults", "nodes"}, "menu file")
        fmt = top.get("format")
        if fmt is None or fmt.value != f.FORMAT_VERSION:
            self.fault(fmt.line if fmt else 1, f"format: this program reads menu format {f.FORMAT_VERSION}")
        name = self.text(top, "menu", "menu file", line=1)
        label = self.text(top, "version", "menu file", default="", line=1)
        voice = self.text(top, "voice", "menu file", default="cmn-latn-pinyin")
        defaults_y = top.get("defaults")
        system = self.parse_defaults(defaults_y)
        hours = self.parse_hours(top["hours"]) if "hours" in top else None
        start = self.edge(top, "start", "menu file", 1)
        assert start is not None
        nodes: dict[str, f.Node] = {}
        nodes_y = top.get("nodes")
        table = self.mapping(nodes_y, "nodes", dup="node {key!r} is defined twice")
        if nodes_y is None:
            self.fault(1, "menu file: missing 'nodes'")
        for node_id, y in (table or {}).items():
            key_line = nodes_y.keys[node_id] if nodes_y else y.line
            if not NODE_ID.match(node_id) or node_id == f.BACK:
                self.fault(key_line, f"node name {node_id!r}: use letters, digits and _ (and not {f.BACK!r})")
                continue
            node = self.parse_node(node_id, y, key_line)
            if node is not None:
                nodes[node_id] = node
        return f.Menu(name=name, label=label, voice=voice, start=start, nodes=nodes, hours=hours,
                      defaults=self.defaults, system=system, source=source)

    def parse_defaults(self, y: Y | None) -> f.SystemPrompts:
        m = self.mapping(y, "defaults") or {}
        if y is not None:
            self.known(y, {"timeout", "inter_timeout", "retries", "invalid", "no_input", "unavailable", "goodbye"},
                       "defaults")
        self.defaults = f.Defaults(
            timeout=self.number(m, "timeout", "defaults", 5.0, f.MIN_TIMEOUT, f.MAX_TIMEOUT),
            inter_timeout=self.number(m, "inter_timeout", "defaults", 3.0, f.MIN_TIMEOUT, f.MAX_TIMEOUT),
            retries=self.integer(m, "retries", "defaults", 2, 0, f.MAX_RETRIES),
        )
        line = y.line if y else 1
        out = {}
        for role in ("invalid", "no_input", "unavailable", "goodbye"):
            out[role] = self.prompt(m.get(role), f"defaults.{role}")
            if not out[role]:
                self.fault(line, f"defaults: missing prompt {role!r}")
        return f.SystemPrompts(**out)

    def parse_hours(self, y: Y) -> BusinessHours | None:
        m = self.mapping(y, "hours")
        if m is None:
            return None
        self.known(y, {"timezone", "open", "holidays", "closed_dates"}, "hours")
        tz = self.text(m, "timezone", "hours", default="Asia/Shanghai")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(tz)
        except Exception:  # noqa: BLE001 - zoneinfo raises several kinds for a bad key
            self.fault(m["timezone"].line if "timezone" in m else y.line, f"hours.timezone: unknown time zone {tz!r}")
        holidays = self.text(m, "holidays", "hours", default="none")
        if holidays not in ("cn", "none"):
            self.fault(m["holidays"].line, "hours.holidays: expected 'cn' (mainland China calendar) or 'none'")
        weekly: dict[int, DayHours] = {}
        open_y = m.get("open")
        for spec, ranges_y in (self.mapping(open_y, "hours.open") or {}).items():
            line = open_y.keys[spec] if open_y else y.line
            days = self.days(spec, line)
            intervals = self.intervals(ranges_y, f"hours.open.{spec}")
            for d in days:
                if d in weekly:
                    self.fault(line, f"hours.open: {DAYS[d]} is given twice")
                weekly[d] = DayHours(intervals=intervals)
        if open_y is None:
            self.fault(y.line, "hours: missing 'open' (the weekly opening hours)")
        closed: set[str] = set()
        for item in (m["closed_dates"].value if "closed_dates" in m and isinstance(m["closed_dates"].value, list) else []):
            value = str(item.value)
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
                self.fault(item.line, f"hours.closed_dates: {value!r} is not a date (YYYY-MM-DD)")
            closed.add(value)
        return BusinessHours(timezone=tz, weekly=weekly, holidays=holidays, closed_dates=frozenset(closed),
                               line=y.line)

    def days(self, spec: str, line: int) -> list[int]:
        out: list[int] = []
        for part in spec.lower().split(","):
            lo, _, hi = part.strip().partition("-")
            if lo not in DAYS or (hi and hi not in DAYS):
                self.fault(line, f"hours.open: {spec!r} is not a day or day range (mon, mon-fri, sat,sun)")
                return []
            a, b = DAYS.index(lo), DAYS.index(hi or lo)
            out.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        return out

    def intervals(self, y: Y, where: str) -> tuple[tuple[int, int], ...]:
        items = y.value if isinstance(y.value, list) else [y]
        out: list[tuple[int, int]] = []
        for item in items:
            if not isinstance(item.value, str):
                self.fault(item.line, f"{where}: write times as quoted text, e.g. \"08:30-12:00\"")
                continue
            match = TIME_RANGE.match(item.value.strip())
            if not match:
                self.fault(item.line, f"{where}: {item.value!r} is not a time range HH:MM-HH:MM")
                continue
            h1, m1, h2, m2 = map(int, match.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or end > 24 * 60:
                self.fault(item.line, f"{where}: {item.value!r} is not a valid time of day")
            elif end <= start:
                self.fault(item.line, f"{where}: {item.value!r} ends before it starts")
            else:
                out.append((start, end))
        return tuple(sorted(out))

    # -- nodes ------------------------------------------------------------------------------------

    def parse_node(self, node_id: str, y: Y, key_line: int) -> f.Node | None:
        where = f"node {node_id}"
        m = self.mapping(y, where)
        if m is None:
            return None
        kind = m.get("type")
        if kind is None or kind.value not in f.NODE_KINDS:
            self.fault(kind.line if kind else key_line,
                       f"{where}: 'type' must be one of {', '.join(sorted(f.NODE_KINDS))}")
            return None
        handler = getattr(self, f"node_{kind.value}")
        node: f.Node = handler(node_id, m, y, where, key_line)
        return node

    def _common(self, y: Y, where: str, fields: set[str]) -> None:
        self.known(y, fields | {"type", "note"}, where)

    def node_play(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"prompt", "next"})
        return f.PlayNode(id=nid, line=line, prompt=self.prompt(m.get("prompt"), where),
                          next=self.edge(m, "next", where, line))  # type: ignore[arg-type]

    def node_menu(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"prompt", "choices", "fallback", "retries", "timeout", "invalid", "no_input"})
        choices: dict[str, Edge] = {}
        ch_y = m.get("choices")
        table = self.mapping(ch_y, f"{where}.choices", dup="digit {key} is used twice")
        if ch_y is None:
            self.fault(line, f"{where}: missing 'choices'")
        for key, target in (table or {}).items():
            key_line = ch_y.keys[key] if ch_y else line
            if key not in f.MENU_KEYS:
                self.fault(key_line, f"{where}.choices: {key!r} is not one key (0-9, * or #)")
                continue
            if not isinstance(target.value, str) or not target.value:
                self.fault(target.line, f"{where}.choices.{key}: expected a node name")
                continue
            choices[key] = Edge(label=f"choice {key}", target=target.value, line=target.line)
        return f.MenuNode(
            id=nid, line=line, prompt=self.prompt(m.get("prompt"), where), choices=choices,
            fallback=self.edge(m, "fallback", where, line),  # type: ignore[arg-type]
            retries=self.integer(m, "retries", where, self.defaults.retries, 0, f.MAX_RETRIES),
            timeout=self.number(m, "timeout", where, self.defaults.timeout, f.MIN_TIMEOUT, f.MAX_TIMEOUT),
            invalid=self.prompt(m.get("invalid"), where), no_input=self.prompt(m.get("no_input"), where),
        )

    def node_collect(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"prompt", "into", "min_digits", "max_digits", "terminator", "timeout",
                                "inter_timeout", "retries", "invalid", "next", "fallback"})
        into = self.text(m, "into", where, line=line)
        if into and not NODE_ID.match(into):
            self.fault(m["into"].line, f"{where}.into: {into!r} is not a variable name")
        max_digits = self.integer(m, "max_digits", where, 20, 1, f.MAX_DIGITS)
        min_digits = self.integer(m, "min_digits", where, 1, 1, f.MAX_DIGITS)
        if min_digits > max_digits:
            self.fault(m["min_digits"].line, f"{where}: min_digits {min_digits} is more than max_digits {max_digits}")
        terminator = self.text(m, "terminator", where, default="#")
        if terminator not in f.TERMINATORS and terminator != "none":
            self.fault(m["terminator"].line, f"{where}.terminator: expected '#', '*' or 'none'")
        timeout_line = (m.get("timeout") or m.get("inter_timeout") or y).line
        timeouts = f.Timeouts(
            first=self.number(m, "timeout", where, self.defaults.timeout, f.MIN_TIMEOUT, f.MAX_TIMEOUT),
            inter=self.number(m, "inter_timeout", where, self.defaults.inter_timeout, f.MIN_TIMEOUT, f.MAX_TIMEOUT),
            line=timeout_line,
        )
        return f.CollectNode(
            id=nid, line=line, prompt=self.prompt(m.get("prompt"), where), into=into, min_digits=min_digits,
            max_digits=max_digits, terminator="" if terminator == "none" else terminator, timeouts=timeouts,
            retries=self.integer(m, "retries", where, self.defaults.retries, 0, f.MAX_RETRIES),
            invalid=self.prompt(m.get("invalid"), where),
            next=self.edge(m, "next", where, line), fallback=self.edge(m, "fallback", where, line),  # type: ignore[arg-type]
        )

    def node_hours(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"open", "closed"})
        return f.HoursNode(id=nid, line=line, open=self.edge(m, "open", where, line),  # type: ignore[arg-type]
                           closed=self.edge(m, "closed", where, line))  # type: ignore[arg-type]

    def node_switch(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"attribute", "cases", "default"})
        cases: dict[str, Edge] = {}
        cases_y = m.get("cases")
        for value, target in (self.mapping(cases_y, f"{where}.cases") or {}).items():
            if not isinstance(target.value, str) or not target.value:
                self.fault(target.line, f"{where}.cases.{value}: expected a node name")
                continue
            cases[value] = Edge(label=f"case {value}", target=target.value, line=target.line)
        return f.SwitchNode(id=nid, line=line, attribute=self.text(m, "attribute", where, line=line), cases=cases,
                            default=self.edge(m, "default", where, line))  # type: ignore[arg-type]

    def node_set(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"attributes", "next"})
        attrs: dict[str, str | int] = {}
        attrs_y = m.get("attributes")
        if attrs_y is None:
            self.fault(line, f"{where}: missing 'attributes'")
        for name, value in (self.mapping(attrs_y, f"{where}.attributes") or {}).items():
            if name not in f.ATTRIBUTES:
                self.fault(value.line, f"{where}: unknown attribute {name!r} (expected {', '.join(sorted(f.ATTRIBUTES))})")
            elif name == "category" and value.value not in f.CATEGORIES:
                self.fault(value.line, f"{where}: unknown category {value.value!r} (expected {', '.join(sorted(f.CATEGORIES))})")
            elif name == "priority" and (isinstance(value.value, bool) or not isinstance(value.value, int) or not 0 <= value.value <= 9):
                self.fault(value.line, f"{where}: priority must be a whole number 0 to 9")
            elif name == "language" and not (isinstance(value.value, str) and re.match(r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$", value.value)):
                self.fault(value.line, f"{where}: language must be a language tag such as 'zh' or 'yue'")
            else:
                attrs[name] = value.value
        return f.SetNode(id=nid, line=line, attributes=attrs, next=self.edge(m, "next", where, line))  # type: ignore[arg-type]

    def node_queue(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"queue", "prompt", "unavailable"})
        return f.QueueNode(id=nid, line=line, queue=self.text(m, "queue", where, line=line),
                           prompt=self.prompt(m.get("prompt"), where),
                           unavailable=self.edge(m, "unavailable", where, line, required=False))

    def node_voicemail(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"mailbox", "prompt", "unavailable"})
        return f.VoicemailNode(id=nid, line=line, mailbox=self.text(m, "mailbox", where, default="default"),
                               prompt=self.prompt(m.get("prompt"), where),
                               unavailable=self.edge(m, "unavailable", where, line, required=False))

    def node_callback(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"prompt", "unavailable"})
        return f.CallbackNode(id=nid, line=line, prompt=self.prompt(m.get("prompt"), where),
                              unavailable=self.edge(m, "unavailable", where, line, required=False))

    def node_lookup(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"service", "input", "found", "not_found"})
        service = self.text(m, "service", where, line=line)
        if service and service not in f.LOOKUPS:
            self.fault(m["service"].line, f"{where}: unknown self-service lookup {service!r} (expected {', '.join(sorted(f.LOOKUPS))})")
        return f.LookupNode(id=nid, line=line, service=service, input=self.text(m, "input", where, line=line),
                            found=self.edge(m, "found", where, line),  # type: ignore[arg-type]
                            not_found=self.edge(m, "not_found", where, line))  # type: ignore[arg-type]

    def node_hangup(self, nid: str, m: dict[str, Y], y: Y, where: str, line: int) -> f.Node:
        self._common(y, where, {"prompt", "reason"})
        return f.HangupNode(id=nid, line=line, prompt=self.prompt(m.get("prompt"), where),
                            reason=self.text(m, "reason", where, default="ivr_hangup"))


def parse(text: str) -> tuple[f.Menu | None, list[Fault]]:
    """Parse a menu file: the menu (when the structure could be read) and every fault found so far."""
    root, faults = compose(text)
    if root is None:
        return None, faults
    parser = _Parser()
    menu = parser.parse(root, text)
    return menu, sorted(faults + parser.faults, key=lambda x: x.line)
