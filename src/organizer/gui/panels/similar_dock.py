"""The dock the similar panel lives in: resizable, and it says which width the user left it at."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QDockWidget, QWidget

#: A drag of the dock's edge resizes it many times a second; the width is reported once it rests.
SETTLE_MS = 400


class SimilarDock(QDockWidget):
    """A dock whose ``width_chosen`` tells its width once a resize has settled, for the settings."""

    width_chosen = Signal(int)

    def __init__(self, title: str, panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setObjectName(title)
        self.setWidget(panel)
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(lambda: self.width_chosen.emit(self.width()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # A hidden or floating dock's size is no choice of width beside the map.
        if self.isVisible() and not self.isFloating():
            self._settle.start()
