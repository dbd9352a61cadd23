"""The whole app, offscreen: drop a folder, find similar, edit a cluster, undo, export (a long scan: test_app_scan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QContextMenuEvent, QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu

from organizer.gui.app import SETTINGS_KEY, create_window
from organizer.io.scan import hash_file
from organizer.samples import SampleSpec, family_of, render, write_sample_folder
from organizer.storage.settings import Settings

SCAN_TIMEOUT_MS = 120_000


@pytest.fixture
def store(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, store):
    window = create_window(store)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()
    # No leaked workers or windows: closing cancels every job, waits, and closes its dialogs.
    assert not window.session.runner.busy()
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == []


def drop(window, path: Path) -> None:
    """Drag ``path`` over the window and drop it, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(200, 200), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    assert QApplication.sendEvent(window, enter) and enter.isAccepted()
    event = QDropEvent(QPointF(200, 200), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    assert QApplication.sendEvent(window, event)


def wait_until_ready(qtbot, window, images: int) -> None:
    session = window.session
    qtbot.waitUntil(lambda: session.library is not None and len(session.library) == images, timeout=SCAN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: session.book is not None and not session.runner.running("map"), timeout=SCAN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.map_view.point_count() == images, timeout=5000)


def all_medoids(session) -> dict[int, int]:
    """Every cluster's medoid computed afresh, to check the session's incremental update."""
    return {label: session.book.medoid(label, session.library.vectors) for label in session.book.clusters()
            if label >= 0}


def choose_from_context_menu(qtbot, trigger, text_start: str) -> None:
    """Open a context menu with ``trigger`` and pick the action whose text starts with ``text_start``."""
    chosen = []

    def pick():
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(20, pick)
            return
        action = next(a for a in menu.actions() if a.text().startswith(text_start))
        chosen.append(action.text())
        menu.close()
        action.trigger()

    QTimer.singleShot(0, pick)
    trigger()
    qtbot.waitUntil(lambda: bool(chosen), timeout=5000)


def test_drop_a_folder_find_similar_edit_undo_and_export(qtbot, window, sample_folder, tmp_path, store):
    drop(window, sample_folder)
    wait_until_ready(qtbot, window, 36)
    session = window.session
    assert window.windowTitle().startswith(sample_folder.name)
    assert window.grid.model.rowCount() == 36 + len(session.book.clusters())

    # Right-click an image in the grid and choose Find Similar.
    query = sample_folder / SampleSpec("normal-chevron", 0, 0).filename()
    index = session.library.index_of(query)
    row = window.grid.model.rows_of_images([index])[0]
    window.tabs.setCurrentWidget(window.grid)
    window.grid.scroll_to(index)
    qtbot.wait(50)
    viewport = window.grid.view().viewport()
    centre = window.grid.view().visualRect(window.grid.model.index(row)).center()
    right_click = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre, viewport.mapToGlobal(centre))
    choose_from_context_menu(qtbot, lambda: QApplication.sendEvent(viewport, right_click), "Find Similar")
    qtbot.waitUntil(lambda: bool(window.similar.results()), timeout=30_000)
    top = [session.library.paths[i] for i, _ in window.similar.results()[:3]]
    assert query not in top
    assert [family_of(p.name) for p in top].count("normal-chevron") >= 2

    # Space previews the selected image, Ctrl+F searches from it, from whichever view has focus.
    window.set_selection([index])
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    window.grid.view().setFocus()
    QTest.keyClick(window.grid.view(), Qt.Key_Space)
    qtbot.waitUntil(lambda: window._preview is not None and window._preview.isVisible(), timeout=2000)
    window._preview.close()
    window.similar.clear()
    QTest.keyClick(window.grid.view(), Qt.Key_F, Qt.ControlModifier)
    qtbot.waitUntil(lambda: bool(window.similar.results()), timeout=30_000)
    assert window.similar.results()[0][0] != index

    # Move the query to another cluster, then undo with the keyboard shortcut.
    before = session.book.labels.copy()
    source = int(before[index])
    target = next(label for label in session.book.clusters() if label != source)
    window.grid.model.move_requested.emit([index], target)
    qtbot.waitUntil(lambda: session.book.labels[index] == target, timeout=2000)
    assert session.model.can_undo()
    window.actions_by_name["undo"].trigger()
    assert session.book.labels.tolist() == before.tolist()
    assert session.medoids == all_medoids(session)
    window.actions_by_name["redo"].trigger()
    assert session.book.labels[index] == target
    # Only the clusters the move changed are recomputed; every medoid must still match a full recompute.
    assert session.medoids == all_medoids(session)

    # Export with copy through the dialog; the originals stay as they were.
    originals = {p: hash_file(p) for p in sample_folder.iterdir()}
    out = tmp_path / "exported"
    window.actions_by_name["export"].trigger()
    dialog = window.export_dialog
    dialog.set_plan("clusters")
    dialog.set_mode("copy")
    dialog.set_target(out)
    reports = []
    dialog.exported.connect(reports.append)
    dialog.start_export()
    qtbot.waitUntil(lambda: bool(reports), timeout=60_000)
    assert reports[0].done == 36 and not reports[0].failed
    exported = [p for p in out.rglob("*.png") if ".pattern-organizer" not in p.parts]
    assert len(exported) == 36
    moved_copy = next(p for p in exported if p.name.endswith(query.name))
    target_folder = {p.parent for p in exported if hash_file(p) in
                     {hash_file(session.library.paths[i]) for i in session.book.members(target)}}
    assert moved_copy.parent in target_folder and len(target_folder) == 1
    assert {p: hash_file(p) for p in sample_folder.iterdir()} == originals
    dialog.close()

    # The recent folder is remembered in the settings store.
    saved = Settings.from_json(store.value(SETTINGS_KEY))
    assert saved.recent_folders[0] == str(sample_folder.resolve())


