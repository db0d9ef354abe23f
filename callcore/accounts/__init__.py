"""Departments, users and their roles, login sessions and the audit log (A-1, A-2)."""
