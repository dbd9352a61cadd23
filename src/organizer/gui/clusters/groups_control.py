"""How many groups: a spin box and a slider on the cluster grid's header row that re-cut the tree.

A change asks for a cut (``cut_requested``); the owner makes it an edit of the folder model,
and the control shows the model's count afterwards (:meth:`GroupsControl.show_groups`), so
undo moves it back. The spin box takes typed numbers on Enter, not per keystroke (typing 12
would cut into 1 group first), and gives the keyboard back to the grid then; the slider cuts
where it is let go, so one drag is one edit, and, like the column slider, never takes focus.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

NO_CLUSTERS = "No clusters yet"
NO_TREE = ("These clusters have no tree to cut: choose the Automatic or Agglomerative method in the "
           "settings to set how many groups")
TIP = "How many groups: the clustering's tree re-cut at once; Ctrl+Z goes back"


class GroupsControl(QWidget):
    """The number of groups, disabled with a reason when there is no tree to cut."""

    cut_requested = Signal(int)
    #: Enter was pressed in the spin box: the keyboard goes back to the grid.
    done = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel("Groups")
        self.spin = QSpinBox()
        self.spin.setKeyboardTracking(False)
        self.spin.setAccelerated(True)
        self.spin.setAccessibleName("Number of groups")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFixedWidth(120)
        self.slider.setTracking(False)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Hidden while the control is off, where its knob would mean nothing; its room stays, so nothing shifts.
        policy = self.slider.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.slider.setSizePolicy(policy)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.slider, self.spin):
            layout.addWidget(widget)
        self.spin.valueChanged.connect(self._spun)
        self.slider.valueChanged.connect(self._slid)
        # While dragging, the spin box shows the number the slider would cut into.
        self.slider.sliderMoved.connect(self._preview)
        self.spin.lineEdit().returnPressed.connect(self.done)
        self.show_groups(0, None, NO_CLUSTERS)

    def value(self) -> int:
        return self.spin.value()

    def show_groups(self, count: int, allowed: tuple[int, int] | None, why: str = NO_TREE) -> None:
        """Show ``count`` groups of the ``allowed`` range, or, with None, ``why`` the control is off."""
        self.setEnabled(allowed is not None)
        self.slider.setVisible(allowed is not None)
        low, high = allowed if allowed is not None else (0, max(count, 0))
        high = max(high, count)
        with QSignalBlocker(self.spin), QSignalBlocker(self.slider):
            for widget in (self.spin, self.slider):
                widget.setRange(low, high)
                widget.setValue(count)
        self.setToolTip(TIP if allowed is not None else why)

    def _spun(self, value: int) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(value)
        self.cut_requested.emit(value)

    def _slid(self, value: int) -> None:
        with QSignalBlocker(self.spin):
            self.spin.setValue(value)
        self.cut_requested.emit(value)

    def _preview(self, value: int) -> None:
        with QSignalBlocker(self.spin):
            self.spin.setValue(value)
