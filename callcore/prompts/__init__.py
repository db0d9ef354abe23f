"""Prompts (T-3): synthesized Mandarin text and uploaded recordings, cached in the Asterisk format."""

from callcore.prompts.synth import DEFAULT_VOICE, PromptError, digit_media, ensure_digits, ensure_prompt

__all__ = ["DEFAULT_VOICE", "PromptError", "digit_media", "ensure_digits", "ensure_prompt"]
