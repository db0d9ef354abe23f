"""Names for what crosses the AMI client's boundary."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

# One AMI message (a response or an event): headers as Asterisk sends them, in order.
# A header sent more than once (``Output``, ``ChanVariable``) holds its values joined with "\n".
AmiMessage: TypeAlias = dict[str, str]

# Called from the connection's reader for every event: must be cheap (hand off to a queue), never block.
EventHandler: TypeAlias = Callable[[AmiMessage], None]
