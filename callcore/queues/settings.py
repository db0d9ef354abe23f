"""A queue's configuration (T-5, T-6): frozen, keyword-only, valid by construction.

``QueueSettings`` checks itself when built and raises ``QueueSettingsError`` with every fault, each
naming its field, so an admin who fixes a file sees all that is wrong at once. ``queue_from_dict``
and ``queues_from_dict`` build them from plain data as parsed from TOML or YAML, refusing unknown
keys (a misspelt ``ring_timout`` silently ignored would leave the default in service).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

from callcore.queues.errors import Fault, QueueSettingsError
from callcore.queues.strategies import RRMEMORY, STRATEGIES, Member

# What happens at max_wait: the dialplan's fallback (apologise, take a message), voicemail, or a callback offer.
ON_MAX_WAIT: Final = ("fallback", "voicemail", "callback")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # used in event data, URLs and metric labels
_MUSIC = re.compile(r"[A-Za-z0-9_-]{1,64}")  # an Asterisk musiconhold.conf class


@dataclass(frozen=True, kw_only=True)
class QueueSettings:
    """Durations are seconds. ``max_wait`` 0 means no maximum; ``announce_every`` 0 means no
    periodic announcements; ``weight`` orders queues that share agents (higher first)."""

    name: str
    display_name: str  # what supervisors and reports show, e.g. 综合服务
    strategy: str = RRMEMORY
    ring_timeout: float = 15.0  # per agent, before trying the next
    retry_delay: float = 5.0  # pause after a round without answer before ringing again
    wrap_up: float = 10.0
    max_wait: float = 600.0
    on_max_wait: str = "voicemail"
    announce_every: float = 60.0
    weight: int = 0
    music_class: str = "default"
    members: tuple[Member, ...] = ()

    def __post_init__(self) -> None:
        faults = check(self)
        if faults:
            raise QueueSettingsError(faults)


def check(s: QueueSettings) -> list[Fault]:
    """Every value fault of ``s``, each naming its field (empty when valid)."""
    out: list[Fault] = []
    if not _NAME.fullmatch(s.name):
        out.append(Fault("name", "must be 1-63 of a-z, 0-9, _ and -, starting with a letter or digit"))
    if not s.display_name.strip():
        out.append(Fault("display_name", "must not be empty"))
    if s.strategy not in STRATEGIES:
        out.append(Fault("strategy", f"unknown strategy {s.strategy!r}; one of {', '.join(STRATEGIES)}"))
    for name, value, least in (("ring_timeout", s.ring_timeout, None), ("retry_delay", s.retry_delay, 0.0),
                               ("wrap_up", s.wrap_up, 0.0), ("max_wait", s.max_wait, 0.0),
                               ("announce_every", s.announce_every, 0.0)):
        if not math.isfinite(value):
            out.append(Fault(name, "must be a finite number of seconds"))
        elif least is None and value <= 0:
            out.append(Fault(name, "must be more than 0 seconds"))
        elif least is not None and value < least:
            out.append(Fault(name, "must not be negative"))
    if s.on_max_wait not in ON_MAX_WAIT:
        out.append(Fault("on_max_wait", f"must be one of {', '.join(ON_MAX_WAIT)}"))
    if s.weight < 0:
        out.append(Fault("weight", "must not be negative"))
    if not _MUSIC.fullmatch(s.music_class):
        out.append(Fault("music_class", "must be 1-64 of A-Z, a-z, 0-9, _ and -"))
    seen: dict[str, int] = {}
    for i, m in enumerate(s.members):
        if not m.agent_id.strip():
            out.append(Fault(f"members[{i}].agent", "must not be empty"))
        elif m.agent_id in seen:
            first = seen[m.agent_id]
            out.append(Fault(f"members[{i}].agent", f"agent {m.agent_id} is already a member (members[{first}])"))
        else:
            seen[m.agent_id] = i
        if m.penalty < 0:
            out.append(Fault(f"members[{i}].penalty", "must not be negative"))
    return out


_FIELDS = {f.name for f in fields(QueueSettings)}
_REQUIRED = ("name", "display_name")
_SECONDS = ("ring_timeout", "retry_delay", "wrap_up", "max_wait", "announce_every")
_TEXT = ("name", "display_name", "strategy", "on_max_wait", "music_class")
_MEMBER_KEYS = ("agent", "penalty")


def queue_from_dict(raw: Any, *, where: str = "") -> QueueSettings:
    """One queue from plain data. Members are ``{"agent": "1001", "penalty": 0}`` or just the agent
    (``"1001"``); their order in the list is the member order. ``where`` prefixes fault paths."""
    if not isinstance(raw, Mapping):
        raise QueueSettingsError([Fault(where.rstrip(".") or "queue", "must be a table of settings")])
    faults: list[Fault] = []
    values: dict[str, Any] = {}
    for key in raw:
        if key not in _FIELDS:
            faults.append(Fault(f"{where}{key}", f"unknown key; known keys: {', '.join(sorted(_FIELDS))}"))
    for key in _REQUIRED:
        if key not in raw:
            faults.append(Fault(f"{where}{key}", "required"))
    for key in _TEXT:
        if key in raw:
            if isinstance(raw[key], str):
                values[key] = raw[key]
            else:
                faults.append(Fault(f"{where}{key}", "must be text"))
    for key in _SECONDS:
        if key in raw:
            if isinstance(raw[key], (int, float)) and not isinstance(raw[key], bool):
                values[key] = float(raw[key])
            else:
                faults.append(Fault(f"{where}{key}", "must be a number of seconds"))
    if "weight" in raw:
        if isinstance(raw["weight"], int) and not isinstance(raw["weight"], bool):
            values["weight"] = raw["weight"]
        else:
            faults.append(Fault(f"{where}weight", "must be a whole number"))
    if "members" in raw:
        values["members"] = _members(raw["members"], f"{where}members", faults)
    faulted = {f.field for f in faults}
    try:
        settings = QueueSettings(**{"name": "", "display_name": "", **values})
    except QueueSettingsError as exc:
        faults += [Fault(f"{where}{f.field}", f.message) for f in exc.faults if f"{where}{f.field}" not in faulted]
    if faults:
        raise QueueSettingsError(faults)
    return settings


def _members(raw: Any, path: str, faults: list[Fault]) -> tuple[Member, ...]:
    if not isinstance(raw, list):
        faults.append(Fault(path, "must be a list of members"))
        return ()
    out = []
    for i, item in enumerate(raw):
        at = f"{path}[{i}]"
        item = item if isinstance(item, Mapping) else {"agent": item}
        for key in item:
            if key not in _MEMBER_KEYS:
                faults.append(Fault(f"{at}.{key}", f"unknown key; known keys: {', '.join(_MEMBER_KEYS)}"))
        agent, penalty = item.get("agent"), item.get("penalty", 0)
        if isinstance(agent, bool) or not isinstance(agent, (str, int)):
            faults.append(Fault(f"{at}.agent", "must be an agent number (text)"))
            agent = ""
        if isinstance(penalty, bool) or not isinstance(penalty, int):
            faults.append(Fault(f"{at}.penalty", "must be a whole number"))
            penalty = 0
        out.append(Member(agent_id=str(agent), penalty=penalty, order=i))
    return tuple(out)


def queues_from_dict(raw: Any) -> tuple[QueueSettings, ...]:
    """All queues of a file shaped ``{"queues": [{...}, ...]}``; names must be unique."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("queues"), list):
        raise QueueSettingsError([Fault("queues", "must be a list of queue tables")])
    faults = [Fault(str(key), "unknown key; known keys: queues") for key in raw if key != "queues"]
    out: list[QueueSettings] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw["queues"]):
        try:
            q = queue_from_dict(item, where=f"queues[{i}].")
        except QueueSettingsError as exc:
            faults += exc.faults
            continue
        if q.name in seen:
            faults.append(Fault(f"queues[{i}].name", f"queue {q.name!r} is already defined (queues[{seen[q.name]}])"))
        seen.setdefault(q.name, i)
        out.append(q)
    if faults:
        raise QueueSettingsError(faults)
    return tuple(out)
