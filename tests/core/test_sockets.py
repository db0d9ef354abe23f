"""The feeds each login holds: ending a login sets the events of its feeds and of no other."""

from __future__ import annotations

from callcore.core.sockets import SessionSockets


def test_ending_a_login_or_a_user_ends_their_feeds_only() -> None:
    sockets = SessionSockets()
    with sockets.hold(user_id="u1", credential="t1") as a, sockets.hold(user_id="u1", credential="t2") as b, \
            sockets.hold(user_id="u2", credential="t3") as c:
        assert len(sockets) == 3
        assert sockets.end_login("t1") == 1
        assert (a.is_set(), b.is_set(), c.is_set()) == (True, False, False)
        assert sockets.end_user("u1") == 2  # the ended feed too, until it has closed
        assert (b.is_set(), c.is_set()) == (True, False)
        assert sockets.end_login("nobody's") == 0
    assert len(sockets) == 0
    assert sockets.end_user("u2") == 0
