"""Strip the symbols and debug sections the frozen app never reads from the bundle's shared libraries.

    python packaging/strip_bundle.py build/dist/pattern-organizer

The wheels ship many libraries built with debug information (libpython alone carries 17 MB of it),
about 70 MB of the bundle in all. PyInstaller's own ``strip=True`` cannot be used: it also strips the
libraries auditwheel grafted into ``<package>.libs`` folders, which patchelf rewrote, and binutils
then writes load segments the loader refuses ("ELF load command address/offset not page-aligned").
So those folders are left alone, and every stripped copy must pass the check the loader failed
there (each load segment's file offset and address agree modulo its alignment, in a 64-bit
little-endian file); the original is kept wherever the copy fails it. Each replacement is a rename, so a failed run leaves no
half-written library.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

_ELF_MAGIC = b"\x7fELF"
_PT_LOAD = 1


def shared_library(path: Path) -> bool:
    """A ``.so`` file. The launchers are left alone: PyInstaller appends its archive to them, which
    strip would cut off."""
    if not (path.suffix == ".so" or ".so." in path.name) or path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(4) == _ELF_MAGIC


def loadable(path: Path) -> bool:
    """Whether every load segment of a 64-bit little-endian ELF file is placed as the loader requires:
    its file offset and its address agree modulo its alignment."""
    data = path.read_bytes()
    if data[:4] != _ELF_MAGIC or len(data) < 0x40 or data[4] != 2 or data[5] != 1:
        return False
    try:
        (table,) = struct.unpack_from("<Q", data, 0x20)
        entry_size, count = struct.unpack_from("<HH", data, 0x36)
        for index in range(count):
            kind, _flags, offset, address, _physical, _file_size, _memory_size, align = struct.unpack_from(
                "<IIQQQQQQ", data, table + index * entry_size)
            if kind == _PT_LOAD and align > 1 and offset % align != address % align:
                return False
    except struct.error:  # a header pointing past the file's end
        return False
    return True


def grafted(path: Path, bundle: Path) -> bool:
    """Whether auditwheel grafted ``path`` into a ``<package>.libs`` folder, rewriting it with patchelf."""
    return any(part.endswith(".libs") for part in path.relative_to(bundle).parts[:-1])


def strip_one(path: Path) -> int:
    """Strip ``path`` in place when its stripped copy still loads; return the bytes saved."""
    copy = path.with_name(path.name + ".stripping")
    try:
        subprocess.run(["strip", "--strip-unneeded", "-o", str(copy), str(path)], check=True,
                       capture_output=True)
        saved = path.stat().st_size - copy.stat().st_size
        if saved <= 0 or not loadable(copy):
            return 0
        shutil.copymode(path, copy)
        os.replace(copy, path)
        return saved
    except subprocess.CalledProcessError:
        return 0
    finally:
        copy.unlink(missing_ok=True)


def strip_bundle(bundle: Path) -> tuple[int, int]:
    """Strip every eligible library under ``bundle``; return (files stripped, bytes saved)."""
    stripped = saved = 0
    for path in sorted(bundle.rglob("*")):
        if not shared_library(path) or grafted(path, bundle):
            continue
        gain = strip_one(path)
        stripped += gain > 0
        saved += gain
    return stripped, saved


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    if shutil.which("strip") is None:
        print("strip (binutils) is not installed: the bundle keeps its symbols", file=sys.stderr)
        return 0
    stripped, saved = strip_bundle(Path(argv[0]))
    print(f"stripped {stripped} libraries: {saved / 2**20:.0f} MB saved")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
