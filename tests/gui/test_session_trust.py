"""The session under real use: late results are dropped, edits are saved off the GUI thread and
follow the files, and a move export leaves the library describing the files as they are."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from organizer.analysis.cluster import cluster
from organizer.analysis.edits import ClusterBook, edits_key, image_keys
from organizer.export import apply as apply_mod
from organizer.folder import model as folder_model_module
from organizer.gui.app import SETTINGS_KEY, create_window
from organizer.gui.session import FolderSession, cluster_spec
from organizer.jobs.tasks import never_stop
from organizer.samples import SampleSpec, render, write_sample_folder
from organizer.storage.cache import Cache
from organizer.storage.paths import cache_db_path
from organizer.storage.settings import Settings

TIMEOUT_MS = 120_000
#: Colour histograms: a real scan, map and clustering without loading a network.
FAST = Settings(feature_mode="colour", perplexity=5.0)


def wait_ready(qtbot, session: FolderSession, folder: Path) -> None:
    """Until the folder's scan, clusters and map are in and nothing else runs."""
    folder = folder.resolve()
    qtbot.waitUntil(lambda: session.library is not None and session.library.folder == folder
                    and session.book is not None and not session.runner.busy(), timeout=TIMEOUT_MS)


@pytest.fixture
def session(qtbot):
    session = FolderSession(FAST)
    yield session
    session.shutdown()


def block_the_pool(session: FolderSession) -> threading.Event:
    """Occupy every worker thread until the returned event is set, so later jobs queue up."""
    release = threading.Event()
    for n in range(session.runner._pool.maxThreadCount()):
        session.runner.start(f"blocker{n}", lambda ctx: release.wait(30))
    return release


