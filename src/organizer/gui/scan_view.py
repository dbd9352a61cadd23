"""A scan shown as it runs: its images in the grid and on the map before the library exists, and Resume.

The session reports the images a scan has made ready and partial maps of them; this shows
them in a provisional "Scanning…" group, uncoloured, until the clusters come: the map's
points in one neutral tone, even where an earlier map of the same images had colours. After
a cancel they stay on view, and the Resume button (in the status bar) goes on with the scan.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton, QStatusBar

from ..analysis.edits import NOISE, ClusterBook
from .clusters.cluster_grid import ClusterGrid
from .map.map_overlays import pending_identities
from .map.map_view import MapView
from .session import FolderSession

SCANNING = "Scanning…"


def provisional(count: int) -> ClusterBook:
    """One group of ``count`` images, before there are clusters: uncoloured, named for the scan."""
    return ClusterBook(np.full(count, NOISE), {NOISE: SCANNING})


class ScanView(QObject):
    """Shows the session's running scan in ``map_view`` and ``grid``; owns the status bar's Resume button."""

    def __init__(self, session: FolderSession, map_view: MapView, grid: ClusterGrid, status_bar: QStatusBar):
        super().__init__(session)
        self._session, self._map, self._grid = session, map_view, grid
        # The partial map on view, if it is one: its images and their places.
        self._mapped: list[str] = []
        self._partial: dict[Path, np.ndarray] = {}
        self.resume_button = QPushButton("Resume scan")
        self.resume_button.setToolTip("Go on with the scan: the images embedded so far come from the cache")
        self.resume_button.hide()
        status_bar.addPermanentWidget(self.resume_button)
        self.resume_button.clicked.connect(session.resume)
        session.resumable.connect(self.resume_button.setVisible)
        session.scan_grew.connect(self._grew)
        session.scan_layout.connect(self._laid_out)
        session.library_changed.connect(self._scanned)

    def _grew(self, paths: list[Path], hashes: list[str]) -> None:
        self._grid.set_data(provisional(len(paths)), {}, paths, hashes)
        self._grid.summary.setText(f"{SCANNING} {len(paths):,} image{'s' * (len(paths) != 1)} so far")

    def _laid_out(self, layout: np.ndarray, paths: list[Path], hashes: list[str]) -> None:
        # A partial map of the same images moves its points; one of other images (more of them, or the
        # coloured map a rescan started from) replaces them.
        if self._mapped == hashes and self._map.point_count() == len(layout):
            self._map.update_positions(layout)
        else:
            self._map.set_points(layout, np.full(len(layout), NOISE), paths, hashes,
                                 pending_identities(self._map.palette()))
            self._mapped = list(hashes)
        self._partial = dict(zip(paths, np.asarray(layout, dtype=float)))

    def _scanned(self) -> None:
        """The scan's library: every image in the grid while its clusters are computed, and on the map where
        the partial map placed it, until the final layout's first step replaces it (seconds under load)."""
        library = self._session.library
        if library is not None:
            if self._mapped:
                self._map.set_points(self._reindexed(library.paths), np.full(len(library), NOISE), library.paths,
                                     library.hashes, pending_identities(self._map.palette()))
            else:
                self._map.clear()
            if self._session.book is None:
                self._grid.set_data(provisional(len(library)), {}, library.paths, library.hashes)
        self._mapped, self._partial = [], {}

    def _reindexed(self, paths: list[Path]) -> np.ndarray:
        """The partial map's points in the order of ``paths``, the library's; NaN (hidden) for an image it lacks."""
        missing = np.full(2, np.nan)
        return np.array([self._partial.get(path, missing) for path in paths]).reshape(-1, 2)
