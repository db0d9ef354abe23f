"""Tunables of the ticket workflow; a frozen dataclass like every other settings object."""

from __future__ import annotations

from dataclasses import dataclass

# W-2, W-7 defaults: (code, name, working-day limit); 0 = the same day.
DEFAULT_CATEGORIES: tuple[tuple[str, str, int], ...] = (
    ("consultation", "咨询", 5),
    ("help", "求助", 5),
    ("suggestion", "建议", 15),
    ("criticism", "批评", 15),
    ("complaint", "投诉", 15),
    ("report", "举报", 30),
    ("praise", "表扬", 15),
    ("emergency", "应急", 0),
)


@dataclass(frozen=True, kw_only=True)
class TicketSettings:
    # W-4: how far back a duplicate is looked for, and how similar content must be (bigram Dice).
    duplicate_window_days: int = 30
    duplicate_similarity: float = 0.45
    duplicate_scan_limit: int = 500
    # W-8: yellow when the deadline is within this many working days.
    yellow_days: int = 1
    # W-6: signing and returning periods, in working days after the dispatch.
    sign_days: int = 1
    return_days: int = 2
    # W-10: escalate to the supervision group at this urge; one urge per overdue working day.
    escalate_after_urges: int = 3
    supervision_recipient: str = "supervision"
    center_recipient: str = "center"
    # W-12: share of closed tickets sampled for a satisfaction callback.
    visit_sample_rate: float = 0.2
    # login sessions last this long.
    session_hours: int = 12
    # Public status lookup: requests per client address per minute.
    public_lookups_per_minute: int = 20
    export_max_rows: int = 100_000
    # W-1: a ticket's time of receipt is at most this old (before the hotline kept tickets here) and at most
    # this far in the future (clock skew between an agent's desk and the server).
    received_max_age_days: int = 366
    received_future_seconds: int = 300
