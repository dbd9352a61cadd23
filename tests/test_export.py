"""Export plans and their application: every plan and mode, collisions, failures, undo, kill -9."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from organizer.arrange.sheet import render_sheet
from organizer.export import apply as apply_mod
from organizer.export import journal as journal_mod
from organizer.export.apply import ExportError, apply_plan, undo
from organizer.export.plan import PlanError, plan_clusters, plan_grid, plan_sorted, safe_name
from organizer.io import transfer as transfer_mod
from organizer.io.scan import hash_file
from organizer.jobs.tasks import Cancelled
from organizer.samples import SampleSpec, render


def _library(root: Path, count: int = 6) -> list[Path]:
    """Real images, two of them with the same name in different subfolders."""
    paths = []
    for i in range(count):
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ("same.png" if i < 2 else f"img_{i}.png")
        render(SampleSpec("normal-stripes", i % 3, i), (64, 48)).save(path)
        paths.append(path)
    return paths


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hash_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _exported(out: Path) -> dict[str, str]:
    return {k: v for k, v in _tree(out).items() if not k.startswith(".organizer") and not k.startswith("ordering.")}


@pytest.mark.parametrize("mode", ["copy", "link", "move"])
def test_sorted_export_in_every_mode(tmp_path, mode):
    source = tmp_path / "src"
    paths = _library(source)
    before = _tree(source)
    order = [3, 1, 0, 5, 2, 4]
    plan = plan_sorted(paths, order, source, tmp_path / "out")
    report = apply_plan(plan, mode)
    assert report.done == 6 and not report.failed
    names = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_file() and p.suffix == ".png")
    assert names == ["0001_img_3.png", "0002_same.png", "0003_same.png", "0004_img_5.png",
                     "0005_img_2.png", "0006_img_4.png"]
    assert sorted(_exported(tmp_path / "out").values()) == sorted(before.values())
    if mode == "move":
        assert not any(p.is_file() for p in source.rglob("*"))
    else:
        assert _tree(source) == before  # the originals are untouched
    if mode == "link":
        assert os.stat(plan.operations[0].target).st_ino == os.stat(paths[3]).st_ino
    table = json.loads((tmp_path / "out" / "ordering.json").read_text())
    assert [row["rank"] for row in table] == [1, 2, 3, 4, 5, 6]
    assert table[0]["original_path"] == str(paths[3])
    assert (tmp_path / "out" / "ordering.csv").read_text().startswith("rank,original_path,new_path,cluster,x,y")


def test_same_names_from_different_folders_never_collide(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    plan = plan_sorted(paths, [0, 1], source, tmp_path / "out")
    assert len({op.target for op in plan.operations}) == 2


def test_cluster_export_makes_folders_numbered_and_named_as_the_grid(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    labels = [1, 0, 1, 0, -1, 1]
    # Label 1 comes first in the order; its folder still carries its own number, 2, as its grid header does.
    plan = plan_clusters(paths, [0, 3, 1, 2, 5, 4], labels, source, tmp_path / "out")
    apply_plan(plan, "copy")
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert folders == ["01_Cluster 1", "02_Cluster 2", "Unclustered"]
    assert sorted(p.name for p in (tmp_path / "out" / "01_Cluster 1").iterdir()) == \
        ["0001_img_3.png", "0002_same.png"]
    assert [p.name for p in (tmp_path / "out" / "Unclustered").iterdir()] == ["0001_img_4.png"]


def test_grid_export_records_cells_and_draws_a_sheet(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    grid = [2, 0, -1, 1, 5, 3, 4, -1]
    plan = plan_grid(paths, grid, 4, source, tmp_path / "out")
    apply_plan(plan, "copy")
    rows = json.loads((tmp_path / "out" / "ordering.json").read_text())
    assert [(r["x"], r["y"]) for r in rows] == [(0, 0), (1, 0), (3, 0), (0, 1), (1, 1), (2, 1)]
    sheet = render_sheet(paths, grid, 4, cell=32, names=True)
    import io

    from PIL import Image

    with Image.open(io.BytesIO(sheet)) as image:
        assert image.size == (4 * 36 + 4, 2 * (32 + 14 + 4) + 4)


def test_existing_files_in_the_target_are_never_overwritten(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    out = tmp_path / "out"
    out.mkdir()
    (out / "0001_img_2.png").write_bytes(b"precious")
    plan = plan_sorted(paths, [2], source, out)
    assert plan.operations[0].target.name == "0001_img_2 (2).png"
    (out / "0001_img_2 (2).png").write_bytes(b"appeared after planning")
    report = apply_plan(plan, "copy")
    assert (out / "0001_img_2.png").read_bytes() == b"precious"
    assert (out / "0001_img_2 (2).png").read_bytes() == b"appeared after planning"
    assert report.failed and "already exists" in report.failed[0][1]


def test_an_export_inside_the_source_folder_is_refused(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    with pytest.raises(PlanError, match="inside the source"):
        plan_sorted(paths, [0], source, source / "sorted")
    with pytest.raises(PlanError):
        plan_sorted(paths, [0], source, source)


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
def test_a_read_only_or_full_target_stops_with_a_clear_error(tmp_path, monkeypatch, code):
    source = tmp_path / "src"
    paths = _library(source)
    before = _tree(source)
    plan = plan_sorted(paths, list(range(6)), source, tmp_path / "out")
    real_copy, calls = shutil.copyfileobj, {"n": 0}

    def failing_copy(reader, writer, *args):
        calls["n"] += 1
        if calls["n"] == 3:  # the third file meets the full or read-only disk
            raise OSError(code, os.strerror(code), writer.name)
        return real_copy(reader, writer, *args)

    monkeypatch.setattr(transfer_mod.shutil, "copyfileobj", failing_copy)
    with pytest.raises(ExportError, match="2 files were written") as caught:
        apply_plan(plan, "copy")
    assert os.strerror(code) in str(caught.value)
    assert _tree(source) == before
    assert len(_exported(tmp_path / "out")) == 2  # no half-written third file
    monkeypatch.setattr(transfer_mod.shutil, "copyfileobj", real_copy)
    journal, _ = journal_mod.unfinished_journal(tmp_path / "out")
    rerun = apply_mod.resume(journal)
    assert rerun.already_there == 2 and rerun.done == 4


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders; covered by the simulated EROFS test")
def test_a_really_read_only_target(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    with pytest.raises(ExportError):
        apply_plan(plan_sorted(paths, [0], source, out), "copy")


@pytest.mark.parametrize("mode", ["copy", "link", "move"])
def test_undo_restores_the_tree_hash_identically(tmp_path, mode):
    source = tmp_path / "src"
    paths = _library(source)
    before = _tree(source)
    plan = plan_clusters(paths, list(range(6)), [0, 0, 1, 1, 2, 2], source, tmp_path / "out")
    report = apply_plan(plan, mode)
    result = undo(report.journal)
    assert _tree(source) == before
    assert _exported(tmp_path / "out") == {}
    assert result.restored + result.removed_copies == 6 and not result.problems


def test_undo_leaves_a_changed_export_copy_alone(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    report = apply_plan(plan_sorted(paths, [0, 1], source, tmp_path / "out"), "move")
    edited = next(p for p in (tmp_path / "out").glob("0001_*"))
    edited.write_bytes(b"the user edited this")
    result = undo(report.journal)
    assert edited.exists() and result.problems and result.restored == 1


_KILLED_EXPORT = """
import sys, time
from pathlib import Path
from organizer.export.apply import apply_plan
from organizer.export.plan import plan_sorted
source, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
paths = sorted(p for p in source.iterdir())
plan = plan_sorted(paths, list(range(len(paths))), source, out)
apply_plan(plan, mode, progress=lambda *_: time.sleep(0.02))
"""


@pytest.mark.parametrize("mode", ["copy", "move"])
def test_a_killed_export_loses_nothing_and_can_be_finished_or_undone(tmp_path, mode):
    source = tmp_path / "src"
    source.mkdir()
    for i in range(120):
        render(SampleSpec("alpha-hearts", i % 4, i), (48, 48)).save(source / f"p{i:03d}.png")
    before = _tree(source)
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-c", _KILLED_EXPORT, str(source), str(out), mode])
    deadline = time.monotonic() + 60
    while len(list(out.glob("0*.png"))) < 20 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    exported = _exported(out)
    assert 0 < len(exported) < 120, "the kill should land mid-export"
    # Nothing lost: every original's content is still at its path or in the export.
    survivors = set(_tree(source).values()) | set(exported.values())
    assert set(before.values()) <= survivors
    # Nothing half-written: every exported file is byte-identical to an original.
    assert set(exported.values()) <= set(before.values())
    journal, _ = journal_mod.unfinished_journal(out)
    if mode == "move":
        undo(journal)
        assert _tree(source) == before
        assert journal_mod.unfinished_journal(out) is None
    else:
        report = apply_mod.resume(journal)
        assert report.done + report.already_there + len(report.failed) == 120 and not report.failed
        assert sorted(_exported(out).values()) == sorted(before.values())  # each exactly once
        assert _tree(source) == before
        assert journal_mod.unfinished_journal(out) is None


def test_resume_of_a_killed_move_finishes_it(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    before = sorted(_tree(source).values())
    plan = plan_sorted(paths, list(range(6)), source, tmp_path / "out")
    written = []  # stopped after two files, however often the export asks
    with pytest.raises(Cancelled):
        apply_plan(plan, "move", progress=lambda done, *_: written.append(done), should_stop=lambda: len(written) == 2)
    journal, header = journal_mod.unfinished_journal(tmp_path / "out")
    assert header["mode"] == "move"
    report = apply_mod.resume(journal)
    assert report.done == 4 and sorted(_exported(tmp_path / "out").values()) == before
    assert not any(p.is_file() for p in source.rglob("*"))


_names = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
                  .map(lambda s: (s.replace("/", "_") or "x") + ".png"), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=_names, data=st.data())
def test_no_plan_maps_two_sources_to_one_target_or_into_the_source(tmp_path_factory, names, data):
    root = tmp_path_factory.mktemp("prop")
    source = root / "src"
    paths = [source / f"d{i % 3}" / name for i, name in enumerate(names)]
    order = data.draw(st.permutations(range(len(paths))))
    labels = data.draw(st.lists(st.integers(-1, 3), min_size=len(paths), max_size=len(paths)))
    for plan in (plan_sorted(paths, order, source, root / "out"),
                 plan_clusters(paths, order, labels, source, root / "out")):
        keys = [str(op.target).casefold() for op in plan.operations]
        assert len(keys) == len(set(keys))
        assert all(source.resolve() not in op.target.parents for op in plan.operations)
        assert all(len(op.target.name.encode("utf-8")) <= 255 and "\n" not in op.target.name
                   for op in plan.operations)


def test_safe_name_keeps_extensions_and_removes_hazards():
    assert safe_name("a\nb?.JPG") == "a_b_.JPG"
    assert len(safe_name("é" * 300 + ".png").encode("utf-8")) <= 240
    assert safe_name("é" * 300 + ".png").endswith(".png")
    assert safe_name("...") == "_"


def test_safe_name_avoids_names_windows_reserves():
    # A file named CON, nul.png or COM1.jpg cannot be created on Windows.
    for name, safe in (("CON", "CON_"), ("nul.png", "nul_.png"), ("COM1.jpg", "COM1_.jpg"), ("a\x7fb.png", "a_b.png")):
        assert safe_name(name) == safe
    assert safe_name("CONSOLE.png") == "CONSOLE.png"


def test_undo_never_deletes_an_unverifiable_only_copy(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    plan = plan_sorted(paths, [2], source, tmp_path / "out")
    report = apply_plan(plan, "move")
    paths[2].write_bytes(b"a new, different file under the original name")
    result = undo(report.journal)
    assert plan.operations[0].target.exists() and result.problems
    assert paths[2].read_bytes() == b"a new, different file under the original name"


def test_undo_finds_an_export_folder_that_was_moved(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    before = _tree(source)
    report = apply_plan(plan_sorted(paths, list(range(6)), source, tmp_path / "out"), "move")
    (tmp_path / "out").rename(tmp_path / "renamed")
    journal = tmp_path / "renamed" / apply_mod.JOURNAL_DIR / report.journal.name
    result = undo(journal)
    assert result.restored == 6 and _tree(source) == before


def test_a_torn_journal_line_is_ignored_and_repaired(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    written = []  # stopped after one file, however often the export asks
    with pytest.raises(Cancelled):
        apply_plan(plan_sorted(paths, list(range(6)), source, tmp_path / "out"), "copy",
                   progress=lambda done, *_: written.append(done), should_stop=lambda: len(written) == 1)
    journal, _ = journal_mod.unfinished_journal(tmp_path / "out")
    with open(journal, "ab") as handle:
        handle.write(b'{"done": 1, "partial\xc3')  # a kill mid-line, mid-character
    report = apply_mod.resume(journal)
    assert report.done == 5 and report.already_there == 1
    assert journal_mod.unfinished_journal(tmp_path / "out") is None


def test_an_empty_journal_left_by_a_kill_does_not_block_exports(tmp_path):
    out = tmp_path / "out" / apply_mod.JOURNAL_DIR
    out.mkdir(parents=True)
    (out / "20260101-000000-sorted-copy.jsonl").write_bytes(b"")
    assert journal_mod.unfinished_journal(tmp_path / "out") is None


def test_of_two_journals_from_one_second_the_later_one_is_unfinished(tmp_path, monkeypatch):
    """The second export in a second gets ``X (2).jsonl``, which a plain name sort puts before ``X.jsonl``."""
    source = tmp_path / "src"
    paths = _library(source)
    # Both exports in one second, whatever the clock does: the stamp is frozen.
    monkeypatch.setattr(apply_mod, "time", SimpleNamespace(strftime=lambda _format: "20260101-000000"))
    # Hashed in the plan, so the stop comes after the journal is written, before the file.
    plan = plan_sorted(paths, [0], source, tmp_path / "out", hashes=[hash_file(paths[0])])
    for _ in range(2):
        with pytest.raises(Cancelled):
            apply_plan(plan, "copy", should_stop=lambda: True)
    journal, _ = journal_mod.unfinished_journal(tmp_path / "out")
    assert journal.name == "20260101-000000-sorted-copy (2).jsonl"


def test_replace_atomically_replaces_or_leaves_the_old_file_and_no_partial(tmp_path):
    target = tmp_path / "sheet.png"
    target.write_bytes(b"old")
    assert transfer_mod.replace_atomically(target, lambda partial: partial.write_bytes(b"new")) == target
    assert target.read_bytes() == b"new"

    def half_write(partial):
        partial.write_bytes(b"ha")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        transfer_mod.replace_atomically(target, half_write)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.png"]


def test_a_name_at_the_length_limit_still_gets_a_free_variant(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    long_name = "図" * 78 + ".png"  # 234 bytes of name, plus the rank prefix: at the limit
    path = source / long_name
    render(SampleSpec("alpha-stars", 0, 0), (32, 32)).save(path)
    out = tmp_path / "out"
    first = plan_sorted([path], [0], source, out)
    out.mkdir()
    first.operations[0].target.write_bytes(b"x")
    second = plan_sorted([path], [0], source, out)
    assert second.operations[0].target != first.operations[0].target
    assert " (2)" in second.operations[0].target.name


def test_failed_items_are_journalled_as_failed_and_retried(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    plan = plan_sorted(paths, [0, 1], source, tmp_path / "out")
    plan.operations[1].target.parent.mkdir(parents=True)
    plan.operations[1].target.write_bytes(b"in the way")
    report = apply_plan(plan, "copy")
    assert report.done == 1 and len(report.failed) == 1
    records = [json.loads(line) for line in report.journal.read_text().splitlines()]
    assert {"failed": 1} in records and {"done": 0} in records


def test_ordering_tables_never_replace_a_users_file(tmp_path):
    source = tmp_path / "src"
    paths = _library(source)
    out = tmp_path / "out"
    out.mkdir()
    (out / "ordering.csv").write_text("mine")
    apply_plan(plan_sorted(paths, [0], source, out), "copy")
    assert (out / "ordering.csv").read_text() == "mine"
    assert (out / "ordering (2).csv").read_text().startswith("rank,")
