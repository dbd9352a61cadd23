"""packaging/strip_bundle.py: the bundle's libraries lose their debug sections and still load."""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not (shutil.which("cc") and shutil.which("strip")), reason="needs cc and binutils")


def _load_script():
    spec = importlib.util.spec_from_file_location("strip_bundle", ROOT / "packaging" / "strip_bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


strip_bundle = _load_script()


def _library(tmp_path: Path, name: str) -> Path:
    """A shared library built with debug information, exporting answer() == 42."""
    source = tmp_path / "answer.c"
    source.write_text("static int table[64] = {1};\nint answer(void) { return 41 + table[0]; }\n")
    target = tmp_path / name
    subprocess.run(["cc", "-shared", "-fPIC", "-g", "-O0", "-o", str(target), str(source)], check=True)
    return target


def _bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    (bundle / "_internal" / "pkg.libs").mkdir(parents=True)
    built = _library(tmp_path, "libanswer.so")
    shutil.copy(built, bundle / "_internal" / "libanswer.so.1")
    shutil.copy(built, bundle / "_internal" / "pkg.libs" / "libgrafted.so")
    shutil.copy(built, bundle / "organizer")  # stands in for the launcher, which carries an archive after its ELF
    return bundle


def test_libraries_lose_debug_sections_and_still_load(tmp_path):
    bundle = _bundle(tmp_path)
    library = bundle / "_internal" / "libanswer.so.1"
    before = library.stat().st_size

    stripped, saved = strip_bundle.strip_bundle(bundle)

    assert stripped == 1
    assert saved == before - library.stat().st_size > 0
    assert b".debug_info" not in library.read_bytes()
    assert ctypes.CDLL(str(library)).answer() == 42


def test_grafted_libraries_and_launchers_are_left_alone(tmp_path):
    bundle = _bundle(tmp_path)
    grafted = bundle / "_internal" / "pkg.libs" / "libgrafted.so"
    launcher = bundle / "organizer"
    originals = {path: path.read_bytes() for path in (grafted, launcher)}

    strip_bundle.strip_bundle(bundle)

    assert {path: path.read_bytes() for path in originals} == originals


def test_a_copy_the_loader_would_refuse_is_not_kept(tmp_path, monkeypatch):
    library = _library(tmp_path, "libanswer.so")
    original = library.read_bytes()
    real_run = subprocess.run

    def misplacing_strip(command, **kwargs):
        """strip, then shift the first load segment's file offset, as binutils does to a patchelf'd file."""
        result = real_run(command, **kwargs)
        _shift_first_load_segment(Path(command[command.index("-o") + 1]))
        return result

    monkeypatch.setattr(strip_bundle.subprocess, "run", misplacing_strip)

    assert strip_bundle.strip_one(library) == 0
    assert library.read_bytes() == original
    assert not library.with_name(library.name + ".stripping").exists()


def test_loadable_reads_the_load_segments(tmp_path):
    library = _library(tmp_path, "libanswer.so")
    assert strip_bundle.loadable(library)
    cut = tmp_path / "libcut.so"
    cut.write_bytes(library.read_bytes()[:0x48])  # a header whose segment table lies past the end
    assert not strip_bundle.loadable(cut)
    _shift_first_load_segment(library)
    assert not strip_bundle.loadable(library)
    with pytest.raises(OSError):
        ctypes.CDLL(str(library))


def _shift_first_load_segment(path: Path) -> None:
    data = bytearray(path.read_bytes())
    (table,) = struct.unpack_from("<Q", data, 0x20)
    entry_size, count = struct.unpack_from("<HH", data, 0x36)
    for index in range(count):
        entry = table + index * entry_size
        kind, _flags, offset, address = struct.unpack_from("<IIQQ", data, entry)
        if kind == 1 and address:  # the first segment sits at offset and address 0; move a later one
            struct.pack_into("<Q", data, entry + 8, offset + 8)
            break
    path.write_bytes(bytes(data))
