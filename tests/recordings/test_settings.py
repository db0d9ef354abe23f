"""``recordings.retention_days``: 180 days by default (the project's choice), set from TOML or the environment."""

from __future__ import annotations

import pytest

from callcore import config


def test_retention_defaults_to_180_days_and_is_read_from_the_environment() -> None:
    assert config.load(None, env={}).recordings.retention_days == 180
    settings = config.load(None, env={"CALLCORE_RECORDINGS_RETENTION_DAYS": "365", "CALLCORE_RECORDINGS_DIR": "/srv/rec"})
    assert (settings.recordings.retention_days, settings.recordings.dir) == (365, "/srv/rec")


def test_a_retention_of_zero_days_is_refused() -> None:
    with pytest.raises(config.ConfigError, match="retention_days"):
        config.load(None, env={"CALLCORE_RECORDINGS_RETENTION_DAYS": "0"})
