"""How long the guards against bad input and the cancel take; the tests check them by behaviour.

  cancel  a scan of 504 uncached images cancelled once 64 are done: the click itself, the click
          to an idle GUI, the delay of a timer queued then, and the click to the cancelled
          job's end (it finishes the batch in hand)
  bomb    a PNG whose header declares 30000 x 30000 pixels, refused (median of 20)
  strip   the views of a 20000 x 2 strip and of a 2 x 20000 one, per resize policy (median of 20)

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/robustness.py   # under a minute
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from organizer.io import images, preprocess
from organizer.samples import write_sample_folder

REPEATS = 20


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def median_time(work) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def bomb_png(side: int = 30000) -> bytes:
    """A PNG whose header declares side x side RGB pixels, with a tiny valid IDAT."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
            + chunk(b"IEND", b""))


def bench_bomb() -> None:
    data = bomb_png()

    def refuse() -> None:
        try:
            images.decode(data)
        except images.ImageError:
            return
        raise RuntimeError("the bomb was decoded")

    refused = median_time(refuse)
    print(f"\n## A PNG declaring 30000 x 30000 pixels (median of {REPEATS})\n")
    print(f"refused in {ms(refused)}")


def bench_strip() -> None:
    print(f"\n## Views of an extreme strip at 224 px (median of {REPEATS})\n")
    for name, size in (("wide", (20000, 2)), ("tall", (2, 20000))):
        strip = Image.new("RGB", size, (120, 120, 120))
        times = {policy: median_time(lambda p=policy: preprocess.make_views(strip, 224, p))
                 for policy in preprocess.POLICIES}
        print(f"{name} {size[0]} x {size[1]}: " + ", ".join(f"{p} {ms(s)}" for p, s in times.items()))


def pump_until(app, condition, timeout: float = 600) -> None:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise RuntimeError("timed out")
        app.processEvents()
        time.sleep(0.001)


def bench_cancel(base: Path) -> None:
    # Fresh user dirs: nothing is cached, and the user's own cache and settings stay untouched.
    os.environ.update(ORGANIZER_CACHE_DIR=str(base / "cache"), ORGANIZER_DATA_DIR=str(base / "data"))
    from PySide6.QtCore import QSettings, QTimer

    from organizer.gui.app import application, create_window

    folder = base / "patterns"
    write_sample_folder(folder, per_family=14, colourways=4, size=(128, 128))
    app = application()
    window = create_window(QSettings(str(base / "settings.ini"), QSettings.Format.IniFormat))
    window.show()
    session, done = window.session, [0]
    session.progress.connect(lambda stage, count, total, note: done.__setitem__(0, count) if stage == "scan" else None)
    window.open_folder(folder)
    pump_until(app, lambda: done[0] >= 64)
    started = time.perf_counter()
    window.progress.cancel_button.click()
    click_s = time.perf_counter() - started
    pump_until(app, lambda: not session.runner.busy())
    idle_s = time.perf_counter() - started
    fired: list[float] = []
    queued = time.perf_counter()
    QTimer.singleShot(0, lambda: fired.append(time.perf_counter()))
    pump_until(app, lambda: bool(fired))
    session.runner.shutdown(600_000)
    ended_s = time.perf_counter() - started
    window.close()
    print(f"\n## Cancelling a scan of 504 uncached 128 px images once {done[0]} were done\n")
    print(f"click {ms(click_s)}; GUI idle after {ms(idle_s)}; a timer queued then fired after "
          f"{ms(fired[0] - queued)}; the cancelled job ended after {ms(ended_s)}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    bench_bomb()
    bench_strip()
    with tempfile.TemporaryDirectory() as temp:
        bench_cancel(Path(temp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
