"""Steps that cannot check should_stop run in a child process that a stop ends (core.subprocess_step)."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

from organizer.core import subprocess_step
from organizer.core.subprocess_step import ChildDied, run_step, run_stoppable
from organizer.core.tasks import Cancelled, StopFlag, never_stop


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

