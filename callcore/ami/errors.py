"""Errors of the AMI client: every failure of an action is an :class:`AmiError`."""

from __future__ import annotations


class AmiError(Exception):
    """Asterisk answered ``Response: Error`` (or the session failed); ``response`` holds the headers, if any."""

    def __init__(self, message: str, *, response: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.response: dict[str, str] = response or {}


class AmiTimeout(AmiError):
    """Asterisk did not complete the action's response within its timeout."""


class AmiNotConnected(AmiError):
    """No logged-in AMI session: not yet connected, reconnecting, or the connection dropped mid-action."""


class AmiLoginRefused(AmiError):
    """Asterisk refused the Login (wrong ``ami_user``/``ami_secret`` or a ``permit``/``deny`` ACL in manager.conf)."""
