"""Steps that cannot check ``should_stop`` run in a child process, which a stop can end.

HDBSCAN, scipy's linkage, a PCA or openTSNE's neighbour search spend seconds in compiled
code that never returns to Python, so a thread running them can only be waited for: the
window's close waited up to 30 s. In a child process they end when told:
:func:`run_stoppable` polls ``should_stop`` while the child works and terminates it on a
stop. :func:`run_step` keeps small inputs in the calling thread, where a child's start
would cost more than the step.

Children come from a fork server (spawned where there is none, as on Windows), never from
forking the caller: the GUI process holds Qt and torch threads, and a fork copies their
locks in whatever state they are in.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import traceback
from multiprocessing.context import BaseContext
from typing import Any, Callable, TypeVar

from .tasks import Cancelled, StopFn, never_stop

T = TypeVar("T")

#: The modules the steps and the decoding processes (``io/decoding.py``) need, imported once by
#: the fork server: each child is forked with them loaded and starts in about 20 ms here, where
#: importing them took 1.5 s per child.
PRELOAD = ("organizer.io.decoding", "organizer.analysis.clusterers", "organizer.analysis.reduce", "sklearn.cluster",
           "sklearn.decomposition", "sklearn.metrics", "scipy.cluster.hierarchy", "hdbscan", "openTSNE", "networkx")

#: Inputs with fewer rows stay in the calling thread. On 2,000 rows every step took under
#: 1.6 s here (PCA to 50 dimensions 1.5 s, t-SNE neighbours 1.1 s, HDBSCAN 0.5 s), so a close
#: still ends within 2 s; on 10,000 rows HDBSCAN took 7-9 s and the PCA 2.5-5.6 s. A child
#: adds about 20 ms from the fork server (1.7 s once, to start the server); where children
#: must be spawned (Windows) each costs 2-3 s, the price of a window that closes at once.
CHILD_FROM_ROWS = 2000

#: Seconds a terminated child gets to exit before it is killed.
TERMINATE_GRACE_S = 1.0


class ChildDied(RuntimeError):
    """The child process ended without a result: killed, or crashed in compiled code."""


@functools.cache
def child_context() -> BaseContext:
    """The one context every child of this process comes from (one fork server, with :data:`PRELOAD`)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))
        return context
    return multiprocessing.get_context("spawn")


def start_server() -> None:
    """Start the fork server now, while nothing waits on it.

    Its first start imports :data:`PRELOAD` (about 1.7 s), and a step cannot be stopped
    until its child exists: started at warm-up, the first recluster is stoppable at once.
    """
    if child_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def run_step(fn: Callable[..., T], *args: Any, rows: int, should_stop: StopFn) -> T:
    """``fn(*args)``: in a child process when it can be stopped and ``rows`` is big enough to take seconds.

    Nobody can stop a step called with :func:`~.tasks.never_stop` (the CLI's), so it always
    runs here; see :data:`CHILD_FROM_ROWS` for the size.
    """
    if should_stop is never_stop or rows < CHILD_FROM_ROWS:
        return fn(*args)
    return run_stoppable(fn, *args, should_stop=should_stop)


def run_stoppable(fn: Callable[..., T], *args: Any, should_stop: StopFn, poll_s: float = 0.05) -> T:
    """``fn(*args)`` in a child process, ended within ``poll_s`` of ``should_stop()`` turning true.

    ``fn`` must be a module-level function, and its arguments and result must pickle.

    Raises
    ------
    Cancelled
        When ``should_stop()`` turned true; the child has ended by then.
    ChildDied
        When the child ended without a result.
    Exception
        What ``fn`` raised, of its type and with its message.
    """
    if should_stop():
        raise Cancelled()
    context = child_context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(sender, fn, args), daemon=True,
                            name=f"stoppable {getattr(fn, '__name__', 'step')}")
    try:
        child.start()
    except BaseException:
        receiver.close()
        sender.close()
        raise
    sender.close()  # the child holds the only writer, so its death reads as EOF here
    finished = False
    try:
        while not receiver.poll(poll_s):
            if should_stop():
                raise Cancelled()
        try:
            succeeded, value = receiver.recv()
        except EOFError:
            child.join(TERMINATE_GRACE_S)
            raise ChildDied(f"{child.name} ended without a result (exit code {child.exitcode})") from None
        finished = True
    finally:
        receiver.close()
        _end(child, wait=finished)
    if succeeded:
        return value
    raise value


def _end(child, wait: bool) -> None:
    """Reap ``child``: let a finished one exit, terminate the rest, kill one that ignores that."""
    if wait:
        child.join(TERMINATE_GRACE_S)
    if child.is_alive():
        child.terminate()
        child.join(TERMINATE_GRACE_S)
    if child.is_alive():
        child.kill()
        child.join()
    child.close()


#: The exit status of a child whose parent died before it finished.
ORPHAN_EXIT_CODE = 70


def exit_with_parent() -> None:
    """End this child when its parent ends, however it ends.

    ``daemon=True`` only acts when the parent exits through Python; after a kill -9 of the
    app, the fork server's child would run a large HDBSCAN to its end, minutes of CPU.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait_then_exit() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(ORPHAN_EXIT_CODE)  # the step is in compiled code: only this ends it

    threading.Thread(target=wait_then_exit, name="exit with parent", daemon=True).start()


def _child_main(sender, fn: Callable, args: tuple) -> None:
    exit_with_parent()
    try:
        outcome = (True, fn(*args))
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
        exc.add_note("in a child process:\n" + traceback.format_exc().rstrip())
        outcome = (False, picklable(exc))
    try:
        sender.send(outcome)
    except Exception as exc:  # noqa: BLE001 - an unpicklable result must still end the wait
        sender.send((False, TypeError(f"{getattr(fn, '__name__', 'step')} returned what cannot be sent back: {exc}")))
    sender.close()


def picklable(exc: Exception) -> Exception:
    """``exc``, or a RuntimeError with its type and message where it would not survive pickling."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any exception class can refuse pickling in its own way
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
