"""Tags, ratings and colour labels: kept in the folder's cache, edited through the folder model with
undo, followed across renames by hash, filtered on, written into the export's table, used by the CLI."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from organizer.cli import main
from organizer.export.apply import apply_plan, resume
from organizer.export.flow import build_plan
from organizer.export.plan import PlanError
from organizer.folder import FolderModel, LibraryFilter, filter_indices, load_annotations
from organizer.storage.annotations import EMPTY, Annotation
from organizer.storage.cache import SCHEMA_VERSION, Cache
from test_export_flow import make_library


@pytest.fixture
def model(tmp_path) -> FolderModel:
    library = make_library(tmp_path / "src", count=6)
    folder_model = FolderModel()
    folder_model.open(library.folder, tmp_path / "cache.db")
    folder_model.set_library(library)
    folder_model.set_annotations(load_annotations(folder_model.cache_path, library))
    return folder_model


def _reloaded(model: FolderModel, library=None) -> list[Annotation]:
    return load_annotations(model.cache_path, library or model.library)


def test_annotations_are_saved_and_read_back(model):
    model.add_tag([0, 1], "florals")
    model.add_tag([0], "  summer   2024 ")
    model.set_rating([1], 4)
    model.set_label([0, 2], "red")
    notes = _reloaded(model)
    assert notes[0] == Annotation(("florals", "summer 2024"), 0, "red")
    assert notes[1] == Annotation(("florals",), 4, "none")
    assert notes[2] == Annotation((), 0, "red")
    assert notes[3:] == [EMPTY] * 3
    assert model.annotations == notes


def test_annotation_edits_undo_and_redo_with_their_names(model):
    changes = []
    model.annotations_changed.connect(changes.append)
    model.set_rating([0, 1, 2], 5)
    model.add_tag([0], "Geo")
    model.remove_tag([0], "geo")  # any case
    assert model.undo_text() == "Untag geo"
    model.undo()
    assert model.annotations[0].tags == ("Geo",)
    model.undo()
    assert model.undo_text() == "Rate 5 stars (3 images)"
    model.undo()
    assert [n.rating for n in model.annotations] == [0] * 6
    assert [n.rating for n in _reloaded(model)] == [0] * 6  # the undo is saved too
    model.redo()
    assert [n.rating for n in _reloaded(model)][:3] == [5, 5, 5]
    assert changes[-1] == [0, 1, 2]


def test_an_edit_that_changes_nothing_is_no_undo_step(model):
    model.set_rating([0], 0)
    model.remove_tag([0], "absent")
    assert not model.can_undo()


def test_bad_ratings_and_labels_are_refused(model):
    with pytest.raises(ValueError):
        model.set_rating([0], 6)
    with pytest.raises(ValueError):
        model.set_label([0], "pink")


def test_an_annotation_is_checked_and_stored_alike_however_it_is_made():
    """The model's edits and a stored row go through the same checks, so neither keeps a label the other refuses."""
    assert Annotation(label=" Red ").label == "red"
    assert Annotation(label=None).label == "none"
    with pytest.raises(ValueError, match="0 to 5 stars"):
        Annotation(rating=-1)
    with pytest.raises(ValueError, match="choose one of"):
        Annotation(label="pink")


def test_a_renamed_file_keeps_its_annotation_by_hash(model, tmp_path):
    model.add_tag([3], "keeper")
    model.set_rating([3], 2)
    library = model.library
    old = library.paths[3]
    new = old.with_name("renamed.png")
    old.rename(new)
    library.paths[3] = new
    assert _reloaded(model, library)[3] == Annotation(("keeper",), 2, "none")


