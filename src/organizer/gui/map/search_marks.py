"""A find-similar's query and results marked on the map while the similar panel shows them.

Each result gets a ring in the highlight colour and its rank beside it; a query from the folder
gets a star. The marks follow the layout as it moves, and go when the panel clears or closes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette

from ..palette import ink_on

RING_PX = 17
STAR_PX = 24
#: Ranks are written beside this many best results; more would bury a tight cluster in numbers.
RANKED = 5
#: Over the dots, the selection ring (5) and the thumbnails (10 and up) that a zoom shows.
Z = 12


class SearchMarks:
    """The rings, ranks and star of one search on ``box``; ``place`` is given the map's points each time they move."""

    def __init__(self, box: pg.ViewBox) -> None:
        self._box = box
        self._xy = np.zeros((0, 2))
        self.query: int | None = None
        self.results: list[int] = []
        self._visible = True
        self._rings = pg.ScatterPlotItem(pxMode=True, size=RING_PX, symbol="o", brush=None)
        self._star = pg.ScatterPlotItem(pxMode=True, size=STAR_PX, symbol="star")
        self._ranks: list[pg.TextItem] = []
        for item in (self._rings, self._star):
            item.setZValue(Z)
            item.setEnabled(False)  # clicks go to the map's own hit-testing
            box.addItem(item, ignoreBounds=True)

    def show_search(self, query: int | None, results: list[int]) -> None:
        """Mark ``results`` (images of the folder, best first) and ``query`` (None when from outside)."""
        self.query, self.results = query, list(results)
        self._draw()

    def set_visible(self, visible: bool) -> None:
        """Shown only while the similar panel is."""
        self._visible = bool(visible)
        self._draw()

    def shown(self) -> tuple[int | None, list[int]]:
        """The query and results marked now: (None, []) when nothing is."""
        if not self._visible:
            return None, []
        valid = [i for i in self.results if 0 <= i < len(self._xy)]
        query = self.query if self.query is not None and 0 <= self.query < len(self._xy) else None
        return query, valid

    def place(self, xy: np.ndarray) -> None:
        """The map's points moved (or are another folder's): the marks follow them."""
        self._xy = xy
        self._draw()

    def bring_into_view(self, index: int) -> None:
        """Centre the map on ``index`` if it is off screen or near an edge; the zoom stays."""
        if not 0 <= index < len(self._xy):
            return
        view = self._box.viewRect()
        x, y = self._xy[index]
        inner = view.adjusted(view.width() * 0.1, view.height() * 0.1, -view.width() * 0.1, -view.height() * 0.1)
        if not inner.contains(x, y):
            self._box.setRange(xRange=(x - view.width() / 2, x + view.width() / 2),
                               yRange=(y - view.height() / 2, y + view.height() / 2), padding=0)

    def _draw(self) -> None:
        query, results = self.shown()
        palette = QGuiApplication.palette()
        highlight, base = palette.color(QPalette.ColorRole.Highlight), palette.color(QPalette.ColorRole.Base)
        points = self._xy[results] if results else np.zeros((0, 2))
        self._rings.setPen(pg.mkPen(highlight, width=2.5))
        self._rings.setData(x=points[:, 0], y=points[:, 1])
        star = self._xy[[query]] if query is not None else np.zeros((0, 2))
        self._star.setPen(pg.mkPen(base, width=1.5))
        self._star.setBrush(highlight)
        self._star.setData(x=star[:, 0], y=star[:, 1])
        self._place_ranks(points[:RANKED], highlight)

    def _place_ranks(self, points: np.ndarray, colour: QColor) -> None:
        while len(self._ranks) < len(points):
            # Up and to the right of the ring, on a tab of its colour: readable over dots and thumbnails.
            text = pg.TextItem(anchor=(-0.45, 1.3))
            font = QFont()
            font.setBold(True)
            font.setPointSizeF(font.pointSizeF() * 0.85)  # a tab, not a label: it should cover few dots
            text.setFont(font)
            text.setZValue(Z + 1)
            self._box.addItem(text, ignoreBounds=True)
            self._ranks.append(text)
        ink = ink_on(colour)
        for rank, text in enumerate(self._ranks, start=1):
            if rank > len(points):
                text.hide()
                continue
            text.fill = pg.mkBrush(colour)
            text.setText(str(rank), color=ink)
            text.setPos(*points[rank - 1])
            text.show()
