"""Queue settings: valid by construction, every fault named, loaded from plain data strictly."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

import pytest

from callcore.queues.errors import Fault, QueueSettingsError
from callcore.queues.settings import QueueSettings, queue_from_dict, queues_from_dict
from callcore.queues.strategies import LEASTRECENT, RRMEMORY, Member

TOML = """
[[queues]]
name = "general"
display_name = "综合服务"
strategy = "leastrecent"
ring_timeout = 20
wrap_up = 15.5
max_wait = 300
on_max_wait = "callback"
weight = 1
members = [{ agent = "1001" }, { agent = "1002", penalty = 1 }, "1003"]

[[queues]]
name = "complaints"
display_name = "投诉专线"
members = [1004]
"""


def fields_of(exc: QueueSettingsError) -> list[str]:
    return [f.field for f in exc.faults]


def test_defaults_and_shape() -> None:
    q = QueueSettings(name="general", display_name="综合服务")
    assert (q.strategy, q.ring_timeout, q.on_max_wait, q.members) == (RRMEMORY, 15.0, "voicemail", ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        QueueSettings("general", "综合服务")  # type: ignore[call-arg]


def test_every_bad_value_is_a_fault_naming_its_field() -> None:
    with pytest.raises(QueueSettingsError) as info:
        QueueSettings(name="", display_name=" ", strategy="roundrobin", ring_timeout=0, retry_delay=-1,
                      wrap_up=-5, max_wait=float("nan"), on_max_wait="hangup", announce_every=-60, weight=-1,
                      music_class="my music",
                      members=(Member(agent_id="1001"), Member(agent_id="1002", penalty=-1), Member(agent_id="1001"),
                               Member(agent_id="")))
    assert fields_of(info.value) == [
        "name", "display_name", "strategy", "ring_timeout", "retry_delay", "wrap_up", "max_wait", "announce_every",
        "on_max_wait", "weight", "music_class", "members[1].penalty", "members[2].agent", "members[3].agent",
    ]
    text = str(info.value)
    assert "unknown strategy 'roundrobin'" in text and "members[2].agent: agent 1001 is already a member" in text
    assert info.value.error_id == "invalid_queue_settings" and isinstance(info.value, ValueError)


def test_zero_means_off_for_max_wait_and_announcements() -> None:
    q = QueueSettings(name="night", display_name="夜间", max_wait=0, announce_every=0, wrap_up=0, retry_delay=0)
    assert q.max_wait == 0 and q.announce_every == 0


def test_load_from_toml() -> None:
    general, complaints = queues_from_dict(tomllib.loads(TOML))
    assert general == QueueSettings(
        name="general", display_name="综合服务", strategy=LEASTRECENT, ring_timeout=20.0, wrap_up=15.5,
        max_wait=300.0, on_max_wait="callback", weight=1,
        members=(Member(agent_id="1001", penalty=0, order=0), Member(agent_id="1002", penalty=1, order=1),
                 Member(agent_id="1003", penalty=0, order=2)))
    # A YAML/TOML number for an agent is taken as the agent's number.
    assert complaints.members == (Member(agent_id="1004", order=0),)


def test_unknown_and_missing_keys_are_refused() -> None:
    with pytest.raises(QueueSettingsError) as info:
        queue_from_dict({"name": "general", "ring_timout": 20, "members": [{"agent": "1001", "skill": 2}]})
    assert fields_of(info.value) == ["ring_timout", "display_name", "members[0].skill"]
    assert "unknown key" in str(info.value) and "display_name: required" in str(info.value)


def test_wrong_types_are_faults_and_values_are_checked_too() -> None:
    raw: dict[str, Any] = {"name": 7, "display_name": "综合服务", "ring_timeout": "20", "weight": True,
                           "retry_delay": -1, "members": [{"agent": None, "penalty": "high"}, {"agent": "1001"}]}
    with pytest.raises(QueueSettingsError) as info:
        queue_from_dict(raw)
    # Each field once: the wrong type of ``name`` is not also reported as an empty name.
    assert info.value.faults == [
        Fault("name", "must be text"),
        Fault("ring_timeout", "must be a number of seconds"),
        Fault("weight", "must be a whole number"),
        Fault("members[0].agent", "must be an agent number (text)"),
        Fault("members[0].penalty", "must be a whole number"),
        Fault("retry_delay", "must not be negative"),
    ]


def test_members_must_be_a_list_and_the_queue_a_table() -> None:
    with pytest.raises(QueueSettingsError, match="members: must be a list"):
        queue_from_dict({"name": "general", "display_name": "综合服务", "members": "1001"})
    with pytest.raises(QueueSettingsError, match="must be a table"):
        queue_from_dict(["general"])


def test_a_file_with_several_faulty_queues_reports_them_all_with_paths() -> None:
    raw = {"queues": [
        {"name": "general", "display_name": "综合服务"},
        {"name": "general", "display_name": "重复"},
        {"name": "x", "display_name": "坏", "ring_timeout": -1},
    ], "version": 2}
    with pytest.raises(QueueSettingsError) as info:
        queues_from_dict(raw)
    assert fields_of(info.value) == ["version", "queues[1].name", "queues[2].ring_timeout"]
    assert "queue 'general' is already defined (queues[0])" in str(info.value)
    with pytest.raises(QueueSettingsError, match="queues: must be a list"):
        queues_from_dict({"queue": []})
