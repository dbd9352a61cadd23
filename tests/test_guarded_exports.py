"""An export whose scanned files were replaced by a named pipe and a link to /dev/zero.

Hashing, copying, linking and moving open the sources through the same guard as the scan:
the two are listed as failed with the scan's one-line reasons, the rest is exported
hash-identical, and nothing hangs (each case runs in a child process with time, memory
and file size limits, see ``untrusted.run_child``).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from untrusted import needs_dev_zero, needs_fifo, run_child

from organizer.export.apply import apply_plan
from organizer.export.plan import plan_sorted
from organizer.io.scan import hash_file
from organizer.jobs.tasks import Cancelled
from organizer.samples import write_sample_folder

PIPE_REASON = "not a regular file (a named pipe), so not an image"
DEVICE_REASON = "not a regular file (a device), so not an image"

pytestmark = [needs_fifo, needs_dev_zero]


def _folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Rendered samples and their hashes, by name."""
    folder = tmp_path / "library"
    write_sample_folder(folder, per_family=1, colourways=1, size=(48, 48))
    return folder, {path.name: hash_file(path) for path in sorted(folder.iterdir())}


def _replace(folder: Path, pipe: str, zero: str) -> None:
    """What a scan listed as images becomes a named pipe and a link to /dev/zero."""
    (folder / pipe).unlink()
    os.mkfifo(folder / pipe)
    (folder / zero).unlink()
    (folder / zero).symlink_to("/dev/zero")


def _check_export(folder: Path, out: Path, mode: str, hashes: dict[str, str], pipe: str, zero: str) -> None:
    exported = {path.name.split("_", 1)[1]: path for path in out.iterdir() if path.is_file()
                and path.suffix == ".png"}
    assert set(exported) == set(hashes) - {pipe, zero}
    for name, path in exported.items():
        assert hash_file(path) == hashes[name], name
    assert not list(out.glob(".organizer-part-*"))
    # The originals stay as they are: moved ones are gone, the two refused ones untouched.
    left = {path.name for path in folder.iterdir()}
    assert left == ({pipe, zero} if mode == "move" else set(hashes))
    assert stat.S_ISFIFO(os.lstat(folder / pipe).st_mode)
    assert os.readlink(folder / zero) == "/dev/zero"


@pytest.mark.parametrize("mode, planned", [("copy", False), ("copy", True), ("move", True), ("link", True)],
                         ids=["copy, hashed by the export", "copy", "move", "link"])
def test_an_export_fails_a_pipe_and_a_dev_zero_link_with_one_line_and_exports_the_rest(tmp_path, mode, planned):
    folder, hashes = _folder(tmp_path)
    pipe, zero = sorted(hashes)[1:3]
    result = run_child("""
        import json, os
        from pathlib import Path
        from organizer.export.apply import apply_plan
        from organizer.export.plan import plan_sorted
        from organizer.io.scan import hash_file, scan_folder

        folder, out, mode, planned, pipe, zero = Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:]
        paths = [entry.path for entry in scan_folder(folder).files]
        hashes = [hash_file(path) for path in paths] if planned == "yes" else None
        plan = plan_sorted(paths, list(range(len(paths))), folder, out, hashes)
        # Replaced after the scan and the plan, before the export reads them.
        (folder / pipe).unlink()
        os.mkfifo(folder / pipe)
        (folder / zero).unlink()
        (folder / zero).symlink_to("/dev/zero")
        report = apply_plan(plan, mode)
        print(json.dumps({"done": report.done, "failed": {p.name: reason for p, reason in report.failed}}))
    """, str(folder), str(tmp_path / "out"), mode, "yes" if planned else "no", pipe, zero, imports="")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {"done": len(hashes) - 2, "failed": {pipe: PIPE_REASON, zero: DEVICE_REASON}}
    _check_export(folder, tmp_path / "out", mode, hashes, pipe, zero)


@pytest.mark.parametrize("mode", ["copy", "move"])
def test_the_cli_resuming_an_export_fails_a_pipe_and_a_dev_zero_link_with_one_line_each(tmp_path, mode):
    folder, hashes = _folder(tmp_path)
    pipe, zero = sorted(hashes)[1:3]
    out = tmp_path / "out"
    paths = sorted(folder.iterdir())
    plan = plan_sorted(paths, list(range(len(paths))), folder, out, [hashes[p.name] for p in paths])
    with pytest.raises(Cancelled):  # interrupted before its first file
        apply_plan(plan, mode, should_stop=lambda: True)
    _replace(folder, pipe, zero)
    result = run_child("sys.exit(main(['export', sys.argv[1], '--out', sys.argv[2], '--mode', sys.argv[3], "
                       "'--feature-mode', 'colour']))", str(folder), str(out), mode)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    failed = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("failed:")]
    assert failed == [f"failed: {folder.resolve() / pipe}: {PIPE_REASON}",
                      f"failed: {folder.resolve() / zero}: {DEVICE_REASON}"]
    assert f"{len(hashes) - 2} files written" in result.stdout
    _check_export(folder, out, mode, hashes, pipe, zero)


def test_hashing_the_sources_stops_before_the_journal_when_asked(tmp_path):
    folder, hashes = _folder(tmp_path)
    paths = sorted(folder.iterdir())
    asked = []
    with pytest.raises(Cancelled):
        apply_plan(plan_sorted(paths, list(range(len(paths))), folder, tmp_path / "out"), "copy",
                   should_stop=lambda: asked.append(1) or len(asked) > 2)
    # Stopped while hashing its third source: nothing was journalled or written.
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.*"))
