"""The Linux installer's size beside issue 19's goals: the one-folder bundle and the .deb that `make package` built.

    make bench-installer      # builds the package first

Sizes are the files' own sizes (``du -sm --apparent-size``; plain ``du -sm``, which the earlier
figures used, counts disk blocks and reads 1-2 MiB more), in MiB and in million bytes. The largest
parts of the bundle follow, so the next cut is easy to find.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from report import Report, add_arguments

ROOT = Path(__file__).resolve().parents[1]
#: Issue 19's goals, in MB.
GOALS = {"bundle": 700, "deb": 250}


def disk_bytes(path: Path) -> int:
    """The bytes ``path`` holds, each file once, links not followed."""
    if path.is_file():
        return path.stat().st_size
    seen, total = set(), 0
    for item in path.rglob("*"):
        if item.is_symlink() or not item.is_file():
            continue
        inode = item.stat().st_ino
        if inode not in seen:
            seen.add(inode)
            total += item.stat().st_size
    return total


def largest_parts(bundle: Path, count: int = 12) -> list[tuple[str, int]]:
    """The biggest top-level entries of the bundle's ``_internal`` folder."""
    inside = bundle / "_internal"
    sizes = [(item.name, disk_bytes(item)) for item in inside.iterdir() if not item.is_symlink()]
    return sorted(sizes, key=lambda pair: -pair[1])[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True, help="the one-folder bundle (Makefile's BUNDLE)")
    parser.add_argument("--deb", type=Path, required=True, help="the .deb made from it (Makefile's DEB)")
    add_arguments(parser)
    args = parser.parse_args()
    if not args.bundle.is_dir() or not args.deb.is_file():
        print(f"no bundle at {args.bundle} or no {args.deb}: run `make package` first", file=sys.stderr)
        return 1
    report = Report("installer", "The Linux installer (`bench/installer.py`)", args)
    report.print("| figure | MiB | million bytes | issue 19's goal |")
    report.print("|---|---|---|---|")
    for label, path, goal in (("one-folder bundle", args.bundle, GOALS["bundle"]),
                              (f"`{args.deb.name}`", args.deb, GOALS["deb"])):
        size = disk_bytes(path)
        report.print(f"| {label} | {size / 2**20:.0f} | {size / 1e6:.0f} | ≤ {goal} MB |")
    report.print("\nThe bundle's largest parts (MiB): " + ", ".join(
        f"{name} {size / 2**20:.0f}" for name, size in largest_parts(args.bundle)) + ".")
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
