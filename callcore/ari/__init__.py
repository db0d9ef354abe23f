"""A small typed ARI client on aiohttp: pooled REST calls and an event WebSocket that reconnects."""

from callcore.ari.client import AriClient
from callcore.ari.errors import AriError, AriNotFound, AriUnavailable

__all__ = ["AriClient", "AriError", "AriNotFound", "AriUnavailable"]
