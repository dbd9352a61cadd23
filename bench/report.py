"""A benchmark's figures written into docs/benchmarks.md, between its own markers.

A script makes one :class:`Report` per block when its measurement starts, prints through
it (each line goes to stdout at once, as before, and is kept), and calls :meth:`Report.write`
at the end. The block between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` is replaced
with a header (date, machine, load average at start and end, the exact command) and the kept
lines; the rest of the file stays as it was, byte for byte. Without the markers, the block
is appended as a new section at the end, so hand-written text is never lost.

    --doc PATH   write into PATH instead (env BENCH_DOC), e.g. a copy while trying a script
    --no-doc     print only (env BENCH_NO_DOC=1)
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
#: Variables that change what a run measures, named in the command when set.
ENVIRONMENT = ("OMP_NUM_THREADS", "QT_QPA_PLATFORM", "ORGANIZER_RUNTIME", "ORGANIZER_PRECISION")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--doc`` and ``--no-doc``, for a script's own parser."""
    parser.add_argument("--doc", type=Path, default=Path(os.environ.get("BENCH_DOC", DOC)),
                        help="the markdown file the figures go into (env BENCH_DOC; default docs/benchmarks.md)")
    parser.add_argument("--no-doc", action="store_true", default=bool(os.environ.get("BENCH_NO_DOC")),
                        help="print only, write no file (env BENCH_NO_DOC=1)")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9


def machine() -> str:
    """CPU model and cores, RAM, the GPU torch sees (if any), and the torch and Python versions."""
    parts = [f"{_cpu_model()}, {os.cpu_count()} cores, {_memory_gb():.0f} GB RAM"]
    try:
        import torch
    except ImportError:
        parts.append("no torch")
    else:
        if torch.cuda.is_available():
            parts.append(f"GPU {torch.cuda.get_device_name(0)}")
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    parts.append(f"Python {platform.python_version()}")
    return ", ".join(parts)


def command(argv: list[str] | None = None) -> str:
    """The command line that ran this script, from the repository root where it can be."""
    argv = list(sys.argv if argv is None else argv)
    python = Path(sys.executable)
    shown = os.path.relpath(python) if python.is_relative_to(Path.cwd()) else "python"
    settings = [f"{name}={shlex.quote(os.environ[name])}" for name in ENVIRONMENT if name in os.environ]
    return " ".join([*settings, shown, shlex.join(argv)])


def _load() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def replace_block(text: str, name: str, block: str, title: str) -> str:
    """``text`` with the lines between NAME's markers replaced by ``block``; appended under ``title`` if absent."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = f"{begin}\n{block.strip(chr(10))}\n{end}"
    if begin not in text:
        return text.rstrip("\n") + f"\n\n## {title}\n\n{section}\n"
    start = text.index(begin)
    stop = text.find(end, start)
    if stop < 0:
        # Everything after a lone begin marker would be lost: hand-written text, most likely.
        raise ValueError(f"{begin} has no {end} after it")
    return text[:start] + section + text[stop + len(end):]


def write_atomically(path: Path, text: str) -> None:
    """``path`` holds ``text`` or, if anything fails on the way, what it held before."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


class Report:
    """One marked block: the lines printed through it, under a header of when, where and how."""

    def __init__(self, name: str, title: str, args: argparse.Namespace | None = None) -> None:
        self.name, self.title = name, title
        self.doc: Path | None = None if args is None or args.no_doc else args.doc
        self.started = time.time()
        self.load_at_start = _load()
        # Now, before the script's libraries set variables of their own (Dask sets OMP_NUM_THREADS).
        self.command = command()
        self.lines: list[str] = []

    def print(self, text: str = "") -> None:
        """Print ``text`` now, as the scripts always have, and keep it for the block."""
        print(text, flush=True)
        self.lines.append(text)

    def block(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.started))
        minutes = (time.time() - self.started) / 60
        header = (f"Run on {when}, {minutes:.1f} min; {machine()}; "
                  f"load average (1 / 5 / 15 min) {self.load_at_start} at the start, {_load()} at the end.\n\n"
                  f"```sh\n{self.command}\n```")
        return header + "\n\n" + "\n".join(self.lines).strip("\n")

    def write(self) -> None:
        """Replace the block in the doc (unless ``--no-doc``), and say where it went."""
        if self.doc is None:
            return
        # newline="" on both sides: the doc's own line endings come back unchanged.
        with open(self.doc, encoding="utf-8", newline="") as file:
            text = file.read()
        write_atomically(self.doc, replace_block(text, self.name, self.block(), self.title))
        print(f"# wrote the {self.name} block into {self.doc}", flush=True)
