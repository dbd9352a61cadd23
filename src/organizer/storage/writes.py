"""Writing the cache: one transaction per batch, and one line that says why a write was refused."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)


class CacheError(RuntimeError):
    """The cache cannot be opened or written (locked for too long, disk full, read-only)."""


def is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


class Transaction:
    def __init__(self, conn: sqlite3.Connection, path: Path):
        self._conn = conn
        self._path = path

    def __enter__(self) -> None:
        # IMMEDIATE takes the write lock up front, so a second writer waits at BEGIN (with
        # the busy timeout) instead of failing half-way through the batch.
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise CacheError(write_failure(self._path, exc)) from exc

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
                return
            except sqlite3.Error as error:
                exc = error
        self._rollback()
        if isinstance(exc, sqlite3.Error):
            raise CacheError(write_failure(self._path, exc)) from exc

    def _rollback(self) -> None:
        # SQLite has already rolled back after some errors (a full disk, an I/O error), and a
        # ROLLBACK then fails with "no transaction is active", which would hide the real error.
        if not self._conn.in_transaction:
            return
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error as error:
            # The error that stopped the batch is the one to report; SQLite undoes a
            # transaction left open when the connection closes or the file next opens.
            log.warning("Could not roll back a write to %s: %s", self._path, error)


def write_failure(path: Path, exc: sqlite3.Error) -> str:
    """One line for a write the cache refused; the batch is undone, everything saved before stays."""
    name = getattr(exc, "sqlite_errorname", "")
    if name.startswith("SQLITE_FULL"):
        return (f"the disk is full: the cache {path} could not be written; nothing was lost "
                f"(free some space and run again)")
    if name.startswith("SQLITE_READONLY"):
        return f"the cache {path} is read-only and could not be written; nothing was lost"
    if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
        return f"the cache {path} is busy (another scan is writing it?) and could not be written; nothing was lost"
    return f"the cache {path} could not be written ({exc}); nothing was lost"
