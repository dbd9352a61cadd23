"""What the benchmarks share: the rendered sample folder."""

from __future__ import annotations

import time
from pathlib import Path

from organizer.samples import write_sample_folder

OUT = Path(__file__).resolve().parent / "out"


def render_folder(count: int) -> Path:
    """``count`` bracelet samples as 512 px JPEGs, rendered once into bench/out."""
    folder = OUT / f"samples{count}"
    per_family = -(-count // (9 * 10))  # 9 families × 10 colourways
    started = time.perf_counter()
    paths = write_sample_folder(folder, per_family=per_family, colourways=10, size=(512, 512), fmt="jpg")
    for extra in paths[count:]:
        extra.unlink(missing_ok=True)
    print(f"# sample folder: {count} images at {folder} ({time.perf_counter() - started:.0f} s to render)")
    return folder