def test_an_old_cache_opens_and_gains_the_annotations_table(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                       "INSERT INTO meta VALUES ('schema_version', '1');"
                       "CREATE TABLE edits (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                       "INSERT INTO edits VALUES ('k', 'kept');")
    conn.close()
    with Cache(path) as cache:
        assert cache.recovered_from is None
        assert cache.get_edits("k") == "kept"
        cache.put_annotations([("a.png", "h", Annotation(("x",), 1, "blue"))])
        assert cache.annotations() == {"a.png": ("h", Annotation(("x",), 1, "blue"))}
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    conn.close()


def test_the_filter_matches_name_tag_rating_label_and_cluster():
    paths = [Path(f"/f/{name}.png") for name in ("rose", "tulip", "stripe", "check")]
    notes = [Annotation(("florals", "summer"), 5, "red"), Annotation(("florals",), 3, "none"),
             Annotation(("geo",), 1, "red"), EMPTY]
    labels = np.array([0, 0, 1, 1])
    assert filter_indices(LibraryFilter(), paths, notes).tolist() == [0, 1, 2, 3]
    assert filter_indices(LibraryFilter(text="FLOR"), paths, notes).tolist() == [0, 1]
    assert filter_indices(LibraryFilter(text="stri"), paths, notes).tolist() == [2]
    assert filter_indices(LibraryFilter(text="flor summer"), paths, notes).tolist() == [0]
    assert filter_indices(LibraryFilter(tags=("Florals",), min_rating=4), paths, notes).tolist() == [0]
    assert filter_indices(LibraryFilter(label="red"), paths, notes).tolist() == [0, 2]
    assert filter_indices(LibraryFilter(name="e"), paths, notes).tolist() == [0, 2, 3]
    assert filter_indices(LibraryFilter(cluster=1), paths, notes, labels).tolist() == [2, 3]
    assert filter_indices(LibraryFilter(cluster=1), paths, notes).tolist() == []


def test_the_export_can_be_limited_to_a_subset_and_its_table_has_the_annotations(tmp_path):
    library = make_library(tmp_path / "src", count=8)
    notes = [EMPTY] * 8
    notes[2] = Annotation(("florals", "a, b"), 4, "green")
    labels = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    for kind in ("sorted", "clusters", "grid"):
        prepared = build_plan(kind, library, tmp_path / f"out-{kind}", labels,
                              subset=[2, 5, 6], annotations=notes)
        assert sorted(op.source.name for op in prepared.plan.operations) == ["img_02.png", "img_05.png", "img_06.png"]
        row = next(r for r in prepared.plan.table() if r["original_path"].endswith("img_02.png"))
        assert (row["tags"], row["rating"], row["label"]) == (["florals", "a, b"], 4, "green")
    rows = list(csv.DictReader(io.StringIO(prepared.plan.table_csv())))
    assert list(rows[0])[-3:] == ["tags", "rating", "label"]
    mine = next(r for r in rows if r["original_path"].endswith("img_02.png"))
    assert (mine["tags"], mine["rating"], mine["label"]) == ("florals; a, b", "4", "green")
    with pytest.raises(PlanError):
        build_plan("sorted", library, tmp_path / "none", subset=[])


def test_the_written_and_resumed_tables_keep_the_annotations(tmp_path):
    library = make_library(tmp_path / "src", count=4)
    notes = [Annotation(("t",), 3, "blue")] + [EMPTY] * 3
    prepared = build_plan("sorted", library, tmp_path / "out", annotations=notes)
    report = apply_plan(prepared.plan)
    table = json.loads((tmp_path / "out" / "ordering.json").read_text())
    assert {(r["rating"], r["label"]) for r in table} == {(3, "blue"), (0, "")}
    (tmp_path / "out" / "ordering.json").unlink()
    (tmp_path / "out" / "ordering.csv").unlink()
    resume(report.journal)
    table = json.loads((tmp_path / "out" / "ordering.json").read_text())
    assert {(r["rating"], r["label"]) for r in table} == {(3, "blue"), (0, "")}


def test_the_cli_tags_rates_labels_and_exports_by_them(sample_folder, tmp_path, capsys):
    import shutil
    folder = tmp_path / "library"
    shutil.copytree(sample_folder, folder)
    names = sorted(p.name for p in folder.iterdir())
    fast = ["--mode", "colour"]
    assert main(["tag", str(folder), names[0], "--add", "florals", "--add", "summer", *fast]) == 0
    assert json.loads(capsys.readouterr().out)["tags"] == ["florals", "summer"]
    assert main(["tag", str(folder), names[0], "--remove", "summer", *fast]) == 0
    assert main(["tag", str(folder), names[1], "--add", "florals", *fast]) == 0
    assert main(["rate", str(folder), names[0], "4", *fast]) == 0
    assert main(["label", str(folder), str(folder / names[1]), "red", *fast]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (out["tags"], out["rating"], out["label"]) == (["florals"], 0, "red")
    assert main(["rate", str(folder), names[0], "7", *fast]) == 2
    assert main(["label", str(folder), "nowhere.png", "red", *fast]) == 2
    capsys.readouterr()
    out_dir = tmp_path / "out"
    assert main(["export", str(folder), "--out", str(out_dir), "--tag", "florals", "--min-rating", "3",
                 "--feature-mode", "colour"]) == 0
    table = json.loads((out_dir / "ordering.json").read_text())
    assert [(Path(r["original_path"]).name, r["tags"], r["rating"]) for r in table] == [(names[0], ["florals"], 4)]
    assert main(["export", str(folder), "--out", str(tmp_path / "red"), "--label", "red", "--name", names[1][:6],
                 "--feature-mode", "colour", "--dry-run"]) == 0
    assert names[1] in capsys.readouterr().out
