"""Routing before the menu (T-15): blacklist refusal, repeat-caller priority, after-hours branch."""
