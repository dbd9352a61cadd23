"""From dropping a folder of 2,000 real photos on the window to the first results: the first thumbnail
painted in the grid, the first partial map, the full map and the clusters; cold, then warm.

The folder (built once under bench/out/first_results2000): dtd10's 1,200 photos as they are,
and 800 re-crops of them (the centre 70 % of the first 80 photos of each class, saved again as
JPEG), so all 2,000 are real photographs with distinct contents. A fresh process opens the real
window, waits for the launch warm-up (a user finding the folder meanwhile), sends the window a
drop of the folder and pumps its event loop, with the Clusters tab in front as after a drop:

  cold  fresh cache and settings: everything decoded, embedded, mapped and clustered
  warm  a second process on the same cache: the same folder dropped again in a new session

"First thumbnail painted" is the grid's delegate drawing a thumbnail's pixmap; "first partial
map" is the map view holding the points of the scan's first layout (its tab is behind the grid).
Clocks are ``time.monotonic()``. The machine's load is printed beside the figures.

    xvfb-run -a .venv/bin/python bench/first_results.py [--images 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import OUT
from gui import child_env
from PIL import Image
from report import Report, add_arguments

DTD10 = Path(os.environ.get("ORGANIZER_DTD10", "/work/shared/data/dtd10"))
CROPS_PER_CLASS = 80
CROP = 0.7

CHILD = """
import json, sys, time
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl, QSettings
from PySide6.QtGui import QDropEvent
from organizer.gui.app import application, create_window
from organizer.gui.clusters import cluster_grid_delegate

marks = {}
draw = cluster_grid_delegate.ClusterGridDelegate.draw_thumbnail

def drawn(self, painter, rect, index, radius):
    pixmap = index.data(Qt.ItemDataRole.DecorationRole)
    if "started" in marks and pixmap is not None and not pixmap.isNull():
        marks.setdefault("thumbnail", time.monotonic() - marks["started"])
    draw(self, painter, rect, index, radius)
cluster_grid_delegate.ClusterGridDelegate.draw_thumbnail = drawn

app = application()
window = create_window(QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.resize(1440, 900); window.show(); app.processEvents()
session = window.session
session.warm_up()
while not session._warmed:
    app.processEvents(); time.sleep(0.01)
mime = QMimeData()
mime.setUrls([QUrl.fromLocalFile(sys.argv[2])])
drop = QDropEvent(QPointF(400, 300), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                  Qt.KeyboardModifier.NoModifier)
marks["started"] = time.monotonic()
window.dropEvent(drop)
window.tabs.setCurrentWidget(window.grid)  # the grid shows the thumbnails as they come
while "clusters" not in marks or "map" not in marks:
    app.processEvents(); time.sleep(0.002)
    now = time.monotonic() - marks["started"]
    if now > 3600:
        break
    if window.map_view.point_count() and "partial_map" not in marks:
        marks["partial_map"] = (now, window.map_view.point_count())
    if session.library is not None:
        marks.setdefault("scan", now)
        if session.layout is not None and not session.runner.running("map"):
            marks.setdefault("map", now)
        if session.book is not None:
            marks.setdefault("clusters", now)
marks.pop("started")
print("RESULT " + json.dumps({**marks, "images": len(session.library or ())}), flush=True)
window.close()
"""


def build_folder(count: int) -> Path:
    """dtd10's photos and re-crops of them, ``count`` in all, written once under bench/out."""
    folder = OUT / f"first_results{count}"
    photos = sorted(DTD10.rglob("*.jpg"))
    crops = [p for c in sorted({p.parent for p in photos}) for p in sorted(c.glob("*.jpg"))[:CROPS_PER_CLASS]]
    wanted = photos[:count] + crops[:max(0, count - len(photos))]
    if folder.is_dir() and len(list(folder.iterdir())) == len(wanted):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(wanted):
        with Image.open(source) as image:
            if i >= len(photos):
                w, h = image.size
                dx, dy = int(w * (1 - CROP) / 2), int(h * (1 - CROP) / 2)
                image = image.crop((dx, dy, w - dx, h - dy))
            target = folder / (source.name if i < len(photos) else f"{source.stem}_crop.jpg")
            image.convert("RGB").save(target, quality=90)
    return folder


def run_child(base: Path, folder: Path) -> dict:
    child = subprocess.run([sys.executable, "-c", CHILD, str(base / "settings.ini"), str(folder)],
                           env=child_env(base), capture_output=True, text=True, timeout=4000)
    line = next((l for l in child.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"the child failed:\n{child.stdout}\n{child.stderr}")
    return json.loads(line[len("RESULT "):])


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("first-results", "From a drop of real photos to the first results (`bench/first_results.py`)",
                    args)
    folder = build_folder(args.images)
    print(f"# {len(list(folder.iterdir()))} photos in {folder}; {load()}", flush=True)
    runs = {}
    with tempfile.TemporaryDirectory() as temp:
        for name in ("cold", "warm"):
            started = time.monotonic()
            runs[name] = run_child(Path(temp), folder)
            print(f"# {name}: {time.monotonic() - started:.0f} s in all; {load()}", flush=True)
    def seconds(value: float) -> str:
        return f"{value:.2f}"

    rows = [("first thumbnail painted in the grid", "thumbnail", seconds),
            ("first partial map (images in it)", "partial_map", lambda value: f"{value[0]:.2f} ({value[1]})"),
            ("scan done", "scan", seconds),
            ("full map", "map", seconds),
            ("clusters", "clusters", seconds)]
    report.print(f"\n{runs['cold']['images']} photos dropped on the window; seconds from the drop:\n")
    report.print("| from the drop to | cold cache | warm (same folder, new session) |\n|---|---|---|")
    for label, mark, shown in rows:
        # A small folder can be done before the grid paints a thumbnail: that mark is then missing.
        cells = [shown(run[mark]) if mark in run else "not reached" for run in (runs["cold"], runs["warm"])]
        report.print(f"| {label} | {' | '.join(cells)} |")
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
