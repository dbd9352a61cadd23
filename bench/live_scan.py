"""How soon a scan shows its work: from opening 2,000 new images to the first thumbnails in the grid
and to the first partial map, then to the scan's end and the finished map.

A fresh process (fresh cache and settings) opens the folder after the launch warm-up, as when
a user picks a folder, and records when each first appeared, pumping the event loop.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/live_scan.py [--images 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import render_folder
from gui import child_env

CHILD = """
import json, sys, time
from PySide6.QtCore import QSettings
from organizer.gui.app import application, create_window
app = application()
window = create_window(QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.show(); app.processEvents()
session, grid, marks = window.session, window.grid, {}
session.warm_up()
while not session._warmed:
    app.processEvents(); time.sleep(0.01)
# The grid's tab in front: thumbnails are loaded for the cells painted. The map fills while hidden.
window.tabs.setCurrentWidget(grid)
thumbs = []
window.thumbnails.ready.connect(lambda digest: thumbs.append(digest))
started = time.perf_counter()
window.open_folder(sys.argv[2])
while "map" not in marks and time.perf_counter() - started < 1800:
    app.processEvents(); time.sleep(0.002)
    now = time.perf_counter() - started
    if grid.model.rowCount() and thumbs:
        marks.setdefault("grid", now)
    if window.map_view.point_count():
        marks.setdefault("partial_map", (now, window.map_view.point_count()))
    if session.library is not None:
        marks.setdefault("scan", now)
        if session.layout is not None and not session.runner.running("map"):
            marks["map"] = now
print("RESULT " + json.dumps({**marks, "images": len(session.library or ())}), flush=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    count = parser.parse_args().images
    source = render_folder(count)
    with tempfile.TemporaryDirectory() as temp:
        child = subprocess.run([sys.executable, "-c", CHILD, str(Path(temp) / "settings.ini"), str(source)],
                               env=child_env(Path(temp)), capture_output=True, text=True, timeout=3600)
    line = next((l for l in child.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"the child failed:\n{child.stdout}\n{child.stderr}")
    marks = json.loads(line[len("RESULT "):])
    shown_at, points = marks["partial_map"]
    print(f"{marks['images']} new images, opened after the warm-up:")
    print(f"  first thumbnails in the grid   {marks['grid']:.2f} s")
    print(f"  first partial map              {shown_at:.2f} s ({points} images)")
    print(f"  scan done                      {marks['scan']:.2f} s")
    print(f"  finished map                   {marks['map']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
