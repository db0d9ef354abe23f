"""What callcore does differently for one Asterisk version: chosen here, from the version it reports.

Every workaround is a field of ``Quirks`` that names the versions needing it and why; the rendering
(``asterisk -V`` of the installation it renders for) and the daemon (``GET /asterisk/info`` over ARI,
once per connection) both ask ``quirks(version)``. A version that cannot be read gets every
workaround: each is harmless where it is not needed.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

from callcore.ari.errors import AriError

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
NORMAL_CLEARING = 16
# The first release of each branch that reports a far end's BYE without a cause (``bye_cause_missing``).
_BYE_CAUSE_MISSING_SINCE = {20: (20, 17, 0), 21: (21, 12, 0), 22: (22, 7, 0)}


@dataclass(frozen=True, kw_only=True)
class Quirks:
    """The version-specific choices for one Asterisk."""

    # What Asterisk reported ("22.10.1+dfsg...", "16.28.0~dfsg..."), "" when unknown.
    version: str
    major: int
    # Asterisk 16 (and 17) run a command queued on a channel that sends no audio only at the
    # channel's 200 ms wake-up (asterisk/asterisk#363; fixed in 18: a queued task wakes the channel).
    # So on them the dialplan plays a second of 0 Hz tone into Stasis (extensions.conf) and the
    # session queues silence behind each prompt (callcore/calls/session.py ``play``): both keep the
    # channel's 20 ms timer running so the daemon's next command starts within a frame.
    wake_up_workarounds: bool
    # Since 22.7 (and 20.17, 21.12: the tech hang-up cause of asterisk/asterisk#1538; #1606) a far
    # end's BYE is reported with no cause: ChannelHangupRequest without one, ChannelDestroyed and AMI
    # Hangup with 0 "Unknown", where earlier versions report 16, normal clearing. No configuration
    # brings it back (a hang-up handler's Hangup() is overwritten too); ``hangup_cause`` does.
    bye_cause_missing: bool

    def hangup_cause(self, cause: int | None, *, by_far_end: bool) -> int | None:
        """The cause to store for a hang-up: 16 (normal clearing) for a far end's hang-up this
        version reported without one, else ``cause`` as reported."""
        if self.bye_cause_missing and by_far_end and not cause:
            return NORMAL_CLEARING
        return cause


def parse(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of "Asterisk 22.10.1+dfsg+~cs6..." or "16.28.0~dfsg-0+deb11u4"; None if none."""
    m = _VERSION.search(text)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def quirks(version: str) -> Quirks:
    """The choices for the Asterisk that reported ``version`` (its ``-V`` line or ARI's system.version)."""
    parsed = parse(version)
    if parsed is None:
        return Quirks(version="", major=0, wake_up_workarounds=True, bye_cause_missing=True)
    major = parsed[0]
    since = _BYE_CAUSE_MISSING_SINCE.get(major)
    return Quirks(version=version.removeprefix("Asterisk ").strip(), major=major, wake_up_workarounds=major < 18,
                  bye_cause_missing=major > 22 or (since is not None and parsed >= since))


class AsteriskInfo(Protocol):
    """What ``of_ari`` needs of the ARI client."""

    reconnects: int

    async def asterisk_info(self) -> dict[str, Any]: ...


# Per ARI client: (its reconnect count when asked, the answer). A reconnect may be to an Asterisk
# restarted as another version, so the answer is kept only for one connection.
_known: weakref.WeakKeyDictionary[Any, tuple[int, Quirks]] = weakref.WeakKeyDictionary()


async def of_ari(ari: AsteriskInfo) -> Quirks:
    """The choices for the Asterisk behind ``ari``: asked once per connection (``GET /asterisk/info``)."""
    connection = getattr(ari, "reconnects", 0)
    cached = _known.get(ari)
    if cached is not None and cached[0] == connection:
        return cached[1]
    try:
        info = await ari.asterisk_info()
        version = str(info["system"]["version"])
    except (AriError, KeyError, TypeError, AttributeError):  # AttributeError: a test's fake without it
        return quirks("")  # not kept: asked again next time
    found = quirks(version)
    _known[ari] = (connection, found)
    return found


def known(ari: AsteriskInfo) -> Quirks:
    """What ``of_ari`` last learnt for ``ari``'s current connection, without asking (for event
    handlers, which must not wait); every workaround while nothing is known yet."""
    cached = _known.get(ari)
    if cached is not None and cached[0] == getattr(ari, "reconnects", 0):
        return cached[1]
    return quirks("")