def test_edits_are_restored_when_the_folder_is_opened_again(qtbot, store, sample_folder):
    first = create_window(store)
    qtbot.addWidget(first)
    first.open_folder(sample_folder)
    wait_until_ready(qtbot, first, 36)
    medoids = dict(first.session.medoids)
    first.session.rename(first.session.book.clusters()[0], "Chevrons and friends")
    assert first.session.medoids == medoids
    first.session.new_cluster([0, 1])
    assert first.session.medoids == all_medoids(first.session)
    labels = first.session.book.labels.copy()
    first.close()

    second = create_window(store)
    qtbot.addWidget(second)
    second.open_folder(sample_folder)
    wait_until_ready(qtbot, second, 36)
    assert second.session.book.labels.tolist() == labels.tolist()
    assert "Chevrons and friends" in [second.session.book.name(c) for c in second.session.book.clusters()]
    second.close()


def test_dropping_an_outside_image_searches_with_it(qtbot, window, sample_folder, tmp_path):
    window.open_folder(sample_folder)
    wait_until_ready(qtbot, window, 36)
    outside = tmp_path / "outside.jpg"
    render(SampleSpec("alpha-hearts", 1, 7), (200, 150)).save(outside)
    drop(window, outside)
    qtbot.waitUntil(lambda: bool(window.similar.results()), timeout=60_000)
    families = [family_of(window.session.library.paths[i].name) for i, _ in window.similar.results()[:6]]
    assert all(f.startswith("alpha-") for f in families)
    # The query's icon came with the result (made in the worker), so it shows at once.
    assert not window.similar._query_icon.pixmap().isNull()


def test_failures_are_listed_in_the_panel_not_in_dialogs(qtbot, window, tmp_path):
    folder = tmp_path / "mixed"
    write_sample_folder(folder, per_family=1, colourways=1, size=(96, 96))
    (folder / "truncated.png").write_bytes((folder / SampleSpec("normal-chevron", 0, 0).filename()).read_bytes()[:200])
    (folder / "notes.jpg").write_text("not an image")
    window.open_folder(folder)
    wait_until_ready(qtbot, window, 9)
    assert window.failures.table.rowCount() == 2
    assert window.failures_dock.isVisible()
    names = {window.failures.table.item(r, 0).text() for r in range(2)}
    assert names == {"truncated.png", "notes.jpg"}
    assert QApplication.activeModalWidget() is None


