"""The app under real use: the worst GUI stall, peak memory with the thumbnails loaded, closing mid-recluster.

Each run is a fresh app process (offscreen) on N sample images of 80 px, rendered once
into bench/out:

  stall   the worst gap of a 10 ms heartbeat while the app opens the folder with a cold
          cache, up to the end of the scan, of the map and of the clustering (they overlap)
  memory  the app process's peak RSS (ru_maxrss) once it has also asked for every image's
          thumbnail, a screenful at a time, so the loader's memory cache is full. Steps run
          in child processes are not in it
  close   the clustering switched to HDBSCAN with a minimum cluster size of a fifth of the
          images, and the window closed --close-after seconds (0.5) after that recluster
          started: the time from close() to its return and to the process's end. Measured
          twice on a warm cache: as the app is now, and with the old path forced (every
          step in the worker thread, shutdown waiting up to 30 s). A run whose recluster
          had ended before the close closed an idle app: it is reported as such, not compared

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/close.py                # 10,000 images: the full run
    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/close.py --images 2500  # a quick check, 6 min here

Every figure, with the heartbeat's gaps, also goes to bench/out/close.json. Below 2,000
images (jobs.subprocess_step.CHILD_FROM_ROWS) every step runs in the worker thread either
way, so the two close figures differ only from that size.

The large minimum cluster size keeps HDBSCAN's one fit, which nothing can interrupt in a
thread, running for seconds: on 10,000 of these images (its 50-dimension PCA space) the fit
took 7.7 s here with 2,000, and 2.9 s with the automatic 100, short enough that the old
path's recluster had ended 3 s in and it closed an idle app.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import OUT, render_folder
from gui import child_env

CHILD = """
import dataclasses, json, multiprocessing, resource, sys, time
from PySide6.QtCore import QSettings
from organizer.gui.app import application, create_window
from gui import heartbeat, open_with_heartbeat, pump_until
settings_file, folder, mode = sys.argv[1], sys.argv[2], sys.argv[3]
close_after, min_cluster_size = float(sys.argv[4]), int(sys.argv[5])
if mode == "old":
    from organizer.jobs import subprocess_step
    from organizer.gui.workers import TaskRunner
    subprocess_step.CHILD_FROM_ROWS = float("inf")
    shutdown = TaskRunner.shutdown
    TaskRunner.shutdown = lambda self, timeout_ms=30000: shutdown(self, timeout_ms)
app = application()
window = create_window(QSettings(settings_file, QSettings.Format.IniFormat))
window.show(); app.processEvents()
session, result = window.session, {"mode": mode}
result["open"] = open_with_heartbeat(window, folder, limit_s=3600)
if mode == "new":
    loader, library = window.thumbnails, session.library
    items = list(zip(library.paths, library.hashes))
    for first in range(0, len(items), 200):  # the loader keeps only the newest 400 requests
        screen = items[first:first + 200]
        shown = lambda: sum(loader.pixmap(p, h) is not None or loader.is_broken(h) for p, h in screen)
        pump_until(app, shown, len(screen), quiet_s=10, timeout=300)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, but bytes on macOS
    result["peak_rss_mb"] = peak / (1 << 20 if sys.platform == "darwin" else 1 << 10)
    result["thumbnails"] = len(items)
hdbscan = dataclasses.replace(session.settings, cluster_method="hdbscan", min_cluster_size=min_cluster_size)
session.clusters_changed.connect(lambda: result.setdefault("recluster_ended_s", time.perf_counter() - started))
started = time.perf_counter()
result["recluster_gaps"] = heartbeat(lambda: session.apply_settings(hdbscan),
                                     lambda now, _: now - started >= close_after)
