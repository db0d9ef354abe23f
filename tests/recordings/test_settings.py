"""``recordings.retention_days``: 180 days by default (the project's choice), set from TOML or the environment;
the voicemail limits (T-10)."""

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


def test_voicemail_limits_default_to_120_s_and_5_s_of_silence_and_are_bounded() -> None:
    r = config.load(None, env={}).recordings
    assert (r.voicemail_max_seconds, r.voicemail_max_silence) == (120, 5)
    r = config.load(None, env={"CALLCORE_RECORDINGS_VOICEMAIL_MAX_SECONDS": "60",
                               "CALLCORE_RECORDINGS_VOICEMAIL_MAX_SILENCE": "3"}).recordings
    assert (r.voicemail_max_seconds, r.voicemail_max_silence) == (60, 3)
    with pytest.raises(config.ConfigError, match="voicemail_max_seconds"):
        config.load(None, env={"CALLCORE_RECORDINGS_VOICEMAIL_MAX_SECONDS": "0"})
    with pytest.raises(config.ConfigError, match="voicemail_max_silence"):
        config.load(None, env={"CALLCORE_RECORDINGS_VOICEMAIL_MAX_SILENCE": "0"})