def test_split_merge_and_a_settings_change_that_reclusters_only(qtbot, window, sample_folder):
    from dataclasses import replace

    window.open_folder(sample_folder)
    wait_until_ready(qtbot, window, 36)
    session = window.session
    library, layout = session.library, session.layout
    # Every rendered family is a knot grid, so the folder chose to melt them, and the window says so.
    assert library.spec.melt_knots and "knots blurred away" in window.message.text()
    largest = max(session.book.clusters(), key=session.book.size)
    before = session.book.labels.copy()
    count = len(session.book.clusters())
    session.split(largest)
    qtbot.waitUntil(lambda: len(session.book.clusters()) > count, timeout=30_000)
    parts = [c for c in session.book.clusters() if c not in set(before.tolist())] + [largest]
    session.merge(parts[-1], parts[0])
    assert session.model.history.count() == 2
    session.model.undo()
    session.model.undo()
    assert session.book.labels.tolist() == before.tolist()

    # Agglomerative clustering: new clusters and a dendrogram, but the same scan and map.
    session.apply_settings(replace(session.settings, cluster_method="agglomerative", cluster_k=4))
    # The automatic clustering may have drawn a dendrogram already: wait for the new clustering itself.
    assert session.runner.running("clusters")
    qtbot.waitUntil(lambda: not session.runner.running("clusters"), timeout=30_000)
    assert window.dendrogram.dendrogram() is not None
    assert len(session.book.clusters()) == 4
    assert session.library is library and session.layout is layout
    assert not session.runner.running("scan") and not session.runner.running("map")


def test_the_welcome_page_renders_and_opens_the_sample_patterns(qtbot, window):
    from organizer.storage.paths import samples_dir

    window.welcome.samples_requested.emit()
    qtbot.waitUntil(lambda: window.session.library is not None, timeout=SCAN_TIMEOUT_MS)
    assert window.session.folder == samples_dir().resolve()
    assert len(window.session.library) == 9 * 6 * 3 and not window.session.library.failures


def test_an_invalid_layer_name_is_reported_in_the_status_bar(qtbot, window, sample_folder):
    from dataclasses import replace

    window.open_folder(sample_folder)
    wait_until_ready(qtbot, window, 36)
    window.session.apply_settings(replace(window.session.settings, layers="no_such_layer"))
    qtbot.waitUntil(lambda: window.message.text().startswith("Scan failed"), timeout=10_000)
    assert "no_such_layer" in window.message.text()


def test_find_similar_reranks_by_the_index_chosen_in_the_settings(qtbot, window, sample_folder):
    from dataclasses import replace

    from organizer.io import images
    from organizer.search.compare import compare

    drop(window, sample_folder)
    wait_until_ready(qtbot, window, 36)
    session = window.session
    session.apply_settings(replace(session.settings, similar_rerank="emd"))
    query = sample_folder / SampleSpec("normal-chevron", 0, 0).filename()
    session.find_similar(session.library.index_of(query))
    qtbot.waitUntil(lambda: bool(window.similar.results()), timeout=30_000)
    results = window.similar.results()
    scores = [score for _, score in results]
    assert len(results) == session.settings.similar_count
    assert scores == sorted(scores)  # palette distances: the closest first
    best = session.library.paths[results[0][0]]
    assert scores[0] == pytest.approx(compare(images.load(query), images.load(best), "emd").score)
    assert "re-ranked by Palette distance (EMD)" in window.similar._title.text()


def test_find_similar_smooths_over_the_folders_neighbourhoods_when_chosen_in_the_settings(qtbot, window,
                                                                                           sample_folder):
    from dataclasses import replace

    from organizer.search.similar import NEIGHBOURHOOD, search_similar

    drop(window, sample_folder)
    wait_until_ready(qtbot, window, 36)
    session = window.session
    query = session.library.index_of(sample_folder / SampleSpec("normal-chevron", 0, 0).filename())
    session.find_similar(query)
    assert window.message.text() == "Searching like normal-chevron__c00__v000.png…"
    qtbot.waitUntil(lambda: bool(window.similar.results()), timeout=30_000)
    plain = window.similar.results()
    assert "re-ranked" not in window.similar._title.text()
    session.apply_settings(replace(session.settings, similar_rerank=NEIGHBOURHOOD))
    session.find_similar(query)
    assert window.message.text() == "Searching like normal-chevron__c00__v000.png, re-ranked by Folder neighbourhoods…"
    qtbot.waitUntil(lambda: window.similar.results() != plain, timeout=30_000)
    k = session.settings.similar_count
    # A copy: smoothed afresh, not served the index the app's search kept.
    expected = search_similar(session.library.paths, session.library.vectors.copy(), query, k, rerank_by=NEIGHBOURHOOD)
    assert [(session.library.paths[i], score) for i, score in window.similar.results()] == \
        [(m.path, pytest.approx(m.score)) for m in expected.matches]
    assert "re-ranked by Folder neighbourhoods" in window.similar._title.text()


