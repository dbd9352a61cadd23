"""The one adapter between Qt and the core's long work.

A job is a plain function ``job(task_context) -> result`` that calls the core with the
context's ``progress``, ``should_stop`` and ``partial``; it never touches a widget. The
runner runs it on a thread pool and turns those callbacks into Qt signals, delivered on
the GUI thread. Each job runs in a named slot ("scan", "map", ...): starting a job in a
busy slot cancels the old one, and results from a superseded job are dropped, so a view
never shows stale work. :meth:`TaskRunner.shutdown` cancels everything and waits briefly;
a job still running then (a model load, an undo's file moves, which are never killed)
finishes on its own, its reports dropped, and :func:`finish_abandoned_jobs` waits for it
before the process exits.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal

from ..jobs.tasks import Cancelled, StopFlag

log = logging.getLogger(__name__)

#: Progress reaches the GUI at most this often; a scan reports per image, and a flood of
#: queued signals would itself stall the event loop.
PROGRESS_INTERVAL_S = 0.05


class TaskContext:
    """What a job receives: the core's callbacks, reported through its task."""

    def __init__(self, task: "Task"):
        self._task = task
        self._last = 0.0

    def progress(self, done: int, total: int, note: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last < PROGRESS_INTERVAL_S:
            return
        self._last = now
        self._task.report("progress", done, total, note)

    def should_stop(self) -> bool:
        return self._task.stop_flag()

    def partial(self, value: Any) -> None:
        self._task.report("partial", value)


class Task:
    """One run of a job: its slot, its stop flag and, until it ends, its owner's handlers.

    A plain object, not a QObject with signals of its own: per-task connections held
    closures that referred to the task, which Qt kept alive for good, and its result too.
    """

    def __init__(self, slot: str, job: Callable[[TaskContext], Any] | None, handlers: dict[str, Callable],
                 send: Callable[["Task", str, tuple], None], shut_down: threading.Event):
        self.slot = slot
        self.job = job
        self.handlers = handlers
        self.stop_flag = StopFlag()
        self.started_at = time.monotonic()
        self._send = send
        self._shut_down = shut_down

    def cancel(self) -> None:
        self.stop_flag.set()

    def report(self, kind: str, *args: Any) -> None:
        """From the worker: hand ``kind`` ("progress", "partial" or an ending) to the GUI thread.

        Dropped once the runner has shut down: nobody is left to receive it.
        """
        if self._shut_down.is_set():
            return
        try:
            self._send(self, kind, args)
        except RuntimeError:
            # The runner was deleted with its window between the check and the emit
            # ("Signal source has been deleted"); the report has no receiver.
            pass


def describe_error(exc: BaseException) -> str:
    """A sentence for the status bar: the core's errors already read as one."""
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return reason[0].upper() + reason[1:] if reason else type(exc).__name__


def _run(task: Task) -> None:
    """A task's job, on a pool thread; its reports go to the GUI thread through the task."""
    try:
        result = task.job(TaskContext(task))
    except Cancelled:
        task.report("cancelled")
    except Exception as exc:  # noqa: BLE001 - every failure must reach the user, not kill the thread
        log.warning("%s task failed:\n%s", task.slot, traceback.format_exc())
        task.report("failed", describe_error(exc))
    else:
        if task.stop_flag():
            task.report("cancelled")
        else:
            task.report("finished", result)
    finally:
        task.job = None  # its closure may hold a whole library


_ENDINGS = frozenset({"finished", "failed", "cancelled"})


class TaskRunner(QObject):
    """Runs jobs off the GUI thread, one per slot; see the module notes."""

    busy_changed = Signal(bool)
    #: A slot's job ended, however it did: finished, failed, cancelled or replaced by a newer
    #: one. Its owner takes down what showed it at work: its progress, a "Scanning…" message.
    slot_ended = Signal(str)
    #: (task, kind, arguments) from a worker, delivered to _arrived on the GUI thread.
    _reported = Signal(object, str, object)

    def __init__(self, parent: QObject | None = None, threads: int = 3):
        super().__init__(parent)
        # No parent: a child pool's destructor would block the GUI thread, when the window
        # is deleted, until a job that outlived shutdown ends.
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(threads)
        self._current: dict[str, Task] = {}
        #: Set by shutdown; the tasks started before it then report nothing.
        self._shut_down = threading.Event()
        self._reported.connect(self._arrived)

    def start(self, slot: str, job: Callable[[TaskContext], Any], *,
              on_finished: Callable[[Any], None] | None = None,
              on_progress: Callable[[int, int, str], None] | None = None,
              on_partial: Callable[[Any], None] | None = None,
              on_failed: Callable[[str], None] | None = None,
              on_cancelled: Callable[[], None] | None = None) -> Task:
        self.cancel(slot)
        handlers = {"finished": on_finished, "progress": on_progress, "partial": on_partial,
                    "failed": on_failed, "cancelled": on_cancelled}
        task = Task(slot, job, {kind: handler for kind, handler in handlers.items() if handler is not None},
                    self._reported.emit, self._shut_down)
        self._current[slot] = task
        was_busy = self.busy()
        # A function, not a QRunnable subclass: PySide kept some of those alive for good,
        # and the task with them.
        self._pool.start(lambda: _run(task))
        if not was_busy:
            self.busy_changed.emit(True)
        return task

    def _arrived(self, task: Task, kind: str, args: tuple) -> None:
        """A worker's report, on the GUI thread: given to the owner while its task is the slot's current one."""
        try:
            handler = task.handlers.get(kind)
            if handler is not None and self._current.get(task.slot) is task:
                handler(*args)
        finally:
            if kind in _ENDINGS:
                if self._current.get(task.slot) is task:
                    del self._current[task.slot]
                    self.slot_ended.emit(task.slot)
                task.handlers = {}  # the owner's closures: nothing reaches them through the task now
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
            self.slot_ended.emit(slot)
            if not self.busy():
                self.busy_changed.emit(False)

    def cancel_all(self) -> None:
        for slot in list(self._current):
            self.cancel(slot)

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Cancel every job and wait briefly for the threads; True when all have ended.

        Every job stops soon after a cancel (steps that cannot check for it run in a child
        process, see jobs.subprocess_step), so the window's close need not wait long. The
        jobs started so far report nothing more; a job still running after ``timeout_ms``
        finishes on its own, and :func:`finish_abandoned_jobs` waits for it at exit. The
        runner takes new jobs afterwards.
        """
        self.cancel_all()
        self._shut_down.set()
        self._shut_down = threading.Event()
        if self._pool.waitForDone(timeout_ms):
            return True
        _abandoned.append(self._pool)
        return False


#: Pools whose jobs outlived their runner's shutdown. Kept here so deleting the runner
#: neither blocks on them nor destroys a pool under a running job.
_abandoned: list[QThreadPool] = []


def finish_abandoned_jobs() -> None:
    """Wait, without a limit, for the jobs that outlived a shutdown.

    Called at exit: such a job may be moving the user's files back, which must finish.
    """
    while _abandoned:
        _abandoned.pop().waitForDone()


atexit.register(finish_abandoned_jobs)
