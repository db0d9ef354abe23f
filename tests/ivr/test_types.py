"""The real call session offers what the engine's ``IvrSession`` protocol asks for."""

from __future__ import annotations

import inspect

from callcore.calls.session import CallSession
from callcore.ivr.types import IvrSession


def test_call_session_matches_the_protocol() -> None:
    for name, member in vars(IvrSession).items():
        if name.startswith("_") or not callable(member):
            continue
        real = getattr(CallSession, name)
        assert inspect.iscoroutinefunction(real) == inspect.iscoroutinefunction(member), name
        wanted = inspect.signature(member).parameters
        have = inspect.signature(real).parameters
        for pname, param in wanted.items():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in have.values()), name
                continue
            assert pname in have or param.kind is inspect.Parameter.POSITIONAL_ONLY, (name, pname)
