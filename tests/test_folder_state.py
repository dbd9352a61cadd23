"""The Qt-free folder model: edits with undo and redo, saved with the cache and restored by the next load."""

from __future__ import annotations

import shutil

import pytest

from organizer.analysis.cluster import ClusterSpec
from organizer.embedding import make_spec
from organizer.embedding.library import load_library
from organizer.folder import FolderModel, load_folder_state
from organizer.storage.cache import Cache

SPEC = ClusterSpec(method="kmeans", k=4)


@pytest.fixture
def library(sample_folder, tmp_path):
    folder = tmp_path / "library"
    shutil.copytree(sample_folder, folder)
    with Cache(tmp_path / "cache.sqlite") as cache:
        return load_library(folder, make_spec(mode="colour"), cache)


@pytest.fixture
def loaded(library, tmp_path):
    return load_folder_state(library, SPEC, tmp_path / "cache.sqlite")


def test_edits_undo_and_redo_in_order_with_their_names(loaded):
    model, _ = loaded
    start = model.book.snapshot()
    a, b = model.book.clusters()[:2]
    model.move_to_cluster([int(model.book.members(b)[0])], a)
    model.rename(a, "Stripes")
    assert model.undo_text() == "Rename to Stripes" and not model.can_redo()
    model.undo()
    assert model.book.name(a) != "Stripes" and model.redo_text() == "Rename to Stripes"
    model.undo()
    assert model.book.labels.tolist() == start[0].tolist() and not model.can_undo()
    model.redo()
    model.redo()
    assert model.book.name(a) == "Stripes" and model.book.size(a) == len(model.book.members(a))
    model.undo()
    model.merge(a, b)  # a new edit after an undo drops the undone one
    assert not model.can_redo() and model.history.count() == 2
    assert b not in model.book.clusters() and model.undo_text().startswith("Merge")


def test_an_edit_keeps_the_medoids_members_of_their_clusters(loaded):
    model, _ = loaded
    a, b = model.book.clusters()[:2]
    model.merge(a, b)
    label = model.new_cluster([int(i) for i in model.book.members(a)[:2]])
    assert set(model.medoids) == {c for c in model.book.clusters() if c >= 0}
    assert all(model.book.labels[i] == c for c, i in model.medoids.items()) and label in model.medoids


def test_edits_announce_changes_and_make_running_results_stale(loaded):
    model, _ = loaded
    seen, history = [], []
    model.clusters_changed.connect(lambda: seen.append(model.book.snapshot()[0].copy()))
    model.history.changed.connect(lambda: history.append(model.undo_text()))
    stamp = model.generation.stamp()
    model.rename(model.book.clusters()[0], "Dots")
    model.undo()
    assert len(seen) == 2 and history == ["Rename to Dots", ""]
    assert not model.generation.is_current(stamp, book=True) and model.generation.is_current(stamp)


def test_saved_edits_come_back_with_the_next_load(library, loaded, tmp_path):
    model, first = loaded
    assert not first.restored
    a, b, c = model.book.clusters()[:3]
    model.move_to_cluster([int(i) for i in model.book.members(c)[:2]], a)
    model.merge(a, b)
    model.rename(a, "Flowers")
    again, result = load_folder_state(library, SPEC, tmp_path / "cache.sqlite")
    assert result.restored and result.key == model.book_key
    assert again.book.labels.tolist() == model.book.labels.tolist() and again.book.name(a) == "Flowers"
    assert again.medoids == model.medoids and not again.can_undo()


def test_a_save_goes_through_the_writer_given_and_only_runs_when_it_says(library, tmp_path):
    pending = {}
    model = FolderModel(submit=lambda key, write: pending.__setitem__(key, write))
    model.open(library.folder, tmp_path / "cache.sqlite")
    model.set_library(library)
    _, result = load_folder_state(library, SPEC, tmp_path / "cache.sqlite")
    model.set_clusters(result)
    model.rename(0, "First")
    model.rename(0, "Second")  # both saves name one key, so a writer keeps only the last
    assert len(pending) == 1
    assert not load_folder_state(library, SPEC, tmp_path / "cache.sqlite")[1].restored
    next(iter(pending.values()))()
    assert load_folder_state(library, SPEC, tmp_path / "cache.sqlite")[0].book.name(0) == "Second"


def test_a_new_scan_drops_the_clusters_and_the_history(loaded, library):
    model, _ = loaded
    model.rename(0, "Gone")
    stamp = model.generation.stamp()
    model.set_library(library)
    assert model.book is None and model.medoids == {} and not model.can_undo()
    assert not model.generation.is_current(stamp)
