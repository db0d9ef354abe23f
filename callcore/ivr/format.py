"""The IVR menu format (T-2), version 1: what a parsed menu file is.

A menu is a graph of named nodes; every node kind is a frozen dataclass that knows its outgoing
targets, so the validator and the engine walk the same structure. Every value keeps the line it came
from in the file, so a fault can name it. The file format itself is documented in ``ivr/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from callcore.routing.hours import BusinessHours

FORMAT_VERSION = 1

# A target that is not a node: return to the menu the caller came from (sub-menu "back").
BACK = "back"
# Choices a menu node may offer (one key each).
MENU_KEYS = frozenset("0123456789*#")
TERMINATORS = frozenset("#*")
# Attributes a ``set`` node may give the call (issue 4: category hint, language, priority).
CATEGORIES = frozenset(
    {"consultation", "help", "suggestion", "criticism", "complaint", "report", "praise", "emergency"}
)
ATTRIBUTES = frozenset({"category", "language", "priority"})
# Self-service lookups a ``lookup`` node may run.
LOOKUPS = frozenset({"ticket_status"})
# Bounds the validator enforces on timeouts (seconds) and counts.
MIN_TIMEOUT, MAX_TIMEOUT = 0.5, 60.0
MAX_RETRIES = 9
MAX_DIGITS = 32


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One problem found in a menu file: the line (1-based; 0 when it concerns the whole file) and a message."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True, kw_only=True)
class PromptItem:
    """One piece of a prompt: synthesized text (``say``) or a recorded file (``file``, name without extension)."""

    kind: str  # "say" | "file"
    value: str
    line: int


Prompt = tuple[PromptItem, ...]


@dataclass(frozen=True, kw_only=True)
class Edge:
    """An outgoing link of a node: its label (``choice 1``, ``next``, ``fallback``…), target and line."""

    label: str
    target: str
    line: int


@dataclass(frozen=True, kw_only=True)
class Node:
    id: str
    line: int
    kind: ClassVar[str] = ""
    # Nodes that end the menu: the call leaves the IVR there.
    exits: ClassVar[bool] = False
    # Nodes that wait for the caller: a loop through one of them is not a busy loop.
    waits: ClassVar[bool] = False

    def edges(self) -> list[Edge]:
        return []

    def prompts(self) -> list[tuple[str, Prompt]]:
        """Every prompt of the node with its role (``prompt``, ``invalid``…), for prompt checks."""
        return []


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    first: float
    inter: float
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class PlayNode(Node):
    """Play a prompt, then go on."""

    kind: ClassVar[str] = "play"
    prompt: Prompt
    next: Edge

    def edges(self) -> list[Edge]:
        return [self.next]

    def prompts(self) -> list[tuple[str, Prompt]]:
        return [("prompt", self.prompt)]


@dataclass(frozen=True, kw_only=True)
class MenuNode(Node):
    """Play a prompt and branch on one key; invalid keys and silence are retried, then ``fallback``."""

    kind: ClassVar[str] = "menu"
    waits: ClassVar[bool] = True
    prompt: Prompt
    choices: dict[str, Edge]
    fallback: Edge
    retries: int
    timeout: float
    invalid: Prompt
    no_input: Prompt

    def edges(self) -> list[Edge]:
        return [*self.choices.values(), self.fallback]

    def prompts(self) -> list[tuple[str, Prompt]]:
        return [("prompt", self.prompt), ("invalid", self.invalid), ("no_input", self.no_input)]


@dataclass(frozen=True, kw_only=True)
class CollectNode(Node):
    """Collect a digit string into a call variable (e.g. a query code), ended by the terminator or max length."""

    kind: ClassVar[str] = "collect"
    waits: ClassVar[bool] = True
    prompt: Prompt
    into: str
    min_digits: int
    max_digits: int
    terminator: str
    timeouts: Timeouts
    retries: int
    invalid: Prompt
    next: Edge
    fallback: Edge

    def edges(self) -> list[Edge]:
        return [self.next, self.fallback]

    def prompts(self) -> list[tuple[str, Prompt]]:
        return [("prompt", self.prompt), ("invalid", self.invalid)]


@dataclass(frozen=True, kw_only=True)
class HoursNode(Node):
    """Branch on the menu's business hours and the holiday calendar."""

    kind: ClassVar[str] = "hours"
    open: Edge
    closed: Edge

    def edges(self) -> list[Edge]:
        return [self.open, self.closed]


