"""Asterisk Manager Interface: the daemon's one AMI client (device, contact and queue member state)."""

from callcore.ami.client import EVENT_MASK, AmiClient
from callcore.ami.errors import AmiError, AmiLoginRefused, AmiNotConnected, AmiTimeout
from callcore.ami.types import AmiMessage, EventHandler

__all__ = [
    "EVENT_MASK",
    "AmiClient",
    "AmiError",
    "AmiLoginRefused",
    "AmiMessage",
    "AmiNotConnected",
    "AmiTimeout",
    "EventHandler",
]
