"""Export throughput: 10,000 files as a sorted copy and as hard links, journal included.

    .venv/bin/python bench/export.py [--count 10000]

The order is the folder's name order (ordering is timed by bench/order.py); this measures
planning and applying: the collision-proof naming, the journal with content hashes, the
temp-then-link writes, the fsyncs and the ordering tables.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import OUT, render_folder

from organizer.export.apply import apply_plan, undo
from organizer.export.plan import plan_sorted
from organizer.io.scan import scan_folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    folder = render_folder(args.count)
    files = scan_folder(folder).files
    paths = [f.path for f in files]
    megabytes = sum(f.size for f in files) / 1e6
    print("\n| mode | files | MB | plan s | apply s | files/s | undo s |\n|---|---|---|---|---|---|---|")
    for mode in ("copy", "link"):
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            out = Path(tmp) / "export"
            started = time.perf_counter()
            plan = plan_sorted(paths, list(range(len(paths))), folder, out)
            planned = time.perf_counter() - started
            started = time.perf_counter()
            report = apply_plan(plan, mode)
            applied = time.perf_counter() - started
            assert report.done == len(paths) and not report.failed
            started = time.perf_counter()
            undo(report.journal)
            undone = time.perf_counter() - started
            shutil.rmtree(out)
        print(f"| {mode} | {len(paths)} | {megabytes:.0f} | {planned:.2f} | {applied:.1f} | "
              f"{len(paths) / applied:.0f} | {undone:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
