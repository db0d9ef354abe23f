"""Calls: the call row, its timeline (C-1), the journal that writes them, and the call flows."""
