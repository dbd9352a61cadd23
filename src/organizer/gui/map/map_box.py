"""The map's view box, which routes the mouse: selecting to the map, panning and zooming to pyqtgraph."""

from __future__ import annotations

from typing import Callable

import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent, MouseDragEvent
from PySide6.QtCore import Qt

_MODS = Qt.KeyboardModifier


class MapBox(pg.ViewBox):
    """Hands clicks and Shift/Ctrl-drags to the map; plain drags and the wheel still pan and zoom.

    A Shift-drag selects a rectangle and a Ctrl-drag a lasso: ``on_select_drag`` gets every
    step of the drag with "rect" or "lasso".
    """

    def __init__(self, on_click: Callable[[MouseClickEvent], None],
                 on_select_drag: Callable[[MouseDragEvent, str], None]) -> None:
        super().__init__(lockAspect=True, enableMenu=False)
        self._on_click = on_click
        self._on_select_drag = on_select_drag
        self._select_mode = ""

    def mouseClickEvent(self, ev: MouseClickEvent) -> None:
        ev.accept()  # accepting right clicks too keeps pyqtgraph's scene menu away
        self._on_click(ev)

    def mouseDragEvent(self, ev: MouseDragEvent, axis: int | None = None) -> None:
        if ev.isStart():
            left = ev.button() == Qt.MouseButton.LeftButton
            mods = ev.modifiers()
            self._select_mode = ("rect" if left and mods & _MODS.ShiftModifier
                                 else "lasso" if left and mods & _MODS.ControlModifier else "")
        if self._select_mode:
            ev.accept()
            self._on_select_drag(ev, self._select_mode)
        elif ev.button() == Qt.MouseButton.RightButton:
            ev.ignore()  # pyqtgraph would zoom on a right-drag, which nobody expects here
        else:
            super().mouseDragEvent(ev, axis)
