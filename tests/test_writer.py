"""The serial writer: one thread, writes in order, the last write for a key wins, close flushes."""

import threading

from organizer.jobs.writer import SerialWriter
from organizer.storage.cache import Cache


def test_writes_run_in_order_on_one_thread_and_the_last_for_a_key_wins(tmp_path):
    gate, threads, done = threading.Event(), set(), []
    writer = SerialWriter()
    writer.submit("gate", gate.wait)  # holds the thread, so the burst below queues up

    def put(value: int):
        def write():
            threads.add(threading.get_ident())
            with Cache(tmp_path / "c.sqlite") as cache:
                cache.put_edits("book", str(value))
            done.append(value)
        return write

    for value in range(20):
        writer.submit("book", put(value))
    writer.submit("other", lambda: done.append("other"))
    gate.set()
    assert writer.flush(10)
    # Only the last state of the book is written, and it lands before the write asked for after it.
    assert done == [19, "other"]
    assert threads and threading.get_ident() not in threads
    with Cache(tmp_path / "c.sqlite") as cache:
        assert cache.get_edits("book") == "19"
    assert writer.close(10)


def test_close_runs_what_is_pending_and_a_failed_write_does_not_stop_the_next(tmp_path):
    errors, gate = [], threading.Event()
    writer = SerialWriter(on_error=errors.append)
    writer.submit("gate", gate.wait)

    def fails():
        raise OSError("disk full")

    def put():
        with Cache(tmp_path / "c.sqlite") as cache:
            cache.put_edits("book", "last")
    writer.submit("a", fails)
    writer.submit("b", put)
    gate.set()
    assert writer.close(10)
    assert [str(e) for e in errors] == ["disk full"]
    with Cache(tmp_path / "c.sqlite") as cache:
        assert cache.get_edits("book") == "last"
