"""One thread that runs writes in the order they were asked for, off the caller's thread.

The GUI saves the user's cluster edits after every change. Opening the cache and
committing on the GUI thread froze the window for as long as SQLite took. A write given a
key replaces a write for that key that is still waiting, so a burst of edits commits only
its last state, and :meth:`SerialWriter.close` runs what is pending before it returns.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Hashable

log = logging.getLogger(__name__)


class SerialWriter:
    """Runs ``write()`` callables on one thread, one at a time, in submission order.

    Parameters
    ----------
    on_error
        Called on the writer thread with the exception of a write that failed; the
        writes after it still run.
    """

    def __init__(self, on_error: Callable[[Exception], None] | None = None, name: str = "serial-writer"):
        self._on_error = on_error
        self._name = name
        self._pending: dict[Hashable, Callable[[], None]] = {}
        self._writing = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()

    def submit(self, key: Hashable, write: Callable[[], None]) -> None:
        """Queue ``write``; a write for ``key`` still waiting is dropped, since this one supersedes it.

        Raises
        ------
        RuntimeError
            If the writer is closed.
        """
        with self._changed:
            if self._closed:
                raise RuntimeError("the writer is closed")
            self._pending.pop(key, None)  # re-inserted last: it runs after every write asked for before it
            self._pending[key] = write
            if self._thread is None:
                # A daemon: a writer nobody closed must not keep the process alive at exit.
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def _loop(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                key = next(iter(self._pending))
                write = self._pending.pop(key)
                self._writing = True
            try:
                write()
            except Exception as exc:  # noqa: BLE001 - one failed write must not stop the ones after it
                log.warning("A write for %s failed: %s", key, exc)
                if self._on_error is not None:
                    self._on_error(exc)
            finally:
                with self._changed:
                    self._writing = False
                    self._changed.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every write submitted so far has run; False if ``timeout`` (s) passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._writing, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Run the pending writes, then end the thread; True when they all ran within ``timeout`` (s)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