def _hold_splits(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """Make every split wait for ``release``; ``started`` is set once one is waiting."""
    started, release = threading.Event(), threading.Event()
    real_split = ClusterBook.split

    def slow_split(book, label, vectors, seed=0, should_stop=never_stop):
        started.set()
        release.wait(30)
        return real_split(book, label, vectors, seed, should_stop)
    monkeypatch.setattr(ClusterBook, "split", slow_split)
    return started, release


def test_a_split_that_lands_after_a_recluster_is_dropped(qtbot, session, sample_folder, monkeypatch):
    session.open_folder(sample_folder)
    wait_ready(qtbot, session, sample_folder)
    started, release = _hold_splits(monkeypatch)

    session.split(max(session.book.clusters(), key=session.book.size))
    assert started.wait(30)
    session.recluster()
    qtbot.waitUntil(lambda: not session.runner.running("clusters"), timeout=TIMEOUT_MS)
    reclustered = session.book.labels.copy()
    release.set()
    qtbot.waitUntil(lambda: not session.runner.running("split"), timeout=TIMEOUT_MS)
    qtbot.wait(100)
    # The split was computed from the clusters before the recluster: applying it would undo the recluster.
    assert session.book.labels.tolist() == reclustered.tolist()
    assert session.model.history.count() == 0


def test_a_split_dropped_because_the_clusters_changed_says_so(qtbot, session, sample_folder, monkeypatch):
    session.open_folder(sample_folder)
    wait_ready(qtbot, session, sample_folder)
    started, release = _hold_splits(monkeypatch)
    messages = []
    session.message.connect(messages.append)

    label = max(session.book.clusters(), key=session.book.size)
    name = session.book.name(label)
    session.split(label)
    assert started.wait(30)
    session.rename(label, "Renamed while it split")  # an edit: the split's clusters are gone
    release.set()
    qtbot.waitUntil(lambda: not session.runner.running("split"), timeout=TIMEOUT_MS)
    assert f"The split of {name} was dropped: the clusters changed while it ran" in messages
    assert session.model.history.count() == 1 and session.book.name(label) == "Renamed while it split"


def test_edits_saved_before_the_extractor_version_bump_are_restored(qtbot, session, sample_folder):
    session.open_folder(sample_folder)
    wait_ready(qtbot, session, sample_folder)
    library, spec = session.library, cluster_spec(session.settings)
    # The user's book as the code of extractor version 1 saved it: by hash, under the versioned id.
    by_hash = {digest: n % 2 for n, digest in enumerate(sorted(set(library.hashes)))}
    saved = json.dumps({"format": 1, "labels": by_hash, "names": {"1": "Kept across versions"}})
    old_key = (f"v1/{library.spec.id.partition('/')[2]}|{spec.method}|k={spec.k}|{spec.linkage}"
               f"|eps={spec.eps}|mcs={spec.min_cluster_size}")
    with Cache(cache_db_path(sample_folder)) as cache:
        cache.put_edits(old_key, saved)
    messages = []
    session.message.connect(messages.append)

    session.recluster()
    wait_ready(qtbot, session, sample_folder)
    assert session.book.labels.tolist() == [by_hash[digest] for digest in library.hashes]
    assert session.book.name(1) == "Kept across versions"
    assert "Your cluster edits were restored" in messages

    session.rename(0, "Saved after the bump")  # saved under this version's key, and found there again
    session.recluster()
    wait_ready(qtbot, session, sample_folder)
    assert session.book.name(0) == "Saved after the bump" and session.book.name(1) == "Kept across versions"


def test_an_edit_during_a_recluster_for_new_settings_stays_with_the_old_clusters(qtbot, session, sample_folder):
    session.open_folder(sample_folder)
    wait_ready(qtbot, session, sample_folder)
    library, old_key = session.library, edits_key(session.library.spec.id, cluster_spec(session.settings))
    kmeans = replace(FAST, cluster_method="kmeans", cluster_k=7)
    messages = []
    session.message.connect(messages.append)

    release = block_the_pool(session)  # the recluster waits in the queue while the user edits
    session.apply_settings(kmeans)
    target = next(label for label in session.book.clusters() if label != session.book.labels[0])
    session.move_to_cluster([0], target)
    edited = session.book.labels.copy()
    release.set()
    wait_ready(qtbot, session, sample_folder)

    # The k=7 clustering, not the edited book of the old settings restored as if it were its own.
    assert session.book.labels.tolist() == cluster(library.vectors, cluster_spec(kmeans)).labels.tolist()
    assert len(session.book.clusters()) == 7
    assert "Your cluster edits were restored" not in messages
    session.shutdown()  # writes what is still waiting
    with Cache(cache_db_path(sample_folder)) as cache:
        saved = cache.get_edits(old_key)
    keys = image_keys(library.folder, library.paths)
    assert ClusterBook.from_json(saved, keys, library.hashes).labels.tolist() == edited.tolist()


def test_find_similar_in_one_folder_never_shows_in_the_next(qtbot, session, sample_folder, tmp_path):
    second = tmp_path / "second"
    write_sample_folder(second, per_family=1, colourways=1, size=(64, 64))
    session.open_folder(sample_folder)
    wait_ready(qtbot, session, sample_folder)
    shown = []
    session.similar_ready.connect(shown.append)

    release = block_the_pool(session)  # the search waits in the queue until the next folder is open
    session.find_similar(0)
    session.open_folder(second)
    release.set()
    wait_ready(qtbot, session, second)
    qtbot.wait(100)
    assert shown == []

    session.find_similar(0)  # the new folder's own search is shown
    qtbot.waitUntil(lambda: bool(shown), timeout=TIMEOUT_MS)
    assert shown[0].query_path.parent == second.resolve()
    assert all(session.library.paths[i].parent == second.resolve() for i, _ in shown[0].matches)


def test_edits_are_saved_off_the_gui_thread_in_order_and_survive_shutdown(qtbot, sample_folder, monkeypatch):
    session = FolderSession(FAST)
    session.open_folder(sample_folder)
    wait_ready(qtbot, session, sample_folder)
    opened_on = []

    class RecordingCache(Cache):
        def __init__(self, *args, **kwargs):
            opened_on.append(threading.current_thread())
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(folder_model_module, "Cache", RecordingCache)

    book, last = session.book, len(session.library) - 1
    labels = book.clusters()
    for n in range(30):  # a burst: drag images back and forth, then undo and redo some
        session.move_to_cluster([n % 10, last], labels[n % len(labels)])
    session.new_cluster([0, 1])
    session.model.undo()
    session.model.redo()
    expected = session.book.labels.copy()
    session.shutdown()  # writes what is still waiting

    assert opened_on and threading.main_thread() not in opened_on
    key = edits_key(session.library.spec.id, cluster_spec(session.settings))
    with Cache(cache_db_path(sample_folder)) as cache:
        saved = cache.get_edits(key)
    keys = image_keys(session.library.folder, session.library.paths)
    assert ClusterBook.from_json(saved, keys, session.library.hashes).labels.tolist() == expected.tolist()


def test_after_a_move_export_and_its_undo_the_library_lists_the_files_where_they_are(qtbot, tmp_path):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    store.setValue(SETTINGS_KEY, FAST.to_json())
    window = create_window(store)
    qtbot.addWidget(window)
    folder, out = tmp_path / "library", tmp_path / "exported"
    write_sample_folder(folder, per_family=1, colourways=1, size=(64, 64))
    window.open_folder(folder)
    session = window.session
    wait_ready(qtbot, session, folder)
    before = dict(zip(session.library.paths, session.book.labels.tolist()))
    kept = session.book.labels[0]
    session.rename(kept, "Kept by path")
    # Two images arrive after the scan: the export knows nothing of them, so they stay.
    arrived = [folder / "arrived-1.png", folder / "arrived-2.png"]
    for n, path in enumerate(arrived):
        render(SampleSpec("normal-stripes", 1, 5 + n), size=(64, 64)).save(path)

    window.actions_by_name["export"].trigger()
    dialog = window.export_dialog
    dialog.set_plan("sorted")
    dialog.set_mode("move")
    dialog.set_target(out)
    exported, undone = [], []
    dialog.exported.connect(exported.append)
    dialog.undone.connect(undone.append)
    dialog.start_export()
    qtbot.waitUntil(lambda: bool(exported), timeout=TIMEOUT_MS)
    assert exported[0].done == len(before) and not exported[0].failed
    wait_ready(qtbot, session, folder)
    assert sorted(session.library.paths) == sorted(p.resolve() for p in arrived)
    assert all(path.exists() for path in session.library.paths)

    qtbot.waitUntil(lambda: dialog.undo_button.isEnabled(), timeout=TIMEOUT_MS)
    dialog.undo_last_move()
    qtbot.waitUntil(lambda: bool(undone), timeout=TIMEOUT_MS)
    assert undone[0].restored == len(before)
    qtbot.waitUntil(lambda: len(session.library or []) == len(before) + 2, timeout=TIMEOUT_MS)
    wait_ready(qtbot, session, folder)
    assert all(path.exists() for path in session.library.paths)
    # The edits follow the files back by path: each returned image is in its cluster again.
    labels = dict(zip(session.library.paths, session.book.labels.tolist()))
    assert {path: labels[path] for path in before} == before
    assert session.book.name(kept) == "Kept by path"
    window.close()


def test_a_shut_down_session_starts_no_scan(qtbot, session, sample_folder):
    session.open_folder(sample_folder)
    wait_ready(qtbot, session, sample_folder)
    session.shutdown()
    session.rescan()
    session.recluster()
    assert not session.runner.busy()


def test_closing_the_window_during_a_move_export_starts_no_scan(qtbot, tmp_path, monkeypatch):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    store.setValue(SETTINGS_KEY, FAST.to_json())
    window = create_window(store)
    qtbot.addWidget(window)
    folder = tmp_path / "library"
    write_sample_folder(folder, per_family=1, colourways=1, size=(64, 64))
    window.open_folder(folder)
    session = window.session
    wait_ready(qtbot, session, folder)
    moving, release = threading.Event(), threading.Event()
    real_apply_one = apply_mod._apply_one

    def held(op, mode, report):
        moving.set()
        release.wait(30)
        return real_apply_one(op, mode, report)
    monkeypatch.setattr(apply_mod, "_apply_one", held)
    started, real_start = [], session.runner.start

    def recording_start(slot, *args, **kwargs):
        started.append(slot)
        return real_start(slot, *args, **kwargs)
    monkeypatch.setattr(session.runner, "start", recording_start)

    window.actions_by_name["export"].trigger()
    dialog = window.export_dialog
    dialog.set_mode("move")
    dialog.set_target(tmp_path / "exported")
    dialog.start_export()
    assert moving.wait(30)
    started.clear()
    window.close()
    release.set()
    session.runner._pool.waitForDone(30_000)
    QApplication.processEvents()  # delivers the move's end, queued for the GUI thread
    assert "scan" not in started and not session.runner.busy()
