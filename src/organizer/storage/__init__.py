"""Persistence: the SQLite cache and the per-user folders."""
