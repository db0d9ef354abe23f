"""The plugin list: every entry is a Plugin with a unique name, its models and commands import,
and the README's folder table shows where each capability lives."""

from __future__ import annotations

import importlib
from pathlib import Path

from callcore.cli import build_parser
from callcore.plugin import Plugin
from callcore.plugins import PLUGINS, load_models, plugin_classes

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_plugin_is_named_once_and_lives_in_its_capability_folder() -> None:
    classes = plugin_classes()
    assert len(classes) == len(PLUGINS)
    names = [cls.name for cls in classes]
    assert len(set(names)) == len(names)
    for cls in classes:
        assert issubclass(cls, Plugin)
        assert cls.__module__ == f"callcore.{cls.name}.plugin"
        assert f"`callcore/{cls.name}/`" in README, f"README's folder table lacks callcore/{cls.name}/"


def test_models_and_commands_of_every_plugin_load() -> None:
    tables = set(load_models().tables)
    assert {"calls", "call_events", "tickets", "users", "departments", "blocked_numbers"} <= tables
    for cls in plugin_classes():
        if cls.commands:
            assert hasattr(importlib.import_module(cls.commands), "add_commands")
    # The IVR's commands reach the one command line through its plugin.
    assert "ivr" in build_parser().parse_args(["ivr", "check", "x.yaml"]).command