def test_a_reranking_this_version_lacks_is_refused_in_words_not_a_crash(qtbot, window, sample_folder):
    from dataclasses import replace

    drop(window, sample_folder)
    wait_until_ready(qtbot, window, 36)
    session = window.session
    session.apply_settings(replace(session.settings, similar_rerank="retired-index"))  # an older settings file's
    session.find_similar(0)
    assert window.message.text().endswith("re-ranked by retired-index…")
    qtbot.waitUntil(lambda: window.message.text().startswith("Similar failed: Unknown re-ranking 'retired-index'"),
                    timeout=30_000)


def test_choosing_the_autoencoder_trains_it_in_the_worker_with_its_loss_shown(qtbot, window, sample_folder):
    from dataclasses import replace

    drop(window, sample_folder)
    wait_until_ready(qtbot, window, 36)
    session = window.session
    notes = []
    session.progress.connect(lambda stage, done, total, note: notes.append(note))
    session.apply_settings(replace(session.settings, model="autoencoder"))
    qtbot.waitUntil(lambda: session.library is not None and session.library.spec.model == "autoencoder"
                    and len(session.library) == 36, timeout=120_000)
    assert any(note.startswith("training the autoencoder") and "loss" in note for note in notes)
    assert session.library.spec.weights.startswith("ae-")


def test_the_tools_menu_compares_two_selected_images_and_reports_the_levels(qtbot, window, sample_folder):
    from organizer.gui.dialogs.align_dialog import AlignDialog
    from organizer.gui.dialogs.compare_dialog import CompareDialog
    from organizer.gui.dialogs.levels_dialog import LevelsDialog

    drop(window, sample_folder)
    wait_until_ready(qtbot, window, 36)
    library = window.session.library
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    assert [a.text() for a in tools.actions()] == ["&Align Images…", "&Compare Two Images…", "&Equalization Report…"]

    first, second = (library.index_of(sample_folder / SampleSpec("normal-chevron", 0, v).filename()) for v in (0, 1))
    for selection in ([], [first, second]):  # the whole folder only by the dialog's own choice
        window.set_selection(selection)
        window.actions_by_name["align"].trigger()
        align = window.findChild(AlignDialog)
        assert align.paths == [library.paths[i] for i in selection]
        assert align.align_button.isEnabled() == bool(selection)
        align.close()
        qtbot.waitUntil(lambda: window.findChild(AlignDialog) is None, timeout=5000)

    window.set_selection([])
    window.actions_by_name["compare"].trigger()
    assert "Select two images" in window.message.text()

    window.set_selection([first, second])
    window.actions_by_name["compare"].trigger()
    dialog = window.findChild(CompareDialog)
    assert dialog.windowTitle() == f"Compare {library.paths[first].name} and {library.paths[second].name}"
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60_000)
    dialog.close()
    qtbot.waitUntil(lambda: window.findChild(CompareDialog) is None, timeout=5000)

    # The image menu offers the comparison with the one other selected image.
    window.set_selection([second])
    window.grid.scroll_to(first)
    window.tabs.setCurrentWidget(window.grid)
    qtbot.wait(50)
    viewport = window.grid.view().viewport()
    centre = window.grid.view().visualRect(window.grid.model.index(window.grid.model.rows_of_images([first])[0])).center()
    right_click = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre, viewport.mapToGlobal(centre))
    choose_from_context_menu(qtbot, lambda: QApplication.sendEvent(viewport, right_click), "Compare with")
    qtbot.waitUntil(lambda: window.findChild(CompareDialog) is not None, timeout=5000)
    dialog = window.findChild(CompareDialog)
    assert dialog.windowTitle() == f"Compare {library.paths[first].name} and {library.paths[second].name}"
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60_000)

    window.actions_by_name["levels"].trigger()
    levels = window.findChild(LevelsDialog)
    qtbot.waitUntil(lambda: levels.report is not None, timeout=60_000)
    assert levels.table.rowCount() == 36
