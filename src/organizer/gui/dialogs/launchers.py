"""The window's tool dialogs (align, compare, levels, export, about), opened without blocking it.

A mixin of :class:`~organizer.gui.main_window.MainWindow`, kept apart so the window's module
stays the assembly of its parts: each opener checks the folder is ready, builds its dialog
over the session's runner and opens it window-modal.
"""

from __future__ import annotations

import platform
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from ... import __version__
from ...io.images import IMAGE_SUFFIXES
from .align_dialog import AlignDialog
from .compare_dialog import CompareDialog
from .export_dialog import ExportDialog
from .levels_dialog import LevelsDialog

IMAGE_FILTER = f"Images ({' '.join(f'*{suffix}' for suffix in sorted(IMAGE_SUFFIXES))})"


class ToolLaunchers:
    """Opens the tool dialogs for a window with ``session``, ``message``, ``filter_bar``, ``_selection`` and
    ``_file_limit``."""

    export_dialog: ExportDialog | None = None

    def open_align(self) -> None:
        """Align the selected images, or the whole folder if the user chooses it there, in a non-blocking dialog."""
        library = self.session.library
        if library is None or len(library) < 2:
            self.message.setText("Open a folder with at least two images first")
            return
        selected = [library.paths[i] for i in self._selection]
        self._open_tool(AlignDialog(self.session.runner, selected, list(library.paths), parent=self,
                                    max_file_bytes=self._file_limit()))

    def open_compare(self, first: int | None = None, second: int | None = None) -> None:
        """Compare two images by the classic indices: the given pair, the two selected, or the
        one selected and a file the user picks."""
        library = self.session.library
        if first is None and len(self._selection) == 2:
            first, second = self._selection
        elif first is None and len(self._selection) == 1:
            first = self._selection[0]
        if library is None or first is None:
            self.message.setText("Select two images to compare (Ctrl+click the second)")
            return
        if second is None:
            chosen, _ = QFileDialog.getOpenFileName(self, f"Compare {library.paths[first].name} With",
                                                    str(library.folder), IMAGE_FILTER)
            if not chosen:
                return
            other = Path(chosen)
        else:
            other = library.paths[second]
        dialog = CompareDialog(self.session.runner, library.paths[first], other, parent=self,
                               max_file_bytes=self._file_limit())
        self._open_tool(dialog)
        dialog.start()

    def open_levels(self) -> None:
        """The equalization report for the open folder: each image's levels before and after."""
        library = self.session.library
        if library is None or not len(library):
            self.message.setText("Open a folder first")
            return
        dialog = LevelsDialog(self.session.runner, library.folder, parent=self, max_file_bytes=self._file_limit())
        self._open_tool(dialog)
        dialog.start()

    def _open_tool(self, dialog: QDialog) -> None:
        # Window-modal and non-blocking: its work runs in a worker while the map stays live,
        # and is cancelled when the dialog closes.
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()

    def open_export(self) -> None:
        session = self.session
        if session.library is None or not len(session.library):
            self.message.setText("Open a folder first")
            return
        if self.export_dialog is not None:
            self.export_dialog.close()
        dialog = ExportDialog(session.runner, session.model.export_source(), parent=self,
                              max_file_bytes=self._file_limit(), shown=self.filter_bar.matching(),
                              filter_description=self.filter_bar.description())
        self.export_dialog = dialog
        # The old dialog is destroyed later, after the new one took its place: it forgets only itself.
        dialog.destroyed.connect(lambda: self._forget_export_dialog(dialog))
        # A move export or its undo changed the folder: scan it again, so paths, clusters and
        # edits (which follow the files by path and hash) describe the files as they are now.
        dialog.library_files_changed.connect(session.rescan)
        self._open_tool(dialog)

    def _forget_export_dialog(self, dialog: ExportDialog) -> None:
        if self.export_dialog is dialog:
            self.export_dialog = None

    def show_about(self) -> None:
        QMessageBox.about(self, "About Pattern Organizer",
                          f"<h3>Pattern Organizer {__version__}</h3>"
                          f"<p>Sorts pattern libraries by visual similarity.</p>"
                          f"<p>Python {platform.python_version()} · PySide6 {pyside_version}<br>"
                          f"Compute device: {self.session.device_description}</p>")
