"""The empty window: what to do first, and the folders opened lately."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


#: Flat buttons read as plain labels; these look and point like the links they are. Hover
#: and keyboard focus underline them.
LINK_STYLE = ("QPushButton { border: none; background: transparent; color: palette(link); padding: 2px 4px; }"
              "QPushButton:hover, QPushButton:focus { text-decoration: underline; }")


def link_button(text: str) -> QPushButton:
    """A button drawn as a link: the palette's link colour, underlined under the pointer, a pointing hand."""
    button = QPushButton(text)
    button.setFlat(True)
    button.setStyleSheet(LINK_STYLE)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


class WelcomePage(QWidget):
    open_requested = Signal()
    folder_chosen = Signal(str)
    samples_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setAlignment(Qt.AlignCenter)
        title = QLabel("Drop a folder of patterns here")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignCenter)
        hint = QLabel("Pattern Organizer maps every image by colour, texture and geometry,\n"
                      "groups similar ones, and exports a sorted copy. Your originals are never changed.")
        hint.setAlignment(Qt.AlignCenter)
        hint.setEnabled(False)
        open_button = QPushButton("Open folder…")
        open_button.setDefault(True)
        open_button.clicked.connect(self.open_requested)
        samples = link_button("Try the sample patterns")
        samples.clicked.connect(self.samples_requested)
        for widget in (title, hint):
            self._layout.addWidget(widget)
        self._layout.addSpacing(16)
        self._layout.addWidget(open_button, 0, Qt.AlignCenter)
        self._layout.addWidget(samples, 0, Qt.AlignCenter)
        self._recent_title = QLabel("Recent folders")
        self._recent_title.setAlignment(Qt.AlignCenter)
        self._layout.addSpacing(16)
        self._layout.addWidget(self._recent_title)
        self._recent_buttons: list[QPushButton] = []

    def set_recent(self, folders: tuple[str, ...]) -> None:
        for button in self._recent_buttons:
            button.deleteLater()
        self._recent_buttons = []
        for folder in folders[:6]:
            button = link_button(f"{Path(folder).name}  —  {folder}")
            button.clicked.connect(lambda _=False, f=folder: self.folder_chosen.emit(f))
            self._layout.addWidget(button, 0, Qt.AlignCenter)
            self._recent_buttons.append(button)
        self._recent_title.setVisible(bool(folders))
