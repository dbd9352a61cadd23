"""Render the README's screenshots from a live window on a library of generated bracelet patterns.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py [OUT]

Writes docs/screenshots/*.png (or OUT/*.png). Uses a throwaway folder, cache and settings, never the
user's. The folder is the project's own sample patterns (organizer.samples), 432 of them: evaluation data
such as dtd10 is not ours to ship, in screenshots neither. The scan is held part-way once, to show a scan
in progress with its first map; everything else is the app as a designer would see it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent / "screenshots"
#: 9 families x 8 colourways x 6 variants: a library big enough to look like one, small enough to scan in a minute.
PER_FAMILY, COLOURWAYS, SIZE = 6, 8, (224, 224)
#: The scan waits after this many images until the scan shot is taken: past the first partial map (300).
HOLD_AFTER = 330
WINDOW = (1440, 900)
#: How many of its nearest images the zoomed map shows around one image.
ZOOMED = 20
#: A cluster is named after a family only when this share of its images are of it.
NAMED_SHARE = 0.7
FAMILY_NAMES = {"normal-stripes": "Stripes", "normal-chevron": "Chevrons", "normal-diamonds": "Diamonds",
                "normal-zigzag": "Zigzags", "normal-knotgrid": "Knot grids", "alpha-hearts": "Hearts",
                "alpha-stars": "Stars", "alpha-checker": "Checkers", "alpha-letters": "Lettering"}


def garment_photo(pattern: Path, target: Path) -> tuple[int, int, int, int]:
    """A photo-like picture of a T-shirt with ``pattern`` printed on its chest, on a plain backdrop; returns where
    the print lies (x, y, width, height), the region a designer would draw."""
    width, height = 900, 700
    photo = Image.new("RGB", (width, height), (214, 209, 199))
    draw = ImageDraw.Draw(photo)
    for y in range(height):  # a soft studio gradient
        shade = int(18 * y / height)
        draw.line([(0, y), (width, y)], fill=(222 - shade, 217 - shade, 208 - shade))
    cloth = (64, 78, 104)
    body = [(300, 150), (380, 120), (420, 150), (480, 150), (520, 120), (600, 150), (720, 250), (650, 320),
            (600, 280), (600, 640), (300, 640), (300, 280), (250, 320), (180, 250)]
    draw.polygon(body, fill=cloth)
    draw.arc((400, 100, 500, 190), 20, 160, fill=(48, 58, 80), width=8)
    photo = photo.filter(ImageFilter.GaussianBlur(1.2))
    box = (375, 250, 525, 400)
    printed = Image.open(pattern).convert("RGB").resize((box[2] - box[0], box[3] - box[1]), Image.LANCZOS)
    photo.paste(printed, box[:2])
    target.parent.mkdir(parents=True, exist_ok=True)
    photo.save(target, quality=92)
    return box[0], box[1], box[2] - box[0], box[3] - box[1]


class HeldScan:
    """Embeds as usual, but the first batch after :data:`HOLD_AFTER` images waits until :meth:`release`."""

    def __init__(self) -> None:
        from organizer.embedding import embed as embed_module

        self._embed, self.embedded = embed_module.embed_inputs, 0
        self.holding, self._released = threading.Event(), threading.Event()
        embed_module.embed_inputs = self._held

    def _held(self, embedder, inputs):
        if self.embedded >= HOLD_AFTER and not self._released.is_set():
            self.holding.set()
            self._released.wait(600)
        vectors = self._embed(embedder, inputs)
        self.embedded += len(inputs)
        return vectors

    def release(self) -> None:
        self._released.set()


def main(out: Path = OUT) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="studio-"))
    try:
        shoot(scratch, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def shoot(scratch: Path, out: Path) -> None:
    """Make the folder, the photo, the cache and the settings under ``scratch``, and write the shots to ``out``."""
    os.environ["ORGANIZER_CACHE_DIR"] = str(scratch / "cache")
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from organizer.gui.app import application, create_window
    from organizer.gui.dialogs.region_dialog import RegionDialog
    from organizer.samples import SampleSpec, family_of, write_sample_folder

    out.mkdir(parents=True, exist_ok=True)
    folder = scratch / "bracelet patterns"
    write_sample_folder(folder, per_family=PER_FAMILY, colourways=COLOURWAYS, size=SIZE)
    garment = scratch / "photos" / "navy tee, market stall.jpg"
    print_box = garment_photo(folder / SampleSpec("normal-diamonds", 5, 2).filename(), garment)
    held = HeldScan()

    app = application()
    window = create_window(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(*WINDOW)
    window.show()
    session, model = window.session, window.session.model

    def pump(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            app.processEvents()
            time.sleep(0.01)
        if until and not until():
            print(f"warning: gave up waiting after {seconds} s", file=sys.stderr)

    def save(widget, name: str) -> None:
        pump(1.0)
        widget.grab().save(str(out / name))
        print(out / name)

    # A scan in progress: the grid filling, a first map in grey, the legend's note and the time left.
    window.open_folder(folder)
    pump(600, lambda: held.holding.is_set() and window.map_view.point_count() >= 300
         and not session.runner.running("map"))
    save(window, "scan.png")
    held.release()
    pump(600, lambda: session.book is not None and session.layout is not None and not session.runner.busy())

    # Some clusters named as a designer would: one that is mostly one family, after it; the others keep their numbers.
    named = set()
    for label in model.book.clusters():
        members = model.book.members(label)
        family, count = Counter(family_of(session.library.paths[i].name) for i in members).most_common(1)[0]
        if label >= 0 and count >= NAMED_SHARE * len(members) and family not in named:
            named.add(family)
            model.rename(label, FAMILY_NAMES[family])
    model.clear_history()
    window.tabs.setCurrentWidget(window.map_view)
    window.map_view.zoom_to_fit()
    save(window, "map.png")

    # Close in on one image's neighbourhood on the map, where the points become thumbnails.
    hearts = session.library.index_of(folder / SampleSpec("alpha-hearts", 2, 1).filename())
    distance = np.linalg.norm(model.layout - model.layout[hearts], axis=1)
    window.map_view.zoom_to(np.argsort(distance)[:ZOOMED].tolist())
    pump(10, lambda: window.map_view.shown_thumbnails() >= ZOOMED // 2)
    save(window, "map_zoomed.png")

    window.tabs.setCurrentWidget(window.grid)
    window.grid.set_columns(10)
    save(window, "clusters.png")

    window.tabs.setCurrentWidget(window.dendrogram)
    leaves = window.dendrogram.axis.leaves
    pump(30, lambda: all(window.thumbnails.pixmap(path, digest) is not None for _, path, digest in leaves))
    save(window, "dendrogram.png")

    # Tags, ratings and labels on some images, and the filter bar finding them.
    paths = session.library.paths
    picks = [i for i, path in enumerate(paths) if family_of(path.name) in ("alpha-hearts", "normal-diamonds")]
    model.add_tag(picks[::2], "summer 2026")
    model.add_tag(picks[::3], "client: Mia")
    model.set_rating(picks[::2], 4)
    model.set_rating(picks[1::4], 5)
    model.set_label(picks[::5], "red")
    model.set_label(picks[2::7], "green")
    window.tabs.setCurrentWidget(window.grid)
    window.filter_bar.search.setText("summer")
    window.filter_bar.rating.setCurrentIndex(window.filter_bar.rating.findData(4))
    save(window, "filter.png")

    window.actions_by_name["export"].trigger()
    export = window.export_dialog
    export.set_plan("clusters")
    export.set_target(scratch / "sorted")
    export.preview()
    pump(60, lambda: export.preview_table.rowCount() > 0)
    save(export, "export.png")
    export.close()
    window.filter_bar.clear()

    # An outside photo: first the whole of it, then the print on it, drawn in the region dialog.
    window.tabs.setCurrentWidget(window.map_view)
    window.map_view.zoom_to_fit()
    session.find_similar_to_file(garment)
    pump(120, lambda: window.similar.region_button.isVisible())
    result = window.similar.query()
    dialog = RegionDialog(QImage.fromData(result.query_thumbnail), result.query_size, print_box,
                          result.query_path.name, window)
    dialog.resize(760, 640)
    dialog.show()
    save(dialog, "region.png")
    region = dialog.region()
    dialog.close()
    session.find_similar_to_file(garment, region)
    pump(120, lambda: window.similar.query() is not None and window.similar.query().region is not None)
    save(window, "similar.png")

    window.close()
    QApplication.processEvents()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
