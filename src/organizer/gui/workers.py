"""The one adapter between Qt and the core's long work.

A job is a plain function ``job(task_context) -> result`` that calls the core with the
context's ``progress``, ``should_stop`` and ``partial``; it never touches a widget. The
runner runs it on a thread pool and turns those callbacks into Qt signals, delivered on
the GUI thread. Each job runs in a named slot ("scan", "map", ...): starting a job in a
busy slot cancels the old one, and results from a superseded job are dropped, so a view
never shows stale work. :meth:`TaskRunner.shutdown` cancels everything and waits.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..core.tasks import Cancelled, StopFlag

log = logging.getLogger(__name__)

#: Progress reaches the GUI at most this often; a scan reports per image, and a flood of
#: queued signals would itself stall the event loop.
PROGRESS_INTERVAL_S = 0.05


class TaskContext:
    """What a job receives: the core's callbacks, wired to its task's signals."""

    def __init__(self, task: "Task"):
        self._task = task
        self._last = 0.0

    def progress(self, done: int, total: int, note: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last < PROGRESS_INTERVAL_S:
            return
        self._last = now
        self._task.progress.emit(done, total, note)

    def should_stop(self) -> bool:
        return self._task.stop_flag()

    def partial(self, value: Any) -> None:
        self._task.partial.emit(value)


class Task(QObject):
    progress = Signal(int, int, str)
    partial = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, slot: str, job: Callable[[TaskContext], Any]):
        super().__init__()
        self.slot = slot
        self.job = job
        self.stop_flag = StopFlag()
        self.started_at = time.monotonic()

    def cancel(self) -> None:
        self.stop_flag.set()


def describe_error(exc: BaseException) -> str:
    """A sentence for the status bar: the core's errors already read as one."""
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return reason[0].upper() + reason[1:] if reason else type(exc).__name__


class _Runnable(QRunnable):
    def __init__(self, task: Task, done: Callable[["_Runnable"], None]):
        super().__init__()
        self.setAutoDelete(False)
        self.task = task
        self._done = done

    def run(self) -> None:
        task = self.task
        try:
            result = task.job(TaskContext(task))
        except Cancelled:
            task.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - every failure must reach the user, not kill the thread
            log.warning("%s task failed:\n%s", task.slot, traceback.format_exc())
            task.failed.emit(describe_error(exc))
        else:
            if task.stop_flag():
                task.cancelled.emit()
            else:
                task.finished.emit(result)
        finally:
            self._done(self)


class TaskRunner(QObject):
    """Runs jobs off the GUI thread, one per slot; see the module notes."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, threads: int = 3):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._current: dict[str, Task] = {}
        self._running: set[_Runnable] = set()

    def start(self, slot: str, job: Callable[[TaskContext], Any], *,
              on_finished: Callable[[Any], None] | None = None,
              on_progress: Callable[[int, int, str], None] | None = None,
              on_partial: Callable[[Any], None] | None = None,
              on_failed: Callable[[str], None] | None = None,
              on_cancelled: Callable[[], None] | None = None) -> Task:
        self.cancel(slot)
        task = Task(slot, job)
        self._current[slot] = task
        for signal, handler in ((task.finished, on_finished), (task.progress, on_progress),
                                (task.partial, on_partial), (task.failed, on_failed),
                                (task.cancelled, on_cancelled)):
            if handler is not None:
                signal.connect(self._only_current(task, handler))
        for ending in (task.finished, task.failed, task.cancelled):
            ending.connect(lambda *_, t=task: self._ended(t))
        runnable = _Runnable(task, self._running.discard)
        was_busy = self.busy()
        self._running.add(runnable)
        self._pool.start(runnable)
        if not was_busy:
            self.busy_changed.emit(True)
        return task

    def _only_current(self, task: Task, handler: Callable) -> Callable:
        def deliver(*args):
            if self._current.get(task.slot) is task:
                handler(*args)
        return deliver

    def _ended(self, task: Task) -> None:
        if self._current.get(task.slot) is task:
            del self._current[task.slot]
        if not self.busy():
            self.busy_changed.emit(False)

    def running(self, slot: str) -> bool:
        return slot in self._current

    def busy(self) -> bool:
        return bool(self._current)

    def cancel(self, slot: str) -> None:
        """Stop the slot's job; its late results are dropped."""
        task = self._current.pop(slot, None)
        if task is not None:
            task.cancel()
            if not self.busy():
                self.busy_changed.emit(False)

    def cancel_all(self) -> None:
        for slot in list(self._current):
            self.cancel(slot)

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Cancel every job and wait briefly for the threads; True when all have ended.

        Every job stops soon after a cancel (steps that cannot check for it run in a child
        process, see core.subprocess_step), so the window's close need not wait long.
        """
        self.cancel_all()
        return self._pool.waitForDone(timeout_ms)
