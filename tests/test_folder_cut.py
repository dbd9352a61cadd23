"""How many groups: the folder model re-cuts its clustering's tree as one undoable edit, which the CLI sees."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from opened import opened_model

from organizer.cli import main
from organizer.folder.model import FolderModel
from organizer.storage.settings import Settings

FAST = Settings(feature_mode="colour")


@pytest.fixture
def model(sample_folder, tmp_path):
    folder = tmp_path / "library"
    shutil.copytree(sample_folder, folder)
    return opened_model(folder, FAST)


def test_a_cut_is_one_named_edit_that_undo_and_redo_go_between(model):
    events = []
    model.clusters_changed.connect(lambda: events.append(model.group_count()))
    assert model.group_range() == (1, 36)
    before = model.book.snapshot()
    first = model.group_count()
    target = 3 if first != 3 else 4
    model.cut_into(target)
    assert model.group_count() == target and events == [target]
    assert model.undo_text() == f"Cut into {target} groups"
    # The dendrogram is coloured by the new clusters, the medoids are theirs.
    assert set(model.dendrogram.leaf_colours.tolist()) - {-1} <= set(model.book.clusters())
    assert sorted(model.medoids) == model.book.clusters()
    after = model.book.snapshot()
    model.undo()
    assert model.group_count() == first
    np.testing.assert_array_equal(model.book.labels, before[0])
    model.redo()
    np.testing.assert_array_equal(model.book.labels, after[0])
    model.cut_into(target)  # the same cut again changes nothing, and records nothing
    assert model.history.count() == 1


def test_a_cut_replaces_earlier_edits_and_undo_brings_them_back(model):
    model.cut_into(6)
    keep = max(model.book.clusters(), key=model.book.size)
    model.rename(keep, "Florals")
    moved = int(model.book.members(keep)[0])
    model.new_cluster([moved])
    edited = model.book.snapshot()
    model.cut_into(6)  # the moved image goes back to its group; the renamed one survives the cut by name
    assert model.group_count() == 6 and model.book.name(keep) == "Florals"
    assert model.book.labels[moved] == keep
    model.undo()
    np.testing.assert_array_equal(model.book.labels, edited[0])
    assert model.book.names == edited[1]


def test_a_cut_outside_the_range_or_without_a_tree_is_refused(model, sample_folder, tmp_path):
    with pytest.raises(ValueError):
        model.cut_into(0)
    with pytest.raises(ValueError):
        model.cut_into(37)
    folder = tmp_path / "kmeans"
    shutil.copytree(sample_folder, folder)
    flat = opened_model(folder, Settings(feature_mode="colour", cluster_method="kmeans", cluster_k=4))
    assert flat.group_range() is None and flat.group_count() == 4
    with pytest.raises(ValueError, match="no tree"):
        flat.cut_into(3)
    assert FolderModel().group_range() is None and FolderModel().group_count() == 0


def test_the_cli_and_a_reopened_folder_see_the_cut(model, capsys, tmp_path):
    model.cut_into(5)
    named = model.book.clusters()[-1]
    model.rename(named, "Paisleys")
    book, folder = model.book, model.library.folder
    assert main(["cluster", str(folder), "--json", "--mode", "colour"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["edited"] and len(data["sizes"]) == 5 and data["names"] == {str(named + 1): "Paisleys"}
    assert data["labels"] == {str(p): int(label) + 1 for p, label in zip(model.library.paths, book.labels)}
    assert main(["export", str(folder), "--out", str(tmp_path / "out"), "--plan", "clusters",
                 "--feature-mode", "colour"]) == 0
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert folders == sorted(f"{label + 1:02d}_{book.name(label)}" for label in book.clusters())
    assert f"{named + 1:02d}_Paisleys" in folders
    reopened = opened_model(folder, FAST)
    assert reopened.group_count() == 5 and reopened.group_range() == (1, 36)
    np.testing.assert_array_equal(reopened.book.labels, book.labels)