result["running_at_close"] = [child.name for child in multiprocessing.active_children()]
result["clusters_running"] = session.runner.running("clusters")
print("RESULT " + json.dumps(result), flush=True)
print(f"CLOSING {time.time()}", flush=True)
window.close()
print(f"CLOSED {time.time()}", flush=True)
"""


def run_child(base: Path, folder: Path, mode: str, close_after: float, min_cluster_size: int) -> dict:
    """One app process; its figures, with the close times measured from its printed clock to its end."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(base / "settings.ini"), str(folder), mode,
                              str(close_after), str(min_cluster_size)],
                             env=child_env(base), stdout=subprocess.PIPE, text=True)
    lines = []
    for line in child.stdout:
        lines.append(line.strip())
    child.wait()
    ended = time.time()
    marks = {line.split()[0]: line.split(maxsplit=1)[1] for line in lines if line.split()[:1] and
             line.split()[0] in ("RESULT", "CLOSING", "CLOSED")}
    if set(marks) != {"RESULT", "CLOSING", "CLOSED"}:
        raise RuntimeError(f"the {mode} app process stopped early (status {child.returncode}):\n" + "\n".join(lines))
    result = json.loads(marks["RESULT"])
    closing = float(marks["CLOSING"])
    result.update(close_return_s=float(marks["CLOSED"]) - closing, process_gone_s=ended - closing)
    return result


def worst_ms(gaps: list[float]) -> float:
    return float(np.max(gaps)) * 1000 if gaps else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10_000, help="how many images (default 10,000)")
    parser.add_argument("--close-after", type=float, default=0.5,
                        help="seconds after the HDBSCAN recluster starts to close the window (default 0.5)")
    args = parser.parse_args()
    folder = render_folder(args.images, size=80)
    min_cluster_size = max(5, args.images // 5)
    figures = {}
    with tempfile.TemporaryDirectory() as temp:  # one cache for both runs: the second finds it warm
        for mode in ("new", "old"):
            started = time.perf_counter()
            figures[mode] = run_child(Path(temp), folder, mode, args.close_after, min_cluster_size)
            print(f"# {mode} run: {time.perf_counter() - started:.0f} s", flush=True)
    opened = figures["new"]["open"]
    print(f"\n## {opened['images']:,} images of 80 px, cold cache: worst gap of a 10 ms heartbeat\n")
    print(f"scan ({opened['scan_s']:.1f} s): {worst_ms(opened.get('gaps_scan', [])):.0f} ms; "
          f"until the map ended: {worst_ms(opened.get('gaps_map', [])):.0f} ms; "
          f"until the clustering ended: {worst_ms(opened.get('gaps_clusters', [])):.0f} ms; "
          f"whole open ({opened['done_s']:.1f} s): {worst_ms(opened['gaps_all']):.0f} ms")
    print(f"\n## Peak RSS of the app process, {figures['new']['thumbnails']:,} thumbnails requested: "
          f"{figures['new']['peak_rss_mb']:.0f} MB")
    print(f"\n## Closing the window {args.close_after:g} s after an HDBSCAN recluster started "
          f"(min_cluster_size {min_cluster_size:,}, warm cache)\n")
    for mode, text in (("new", "now"), ("old", "old path forced")):
        run = figures[mode]
        if not run["clusters_running"]:
            ended = run.get("recluster_ended_s", float("nan"))
            print(f"{text}: not compared, the recluster had ended {ended:.2f} s after it "
                  f"started, before the close, so this run closed an idle app (close() returned after "
                  f"{run['close_return_s']:.2f} s); use a larger folder or a smaller --close-after")
            continue
        print(f"{text}: close() returned after {run['close_return_s']:.2f} s, process gone after "
              f"{run['process_gone_s']:.2f} s; child steps at close: {', '.join(run['running_at_close']) or 'none'}; "
              f"worst gap during the recluster {worst_ms(run['recluster_gaps']):.0f} ms")
    (OUT / "close.json").write_text(json.dumps(figures))  # bench/out exists: the images are in it
    return 0


if __name__ == "__main__":
    sys.exit(main())
