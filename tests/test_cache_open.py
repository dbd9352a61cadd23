"""Opening the cache: the integrity check runs once per file per process, not on every open."""

import sqlite3

from organizer.storage.cache import Cache


def counting_quick_checks(monkeypatch) -> list[str]:
    """Record every statement any new SQLite connection runs."""
    statements: list[str] = []
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn
    monkeypatch.setattr(sqlite3, "connect", connect)
    return statements


def test_many_opens_of_one_file_run_one_integrity_check(tmp_path, monkeypatch):
    statements = counting_quick_checks(monkeypatch)
    db = tmp_path / "c.sqlite"
    for n in range(8):
        with Cache(db) as cache:
            cache.put_edits("book", str(n))  # this process's own writes do not call for another check
    with Cache(db) as cache:
        assert cache.get_edits("book") == "7"
    assert sum("quick_check" in s for s in statements) == 1


def test_a_file_changed_by_someone_else_is_checked_again(tmp_path, monkeypatch):
    statements = counting_quick_checks(monkeypatch)
    db = tmp_path / "c.sqlite"
    with Cache(db) as cache:
        cache.put_edits("book", "mine")
    other = sqlite3.connect(db)  # another process, say; it grows the file, so the change shows on any clock
    with other:
        other.execute("INSERT OR REPLACE INTO edits VALUES ('book', 'theirs')")
        other.execute("INSERT INTO meta VALUES ('padding', ?)", ("x" * 200_000,))
    other.close()
    with Cache(db) as cache:
        assert cache.get_edits("book") == "theirs"
    assert sum("quick_check" in s for s in statements) == 2
