"""Queues and agents (T-5, T-6, T-7, C-1..C-3): the pure domain core.

Every module here is pure (no I/O, no clock, no asyncio): the daemon passes the time and the
stored data in and persists what comes out, as with ``callcore/tickets/workflow.py``.
"""
