"""jobs/worker_pool.py: results in processes, errors carried back, and a worker's death, even half-way
through sending a result, failing its tasks instead of hanging them; the decoding that uses it then
goes on in threads."""

from __future__ import annotations

import multiprocessing
import os
import struct
import threading
from concurrent.futures import BrokenExecutor, wait

import numpy as np
import pytest
from PIL import Image

from organizer.embedding import make_spec
from organizer.embedding.embed import view_plan
from organizer.io import decoding
from organizer.io.decoding import DecodePool, Decoder
from organizer.io.scan import scan_folder
from organizer.jobs import worker_pool
from organizer.jobs.subprocess_step import child_context
from organizer.jobs.worker_pool import WorkerPool

#: Long enough for any of these steps on a loaded machine; a hang fails the test instead of the suite.
PATIENCE_S = 120


def test_tasks_run_in_worker_processes_and_errors_come_back():
    pool = WorkerPool(2, child_context(), pow, (3,))
    try:
        futures = [pool.submit(n) for n in range(20)]
        assert [future.result(PATIENCE_S) for future in futures] == [n ** 3 for n in range(20)]
        with pytest.raises(TypeError):
            pool.submit("not a number").result(PATIENCE_S)
        assert pool.submit(4).result(PATIENCE_S) == 64  # an error breaks nothing
    finally:
        pool.shutdown()
    assert not multiprocessing.active_children()


def test_two_threads_submitting_at_once_get_the_serial_results():
    pool = WorkerPool(2, child_context(), pow, (2,))
    results: dict[int, list[int]] = {}

    def submit_all(offset: int) -> None:
        futures = [pool.submit(offset + n) for n in range(50)]
        results[offset] = [future.result(PATIENCE_S) for future in futures]

    threads = [threading.Thread(target=submit_all, args=(offset,)) for offset in (0, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_S)
    pool.shutdown()
    assert results == {offset: [(offset + n) ** 2 for n in range(50)] for offset in (0, 1000)}


def _serve_then_die_half_way(tasks, results, fn, common):
    """A worker killed while it sends its first result: the length of a large message, a few of its
    bytes, and the end, as when the out-of-memory killer strikes mid-write."""
    tasks.recv()
    os.write(results.fileno(), struct.pack("!i", 1_000_000) + b"partial")
    os._exit(9)


needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="the test's own worker functions reach the workers by forking")


@pytest.fixture
def forking():
    """Workers forked from this process, so they can run functions defined in this test module."""
    return multiprocessing.get_context("fork")


@pytest.fixture
def dying_workers(monkeypatch, forking):
    """Workers that run the test's worker loop instead of the real one."""
    monkeypatch.setattr(worker_pool, "_serve", _serve_then_die_half_way)
    return forking


class _LockedError(Exception):
    """Cannot be pickled, whatever pickling support is installed (tblib, which Dask installs, pickles
    exceptions with custom arguments): it holds a lock."""

    def __init__(self, message):
        super().__init__(message)
        self.lock = threading.Lock()


def _odd(task):
    if task == "raise":
        raise _LockedError("one and two")
    if task == "function":
        return lambda: task  # a result that cannot be pickled
    return task


@needs_fork
@pytest.mark.parametrize("task, error, words", [
    ("raise", RuntimeError, "_LockedError: one and two"),
    ("function", RuntimeError, "could not be sent back"),
])
def test_a_result_or_error_that_cannot_travel_fails_its_task_alone(forking, task, error, words):
    pool = WorkerPool(1, forking, _odd)
    try:
        with pytest.raises(error, match=words):
            pool.submit(task).result(PATIENCE_S)
        assert pool.submit("fine").result(PATIENCE_S) == "fine"
    finally:
        pool.shutdown()


def test_a_task_that_cannot_be_sent_fails_alone_and_none_is_a_task_like_any_other():
    pool = WorkerPool(1, child_context(), pow, (2,))
    try:
        with pytest.raises(Exception, match="pickle"):
            pool.submit(lambda: 1).result(PATIENCE_S)
        with pytest.raises(TypeError):
            pool.submit(None).result(PATIENCE_S)  # pow(None, 2): None is no signal to stop
        assert pool.submit(5).result(PATIENCE_S) == 25
    finally:
        pool.shutdown()


@needs_fork
def test_a_worker_dying_while_it_sends_fails_every_task_and_never_hangs(dying_workers):
    pool = WorkerPool(2, dying_workers, pow, (2,))
    futures = [pool.submit(0)]
    # The first death may come while the rest are handed in: from then on submit says so itself.
    for n in range(1, 6):
        try:
            futures.append(pool.submit(n))
        except BrokenExecutor:
            break
    done, not_done = wait(futures, timeout=PATIENCE_S)
    assert not not_done, "a task waited on a dead worker"
    assert all(isinstance(future.exception(), BrokenExecutor) for future in futures)
    assert "exit code 9" in str(futures[0].exception())
    with pytest.raises(BrokenExecutor):
        pool.submit(7)
    pool.shutdown()
    assert not multiprocessing.active_children()


@needs_fork
def test_decoding_goes_on_in_threads_when_a_process_dies_half_way_through_a_result(dying_workers, monkeypatch,
                                                                                  tmp_path):
    monkeypatch.setattr(decoding, "child_context", lambda: dying_workers)
    rng = np.random.default_rng(3)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    plan, files = view_plan(make_spec(mode="colour")), scan_folder(tmp_path).files
    outcome: dict[str, object] = {}

    def decode() -> None:
        with Decoder(plan, DecodePool("processes", 2)) as decoder:
            outcome["prepared"] = list(decoder.prepared(files, frozenset, ahead=4))
            outcome["kind"] = decoder.pool.kind

    thread = threading.Thread(target=decode, daemon=True)
    thread.start()
    thread.join(PATIENCE_S)
    assert not thread.is_alive(), "the scan hung on a decoding process that died while sending"
    prepared = outcome["prepared"]
    assert outcome["kind"] == "threads"
    assert [p.entry for p in prepared] == files and not any(p.error for p in prepared)
    serial = [decoding.prepare(entry, plan, frozenset()) for entry in files]
    assert [p.digest for p in prepared] == [p.digest for p in serial]
    for pooled, alone in zip(prepared, serial):
        np.testing.assert_array_equal(pooled.inputs[plan.size], alone.inputs[plan.size])
    assert not multiprocessing.active_children()
