"""Version-specific choices, from the version Asterisk reports (``-V`` or ARI's ``/asterisk/info``)."""

from __future__ import annotations

from typing import Any

from callcore.ari.errors import AriUnavailable
from callcore.asterisk.quirks import of_ari, parse, quirks


def test_versions_are_read_from_what_asterisk_prints() -> None:
    assert parse("Asterisk 22.10.1+dfsg+~cs6.17.60671434-1 built by nobody") == (22, 10, 1)
    assert parse("16.28.0~dfsg-0+deb11u4") == (16, 28, 0)
    assert parse("GIT-master-abc") is None


def test_the_wake_up_workarounds_are_for_16_and_17_only() -> None:
    assert quirks("Asterisk 16.28.0~dfsg-0+deb11u4").wake_up_workarounds
    assert quirks("17.9.4").wake_up_workarounds
    assert not quirks("18.0.0").wake_up_workarounds
    assert not quirks("Asterisk 20.6.0~dfsg+~cs6.13.40431414-2build5").wake_up_workarounds
    q = quirks("Asterisk 22.10.1+dfsg")
    assert not q.wake_up_workarounds and q.major == 22 and q.version == "22.10.1+dfsg"
    # Unknown: every workaround, each harmless where it is not needed.
    assert quirks("").wake_up_workarounds and quirks("").major == 0


class Ari:
    def __init__(self, version: str) -> None:
        self.version = version
        self.reconnects = 0
        self.asked = 0
        self.down = False

    async def asterisk_info(self) -> dict[str, Any]:
        self.asked += 1
        if self.down:
            raise AriUnavailable("connection refused")
        return {"system": {"version": self.version}}


async def test_the_daemon_asks_once_per_connection() -> None:
    ari = Ari("22.10.1")
    assert not (await of_ari(ari)).wake_up_workarounds
    assert not (await of_ari(ari)).wake_up_workarounds
    assert ari.asked == 1
    # Reconnected: perhaps to an Asterisk restarted as another version.
    ari.version, ari.reconnects = "16.28.0", 1
    assert (await of_ari(ari)).wake_up_workarounds and ari.asked == 2


async def test_an_unanswered_question_gets_the_workarounds_and_is_asked_again() -> None:
    ari = Ari("22.10.1")
    ari.down = True
    assert (await of_ari(ari)).wake_up_workarounds
    ari.down = False
    assert not (await of_ari(ari)).wake_up_workarounds and ari.asked == 2


async def test_a_client_without_the_question_gets_the_workarounds() -> None:
    class Bare:
        reconnects = 0

    assert (await of_ari(Bare())).wake_up_workarounds  # type: ignore[arg-type]


def test_a_far_ends_bye_without_a_cause_is_normal_clearing_where_asterisk_drops_it() -> None:
    assert quirks("22.10.1").bye_cause_missing and quirks("22.7.0").bye_cause_missing and quirks("23.0.0").bye_cause_missing
    assert quirks("20.17.0").bye_cause_missing
    assert not quirks("22.6.0").bye_cause_missing and not quirks("20.6.0").bye_cause_missing
    assert not quirks("16.28.0").bye_cause_missing
    q22, q16 = quirks("22.10.1"), quirks("16.28.0")
    assert q22.hangup_cause(None, by_far_end=True) == 16 and q22.hangup_cause(0, by_far_end=True) == 16
    assert q22.hangup_cause(17, by_far_end=True) == 17 and q22.hangup_cause(None, by_far_end=False) is None
    assert q16.hangup_cause(None, by_far_end=True) is None


async def test_event_handlers_read_what_was_learnt_without_asking() -> None:
    from callcore.asterisk.quirks import known

    ari = Ari("16.28.0")
    assert known(ari).version == ""  # nothing learnt yet: every workaround
    await of_ari(ari)
    assert known(ari).major == 16 and ari.asked == 1
    ari.reconnects = 1
    assert known(ari).version == ""
