"""Render the README's screenshots from a live window on the sample patterns.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_screenshots.py

Writes docs/screenshots/*.png. Uses a throwaway cache and settings, never the user's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "screenshots"


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="organizer-shots-"))
    os.environ["ORGANIZER_CACHE_DIR"] = str(scratch / "cache")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from organizer.gui.app import application, create_window
    from organizer.samples import SampleSpec, write_sample_folder

    folder = scratch / "bracelet patterns"
    write_sample_folder(folder, per_family=4, colourways=6, size=(192, 192))
    app = application()
    window = create_window(QSettings(str(scratch / "settings.ini"), QSettings.IniFormat))
    window.resize(1440, 900)
    window.show()

    def pump(seconds: float, until=lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            app.processEvents()
            time.sleep(0.01)

    def save(widget, name: str) -> None:
        pump(0.8)
        widget.grab().save(str(OUT / name))
        print(OUT / name)

    window.open_folder(folder)
    session = window.session
    pump(300, lambda: session.book is not None and session.layout is not None and not session.runner.busy())
    save(window, "map.png")

    query = session.library.index_of(folder / SampleSpec("alpha-hearts", 2, 1).filename())
    window.map_view.zoom_to(session.book.members(int(session.book.labels[query])).tolist())
    pump(3, lambda: window.map_view.shown_thumbnails() > 0)
    save(window, "map_zoomed.png")

    window.tabs.setCurrentWidget(window.grid)
    window.grid.set_columns(7)
    save(window, "clusters.png")

    session.find_similar(query)
    pump(20, lambda: bool(window.similar.results()))
    window.set_selection([query])
    window.grid.scroll_to(query)
    save(window, "similar.png")

    window.actions_by_name["export"].trigger()
    dialog = window.export_dialog
    dialog.set_plan("clusters")
    dialog.set_target(scratch / "sorted")
    dialog.preview()
    pump(30, lambda: dialog.preview_table.rowCount() > 0)
    save(dialog, "export.png")
    dialog.close()
    window.close()
    QApplication.processEvents()


if __name__ == "__main__":
    sys.exit(main())