@dataclass(frozen=True, kw_only=True)
class SwitchNode(Node):
    """Branch on a call attribute, e.g. ``route`` set by the routing AGI (refuse / normal / afterhours)."""

    kind: ClassVar[str] = "switch"
    attribute: str
    cases: dict[str, Edge]
    default: Edge

    def edges(self) -> list[Edge]:
        return [*self.cases.values(), self.default]


@dataclass(frozen=True, kw_only=True)
class SetNode(Node):
    """Set call attributes (category hint, language, priority), then go on."""

    kind: ClassVar[str] = "set"
    attributes: dict[str, str | int]
    next: Edge

    def edges(self) -> list[Edge]:
        return [self.next]


@dataclass(frozen=True, kw_only=True)
class HandoffNode(Node):
    """Leave the menu for another capability; ``unavailable`` is taken while that capability does not exist."""

    exits: ClassVar[bool] = True
    prompt: Prompt
    unavailable: Edge | None

    def edges(self) -> list[Edge]:
        return [self.unavailable] if self.unavailable else []

    def prompts(self) -> list[tuple[str, Prompt]]:
        return [("prompt", self.prompt)]


@dataclass(frozen=True, kw_only=True)
class QueueNode(HandoffNode):
    kind: ClassVar[str] = "queue"
    queue: str


@dataclass(frozen=True, kw_only=True)
class VoicemailNode(HandoffNode):
    kind: ClassVar[str] = "voicemail"
    mailbox: str


@dataclass(frozen=True, kw_only=True)
class CallbackNode(HandoffNode):
    kind: ClassVar[str] = "callback"


@dataclass(frozen=True, kw_only=True)
class LookupNode(Node):
    """A self-service lookup (T-4): speaks the result, then ``found`` or ``not_found``."""

    kind: ClassVar[str] = "lookup"
    service: str
    input: str
    found: Edge
    not_found: Edge

    def edges(self) -> list[Edge]:
        return [self.found, self.not_found]


@dataclass(frozen=True, kw_only=True)
class HangupNode(Node):
    """Say goodbye (optional prompt) and hang up."""

    kind: ClassVar[str] = "hangup"
    exits: ClassVar[bool] = True
    prompt: Prompt
    reason: str

    def prompts(self) -> list[tuple[str, Prompt]]:
        return [("prompt", self.prompt)]


NODE_KINDS: dict[str, type[Node]] = {
    cls.kind: cls
    for cls in (PlayNode, MenuNode, CollectNode, HoursNode, SwitchNode, SetNode, QueueNode,
                VoicemailNode, CallbackNode, LookupNode, HangupNode)
}


@dataclass(frozen=True, kw_only=True)
class SystemPrompts:
    """Prompts the engine needs outside any node (defaults section)."""

    invalid: Prompt
    no_input: Prompt
    unavailable: Prompt
    goodbye: Prompt


@dataclass(frozen=True, kw_only=True)
class Defaults:
    timeout: float = 5.0
    inter_timeout: float = 3.0
    retries: int = 2


@dataclass(frozen=True, kw_only=True)
class Menu:
    """A parsed menu: identity, start node, nodes, hours and the system prompts."""

    name: str
    label: str  # the author's version label from the file
    voice: str
    start: Edge
    nodes: dict[str, Node]
    hours: BusinessHours | None
    defaults: Defaults
    system: SystemPrompts
    source: str = field(default="", repr=False)

    def all_prompts(self) -> list[tuple[str, Prompt]]:
        out: list[tuple[str, Prompt]] = [
            ("defaults.invalid", self.system.invalid),
            ("defaults.no_input", self.system.no_input),
            ("defaults.unavailable", self.system.unavailable),
            ("defaults.goodbye", self.system.goodbye),
        ]
        for node in self.nodes.values():
            out.extend((f"{node.id}.{role}", p) for role, p in node.prompts())
        return out
