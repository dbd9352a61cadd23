"""The export dialog's form pieces: rows, buttons, explained radio choices, and the filter's subset option.

Kept apart from :mod:`.export_dialog`, which holds the work (plan, export, undo), so each
stays a readable size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QRadioButton,
                               QStyle, QVBoxLayout, QWidget)

from ..palette import tone_colour


def row(parent: QVBoxLayout | QWidget, *items: QWidget | tuple[QWidget | None, int]) -> QHBoxLayout:
    """A row of widgets added to ``parent``; ``(widget, stretch)`` stretches, ``(None, n)`` is a spacer."""
    line = QHBoxLayout(parent) if isinstance(parent, QWidget) else QHBoxLayout()
    for item in items:
        widget, stretch = item if isinstance(item, tuple) else (item, 0)
        if widget is None:
            line.addStretch(stretch)
        else:
            line.addWidget(widget, stretch)
    if not isinstance(parent, QWidget):
        parent.addLayout(line)
    return line


def button(text: str, slot: Callable[[], None], **properties) -> QPushButton:
    widget = QPushButton(text, **properties)
    widget.clicked.connect(slot)
    return widget


def indent(widget: QWidget) -> int:
    """Where a radio button's text starts, so notes line up under it."""
    return widget.style().pixelMetric(QStyle.PixelMetric.PM_ExclusiveIndicatorWidth) + 8


def choices(owner: QWidget, title: str, options, changed: Callable[[], None]) -> tuple[QButtonGroup, QGroupBox]:
    """Radio buttons, each with its one-line explanation beneath it in a muted colour; the first is chosen."""
    box = QGroupBox(title)
    column = QVBoxLayout(box)
    column.setSpacing(2)
    group = QButtonGroup(box)
    muted = tone_colour(owner.palette(), "muted").name()
    for number, (key, label, explanation) in enumerate(options):
        radio = QRadioButton(label)
        radio.setProperty("key", key)
        group.addButton(radio, number)
        note = QLabel(explanation, wordWrap=True)
        note.setStyleSheet(f"color: {muted};")
        note.setContentsMargins(indent(owner), 0, 0, 6)
        column.addWidget(radio)
        column.addWidget(note)
    column.addStretch(1)
    group.button(0).setChecked(True)
    group.idToggled.connect(lambda _id, on: on and changed())
    return group, box


class SubsetOption(QCheckBox):
    """"Only the N images the filter shows": the filter bar's matches, or disabled when no filter is on.

    Checked from the start while a filter is on, since the export then takes what the window shows.
    """

    def __init__(self, shown: np.ndarray | None, description: str, total: int) -> None:
        self._shown = None if shown is None else np.asarray(shown, dtype=np.int64)
        count = "" if self._shown is None else f"{len(self._shown):,} "
        super().__init__(f"Only the {count}image{'s' * (count != '1 ')} the filter shows")
        self._total = total
        self.allow(True)
        self.setChecked(self._shown is not None)
        self.setToolTip(f"The filter: {description}" if self._shown is not None
                        else "No filter is on: the export takes every image. Filter the grid first to export "
                             "only some.")

    def allow(self, allowed: bool) -> None:
        """Enabled when ``allowed`` (no export running) and a filter is on."""
        self.setEnabled(allowed and self._shown is not None)

    def subset(self) -> list[int] | None:
        """The images to export (indices into the library), or None for all of them."""
        return self._shown.tolist() if self._shown is not None and self.isChecked() else None

    def count(self) -> int:
        """How many images the export takes, as the options stand."""
        subset = self.subset()
        return self._total if subset is None else len(subset)
