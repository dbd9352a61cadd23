"""Start the desktop app: the QApplication, settings kept in QSettings, and the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from ..resources import resource_path
from ..storage.paths import samples_dir
from ..storage.settings import Settings
from .main_window import MainWindow

SETTINGS_KEY = "settings/json"


def load_settings(store: QSettings) -> Settings:
    return Settings.from_json(store.value(SETTINGS_KEY))


#: Seconds a thread may hold the GIL while another waits (Python's default is 0.005).
#: Shorter turns let the GUI thread in sooner while decoding, imports and inference
#: compete for the GIL; measured in bench/gui.py.
GIL_SWITCH_INTERVAL_S = 0.001


def application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, named so QSettings finds its file on every OS."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Pattern Organizer")
    app.setOrganizationName("Pattern Organizer")
    app.setApplicationDisplayName("Pattern Organizer")
    app.setWindowIcon(QIcon(str(resource_path("icon.png"))))
    return app


def create_window(store: QSettings) -> MainWindow:
    window = MainWindow(load_settings(store))
    window.settings_changed.connect(lambda settings: store.setValue(SETTINGS_KEY, settings.to_json()))
    window.samples_requested.connect(lambda: open_samples(window))
    return window


def open_samples(window: MainWindow) -> None:
    """Open the built-in sample library, rendering what is missing of it in a worker first.

    Rendering takes seconds on first use; write_sample_folder skips the files already there.
    """
    from ..samples import write_sample_folder

    def render(_ctx) -> Path:
        folder = samples_dir()
        write_sample_folder(folder)
        return folder

    window.session.runner.start("samples", render, on_finished=window.open_folder,
                                on_failed=lambda text: window.message.setText(f"The samples failed: {text}"))
    window.message.show_working("samples", "Rendering the sample patterns…")


def run(folder: str | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = application()
    window = create_window(QSettings())
    window.show()
    if folder:
        window.open_folder(Path(folder))
    else:
        QTimer.singleShot(300, window.session.warm_up)
    return app.exec()
