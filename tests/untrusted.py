"""Running a case that used to hang or read without end, so a regression fails instead of stalling.

The case runs in a fresh interpreter with a time limit, a memory limit and a file size
limit: a read of ``/dev/zero`` that never ends, a copy of it that would fill the disk, or
an ``open()`` of a named pipe that waits for ever then fail the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import organizer

#: Far above what a child needs (imports and a few small images), far below a CI job's patience.
CHILD_LIMIT_S = 120
#: The largest file a child may write: a test's images and caches take a few MB.
CHILD_FILE_MB = 200
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")


def run_child(script: str, *args: str, imports: str = "from organizer.cli import main",
              memory_mb: int = 1500) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh interpreter that may grow by ``memory_mb`` of address space
    once ``imports`` are done, write no file over CHILD_FILE_MB, and is stopped after CHILD_LIMIT_S."""
    prologue = textwrap.dedent(f"""
        import resource, sys
        {imports}
        try:
            with open("/proc/self/statm") as statm:
                in_use = int(statm.read().split()[0]) * resource.getpagesize()
            resource.setrlimit(resource.RLIMIT_AS, (in_use + {memory_mb} * 2**20, resource.RLIM_INFINITY))
        except (OSError, ValueError):
            pass  # no /proc (not Linux): the time limit still holds
        resource.setrlimit(resource.RLIMIT_FSIZE, ({CHILD_FILE_MB} * 2**20, resource.RLIM_INFINITY))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(organizer.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    try:
        return subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(script), *args], env=env,
                              capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the child did not finish within {CHILD_LIMIT_S} s: it hung on a file")


def one_line(text: str) -> str:
    """``text``'s only line; fails when it holds more, or a traceback."""
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, f"not one clear line: {text!r}"
    return lines[0]
