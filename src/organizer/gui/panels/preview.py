"""A large view of one image: Space or a double-click opens it, arrows step, Escape closes.

The image is decoded with :class:`QImageReader` at the size the screen can show, not at its
own: a 20,000-pixel scan then costs a screenful of memory, and JPEG decodes it faster
still (it scales while decoding). EXIF orientation is applied, as in the thumbnails.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFile, QFileDevice, QIODevice, QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QImageIOHandler, QImageReader, QKeyEvent, QPixmap
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from ...io.files import MAX_FILE_BYTES, ImageError, open_regular

#: The share of the screen a preview may fill; the rest stays for the window frame and text.
SCREEN_SHARE = 0.85
BACKDROP = "#1e1e1e"
PADDING = 24  # around the image, inside the dark surround


def _file_size(size: int) -> str:
    if size >= 100_000:
        return f"{size / 1e6:.1f} MB"
    return f"{size / 1e3:.0f} kB" if size >= 1000 else f"{size} bytes"


class PreviewDialog(QDialog):
    step = Signal(int)  # -1: show the previous image, +1: the next

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preview")
        self._image = QImage()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        # Plain text throughout: a file named "<b>.png" is a name, not markup.
        self.image_label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, textFormat=Qt.TextFormat.PlainText)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image_label.setMinimumSize(320, 240)
        self.image_label.setWordWrap(True)
        # A dark surround lets every image, light or dark, keep its own edges.
        self.image_label.setStyleSheet(f"background: {BACKDROP}; color: #e8e8e8; padding: {PADDING}px;")
        layout.addWidget(self.image_label, 1)

        self.bar = QWidget()
        bar = QHBoxLayout(self.bar)
        bar.setContentsMargins(10, 6, 10, 8)
        self.previous_button = self._step_button("‹", "Previous image (Left arrow)", -1)
        bar.addWidget(self.previous_button)
        text = QVBoxLayout()
        self.title_label = QLabel(textFormat=Qt.TextFormat.PlainText)
        self.title_label.setStyleSheet("font-weight: 600;")
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info_label = QLabel(textFormat=Qt.TextFormat.PlainText)
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.addWidget(self.title_label)
        text.addWidget(self.info_label)
        bar.addLayout(text, 1)
        self.next_button = self._step_button("›", "Next image (Right arrow)", 1)
        bar.addWidget(self.next_button)
        layout.addWidget(self.bar)

    def _step_button(self, text: str, tip: str, delta: int) -> QToolButton:
        button = QToolButton(text=text, toolTip=tip, autoRaise=True)
        button.setStyleSheet("font-size: 20px; padding: 0 8px;")
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and the arrows belong to the dialog
        button.clicked.connect(lambda: self.step.emit(delta))
        return button

    def _fit(self) -> QSize:
        screen = self.screen() or QGuiApplication.primaryScreen()
        available = screen.availableGeometry().size() if screen else QSize(1600, 1000)
        return QSize(int(available.width() * SCREEN_SHARE) - 2 * PADDING,
                     int(available.height() * SCREEN_SHARE) - 2 * PADDING - self.bar.sizeHint().height())

    def show_image(self, path: Path, title: str, info: str, max_file_bytes: int = MAX_FILE_BYTES) -> None:
        """Show ``path`` (or why it cannot be shown: a file over ``max_file_bytes`` is not read), then bring
        the dialog up."""
        path = Path(path)
        self._image, shown, reason = self._read(path, max_file_bytes)
        self.setWindowTitle(title)
        self.title_label.setText(title)
        details = []
        if self._image.isNull():
            self.image_label.setPixmap(QPixmap())
            self.image_label.setText(f"This image cannot be shown.\n\n{path.name}: {reason}")
        else:
            if shown.isValid():
                details.append(f"{shown.width()} × {shown.height()} px")
            self._show_scaled()
        try:
            details.append(_file_size(path.stat().st_size))
        except OSError:
            details.append("file not found")
        if info:
            details.append(info)
        self.info_label.setText("  ·  ".join(details))
        if not self.isVisible():
            self.resize(self._initial_size())
            self.show()
        self.raise_()
        self.activateWindow()

    def _read(self, path: Path, max_file_bytes: int) -> tuple[QImage, QSize, str]:
        """The image fitted to the screen, its upright size in the file, and why it failed ("" when it did not)."""
        try:
            handle = open_regular(path, max_file_bytes)
        except ImageError as exc:
            return QImage(), QSize(), exc.reason
        with handle:
            # The reader gets the descriptor the guard checked: given the name, QFile would open
            # the file again, and wait for ever on a named pipe put there since.
            device = QFile()
            device.open(handle.fileno(), QIODevice.OpenModeFlag.ReadOnly, QFileDevice.FileHandleFlag.DontCloseHandle)
            reader = QImageReader(device)
            reader.setAutoTransform(True)
            stored = reader.size()  # from the header alone; invalid when the format cannot tell
            turned = bool(reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90)
            fit = self._fit()
            if stored.isValid():
                if turned:  # the reader scales before it rotates
                    fit = fit.transposed()
                if stored.width() > fit.width() or stored.height() > fit.height():
                    reader.setScaledSize(stored.scaled(fit, Qt.AspectRatioMode.KeepAspectRatio))
            image = reader.read()
            reason = "" if not image.isNull() else reader.errorString() or "unknown error"
            device.close()
        return image, stored.transposed() if turned else stored, reason

    def has_image(self) -> bool:
        return not self._image.isNull()

    def _initial_size(self) -> QSize:
        if self._image.isNull():
            return QSize(640, 480)
        image = self._image.size().expandedTo(QSize(480, 320)).boundedTo(self._fit())
        return image + QSize(2 * PADDING, 2 * PADDING + self.bar.sizeHint().height())

    def _show_scaled(self) -> None:
        if self._image.isNull():
            return
        target = self.image_label.contentsRect().size()
        pixmap = QPixmap.fromImage(self._image)
        if pixmap.width() > target.width() or pixmap.height() > target.height():
            pixmap = pixmap.scaled(target, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
        self.image_label.setText("")
        self.image_label.setPixmap(pixmap)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._show_scaled()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.step.emit(-1 if key == Qt.Key.Key_Left else 1)
        elif key in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            self.close()
        else:
            super().keyPressEvent(event)
