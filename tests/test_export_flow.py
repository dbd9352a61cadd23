"""The export flow shared by the CLI and the GUI: plans from a library, applying them, journals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from organizer.embedding import make_spec
from organizer.embedding.library import Library
from organizer.export.apply import apply_plan, undo
from organizer.export.flow import CONTACT_SHEET, build_plan, latest_move_journal, pending_journal, run_export
from organizer.export.plan import PlanError, plan_clusters
from organizer.io.scan import hash_file
from organizer.jobs.tasks import Cancelled


def make_library(folder: Path, count: int = 12, seed: int = 0) -> Library:
    """Real PNG files with random vectors: the flow never looks at pixels, only at files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = folder / f"img_{i:02d}.png"
        Image.new("RGB", (24, 16), tuple(int(v) for v in rng.integers(0, 256, 3))).save(path)
        paths.append(path)
    return Library(folder.resolve(), make_spec(mode="mean-colour"), paths, [hash_file(p) for p in paths],
                   rng.normal(size=(count, 8)).astype(np.float32))


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hash_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def library(tmp_path) -> Library:
    return make_library(tmp_path / "src")


LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, -1])


def test_named_clusters_become_folder_names(tmp_path):
    paths = [Path(f"/src/p{i}.png") for i in range(6)]
    labels = [0, 0, 1, 1, 2, -1]
    plan = plan_clusters(paths, list(range(6)), labels, Path("/src"), tmp_path / "out",
                         names={0: "Blue stripes", 1: "a/b"})
    folders = [op.target.parent.name for op in plan.operations]
    assert folders == ["01_Blue stripes", "01_Blue stripes", "02_a_b", "02_a_b", "03_Cluster 3", "Unclustered"]


def test_two_clusters_with_one_name_get_distinct_folders(tmp_path):
    paths = [Path(f"/src/p{i}.png") for i in range(3)]
    plan = plan_clusters(paths, [0, 1, 2], [0, 1, -1], Path("/src"), tmp_path / "out",
                         names={0: "Dots", 1: "dots", -1: "01_dots"})
    assert [op.target.parent.name for op in plan.operations] == ["01_Dots", "02_dots", "01_dots (2)"]


def test_folder_numbers_are_padded_alike_past_99_clusters(tmp_path):
    paths = [Path(f"/src/p{i}.png") for i in range(2)]
    plan = plan_clusters(paths, [0, 1], [0, 104], Path("/src"), tmp_path / "out")
    assert [op.target.parent.name for op in plan.operations] == ["001_Cluster 1", "105_Cluster 105"]


def test_sorted_plan_lists_every_image_once(library, tmp_path):
    prepared = build_plan("sorted", library, tmp_path / "out")
    sources = [op.source for op in prepared.plan.operations]
    assert sorted(sources) == sorted(library.paths) and prepared.grid is None
    assert prepared.folder_count == 1


def test_sorted_plan_keeps_each_cluster_together(library, tmp_path):
    plan = build_plan("sorted", library, tmp_path / "out", labels=LABELS).plan
    clusters = [op.cluster for op in plan.operations]
    runs = [c for i, c in enumerate(clusters) if i == 0 or c != clusters[i - 1]]
    assert len(runs) == len(set(clusters))  # each label forms one run
    assert clusters[-1] == -1  # noise last


def test_cluster_plan_uses_names_and_numbers(library, tmp_path):
    prepared = build_plan("clusters", library, tmp_path / "out", labels=LABELS, names={1: "Checks"})
    folders = {op.cluster: op.target.parent.name for op in prepared.plan.operations}
    assert folders == {0: "01_Cluster 1", 1: "02_Checks", 2: "03_Cluster 3", -1: "Unclustered"}
    assert prepared.folder_count == 4
    rows = prepared.plan.table()
    assert {row["cluster"] for row in rows} == {1, 2, 3, None}


def test_cluster_plan_clusters_when_no_labels_are_given(library, tmp_path):
    plan = build_plan("clusters", library, tmp_path / "out").plan
    assert len(plan.operations) == len(library) and all(op.cluster is not None for op in plan.operations)


def test_grid_plan_carries_the_grid(library, tmp_path):
    prepared = build_plan("grid", library, tmp_path / "out", cols=5)
    assert prepared.cols == 5 and len(prepared.grid) == 15
    assert sorted(i for i in prepared.grid if i >= 0) == list(range(12))
    assert prepared.plan.positions[0] == (0.0, 0.0)


def test_target_inside_the_source_is_refused_before_any_work(library):
    def stop():
        raise AssertionError("the ordering started")

    with pytest.raises(PlanError, match="inside the source"):
        build_plan("grid", library, library.folder / "sorted", should_stop=stop)


def test_cancelling_the_planning(library, tmp_path):
    with pytest.raises(Cancelled):
        build_plan("sorted", library, tmp_path / "out", labels=LABELS, should_stop=lambda: True)


@pytest.mark.parametrize("kind", ["sorted", "clusters", "grid"])
def test_copy_export_writes_the_files_and_leaves_the_originals(library, tmp_path, kind):
    before = _tree(library.folder)
    out = tmp_path / "out"
    report = run_export(build_plan(kind, library, out, labels=LABELS), "copy")
    assert report.done == 12 and not report.failed
    assert _tree(library.folder) == before
    exported = [v for k, v in _tree(out).items() if k.endswith(".png") and k != CONTACT_SHEET]
    assert sorted(exported) == sorted(before.values())
    assert (out / CONTACT_SHEET).is_file() == (kind == "grid")


def test_grid_sheet_is_drawn_from_the_moved_files(library, tmp_path):
    out = tmp_path / "out"
    run_export(build_plan("grid", library, out), "move")
    assert not list(library.folder.glob("*.png"))
    with Image.open(out / CONTACT_SHEET) as sheet:
        # a red tile marks a file the sheet could not read: none may be red
        assert (200, 60, 60) not in {colour for _, colour in sheet.getcolors(1 << 16)}


def test_latest_move_journal_follows_moves_and_undo(library, tmp_path):
    out = tmp_path / "out"
    assert latest_move_journal(out) is None
    run_export(build_plan("sorted", library, out), "copy")
    assert latest_move_journal(out) is None
    report = run_export(build_plan("sorted", library, out), "move")
    assert latest_move_journal(out) == report.journal
    undo(report.journal)
    assert latest_move_journal(out) is None


def test_a_cancelled_move_can_be_undone(library, tmp_path):
    out = tmp_path / "out"
    stops = iter([False] * 3 + [True])
    with pytest.raises(Cancelled):
        run_export(build_plan("sorted", library, out), "move", should_stop=lambda: next(stops))
    assert latest_move_journal(out) is not None


def test_pending_journal_resumes_the_same_export_and_refuses_another(library, tmp_path):
    out = tmp_path / "out"
    assert pending_journal(out, library.folder, "sorted", "copy") is None
    stops = iter([False, True])
    with pytest.raises(Cancelled):
        apply_plan(build_plan("sorted", library, out).plan, "copy", should_stop=lambda: next(stops))
    assert pending_journal(out, library.folder, "sorted", "copy") is not None
    with pytest.raises(PlanError, match="unfinished copy export"):
        pending_journal(out, library.folder, "grid", "copy")
