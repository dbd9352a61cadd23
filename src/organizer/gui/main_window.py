"""The main window: assembles the views, panels and menus around one folder session."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QDialog, QDockWidget, QFileDialog, QInputDialog, QMainWindow, QStackedWidget,
                               QTabWidget)

from ..io.images import IMAGE_SUFFIXES, MB
from ..io.thumbs import ThumbnailStore
from ..storage.paths import user_cache_dir
from ..storage.settings import Settings
from .clusters.cluster_grid import ClusterGrid
from .clusters.dendrogram import DendrogramView
from .dialogs.export_dialog import ExportDialog
from .dialogs.launchers import IMAGE_FILTER, ToolLaunchers
from .dialogs.settings_dialog import SettingsDialog
from .map.legend import MapLegend
from .map.map_overlays import pending_identities
from .map.map_view import MapView
from .menus import build_menu_bar, cluster_menu, image_menu, show_menu
from .palette import tone_colour
from .panels.failures_panel import FailuresPanel
from .panels.filter_bar import FilterBar
from .panels.preview import PreviewDialog
from .panels.similar_dock import SimilarDock
from .panels.similar_panel import SimilarPanel
from .panels.welcome import WelcomePage
from .scan_view import ScanView
from .session import FolderSession
from .status import Notice, ProgressStatus, StatusMessage
from .thumbnails import ThumbnailLoader

APP_TITLE = "Pattern Organizer"


class MainWindow(ToolLaunchers, QMainWindow):
    settings_changed = Signal(object)
    samples_requested = Signal()

    def __init__(self, settings: Settings):
        super().__init__()
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self.session = FolderSession(settings, self)
        store = ThumbnailStore(user_cache_dir() / "thumbnails", max_file_bytes=self._file_limit)
        self.thumbnails = ThumbnailLoader(store, parent=self)
        self._selection: list[int] = []
        self._preview: PreviewDialog | None = None
        self._preview_index: int | None = None
        self.export_dialog: ExportDialog | None = None

        self.map_view = MapView(self.thumbnails)
        self.grid = ClusterGrid(self.thumbnails)
        self.grid.set_columns(settings.grid_columns)
        self.filter_bar = FilterBar(self.session)
        self.grid.layout().insertWidget(0, self.filter_bar)
        self.legend = MapLegend(self.session, self.filter_bar, self.map_view)
        self.dendrogram = DendrogramView(self.thumbnails)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.map_view, "Map")
        self.tabs.addTab(self.grid, "Clusters")
        self.tabs.addTab(self.dendrogram, "Dendrogram")
        self.welcome = WelcomePage()
        self.welcome.set_recent(settings.recent_folders)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        self.setCentralWidget(self.stack)

        self.similar = SimilarPanel(self.thumbnails, settings.similar_columns)
        self.similar_dock = SimilarDock("Similar images", self.similar, self)
        self.addDockWidget(Qt.RightDockWidgetArea, self.similar_dock)
        self.failures = FailuresPanel()
        self.failures_dock = self._dock("Problems", self.failures, Qt.BottomDockWidgetArea)
        self.failures_dock.hide()
        # Panels appear when they have something to show: a search result, a skipped file.
        self.resizeDocks([self.similar_dock], [settings.similar_width], Qt.Horizontal)
        self.similar_dock.hide()

        self.progress = ProgressStatus()
        self.message = StatusMessage()
        self.notice = Notice(tone_colour(self.palette(), "warning").name())
        self.statusBar().addWidget(self.notice, 2)
        self.statusBar().addWidget(self.message, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.actions_by_name = build_menu_bar(self)
        self._refresh_recent_menu()
        self._connect()
        # After _connect: on a new library the window clears the grid first, then this fills it.
        self.scan_view = ScanView(self.session, self.map_view, self.grid, self.statusBar())

    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _connect(self) -> None:
        session = self.session
        session.library_changed.connect(self._library_changed)
        session.layout_changed.connect(self._layout_changed)
        session.clusters_changed.connect(self._clusters_changed)
        session.similar_ready.connect(self._show_similar)
        session.working.connect(self.similar.clear_for_scan)
        self.similar.search_requested.connect(session.find_similar_to_file)
        self.similar.results_shown.connect(self.map_view.marks.show_search)
        self.similar.result_chosen.connect(self.map_view.marks.bring_into_view)
        self.similar_dock.visibilityChanged.connect(self.map_view.marks.set_visible)
        self.similar.columns_changed.connect(
            lambda columns: self._save_settings(replace(self.session.settings, similar_columns=columns)))
        self.similar_dock.width_chosen.connect(
            lambda width: self._save_settings(replace(self.session.settings, similar_width=width)))
        session.failures_changed.connect(self._show_failures)
        session.settings_replaced.connect(self._save_settings)
        session.progress.connect(self.progress.update_stage)
        session.message.connect(self.message.setText)
        session.working.connect(self.message.show_working)
        session.job_ended.connect(self.message.job_ended)
        session.job_ended.connect(self.progress.job_ended)
        session.notice.connect(self.notice.show_text)
        self.progress.cancel_requested.connect(session.cancel)
        self.welcome.open_requested.connect(self.choose_folder)
        self.welcome.folder_chosen.connect(lambda folder: self.open_folder(Path(folder)))
        self.welcome.samples_requested.connect(self.samples_requested)
        self.grid.columns_changed.connect(self._columns_changed)
        for view in (self.map_view, self.grid, self.similar):
            view.context_requested.connect(self._image_context_menu)
            view.activated.connect(self.show_preview)
            view.selection_changed.connect(self.set_selection)
        # A running scan's provisional group has no cluster to edit yet.
        self.grid.header_context_requested.connect(
            lambda label, pos: show_menu(cluster_menu(self, label), pos) if session.book is not None else None)
        self.grid.rename_requested.connect(self.rename_cluster)
        self.grid.move_requested.connect(session.move_to_cluster)
        self.grid.cut_requested.connect(session.model.cut_into)
        self.dendrogram.cut_requested.connect(session.model.cut_into)
        self.grid.rating_requested.connect(session.model.set_rating)
        session.annotations_changed.connect(
            lambda changed: self.grid.model.set_annotations(session.model.annotations, changed))
        self.filter_bar.shown_changed.connect(self.grid.set_shown)
        self.filter_bar.shown_changed.connect(self.map_view.fade.set_shown)

    # opening ---------------------------------------------------------------------------
    def open_folder(self, folder: Path) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            self.message.setText(f"Not a folder: {folder}")
            return
        self.setWindowTitle(f"{folder.name} — {APP_TITLE}")
        self.stack.setCurrentWidget(self.tabs)
        self.map_view.clear()
        self.grid.clear()
        self.similar.clear()
        self.dendrogram.clear()
        self._selection = []
        self.session.open_folder(folder)
        self._save_settings(self.session.settings.with_recent(str(folder.resolve())))

    def choose_folder(self) -> None:
        recent = self.session.settings.recent_folders
        start = str(Path(recent[0]).parent) if recent else ""
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of patterns", start)
        if folder:
            self.open_folder(Path(folder))

    def choose_query_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Search with an image", "", IMAGE_FILTER)
        if path:
            self.session.find_similar_to_file(Path(path))

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for folder in self.session.settings.recent_folders:
            self.recent_menu.addAction(folder, lambda f=folder: self.open_folder(Path(f)))
        self.recent_menu.setEnabled(bool(self.session.settings.recent_folders))
        self.welcome.set_recent(self.session.settings.recent_folders)

    def _save_settings(self, settings: Settings) -> None:
        self.session.settings = settings
        self._refresh_recent_menu()
        self.settings_changed.emit(settings)

    # drag and drop: a folder opens, an image file searches ----------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        folders = [p for p in paths if p.is_dir()]
        images = [p for p in paths if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        if folders:
            self.open_folder(folders[0])
        elif images:
            self.session.find_similar_to_file(images[0])
            self.similar_dock.show()
        else:
            self.message.setText("Drop a folder to open it, or an image file to search with it")
            return
        event.acceptProposedAction()

    # session updates -------------------------------------------------------------------
    def _library_changed(self) -> None:
        library = self.session.library
        if library is None:
            return
        # Indices into the previous scan name other images now.
        self._selection = []
        self.grid.clear()
        self.similar.clear()  # the scan view puts the map in the library's order

    def _layout_changed(self, layout) -> None:
        library, book = self.session.library, self.session.book
        if library is None or len(layout) != len(library):
            return
        if self.map_view.point_count() != len(layout):
            labels = book.labels if book is not None else np.full(len(layout), -1)
            self.map_view.set_points(layout, labels, library.paths, library.hashes,
                                     pending_identities(self.palette()) if book is None else book.identities())
        else:
            self.map_view.update_positions(layout)

    def _clusters_changed(self) -> None:
        library, book = self.session.library, self.session.book
        identities = book.identities()
        if self.map_view.point_count() == len(book.labels):
            self.map_view.set_labels(book.labels, identities)
        self.grid.set_data(book, self.session.medoids, library.paths, library.hashes)
        self.grid.set_selection(self._selection)
        self.similar.set_clusters(book.labels, identities)
        model = self.session.model
        self.grid.groups.show_groups(model.group_count(), model.group_range())
        self.dendrogram.set_dendrogram(model.dendrogram, identities, library.paths, library.hashes,
                                       cut=(model.group_count(), model.group_range()))

    def _show_similar(self, result) -> None:
        library, book = self.session.library, self.session.book
        self.similar.show_result(result, library.paths, library.hashes)
        if book is not None:
            self.similar.set_clusters(book.labels, book.identities())
        self.similar_dock.show()
        self.similar_dock.raise_()
        part = "part of " if result.region is not None else ""
        self.message.setText(f"{len(result.matches)} images like {part}{result.query_path.name}")

    def _show_failures(self, failures) -> None:
        self.failures.set_failures(failures, self.session.folder)
        self.progress.set_failures(len(failures))
        self.failures_dock.setWindowTitle(f"Problems ({len(failures)})" if failures else "Problems")
        self.failures_dock.setVisible(bool(failures))

    def _columns_changed(self, columns: int) -> None:
        self._save_settings(replace(self.session.settings, grid_columns=columns))

    # selection and actions -------------------------------------------------------------
    def set_selection(self, indices: list[int]) -> None:
        self._selection = list(indices)
        for view in (self.map_view, self.grid):
            if view.selection() != self._selection:
                view.set_selection(self._selection)

    def selection(self) -> list[int]:
        return list(self._selection)

    def _image_context_menu(self, index: int, position) -> None:
        if self.session.library is not None:
            show_menu(image_menu(self, index, self._selection), position)

    def find_similar_to_selection(self) -> None:
        if self._selection:
            self.session.find_similar(self._selection[0])
        else:
            self.message.setText("Select an image first, then Find Similar")

    def new_cluster_from_selection(self) -> None:
        if self._selection:
            self.session.new_cluster(self._selection)

    def rename_cluster(self, label: int) -> None:
        book = self.session.book
        if book is None:
            return
        name, ok = QInputDialog.getText(self, "Rename cluster", "Name (also the export folder's name):",
                                        text=book.name(label))
        if ok:
            self.session.rename(label, name)

    def preview_selection(self) -> None:
        if self._preview is not None and self._preview.isVisible():
            self._preview.close()
        elif self._selection:
            self.show_preview(self._selection[0])

    def show_preview(self, index: int) -> None:
        library = self.session.library
        if library is None or not 0 <= index < len(library):
            return
        if self._preview is None:
            self._preview = PreviewDialog(self)
            self._preview.step.connect(lambda delta: self.show_preview((self._preview_index + delta) % len(library)))
        self._preview_index = index
        book = self.session.book
        info = book.identity(int(book.labels[index])).full_name if book is not None else ""
        self._preview.show_image(library.paths[index], library.paths[index].name, info, self._file_limit())

    def reveal(self, index: int) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.session.library.paths[index].parent)))

    def _file_limit(self) -> int:
        """The "Largest image file" setting in bytes, for every job that reads image files."""
        return self.session.settings.max_file_mb * MB

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.session.settings, self)
        if dialog.exec():
            new = dialog.settings()
            self.session.apply_settings(new)
            self._save_settings(new)

    def closeEvent(self, event) -> None:
        self.session.shutdown()
        self.thumbnails.shutdown()
        # Every dialog is the window's child: closing each cancels its worker.
        for dialog in self.findChildren(QDialog):
            dialog.close()
        super().closeEvent(event)
