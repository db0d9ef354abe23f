"""The callbacks' settings (``[callbacks]`` in the configuration file, ``CALLCORE_CALLBACKS_*``)."""

from __future__ import annotations

from dataclasses import dataclass


class CallbackSettingsError(ValueError):
    """A callbacks setting is out of range; the message names it."""


@dataclass(frozen=True, kw_only=True)
class CallbackSettings:
    # The dialer serves the tasks (off: tasks are made and kept, nobody is called back, e.g. while the
    # trunk is being changed; click-to-dial still works).
    dial: bool = True
    # 漏接回拨: every call lost in a queue or while a phone rang, with a usable number, gets a task.
    missed_calls: bool = True
    # Seconds before a missed call's first callback: a citizen often calls again at once, and a
    # callback then would cross their call (if they reach a person meanwhile, the task is closed).
    missed_delay: float = 60.0
    # Hours a task may wait for its callback; past that it expires (and shows as such in the figures).
    deadline_hours: float = 24.0
    # At least 3 tries (the floor), spaced by at least ``retry_gap`` seconds.
    max_attempts: int = 3
    retry_gap: float = 300.0
    # T-11: offer a callback when the expected wait is at least this many seconds (0: never), and
    # at every position announcement once past it.
    offer_after: float = 60.0
    # Seconds the citizen's phone rings on a callback or a click-to-dial before it counts as no answer.
    ring_seconds: float = 30.0
    # Which numbers may be dialled (comma-separated prefixes) and their length: mobiles (13..19),
    # domestic numbers with an area code (01..09) and local numbers (2..8). No 00 (international),
    # no premium or service prefixes unless added here.
    allowed_prefixes: str = "13,14,15,16,17,18,19,01,02,03,04,05,06,07,08,09,2,3,4,5,6,7,8"
    min_length: int = 7
    max_length: int = 12

    def __post_init__(self) -> None:
        if not 3 <= self.max_attempts <= 20:
            raise CallbackSettingsError(f"callbacks.max_attempts: expected 3 to 20, got {self.max_attempts}")
        if not 1 <= self.retry_gap <= 86400:
            raise CallbackSettingsError(f"callbacks.retry_gap: expected 1 to 86400 seconds, got {self.retry_gap}")
        if not 0.1 <= self.deadline_hours <= 24 * 30:
            raise CallbackSettingsError(f"callbacks.deadline_hours: expected 0.1 to 720, got {self.deadline_hours}")
        if not 5 <= self.ring_seconds <= 120:
            raise CallbackSettingsError(f"callbacks.ring_seconds: expected 5 to 120, got {self.ring_seconds}")
        if not 0 <= self.missed_delay <= 86400:
            raise CallbackSettingsError(f"callbacks.missed_delay: expected 0 to 86400, got {self.missed_delay}")
        if not 0 <= self.offer_after <= 3600:
            raise CallbackSettingsError(f"callbacks.offer_after: expected 0 to 3600, got {self.offer_after}")
