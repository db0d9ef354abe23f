"""Users, roles, sessions and the audit log (A-1, A-2)."""
