"""The search and filter bar above the grid: name or tag text, minimum rating, colour label, cluster.

It asks the Qt-free :func:`~organizer.folder.filter_indices` which images match, again
whenever the filter, the annotations or the clusters change, and says so as a mask: the
grid hides the others and the map dims them.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from ...folder import LibraryFilter, filter_indices
from ...storage.annotations import LABELS, MAX_RATING
from ..clusters.annotation_badges import LABEL_COLOURS, STAR
from ..palette import colour_icon
from ..session import FolderSession


class FilterBar(QWidget):
    """Filter controls; :attr:`shown_changed` carries the mask of matching images, or None when all match."""

    shown_changed = Signal(object)

    def __init__(self, session: FolderSession, parent: QWidget | None = None):
        super().__init__(parent)
        self._session = session
        self._announced_all = False  # None was the last announcement: a repeat would reset the grid for nothing
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search names and tags")
        self.search.setClearButtonEnabled(True)
        self.rating = QComboBox()
        self.rating.addItem("Any rating", 0)
        for stars in range(1, MAX_RATING + 1):
            self.rating.addItem(f"{STAR * stars} or more", stars)
        self.label = QComboBox()
        self.label.addItem("Any label", "")
        for name in LABELS[1:]:
            self.label.addItem(colour_icon(LABEL_COLOURS[name]), name.capitalize(), name)
        self.cluster = QComboBox()
        self.cluster.setMinimumContentsLength(14)
        self.clear_button = QToolButton(text="Clear filter")
        self.clear_button.setAutoRaise(True)
        self.count = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 0)
        layout.addWidget(self.search, 2)
        for widget in (self.rating, self.label, self.cluster, self.clear_button, self.count):
            layout.addWidget(widget)
        self._fill_clusters()

        self.search.textChanged.connect(self.refresh)
        for combo in (self.rating, self.label, self.cluster):
            combo.currentIndexChanged.connect(self.refresh)
        self.clear_button.clicked.connect(self.clear)
        session.clusters_changed.connect(self._fill_clusters)
        session.annotations_changed.connect(self.refresh)
        session.library_changed.connect(self.refresh)

    def spec(self) -> LibraryFilter:
        return LibraryFilter(text=self.search.text(), min_rating=self.rating.currentData(),
                             label=self.label.currentData(), cluster=self.cluster.currentData())

    def clear(self) -> None:
        self.search.clear()
        for combo in (self.rating, self.label, self.cluster):
            combo.setCurrentIndex(0)

    def matching(self) -> np.ndarray | None:
        """The indices of the images the filter shows, ascending; None while it shows them all."""
        library, spec = self._session.library, self.spec()
        if library is None or not spec.active or len(self._session.model.annotations) != len(library):
            return None
        book = self._session.book
        return filter_indices(spec, library.paths, self._session.model.annotations,
                              book.labels if book is not None else None)

    def description(self) -> str:
        """The filter in words, as its controls say it: '"stripe" in names or tags, ★★★ or more, Red'."""
        text = self.search.text().strip()
        parts = [f"“{text}” in names or tags"] if text else []
        parts += [combo.currentText() for combo in (self.rating, self.label, self.cluster) if combo.currentIndex() > 0]
        return ", ".join(parts)

    def refresh(self, *_) -> None:
        """Match again and announce the mask."""
        matches = self.matching()
        self.clear_button.setEnabled(self.spec().active)
        if matches is None:
            self.count.clear()
            if not self._announced_all:
                self._announced_all = True
                self.shown_changed.emit(None)
            return
        shown = np.zeros(len(self._session.library), dtype=bool)
        shown[matches] = True
        self.count.setText(f"{len(matches):,} match{'es' * (len(matches) != 1)}")
        self._announced_all = False
        self.shown_changed.emit(shown)

    def _fill_clusters(self) -> None:
        """The cluster choices, by the book's names; the chosen one stays chosen while it exists."""
        chosen, book = self.cluster.currentData(), self._session.book
        self.cluster.blockSignals(True)
        self.cluster.clear()
        self.cluster.addItem("All clusters", None)
        for label in book.clusters() if book is not None else []:
            self.cluster.addItem(book.name(label), label)
        self.cluster.setCurrentIndex(max(0, self.cluster.findData(chosen)) if chosen is not None else 0)
        self.cluster.blockSignals(False)
        self.refresh()
