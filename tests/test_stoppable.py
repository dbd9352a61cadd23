"""Steps that cannot check should_stop run in a child process that a stop ends (jobs.subprocess_step)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from organizer.analysis.reduce import MapSpec, cached_map, compute_map
from organizer.jobs import subprocess_step
from organizer.jobs.subprocess_step import ChildDied, run_step, run_stoppable
from organizer.jobs.tasks import Cancelled, StopFlag, never_stop
from organizer.storage.cache import Cache


def _column_sums(matrix: np.ndarray, scale: float) -> np.ndarray:
    return matrix.sum(axis=0) * scale


def _sleep_forever(pid_file: Path) -> None:
    part = pid_file.with_suffix(".part")
    part.write_text(str(os.getpid()))
    part.replace(pid_file)  # whole or absent, so the reader never sees half a pid
    while True:
        time.sleep(1)


class OddError(Exception):
    """Needs two arguments, so pickling's one-argument rebuild fails."""

    def __init__(self, code: int, text: str):
        super().__init__(f"{code}: {text}")


def _fail(kind: str) -> None:
    if kind == "odd":
        raise OddError(7, "odd failure")
    raise ValueError("the child's own message")


def _die() -> None:
    os._exit(3)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_child_returns_what_a_direct_call_returns():
    matrix = np.arange(12, dtype=np.float64).reshape(3, 4)
    result = run_stoppable(_column_sums, matrix, 0.5, should_stop=StopFlag())
    assert np.array_equal(result, _column_sums(matrix, 0.5))
    assert multiprocessing.active_children() == []


def test_a_stop_ends_a_child_that_never_returns(tmp_path):
    pid_file = tmp_path / "child.pid"
    # True once the child is running, so the stop lands in the middle of its work.
    with pytest.raises(Cancelled):
        run_stoppable(_sleep_forever, pid_file, should_stop=pid_file.exists)
    pid = int(pid_file.read_text())
    assert pid != os.getpid()
    assert _gone(pid)
    assert multiprocessing.active_children() == []


_PARENT = """
import multiprocessing, time
from organizer.jobs.subprocess_step import run_stoppable

def tell_the_childs_pid():
    for child in multiprocessing.active_children():
        print(child.pid, flush=True)
    return False

if __name__ == "__main__":
    run_stoppable(time.sleep, 60, should_stop=tell_the_childs_pid)
"""


def _running(pid: int) -> bool:
    """True while ``pid`` runs; a zombie that nobody reaps (init in a container) has ended."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return not _gone(pid)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_a_child_ends_when_its_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        pid = int(parent.stdout.readline())
        assert _running(pid)
    finally:
        parent.kill()  # SIGKILL: no Python cleanup, no daemon handling
        parent.wait()
        parent.stdout.close()
    deadline = time.monotonic() + 30  # it must go; how soon is not what this checks
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    running = _running(pid)
    if running:
        os.kill(pid, signal.SIGKILL)
    assert not running, "the step's child outlived its killed parent"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open descriptors in /proc")
def test_a_child_that_cannot_start_leaves_no_pipe_open(monkeypatch):
    def refuse(self):
        raise OSError("no more processes")
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="no more processes") as raised:
        run_stoppable(_column_sums, np.ones((2, 2)), 1.0, should_stop=never_stop)
    # While the error and its frames live, as in a caller that logs it, so do unclosed pipes.
    assert len(os.listdir("/proc/self/fd")) == before
    del raised


def test_a_stop_before_the_start_starts_nothing(tmp_path):
    pid_file = tmp_path / "child.pid"
    with pytest.raises(Cancelled):
        run_stoppable(_sleep_forever, pid_file, should_stop=lambda: True)
    assert not pid_file.exists()


def test_the_childs_exception_reaches_the_caller():
    with pytest.raises(ValueError, match="the child's own message") as raised:
        run_stoppable(_fail, "value", should_stop=never_stop)
    assert any("in a child process" in note for note in raised.value.__notes__)
    with pytest.raises(RuntimeError, match="OddError: 7: odd failure"):
        run_stoppable(_fail, "odd", should_stop=never_stop)
    assert multiprocessing.active_children() == []


def test_a_child_that_dies_is_reported_not_waited_for():
    with pytest.raises(ChildDied, match="exit code 3"):
        run_stoppable(_die, should_stop=never_stop)


def test_run_step_keeps_small_or_unstoppable_steps_in_this_process(monkeypatch):
    monkeypatch.setattr(subprocess_step, "CHILD_FROM_ROWS", 10)
    here = os.getpid()
    assert run_step(os.getpid, rows=9, should_stop=StopFlag()) == here
    assert run_step(os.getpid, rows=10, should_stop=never_stop) == here
    assert run_step(os.getpid, rows=10, should_stop=StopFlag()) != here


def _blobs(k: int, per: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 4
    return (np.repeat(centres, per, axis=0) + rng.normal(size=(k * per, dim))).astype(np.float32)


FAST_MAP = MapSpec(early_iterations=50, iterations=100, snapshot_every=25, settle=False)


def test_a_stop_ends_the_maps_neighbour_search_in_its_child():
    points = _blobs(k=4, per=subprocess_step.CHILD_FROM_ROWS // 2)  # twice the child size: seconds of search

    def searching() -> bool:
        return any(child.name == "stoppable _affinities" for child in multiprocessing.active_children())

    with pytest.raises(Cancelled):
        compute_map(points, FAST_MAP, should_stop=searching)
    assert multiprocessing.active_children() == []


def test_the_layout_asks_should_stop_at_every_iteration():
    calls = []
    compute_map(_blobs(k=3, per=40), FAST_MAP, should_stop=lambda: calls.append(1) and False)
    assert len(calls) >= FAST_MAP.early_iterations + FAST_MAP.iterations


def test_a_map_made_in_child_processes_matches_the_one_made_here(tmp_path, monkeypatch):
    points = _blobs(k=3, per=40)
    hashes = [f"h{i:03d}" for i in range(len(points))]
    first = list(range(3, len(points)))  # three newcomers, placed into the cached map

    def computed_then_placed(stop) -> tuple[np.ndarray, np.ndarray]:
        with Cache(tmp_path / f"{len(list(tmp_path.iterdir()))}.sqlite") as cache:
            computed, _ = cached_map(cache, "x", [hashes[i] for i in first], points[first], FAST_MAP, should_stop=stop)
            placed, source = cached_map(cache, "x", hashes, points, FAST_MAP, should_stop=stop)
        assert source == "placed"
        return computed, placed

    here = computed_then_placed(never_stop)
    children = []

    def counted(fn, *args, **kwargs):
        children.append(fn.__name__)
        return run_stoppable(fn, *args, **kwargs)

    monkeypatch.setattr(subprocess_step, "CHILD_FROM_ROWS", 10)
    monkeypatch.setattr(subprocess_step, "run_stoppable", counted)
    there = computed_then_placed(StopFlag())
    assert children == ["_pca", "_affinities", "place"]
    assert np.array_equal(there[0], here[0]) and np.array_equal(there[1], here[1])
