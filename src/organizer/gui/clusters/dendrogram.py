"""The agglomerative clustering tree, drawn sideways so every leaf's label stays readable.

Leaves run down the left edge (a horizontal axis would overlap sixty "(123)" labels) and
merge heights grow to the right. Links are drawn with one line item per cluster colour,
not one per link, so a redraw costs a handful of items whatever the tree's size.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from ...analysis.dendrogram import MIXED, Dendrogram
from ..palette import cluster_colour, tone_colour

MESSAGE = "The dendrogram appears for agglomerative clustering"
#: A link's polyline p0-p1-p2-p3 as three separate lines, for connect="pairs".
_PAIRS = [0, 1, 1, 2, 2, 3]


class DendrogramView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._dendrogram: Dendrogram | None = None
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.getViewBox().invertY(True)  # first leaf at the top, like a list
        item.getViewBox().setMouseEnabled(x=True, y=True)
        item.setLabel("bottom", "Merge distance")
        item.getAxis("left").setStyle(tickLength=0)
        self.message = QLabel(MESSAGE)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.message)
        self._stack.addWidget(self.plot)
        self._apply_palette()
        self.set_dendrogram(None)

    def set_dendrogram(self, d: Dendrogram | None) -> None:
        self._dendrogram = d
        self.plot.clear()
        if d is None or not d.segment_count:
            self._stack.setCurrentWidget(self.message)
            return
        self._stack.setCurrentWidget(self.plot)
        item = self.plot.getPlotItem()
        neutral = tone_colour(self.palette(), "muted")
        for label in np.unique(d.colours):
            rows = d.colours == label
            colour = neutral if label == MIXED else cluster_colour(int(label))
            # Uncoloured links above the cut are drawn thinner so the clusters stand out.
            width = 1.4 if label == MIXED else 2.0
            item.addItem(pg.PlotDataItem(d.dcoord[rows][:, _PAIRS].ravel(), d.icoord[rows][:, _PAIRS].ravel(),
                                         connect="pairs", pen=pg.mkPen(colour, width=width), antialias=True))
        brushes = [pg.mkBrush(neutral if c == MIXED else cluster_colour(int(c))) for c in d.leaf_colours]
        item.addItem(pg.ScatterPlotItem(np.zeros(len(d.leaf_positions)), d.leaf_positions, size=8,
                                        brush=brushes, pen=pg.mkPen(self.palette().color(QPalette.ColorRole.Base))))
        item.getAxis("left").setTicks([list(zip(d.leaf_positions.tolist(), d.leaf_text))])
        spacing = d.leaf_positions[1] - d.leaf_positions[0] if len(d.leaf_positions) > 1 else 10.0
        item.getViewBox().setRange(xRange=(-0.02 * d.height, d.height * 1.03 or 1.0),
                                   yRange=(d.leaf_positions[0] - spacing / 2, d.leaf_positions[-1] + spacing / 2),
                                   padding=0.02)

    def dendrogram(self) -> Dendrogram | None:
        return self._dendrogram

    def clear(self) -> None:
        self.set_dendrogram(None)

    def changeEvent(self, event: QEvent) -> None:
        # Follow a switch between light and dark themes while the app runs.
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
            self.set_dendrogram(self._dendrogram)
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        palette = self.palette()
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        text, muted = palette.color(QPalette.ColorRole.Text), tone_colour(palette, "muted")
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(muted))
            axis.setTextPen(pg.mkPen(text))
        self.message.setStyleSheet(f"color: {muted.name()}; font-size: 13pt;")
