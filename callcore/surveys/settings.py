"""The survey's settings (``[surveys]`` in the configuration file, ``CALLCORE_SURVEYS_*``), composed
by the one loader (``callcore.config``) as ``Settings.surveys``."""

from __future__ import annotations

import math
from dataclasses import dataclass

ENV_PREFIX = "CALLCORE_SURVEYS_"

# What the caller hears (the keys follow T-14's scale: 1 very satisfied … 4 unsatisfied).
PROMPT = "请您对本次服务进行评价：非常满意请按1，满意请按2，基本满意请按3，不满意请按4。"
RETRY = "抱歉，没有收到有效的评价按键。"
THANKS = "感谢您的评价，再见。"
GOODBYE = "感谢您的来电，再见。"


class SurveySettingsError(ValueError):
    """A surveys setting is malformed or out of range; the message names it."""


@dataclass(frozen=True, kw_only=True)
class SurveySettings:
    # Inbound callers are surveyed after the agent hangs up (off: hung up at once, as before T-14).
    enabled: bool = True
    prompt: str = PROMPT
    # Said before the prompt is repeated, after a key other than 1-4 or silence.
    retry_prompt: str = RETRY
    thanks: str = THANKS
    # Said when no rating came (the caller is still there: they are not left in silence).
    goodbye: str = GOODBYE
    # Seconds the caller has to key after the prompt ended.
    key_timeout: float = 6.0
    # Times the prompt is played: T-14 asks once more after a wrong key or silence.
    attempts: int = 2
    # W-12: tickets sampled for a satisfaction callback are called automatically with this survey
    # (through the outbound trunk), between these local hours, at most ``call_attempts`` times
    # ``call_gap_minutes`` apart; a ticket not rated then is left to a person (click-to-dial).
    calls: bool = True
    call_from_hour: int = 9
    call_until_hour: int = 20
    call_attempts: int = 3
    call_gap_minutes: float = 120.0
    # Survey calls at the same time (each holds one trunk channel).
    concurrent_calls: int = 2

    def __post_init__(self) -> None:
        for name in ("prompt", "thanks", "goodbye"):
            if not str(getattr(self, name)).strip():
                raise SurveySettingsError(f"surveys.{name}: must not be empty")
        if not (math.isfinite(self.key_timeout) and 1 <= self.key_timeout <= 30):
            raise SurveySettingsError(f"surveys.key_timeout: expected 1 to 30 seconds, got {self.key_timeout}")
        if not 1 <= self.attempts <= 3:
            raise SurveySettingsError(f"surveys.attempts: expected 1 to 3, got {self.attempts}")
        if not 0 <= self.call_from_hour < self.call_until_hour <= 24:
            raise SurveySettingsError("surveys.call_from_hour/call_until_hour: expected 0 <= from < until <= 24, "
                                      f"got {self.call_from_hour}-{self.call_until_hour}")
        if not 1 <= self.call_attempts <= 10:
            raise SurveySettingsError(f"surveys.call_attempts: expected 1 to 10, got {self.call_attempts}")
        if not (math.isfinite(self.call_gap_minutes) and 0.01 <= self.call_gap_minutes <= 7 * 24 * 60):
            raise SurveySettingsError(f"surveys.call_gap_minutes: expected 0.01 to 10080, got {self.call_gap_minutes}")
        if not 1 <= self.concurrent_calls <= 50:
            raise SurveySettingsError(f"surveys.concurrent_calls: expected 1 to 50, got {self.concurrent_calls}")
