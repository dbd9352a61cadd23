"""A pool of worker processes whose every worker has its own pipes, so a death at any moment is seen.

CPython's ``ProcessPoolExecutor`` sends every worker's results through one shared pipe. A worker
killed while it writes a result (the kernel's out-of-memory killer picks the process holding a
decoded photo) leaves half a message in that pipe, and the executor then waits forever for the
rest: the scan hung. Here each worker answers on a pipe of its own, whose write end only that
worker holds, so its death always ends that pipe: the half message reads as end of file, and the
worker's task (and every task still waiting) fails with ``BrokenExecutor``, which the caller
answers by going on without processes (``io/decoding.py`` decodes in threads).

A worker runs one task at a time; a manager thread hands the tasks out and collects the results.
Workers come from the caller's multiprocessing context (the fork server of
:mod:`.subprocess_step`) and end with their parent however it ends.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from typing import Any

from .subprocess_step import TERMINATE_GRACE_S, exit_with_parent, picklable

#: What a worker is told when it should end; each task travels wrapped in a 1-tuple, so no task can be taken for it.
_STOP = None


def _serve(tasks: Connection, results: Connection, fn: Callable, common: tuple) -> None:
    """A worker: ``fn(task, *common)`` for each task received, its result (or exception) sent back."""
    exit_with_parent()
    while True:
        try:
            message = tasks.recv()
        except (EOFError, OSError):
            return
        if message is _STOP:
            return
        try:
            outcome = (True, fn(message[0], *common))
        except Exception as exc:  # noqa: BLE001 - the caller's future carries it
            outcome = (False, picklable(exc))
        try:
            results.send(outcome)
        except (OSError, EOFError):
            return
        except Exception as exc:  # noqa: BLE001 - a result that will not pickle fails its task alone
            results.send((False, RuntimeError(f"the result could not be sent back ({type(exc).__name__}: {exc})")))


class _Worker:
    def __init__(self, context: BaseContext, fn: Callable, common: tuple) -> None:
        task_reader, self.tasks = context.Pipe(duplex=False)
        self.results, result_writer = context.Pipe(duplex=False)
        self.process = context.Process(target=_serve, args=(task_reader, result_writer, fn, common), daemon=True)
        self.process.start()
        # The worker now holds the only write end of its results: its death is the pipe's end.
        task_reader.close()
        result_writer.close()
        self.busy: Future | None = None


class WorkerPool(Executor):
    """``workers`` processes from ``context``, each running ``fn(task, *common)`` for the tasks
    given to :meth:`submit`; ``common`` is sent once, when the workers start.

    Raises ``OSError`` (or what the context raises) when the processes cannot start.
    """

    def __init__(self, workers: int, context: BaseContext, fn: Callable, common: tuple = ()) -> None:
        self._lock = threading.Lock()
        self._waiting: deque[tuple[Future, Any]] = deque()
        self._broken = ""
        self._closing = False
        self._workers: list[_Worker] = []
        try:
            for _ in range(workers):
                self._workers.append(_Worker(context, fn, common))
        except BaseException:
            self._stop_workers()
            raise
        # A pipe the manager waits on beside the workers', so a submit or a shutdown wakes it. Its own
        # lock: the manager closes it while another thread may be writing to it.
        self._wake_reader, self._wake_writer = Pipe(duplex=False)
        self._wake_lock = threading.Lock()
        self._manager = threading.Thread(target=self._manage, name="worker pool", daemon=True)
        self._manager.start()

    def submit(self, task, /, *args, **kwargs) -> Future:  # noqa: D102 - Executor's
        if args or kwargs:
            raise TypeError("WorkerPool.submit takes the task alone")
        future: Future = Future()
        with self._lock:
            if self._broken:
                raise BrokenExecutor(self._broken)
            if self._closing:
                raise RuntimeError("the worker pool is shut down")
            self._waiting.append((future, task))
        self._wake()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closing = True
            if cancel_futures:
                while self._waiting:
                    self._waiting.popleft()[0].cancel()
        self._wake()
        # From a done-callback, which runs on the manager's thread, waiting would wait on itself.
        if wait and threading.current_thread() is not self._manager:
            self._manager.join()

    def _wake(self) -> None:
        with self._wake_lock:
            if not self._wake_writer.closed:
                self._wake_writer.send_bytes(b"")

    def _manage(self) -> None:
        try:
            while self._dispatch():
                self._collect()
        except Exception as exc:  # noqa: BLE001 - a task must never wait on a manager that is gone
            self._break(None, f"the worker pool failed ({type(exc).__name__}: {exc})")
        finally:
            self._stop_workers()
            with self._wake_lock:
                self._wake_reader.close()
                self._wake_writer.close()

    def _dispatch(self) -> bool:
        """Hand waiting tasks to idle workers; False once closing and no task is left in flight."""
        dead: tuple[Future, _Worker] | None = None
        with self._lock:
            for worker in self._workers:
                while dead is None and worker.busy is None and self._waiting:
                    future, task = self._waiting.popleft()
                    if not future.set_running_or_notify_cancel():
                        continue
                    try:
                        worker.tasks.send((task,))
                    except OSError:  # it died while idle
                        dead = future, worker
                    except Exception as exc:  # noqa: BLE001 - a task that will not pickle: nothing was sent
                        future.set_exception(exc)
                    else:
                        worker.busy = future
            finished = self._closing and not self._waiting and not any(w.busy for w in self._workers)
        if dead is not None:
            self._break(dead[0], _ended(dead[1]))
            return False
        return not finished

    def _collect(self) -> None:
        """Wait for a result, a death or a wake-up, and act on it."""
        busy = [worker for worker in self._workers if worker.busy is not None]
        ready = wait([self._wake_reader, *(w.results for w in busy), *(w.process.sentinel for w in busy)])
        while self._wake_reader.poll():
            self._wake_reader.recv_bytes()
        for worker in busy:
            # A break while reading an earlier worker has failed this one's task already.
            if worker.busy is not None and (worker.results in ready or worker.process.sentinel in ready):
                self._receive(worker)

    def _receive(self, worker: _Worker) -> None:
        future, worker.busy = worker.busy, None
        try:
            ok, value = worker.results.recv()
        except (EOFError, OSError):
            # Dead, with no whole result sent: before it, or half-way through.
            self._break(future, _ended(worker))
            return
        except Exception as exc:  # noqa: BLE001 - a whole message that will not unpickle fails its task alone
            future.set_exception(exc)
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def _break(self, future: Future | None, reason: str) -> None:
        """Fail ``future``, every task still waiting or running, and every later submit."""
        with self._lock:
            self._broken = reason
            failed = [*([future] if future else []), *(f for f, _ in self._waiting),
                      *(w.busy for w in self._workers if w.busy)]
            self._waiting.clear()
            for worker in self._workers:
                worker.busy = None
            self._closing = True
        for each in failed:
            if not each.done():
                each.set_exception(BrokenExecutor(reason))

    def _stop_workers(self) -> None:
        for worker in self._workers:
            try:
                worker.tasks.send(_STOP)
            except OSError:  # already gone
                pass
        for worker in self._workers:
            worker.process.join(TERMINATE_GRACE_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.tasks.close()
            worker.results.close()


def _ended(worker: _Worker) -> str:
    """Why the pool broke: the worker's end, with its exit code once the process is reaped (its pipe
    closes a moment before)."""
    worker.process.join(TERMINATE_GRACE_S)
    return f"a worker process ended (exit code {worker.process.exitcode})"
