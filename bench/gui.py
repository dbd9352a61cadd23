"""How the desktop app feels: launch, map and grid redraws at 10,000 images, event-loop stalls.

  launch  a fresh interpreter to a shown main window (median of 3); torch must not be imported yet
  map     MapView, 1200 x 800, 10,000 points: set_points, redraw zoomed out, zoomed in with thumbnails
  grid    ClusterGrid, 1200 x 800, 10,000 images scrolled top to bottom a screen at a time
  scan    the worst gap of a 10 ms heartbeat while a fresh process opens 500 uncached images, then again

A redraw is timed as ``QWidget.grab()``, a synchronous paint into a pixmap. A warm thumbnail store
is a new loader over the same files: memory cold, disk warm, as in the next session. The 10,000
images reuse 540 rendered 128 px files in turn, so after 540 loads every thumbnail is in memory:
later loads, and the grid's last screen, cost less than with 10,000 distinct files.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui.py [--json]   # a few minutes
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import OUT
from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication
from report import Report, add_arguments

from organizer.analysis.edits import ClusterBook
from organizer.gui.clusters.cluster_grid import BROKEN_ROLE, ClusterGrid
from organizer.gui.map.map_view import MapView
from organizer.gui.thumbnails import ThumbnailLoader
from organizer.io.scan import hash_file
from organizer.io.thumbs import ThumbnailStore
from organizer.samples import write_sample_folder

N_POINTS, N_CLUSTERS = 10_000, 20
# The child's own clock starts at its first line, so the parent's Popen-to-line time adds interpreter start.
LAUNCH_CHILD = """
import time; t0 = time.perf_counter()
import sys
from PySide6.QtCore import QSettings
from organizer.gui.app import application, create_window
app = application()
window = create_window(QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.show(); app.processEvents()
print(f"SHOWN {time.perf_counter() - t0:.4f} {'torch' in sys.modules}", flush=True)
"""
SCAN_CHILD = """
import json, sys, time
from PySide6.QtCore import QSettings
from organizer.gui.app import application, create_window
from gui import open_with_heartbeat
app = application()
window = create_window(QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.show(); app.processEvents()
session = window.session
if sys.argv[3] == "after-warm-up":  # as when the user opens a folder a few seconds after launch
    session.warm_up()
    while not session._warmed:
        app.processEvents(); time.sleep(0.01)
# The re-open finds everything in the cache, and torch imported.
runs = {run: open_with_heartbeat(window, sys.argv[2]) for run in ("cold", "warm")}
print("RESULT " + json.dumps(runs), flush=True)
"""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def pump_until(app: QApplication, count, expected: int, quiet_s: float = 2.0, timeout: float = 60) -> tuple[int, float]:
    """Process events until ``count()`` reaches ``expected`` or stops growing; the count, and when it last grew."""
    started = last_growth = time.perf_counter()
    best = count()
    while best < expected and time.perf_counter() - last_growth < quiet_s and time.perf_counter() - started < timeout:
        app.processEvents()
        time.sleep(0.002)  # lets the loader threads run; the GUI thread has nothing else to do here
        if (now := count()) > best:
            best, last_growth = now, time.perf_counter()
    return best, last_growth - started


def child_env(base: Path) -> dict[str, str]:
    # Fresh user dirs, so nothing is cached and the user's own cache and settings stay untouched;
    # bench/ on the path, so a child imports this module's heartbeat.
    path = os.pathsep.join(filter(None, (str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH"))))
    return {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            "ORGANIZER_CACHE_DIR": str(base / "cache"), "ORGANIZER_DATA_DIR": str(base / "data"), "PYTHONPATH": path}


def heartbeat(start, finished, limit_s: float = 600) -> list[float]:
    """Call ``start()``, then run the event loop under a 10 ms timer until ``finished(now, beats)`` or ``limit_s``.

    Returns the gaps between beats in seconds: the longest is the longest the GUI thread
    stalled. The first gap holds ``start()``'s own work.
    """
    loop, gaps, marks = QEventLoop(), [], {}

    def tick():
        now = time.perf_counter()
        gaps.append(now - marks["last"])
        marks["last"] = now
        if finished(now, len(gaps)) or now - marks["start"] > limit_s:
            loop.quit()

    timer = QTimer(interval=10, timerType=Qt.TimerType.PreciseTimer, timeout=tick)
    timer.start()
    marks["start"] = marks["last"] = time.perf_counter()
    start()
    loop.exec()
    timer.stop()
    return gaps


def open_with_heartbeat(window, folder: str, limit_s: float = 600) -> dict:
    """Open ``folder`` in ``window`` under a :func:`heartbeat` until its map and clusters are done.

    Returns the gaps (``gaps_all``; ``gaps_scan`` until the scan ended, ``gaps_map`` and
    ``gaps_clusters`` until each ended), the image count, the seconds to the scan's end
    (``scan_s``) and to the last job's (``done_s``), and whether torch was imported.
    """
    session, ends = window.session, {}
    started = time.perf_counter()

    def finished(now: float, beats: int) -> bool:
        if session.library is not None:
            ends.setdefault("scan", (now, beats))
            for job, result in (("map", session.layout), ("clusters", session.book)):
                if result is not None and not session.runner.running(job):
                    ends.setdefault(job, (now, beats))
        return len(ends) == 3

    gaps = heartbeat(lambda: window.open_folder(folder), finished, limit_s)
    return {"gaps_all": gaps, **{f"gaps_{job}": gaps[:beats] for job, (_, beats) in ends.items()},
            "images": len(session.library or ()), "scan_s": ends.get("scan", (float("nan"),))[0] - started,
            "done_s": time.perf_counter() - started, "torch": "torch" in sys.modules}


def bench_launch(report: Report, runs: int = 3) -> dict:
    walls, own, torch = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as temp:
            started = time.perf_counter()
            child = subprocess.Popen([sys.executable, "-c", LAUNCH_CHILD, str(Path(temp) / "settings.ini")],
                                     env=child_env(Path(temp)), stdout=subprocess.PIPE, text=True)
            line = child.stdout.readline()
            walls.append(time.perf_counter() - started)
            child.communicate()
        if not line.startswith("SHOWN "):
            raise RuntimeError(f"the launch child printed {line!r}")
        _, seconds, imported = line.split()
        own.append(float(seconds))
        torch.append(imported == "True")
    result = {"launch_s": float(np.median(walls)), "import_show_s": float(np.median(own)), "torch_imported": any(torch)}
    report.print(f"\n**Launch to shown window (median of {runs})**\n")
    report.print(f"process start to shown window: {ms(result['launch_s'])} (runs: {', '.join(ms(w) for w in walls)}); "
                 f"imports + window + show in the child: {ms(result['import_show_s'])}; "
                 f"torch imported by then: {'YES (it must not be)' if result['torch_imported'] else 'no'}")
    return result


def sample_images() -> tuple[list[Path], list[str]]:
    """N_POINTS paths and digests, reusing 540 rendered files (9 families x 10 colourways x 6) in turn."""
    paths = write_sample_folder(OUT / "gui_samples", per_family=6, colourways=10, size=(128, 128))  # once
    hashes = [hash_file(p) for p in paths]
    return [paths[i % len(paths)] for i in range(N_POINTS)], [hashes[i % len(paths)] for i in range(N_POINTS)]


def clustered_layout(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10,000 points in 20 Gaussian blobs, each point's blob as its label, and the blob centres.

    The blobs are about as dense as a t-SNE map's (sigma 8 on a 100-wide field): tighter blobs
    would hold more points than the map's thumbnail limit even at its closest zoom.
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-50, 50, size=(N_CLUSTERS, 2))
    labels = rng.integers(0, N_CLUSTERS, N_POINTS)
    return centres[labels] + rng.normal(0, 8.0, size=(N_POINTS, 2)), labels, centres


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def timed_grabs(widget, repeats: int = 10) -> float:
    return float(np.median([timed(widget.grab) for _ in range(repeats)]))


def sized_and_shown(app: QApplication, widget):
    widget.resize(1200, 800)
    widget.show()
    app.processEvents()
    return widget


def zoom_to_thumbnails(view: MapView, xy: np.ndarray, centre: np.ndarray) -> tuple[int, int]:
    """Zoom to a group near ``centre`` small enough for thumbnails; its size and the thumbnails wanted.

    The map shows them only with at most (viewport area / THUMB_PX²) points on screen, 150 here.
    """
    for offset in np.arange(0, 20, 1.0):
        nearest = np.argsort(np.linalg.norm(xy - (centre + [offset, 0]), axis=1))
        for group in (150, 120, 100, 80, 60):
            view.zoom_to(nearest[:group].tolist())
            if wanted := len(view._thumbnail_candidates()):  # private: asks without waiting for a repaint
                return group, wanted
    raise RuntimeError("no group small enough to show thumbnails")


def bench_map(app: QApplication, store: Path, images: tuple[list[Path], list[str]]) -> dict:
    xy, labels, centres = clustered_layout()
    loader = ThumbnailLoader(ThumbnailStore(store))
    view = sized_and_shown(app, MapView(loader))
    result = {"set_points_s": timed(lambda: view.set_points(xy, labels, *images))}
    app.processEvents()
    result["redraw_out_s"] = timed_grabs(view)
    group, wanted = zoom_to_thumbnails(view, xy, centres[0])
    shown, loaded_s = pump_until(app, view.shown_thumbnails, wanted)
    result.update(group=group, wanted=wanted, shown=shown, thumbs_loaded_s=loaded_s, redraw_in_s=timed_grabs(view))
    view.close()
    loader.shutdown()
    return result


def bench_grid(app: QApplication, store: Path, images: tuple[list[Path], list[str]]) -> dict:
    book = ClusterBook(clustered_layout()[1])
    loader = ThumbnailLoader(ThumbnailStore(store))
    grid = sized_and_shown(app, ClusterGrid(loader))
    grid.set_data(book, {label: int(book.members(label)[0]) for label in book.clusters()}, *images)
    app.processEvents()
    view = grid.view()
    bar, step = view.verticalScrollBar(), view.viewport().height()
    frames, started = [], time.perf_counter()
    for value in [*range(0, bar.maximum(), step), bar.maximum()]:
        frame = time.perf_counter()
        bar.setValue(value)
        app.processEvents()
        view.viewport().grab()
        frames.append(time.perf_counter() - frame)
    total = time.perf_counter() - started

    def loaded_on_screen() -> int:
        # Asking for the decoration is what painting does: a miss queues the load (newest first).
        first, last = view.visible_range()
        return sum(grid.model.index(row).data(Qt.ItemDataRole.DecorationRole) is not None
                   or grid.model.index(row).data(BROKEN_ROLE) for row in range(first, last + 1))

    first, last = view.visible_range()
    on_screen, final_s = pump_until(app, loaded_on_screen, last - first + 1)
    grid.close()
    loader.shutdown()
    return {"total_s": total, "steps": len(frames), "median_frame_s": float(np.median(frames)),
            "worst_frame_s": max(frames), "final_screen_cells": last - first + 1, "final_loaded": on_screen,
            "final_screen_s": final_s}


def bench_scan(report: Report, images: list[Path], when: str) -> dict:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "patterns"
        folder.mkdir()
        for path in images:  # fresh copies, and a fresh cache dir: nothing about them is cached
            shutil.copy(path, folder)
        child = subprocess.run([sys.executable, "-c", SCAN_CHILD, str(Path(temp) / "settings.ini"), str(folder), when],
                               env=child_env(Path(temp)), capture_output=True, text=True, timeout=1500)
    line = next((l for l in child.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"the scan child failed:\n{child.stdout}\n{child.stderr}")
    result = json.loads(line[len("RESULT "):])
    how = ("opened at launch, as `organizer FOLDER` does" if when == "at-launch"
           else "opened after the launch warm-up, as when a user picks a folder")
    report.print(f"\n**Event-loop stalls while opening 500 images, {how} (10 ms heartbeat, fresh process)**\n")
    for name, run in result.items():
        gaps = {span: np.array(run[f"gaps_{span}"]) * 1000 for span in ("scan", "all")}
        run["summary"] = {"images": run["images"], "scan_s": run["scan_s"], "img_per_s": run["images"] / run["scan_s"],
                          "map_clusters_done_s": run["done_s"], "torch_imported": run["torch"],
                          **{f"{span}_worst_gap_ms": float(g.max()) for span, g in gaps.items()},
                          **{f"{span}_p99_gap_ms": float(np.percentile(g, 99)) for span, g in gaps.items()}}
        label = "first open (cold cache, torch imported on the way)" if name == "cold" else "re-open (warm cache)"
        report.print(f"{label}: {run['images']} images scanned in {run['scan_s']:.2f} s "
                     f"({run['images'] / run['scan_s']:.0f} img/s); map + clusters done at {run['done_s']:.2f} s")
        for span, text in (("scan", "until scanned:       "), ("all", "until map + clusters:")):
            report.print(f"- {text} worst gap {gaps[span].max():.1f} ms, p99 {np.percentile(gaps[span], 99):.1f} ms")
    return {name: run["summary"] for name, run in result.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="also write the figures to bench/out/gui.json")
    add_arguments(parser)
    args = parser.parse_args()
    report = Report("gui", "The desktop app (`bench/gui.py`)", args)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    figures = {"launch": bench_launch(report)}
    app = QApplication.instance() or QApplication(sys.argv[:1])
    images = sample_images()
    report.print(f"\n**Map of {N_POINTS:,} points at 1200 x 800 ({len(set(images[1]))} distinct 128 px images "
                 "reused)**\n")
    with tempfile.TemporaryDirectory() as store:
        figures["map"] = {state: bench_map(app, Path(store), images) for state in ("cold", "warm")}
    for state, m in figures["map"].items():
        report.print(f"- {state} thumbnail store: set_points {ms(m['set_points_s'])}; redraw (grab) zoomed out "
                     f"{ms(m['redraw_out_s'])}; zoomed to {m['group']} points: {m['shown']}/{m['wanted']} thumbnails "
                     f"shown after {ms(m['thumbs_loaded_s'])}, redraw (grab) {ms(m['redraw_in_s'])}")
    report.print(f"\n**Cluster grid of {N_POINTS:,} images at 1200 x 800, scrolled a screen at a time**\n")
    with tempfile.TemporaryDirectory() as store:
        figures["grid"] = {state: bench_grid(app, Path(store), images) for state in ("cold", "warm")}
    for state, g in figures["grid"].items():
        report.print(f"- {state} thumbnail store: {g['steps']} steps in {g['total_s']:.2f} s; frame (scroll + "
                     f"events + grab) median {ms(g['median_frame_s'])}, worst {ms(g['worst_frame_s'])}; final screen "
                     f"{g['final_loaded']}/{g['final_screen_cells']} cells loaded after {ms(g['final_screen_s'])}")
    figures["scan"] = {when: bench_scan(report, images[0][:500], when) for when in ("at-launch", "after-warm-up")}
    report.write()
    if args.json:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "gui.json").write_text(json.dumps(figures, indent=2))
        print(f"\nwrote {OUT / 'gui.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
