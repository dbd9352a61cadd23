"""The Qt adapter for core jobs: results on the GUI thread, cancellation, stale results dropped."""

import gc
import logging
import sys
import threading
import time
import weakref

import pytest
import shiboken6
from PySide6.QtCore import QObject, QThread

from organizer.gui import workers
from organizer.gui.workers import TaskRunner
from organizer.io.images import ImageError
from organizer.jobs.tasks import Cancelled


@pytest.fixture
def runner(qtbot):
    runner = TaskRunner()
    yield runner
    assert runner.shutdown(5000)


def test_result_progress_and_partials_arrive_on_the_gui_thread(qtbot, runner):
    seen = {"threads": set(), "progress": [], "partials": []}
    gui_thread = QThread.currentThread()

    def job(ctx):
        seen["job_thread"] = threading.get_ident()
        for n in range(3):
            ctx.partial(n)
        ctx.progress(3, 3, "done")
        return "result"

    def on_finished(value):
        seen["threads"].add(QThread.currentThread() is gui_thread)
        seen["result"] = value

    runner.start("work", job, on_finished=on_finished, on_partial=seen["partials"].append,
                 on_progress=lambda *args: seen["progress"].append(args))
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen["result"] == "result" and seen["threads"] == {True}
    assert seen["job_thread"] != threading.get_ident()
    assert seen["partials"] == [0, 1, 2] and seen["progress"][-1] == (3, 3, "done")
    qtbot.waitUntil(lambda: not runner.busy(), timeout=2000)


def test_a_new_job_in_the_same_slot_cancels_the_old_and_drops_its_result(qtbot, runner):
    results, stopped = [], threading.Event()

    def slow(ctx):
        while not ctx.should_stop():
            time.sleep(0.01)
        stopped.set()
        return "stale"

    runner.start("slot", slow, on_finished=results.append)
    runner.start("slot", lambda ctx: "fresh", on_finished=results.append)
    qtbot.waitUntil(lambda: results == ["fresh"] and stopped.is_set(), timeout=5000)
    qtbot.wait(50)
    assert results == ["fresh"]


def test_failures_become_sentences_and_cancellation_is_not_a_failure(qtbot, runner):
    failures, cancelled = [], []

    def bad(ctx):
        raise ImageError("the file is truncated")

    def cancels(ctx):
        raise Cancelled()

    runner.start("a", bad, on_failed=failures.append)
    runner.start("b", cancels, on_failed=failures.append, on_cancelled=lambda: cancelled.append(True))
    qtbot.waitUntil(lambda: bool(failures and cancelled), timeout=5000)
    assert failures == ["The file is truncated"]


def test_shutdown_stops_running_jobs_and_waits(qtbot):
    runner = TaskRunner()
    started = threading.Event()

    def forever(ctx):
        started.set()
        while not ctx.should_stop():
            time.sleep(0.01)
        raise Cancelled()

    runner.start("x", forever)
    assert started.wait(5)
    assert runner.shutdown(5000)
    assert not runner.busy()


def test_progress_is_throttled_but_the_last_report_always_arrives(qtbot, runner):
    reports, done = [], []

    def chatty(ctx):
        for n in range(1, 2001):
            ctx.progress(n, 2000)
        return True

    runner.start("p", chatty, on_progress=lambda d, t, n: reports.append(d), on_finished=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert reports[-1] == 2000 and len(reports) < 200


class _Result:
    """A job's result that a weak reference can follow."""


def test_ended_tasks_their_jobs_and_their_results_are_freed(qtbot, runner):
    """Finished, failed, raised-cancelled and superseded tasks: none may stay alive after it ends."""
    tasks, results, captured, ended = [], [], [], []
    release = threading.Event()

    def make_job(kind: str):
        held = _Result()  # what a job's closure captures (a library, say)
        captured.append(weakref.ref(held))

        def job(ctx):
            assert held is not None
            if kind == "failed":
                raise ImageError("unreadable")
            if kind == "cancelled":
                raise Cancelled()
            if kind == "superseded":
                release.wait(5)
            result = _Result()
            results.append(weakref.ref(result))
            return result
        return job

    kinds = ["finished", "failed", "cancelled", "superseded"] * 5
    for n, kind in enumerate(kinds):
        task = runner.start(f"slot{n}", make_job(kind), on_finished=lambda r: ended.append(True),
                            on_failed=lambda m: ended.append(True), on_cancelled=lambda: ended.append(True))
        if kind == "superseded":
            runner.cancel(task.slot)  # its late end must still free it
        tasks.append(weakref.ref(task))
        del task
    release.set()
    qtbot.waitUntil(lambda: len(ended) == 15 and not runner.busy(), timeout=10_000)
    assert runner.shutdown(5000)
    qtbot.wait(50)
    gc.collect()
    assert len(tasks) == 20 and len(results) == 10
    assert [ref for ref in tasks if ref() is not None] == []
    assert [ref for ref in results if ref() is not None] == []
    assert [ref for ref in captured if ref() is not None] == []


def test_a_job_that_outlives_shutdown_neither_blocks_the_deletion_nor_raises_when_it_ends(qtbot, monkeypatch, capfd):
    """A model load or an undo's moves cannot stop at once: the window still goes, and the job ends quietly."""
    caught = []
    monkeypatch.setattr(sys, "excepthook", lambda *args: caught.append(args))
    monkeypatch.setattr(sys, "unraisablehook", caught.append)
    monkeypatch.setattr(threading, "excepthook", caught.append)
    handler = _Collect()
    logging.getLogger().addHandler(handler)
    try:
        window = QObject()
        runner = TaskRunner(window)
        started, release, ended = threading.Event(), threading.Event(), threading.Event()

        def stubborn(ctx):  # never asks should_stop, as a file move must not be cut short
            started.set()
            release.wait(30)
            ended.set()
            return "late"

        results = []
        runner.start("undo", stubborn, on_finished=results.append, on_cancelled=lambda: results.append("cancelled"))
        assert started.wait(10)
        assert runner.shutdown(50) is False
        shiboken6.delete(window)  # the window, and the runner with it
        assert not ended.is_set(), "deleting the runner waited for the job"
        del runner
        release.set()
        workers.finish_abandoned_jobs()
        assert ended.is_set()
        qtbot.wait(50)
    finally:
        logging.getLogger().removeHandler(handler)
    assert caught == [] and handler.records == [] and results == []
    assert "Traceback" not in capfd.readouterr().err


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)
