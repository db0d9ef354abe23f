"""The survey's settings: defaults (on, T-14's prompt), the configuration loader, range checks."""

from __future__ import annotations

import pytest

from callcore import config
from callcore.surveys.settings import PROMPT, SurveySettings


def test_on_by_default_with_the_four_keys_in_the_prompt() -> None:
    s = SurveySettings()
    assert s.enabled and s.attempts == 2
    assert all(k in PROMPT for k in "1234")


def test_the_environment_sets_them() -> None:
    s = config.load(None, env={"CALLCORE_SURVEYS_ENABLED": "false", "CALLCORE_SURVEYS_PROMPT": "请按1到4评价。",
                               "CALLCORE_SURVEYS_KEY_TIMEOUT": "4.5", "CALLCORE_SURVEYS_ATTEMPTS": "1"}).surveys
    assert (s.enabled, s.prompt, s.key_timeout, s.attempts) == (False, "请按1到4评价。", 4.5, 1)


@pytest.mark.parametrize("env", [{"CALLCORE_SURVEYS_PROMT": "x"}, {"CALLCORE_SURVEYS_ENABLED": "maybe"},
                                 {"CALLCORE_SURVEYS_KEY_TIMEOUT": "soon"}, {"CALLCORE_SURVEYS_KEY_TIMEOUT": "0"},
                                 {"CALLCORE_SURVEYS_ATTEMPTS": "9"}, {"CALLCORE_SURVEYS_PROMPT": " "}])
def test_bad_values_name_the_setting(env: dict[str, str]) -> None:
    with pytest.raises(config.ConfigError, match="surveys.|SURVEYS_"):
        config.load(None, env=env)


@pytest.mark.parametrize("env", [{"CALLCORE_CALLBACKS_MAX_ATTEMPTS": "1"}, {"CALLCORE_CALLBACKS_RETRY_GAP": "x"}])
def test_callbacks_settings_are_checked_by_the_loader_too(env: dict[str, str]) -> None:
    with pytest.raises(config.ConfigError, match="callbacks."):
        config.load(None, env=env)
